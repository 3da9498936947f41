"""/, for a person who opens the line's address in a browser: the browser phone, or a word
on what this server is, never a bare 404."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, request
from flask.typing import ResponseReturnValue

HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
NO_PHONE = (
    "This server answers a phone line for Twilio, which calls /voice with POST.\n"
    "Its browser phone is off here (PHONE_PAGE); /healthz says whether the line is up.\n"
)


def home(phone_page: bool) -> Blueprint:
    """`phone_page`: whether the browser phone is served at /phone."""
    blueprint = Blueprint("home", __name__)

    @blueprint.get("/")
    def index() -> ResponseReturnValue:
        if phone_page:
            # The query goes along: `/?rate=4` slows the browser phone's speech as /phone's does.
            query = request.query_string.decode("ascii", "replace")
            response = redirect(f"{request.script_root}/phone" + (f"?{query}" if query else ""))
            response.headers.update(HEADERS)
            return response
        return Response(NO_PHONE, mimetype="text/plain", headers=HEADERS)

    return blueprint
