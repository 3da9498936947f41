"""/audio/<language>/<file>: the recordings, held in memory and cached by content hash."""

from __future__ import annotations

from flask import Blueprint, Response, abort, request
from werkzeug.wrappers import Response as BaseResponse

from ivr.audio.recordings import Recordings

_A_YEAR = 365 * 24 * 3600


def recordings_route(recordings: Recordings) -> Blueprint:
    blueprint = Blueprint("audio", __name__)

    @blueprint.get("/audio/<language>/<name>")
    def audio(language: str, name: str) -> BaseResponse:
        recording = recordings.by_file.get(f"{language}/{name}")
        if recording is None:
            abort(404)
        response = Response(
            recording.data, mimetype="audio/wav", headers={"X-Content-Type-Options": "nosniff"}
        )
        response.set_etag(recording.sha256)
        response.last_modified = recording.last_modified
        # URLs carry the content hash, so a cached copy can be kept for good.
        response.cache_control.public = True
        response.cache_control.max_age = _A_YEAR
        response.cache_control.immutable = True
        return response.make_conditional(request)

    return blueprint
