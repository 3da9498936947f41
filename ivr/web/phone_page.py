"""A phone in the browser at /phone, for trying the line without a Twilio account.

The page follows the app's real TwiML. Browsers cannot sign webhooks, so it asks /phone/twiml,
which replays the request to the app's own webhook, signed as Twilio would sign it.
"""

from __future__ import annotations

import secrets
import urllib.parse

from flask import Blueprint, Response, abort, current_app, render_template, request
from twilio.request_validator import RequestValidator

from ivr.web.client_limit import CallsPerClient
from ivr.web.log_output import CALL_SID
from ivr.web.public_url import public_root
from ivr.web.usage import NOT_COUNTED
from ivr.web.webhook import TEST_CALLER, TEST_LINE

WEBHOOKS = ("/voice", "/key", "/dial")
PAGE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; media-src 'self' https: http:; "
        "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cache-Control": "no-store",
}

FORWARDED_PARAMS = ("Digits", "DialCallStatus", "SpeechResult")
CALLS_A_MINUTE = 5  # from each client, when the page is on in production


def phone_page(
    auth_token: str | None, public_base_url: str | None, texts: dict[str, str]
) -> Blueprint:
    """The blueprint; `texts` maps each recording's file to the words it says."""
    blueprint = Blueprint(
        "phone",
        __name__,
        static_folder="static",
        static_url_path="/phone/static",
        template_folder="templates",
    )

    @blueprint.after_request
    def headers(response: Response) -> Response:
        response.headers.update(PAGE_HEADERS)
        return response

    validator = RequestValidator(auth_token) if auth_token else None
    # On in production (an auth token set), the page is open to anyone: a few calls each.
    limit = CallsPerClient(CALLS_A_MINUTE) if auth_token else None

    @blueprint.get("/phone")
    def page() -> str:
        return render_template("phone.html", texts=texts)

    @blueprint.post("/phone/twiml")
    def twiml() -> Response:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            abort(400)
        url = urllib.parse.urlsplit(str(body.get("url", "")))
        root = public_root(request, public_base_url)
        path = url.path.removeprefix(urllib.parse.urlsplit(root).path)
        if path not in WEBHOOKS:
            abort(400)
        if path == "/voice" and limit is not None and not limit.allow(request.remote_addr):
            return Response(
                "Too many calls from here: try again in a minute.",
                status=429,
                mimetype="text/plain",
                headers={"Retry-After": str(limit.seconds_to_wait(request.remote_addr))},
            )
        sent = body.get("params")
        given: dict[str, object] = sent if isinstance(sent, dict) else {}
        call = str(body.get("call") or "")
        params = {
            # Only a CallSid of Twilio's form is passed on: the page cannot write into the log.
            "CallSid": call if CALL_SID.fullmatch(call) else f"CA{secrets.token_hex(16)}",
            "From": TEST_CALLER,
            "To": TEST_LINE,
            "CallStatus": "in-progress",
            "Direction": "inbound",
            **{k: str(given[k])[:200] for k in FORWARDED_PARAMS if k in given},
        }
        target = f"{path}?{url.query}" if url.query else path
        headers = {}
        if validator is not None:
            headers["X-Twilio-Signature"] = validator.compute_signature(f"{root}{target}", params)
        base = urllib.parse.urlsplit(root)
        with current_app.test_client() as client:
            reply = client.post(
                target,
                data=params,
                headers=headers,
                base_url=f"{base.scheme}://{base.netloc}{base.path}",
                # Marked where only the relay can mark it: a header could be sent by anyone.
                environ_base={NOT_COUNTED: True},
            )
        return Response(reply.get_data(), status=reply.status_code, mimetype="text/xml")

    return blueprint
