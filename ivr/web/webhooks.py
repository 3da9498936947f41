"""The webhooks Twilio calls during a call: /voice, /key, /dial, /fallback and /status."""

from __future__ import annotations

import functools
import logging

from flask import Blueprint, Request, Response, request
from werkzeug.exceptions import HTTPException

from ivr.call.answers import Answers
from ivr.call.counts import ERROR, FALLBACK, REFUSED
from ivr.call.speech_match import Heard
from ivr.web.call_records import CallRecordDeleter
from ivr.web.fallback import fallback_response
from ivr.web.log_output import WebhookLog, call_pseudonym
from ivr.web.public_url import public_root
from ivr.web.settings import Settings
from ivr.web.usage import NOT_COUNTED, Usage
from ivr.web.webhook import TWIML_HEADERS, WEBHOOK_HEADERS, Gate, caller_id_for, params

log = logging.getLogger("ivr")
# What Twilio reports in CallStatus; anything else is logged (at DEBUG) as "other".
CALL_STATUSES = frozenset(
    {"queued", "ringing", "in-progress", "completed", "busy", "failed", "no-answer", "canceled"}
)
# A Voice URL typed with a slash at the end, or set to HTTP GET, still reaches the caller:
# every route takes both methods, with strict_slashes=False.
_METHODS = ["POST", "GET"]


def webhooks(
    settings: Settings,
    answers: Answers,
    audio_base: str | None,
    deleter: CallRecordDeleter | None,
    usage: Usage,
) -> Blueprint:
    """`audio_base` is the recordings' address when configuration fixes it, else None."""
    blueprint = Blueprint("webhooks", __name__)
    gate = Gate(settings)
    log_webhook = WebhookLog()

    def count(names: tuple[str, ...], req: Request) -> None:
        # The browser phone's calls are a demo: not counted, nor a transfer's outcome.
        if not req.environ.get(NOT_COUNTED):
            usage.count(names)

    @blueprint.errorhandler(Exception)
    def failed(error: Exception) -> Response | HTTPException:
        if isinstance(error, HTTPException):
            if error.code == 403:
                count((REFUSED,), request)
            return error  # a refusal (403, 405, 413) stays a refusal
        # The trace names code, not callers: no form data is logged.
        log.exception("webhook %s failed; the caller is sent to the hotline", request.path)
        count((ERROR,), request)
        return fallback_response(params(request), settings.transfer_caller_id)

    def respond(route: str) -> Response:
        req = current_request()
        gate.admit(req, route)
        form = params(req)
        given: str | Heard | None = None
        if route == "key":
            given = form.get("Digits")
            speech = form.get("SpeechResult")
            if speech and not given:
                # What was said is matched, then forgotten: it is never logged or kept.
                given = answers.hear(req.query_string, speech)
        elif route == "dial":
            given = form.get("DialCallStatus")
        caller_id = caller_id_for(form, settings.transfer_caller_id)
        base = audio_base or f"{public_root(req, settings.public_base_url)}/audio"
        answer = answers.webhook(route, req.query_string, given, caller_id, base)
        count(answer.counts, req)
        log_webhook(form.get("CallSid"), answer.log)
        return Response(answer.body, headers=TWIML_HEADERS)

    for route in ("voice", "key", "dial"):
        view = functools.partial(respond, route)
        blueprint.add_url_rule(f"/{route}", route, view, methods=_METHODS, strict_slashes=False)

    @blueprint.route("/fallback", methods=_METHODS, strict_slashes=False)
    def fallback() -> Response:
        gate.admit(current_request(), "fallback")
        log.error("Twilio used the Fallback URL: the primary webhook failed")
        count((FALLBACK,), request)
        return fallback_response(params(request), settings.transfer_caller_id)

    @blueprint.route("/status", methods=_METHODS, strict_slashes=False)
    def status() -> Response:
        """Twilio's status callback: with DELETE_CALL_LOGS=on, a finished call's record goes."""
        gate.admit(current_request(), "status")
        form = params(request)
        call_sid, call_status = form.get("CallSid", ""), form.get("CallStatus", "")
        scheduled = deleter is not None and deleter.call_ended(call_sid, call_status)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "call=%s status %s%s",
                call_pseudonym(call_sid),
                call_status if call_status in CALL_STATUSES else "other",
                ", deleting its log" if scheduled else "",
            )
        return Response(status=204, headers=WEBHOOK_HEADERS)

    return blueprint


def current_request() -> Request:
    """The request itself: each use of Flask's `request` proxy costs a lookup."""
    req: Request = request._get_current_object()  # type: ignore[attr-defined]
    return req
