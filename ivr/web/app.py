"""The Flask app factory: webhooks for Twilio, and a health check for the platform."""

from __future__ import annotations

import atexit
import logging

from flask import Flask, Request, Response, abort, request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from ivr.audio.recordings import load_recordings
from ivr.call.answers import Answers
from ivr.call.speech_match import Heard
from ivr.call.twiml import Renderer
from ivr.errors import ConfigError
from ivr.menu.load import load_line
from ivr.menu.soundness import menu_problems
from ivr.web.body_limit import limit_body
from ivr.web.call_records import CallRecordDeleter, record_deleter, twilio_client
from ivr.web.fallback import (
    MAX_BODY,
    NO_TOKEN_WARNING,
    WEBHOOK_HEADERS,
    caller_id_for,
    fallback_response,
)
from ivr.web.log_output import WebhookLog, short_call_id
from ivr.web.log_output import configure as configure_logging
from ivr.web.phone_page import phone_page
from ivr.web.public_url import public_root, trust_proxies
from ivr.web.settings import Settings
from ivr.web.signature import SignatureCheck

log = logging.getLogger("ivr")
# Every webhook answer: TwiML, never to be kept by a proxy (see WEBHOOK_HEADERS).
TWIML_HEADERS = [("Content-Type", "text/xml; charset=utf-8"), *WEBHOOK_HEADERS.items()]
# What Twilio reports in CallStatus; anything else is logged as "other".
CALL_STATUSES = frozenset(
    {"queued", "ringing", "in-progress", "completed", "busy", "failed", "no-answer", "canceled"}
)


def create_app(
    settings: Settings | None = None, call_records: CallRecordDeleter | None = None
) -> Flask:
    """Load and validate the menu once, then serve it. A broken menu raises ConfigError.

    `call_records` replaces what deletes a call's record from Twilio, when that is on (for tests).
    """
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level)
    log_webhook = WebhookLog()
    line = load_line(settings.prompts_dir)
    for where, problem in menu_problems(line):
        raise ConfigError(where.path, where.line, problem)
    recordings = load_recordings(settings.audio_dir, line)
    if recordings.not_fresh:
        log.warning(
            "%d prompt(s) have no fresh recording and are spoken with <Say>: %s",
            len(recordings.not_fresh),
            "; ".join(recordings.not_fresh),
        )
    # Fixed by configuration, the recordings' address never comes from a request's headers.
    fixed_audio_base = settings.audio_base_url or (
        f"{settings.public_base_url}/audio" if settings.public_base_url else None
    )
    answers = Answers(line, Renderer(line, recordings), fixed_audio_base)

    # Each part sets its own headers where it answers; the phone page serves its own files.
    app = Flask(__name__, static_folder=None)
    app.config["IVR_LINE"] = line
    app.extensions["ivr.call.answers"] = answers  # what the line keeps, for whoever must inspect it
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY  # refused with 413 before the body is read
    app.wsgi_app = limit_body(app.wsgi_app, MAX_BODY)  # type: ignore[method-assign]
    trust_proxies(app, settings.proxy_hops)

    check = (
        SignatureCheck(settings.auth_token, settings.public_base_url)
        if settings.auth_token
        else None
    )
    if check is None:
        log.warning(NO_TOKEN_WARNING)

    webhooks = {"voice", "key", "dial", "fallback", "status"}
    deleter = None
    if settings.delete_call_logs:
        assert settings.account_sid and settings.auth_token
        account, token = settings.account_sid, settings.auth_token
        deleter = call_records or CallRecordDeleter(
            record_deleter(lambda: twilio_client(account, token))
        )
        # On a restart or a deploy: finish what is under way, and say what is left.
        atexit.register(deleter.shutdown)

    def params(req: Request) -> MultiDict[str, str]:
        # Twilio sends a webhook's parameters in the body, or, set to HTTP GET, in its URL.
        return req.form if req.method == "POST" else req.args

    @app.errorhandler(Exception)
    def failed(error: Exception) -> Response | HTTPException:
        if isinstance(error, HTTPException):
            return error
        # The trace names code, not callers: no form data is logged.
        log.exception("webhook /%s failed; the caller is sent to the hotline", request.endpoint)
        if request.endpoint not in webhooks:
            return Response("internal error", status=500, mimetype="text/plain")
        return fallback_response(params(request), settings.transfer_caller_id)

    told_to_post = False

    def verify_signature(req: Request) -> None:
        """Refuse a webhook Twilio did not sign; say once to switch GET webhooks to POST."""
        nonlocal told_to_post
        if check is not None and not check.is_valid(req):
            log.warning("refused /%s: missing or invalid X-Twilio-Signature", req.endpoint)
            abort(403)
        if req.method == "GET" and not told_to_post:
            told_to_post = True
            log.warning(
                "Twilio calls /%s with HTTP GET, which puts each caller's number in the URL, "
                "where proxies and logs keep it: set the number's webhooks to HTTP POST",
                req.endpoint,
            )

    def respond(route: str) -> Response:
        req = current_request()
        verify_signature(req)
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
        base = fixed_audio_base or f"{public_root(req, settings.public_base_url)}/audio"
        answer = answers.webhook(route, req.query_string, given, caller_id, base)
        log_webhook(f"call={short_call_id(form.get('CallSid'))} {answer.log}")
        return Response(answer.body, headers=TWIML_HEADERS)

    # A Voice URL typed with a slash at the end, or set to HTTP GET, still reaches the caller.
    webhook = {"methods": ["POST", "GET"], "strict_slashes": False}

    @app.route("/voice", **webhook)
    def voice() -> Response:
        return respond("voice")

    @app.route("/key", **webhook)
    def key() -> Response:
        return respond("key")

    @app.route("/dial", **webhook)
    def dial() -> Response:
        return respond("dial")

    @app.route("/fallback", **webhook)
    def fallback() -> Response:
        verify_signature(current_request())
        log.error("Twilio used the Fallback URL: the primary webhook failed")
        return fallback_response(params(request), settings.transfer_caller_id)

    @app.route("/status", **webhook)
    def status() -> Response:
        """Twilio's status callback: with DELETE_CALL_LOGS=on, a finished call's log is deleted."""
        verify_signature(current_request())
        form = params(request)
        call_sid, call_status = form.get("CallSid", ""), form.get("CallStatus", "")
        scheduled = deleter is not None and deleter.call_ended(call_sid, call_status)
        log.info(
            "call=%s status %s%s",
            short_call_id(call_sid),
            call_status if call_status in CALL_STATUSES else "other",
            ", deleting its log" if scheduled else "",
        )
        return Response(status=204, headers=WEBHOOK_HEADERS)

    @app.get("/audio/<language>/<name>")
    def audio(language: str, name: str) -> Response:
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
        response.cache_control.max_age = 365 * 24 * 3600
        response.cache_control.immutable = True
        return response.make_conditional(request)

    @app.get("/healthz")
    def health() -> dict[str, object]:
        return {"status": "ok", "menus": len(line.menus), "sections": len(line.sections)}

    if settings.phone_page_enabled:
        texts = {r.file: r.text for r in recordings.by_file.values()}
        app.register_blueprint(phone_page(settings.auth_token, settings.public_base_url, texts))
        log.info("the browser phone is at /phone")

    return app


__all__ = ["create_app"]


def current_request() -> Request:
    """The request itself: each use of Flask's `request` proxy costs a lookup."""
    return request._get_current_object()  # type: ignore[attr-defined]
