"""Requests Twilio would never send are refused before anything parses them: 413 or 415.

Checked here, in front of the app, before a form is parsed or a signature computed:

- a body over the cap: refused before it is read (by its Content-Length), or, chunked, as soon
  as it passes the cap (Flask would otherwise quietly cut a chunked body short);
- a form, in the body or in the URL's query, with more fields, or a field far longer, than any
  Twilio webhook carries: a body of thousands of empty fields costs a hundred times a webhook's
  work to parse and sign, and is refused here for the price of counting its `&`s;
- a multipart body: Twilio sends its forms URL-encoded, and nothing in the line takes files.

Each refusal is counted for the log's summary (ivr.web.refusals), never logged on its own.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from flask import Request
from werkzeug.datastructures import MultiDict

from ivr.web.refusals import FIELD_TOO_LONG, NOT_A_FORM, TOO_LARGE, TOO_MANY_FIELDS, refused

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# Twilio's voice webhooks carry 20 to 45 fields: the call's own (CallSid, AccountSid, From, To,
# CallStatus, ApiVersion, Direction, ForwardedFrom, CallerName, ParentCallSid, CallToken,
# StirVerstat, ...), where caller and called are (City, State, Zip and Country of From, To,
# Caller and Called: 16), and those of the verb that called back (Digits, SpeechResult,
# Confidence, FinishedOnKey; DialCallStatus, DialCallSid, DialCallDuration, DialBridged;
# CallDuration, Timestamp, SequenceNumber, CallbackSource, ...), plus the line's own few in
# the URL. A call over SIP adds one field per custom SIP header. 200 is over four times the most.
MAX_FIELDS = 200
# Most fields are a few characters. The long ones: CallToken, opaque and over 1 KiB (it can hold
# several SHAKEN/STIR PASSporTs, a few hundred bytes each), SpeechResult (at most a minute of
# speech: a few hundred words, tripled by URL-encoding for accented letters), and AddOns, the
# JSON results of any Twilio Add-ons on the number. 16 KiB is several times the longest.
MAX_FIELD_BYTES = 16 * 1024
FORM = "application/x-www-form-urlencoded"
FORM_KEY = "ivr.form"  # in the WSGI environ: the form parsed here; no client can set it


def form_problem(form: bytes) -> str | None:
    """Why a URL-encoded form is not one Twilio would send, or None."""
    if form.count(b"&") >= MAX_FIELDS:
        return TOO_MANY_FIELDS
    if len(form) > MAX_FIELD_BYTES and max(map(len, form.split(b"&"))) > MAX_FIELD_BYTES:
        return FIELD_TOO_LONG
    return None


def limit_body(app: WSGIApplication, max_bytes: int) -> WSGIApplication:
    def limited(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        problem = form_problem(environ.get("QUERY_STRING", "").encode("latin-1"))
        if problem:
            return _refuse(start_response, "413 Request Entity Too Large", problem)
        content_type = environ.get("CONTENT_TYPE", "").lower()
        if content_type.startswith("multipart/"):
            return _refuse(start_response, "415 Unsupported Media Type", NOT_A_FORM)
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        length = _length(environ)
        if length > max_bytes:
            return _refuse(start_response, "413 Request Entity Too Large", TOO_LARGE)
        if not chunked and not (length and content_type.startswith(FORM)):
            return app(environ, start_response)  # no body, or not a form: read by the app
        body = environ["wsgi.input"].read(max_bytes + 1 if chunked else length)
        if len(body) > max_bytes:
            return _refuse(start_response, "413 Request Entity Too Large", TOO_LARGE)
        if content_type.startswith(FORM):
            if problem := form_problem(body):
                return _refuse(start_response, "413 Request Entity Too Large", problem)
            _keep_form(environ, body)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        if chunked:
            # No longer chunked: werkzeug would otherwise ignore the length and read nothing.
            environ.pop("HTTP_TRANSFER_ENCODING", None)
            environ.pop("wsgi.input_terminated", None)
        return app(environ, start_response)

    return limited


def _keep_form(environ: WSGIEnvironment, body: bytes) -> None:
    """The form, parsed once here as werkzeug parses one (request.form), for form_of: the body
    is in hand, and werkzeug's stream around the same parse costs a webhook a tenth of its
    time. A body that is not UTF-8 is left to werkzeug, to answer as it does."""
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return
    environ[FORM_KEY] = MultiDict(
        parse_qsl(text, keep_blank_values=True, errors="werkzeug.url_quote")
    )


def form_of(request: Request) -> MultiDict[str, str]:
    """A POST's form: as parsed in front of the app, or by werkzeug."""
    form: MultiDict[str, str] | None = request.environ.get(FORM_KEY)
    return form if form is not None else request.form


def _length(environ: WSGIEnvironment) -> int:
    try:
        return max(0, int(environ.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def _refuse(start_response: StartResponse, status: str, reason: str) -> list[bytes]:
    refused.count(reason)
    body = status.split(" ", 1)[1].lower().encode() + b"\n"
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
