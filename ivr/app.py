"""The Flask app factory: webhooks for Twilio, and a health check for the platform."""

from __future__ import annotations

import logging

from flask import Flask, Response, abort, request
from werkzeug.exceptions import HTTPException

from .answers import Answers
from .call_log import CallLogDeleter, twilio_deleter
from .fallback import MAX_BODY, WEBHOOK_HEADERS, caller_id_for, fallback_response
from .load import load_line
from .log_output import WebhookLog
from .log_output import configure as configure_logging
from .phone_page import phone_page
from .public_url import public_root, trust_proxies
from .recordings import load_recordings
from .settings import Settings
from .signature import SignatureCheck
from .soundness import menu_problems
from .speech import Heard
from .twiml import Renderer
from .yamlfile import ConfigError

log = logging.getLogger("ivr")


def create_app(settings: Settings | None = None, call_logs: CallLogDeleter | None = None) -> Flask:
    """Load and validate the menu once, then serve it. A broken menu raises ConfigError.

    `call_logs` replaces what deletes a call's log from Twilio, when that is on (for tests).
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
    answers = Answers(line, Renderer(line, recordings))

    # Each part sets its own headers where it answers; the phone page serves its own files.
    app = Flask(__name__, static_folder=None)
    app.config["IVR_LINE"] = line
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY  # refused with 413 before the body is read
    trust_proxies(app, settings.proxy_hops)

    check = (
        SignatureCheck(settings.auth_token, settings.public_base_url)
        if settings.auth_token
        else None
    )
    if check is None:
        log.warning(
            "TWILIO_AUTH_TOKEN is not set: webhooks are NOT checked for Twilio's signature. "
            "Anyone can drive this line. Set it before taking real calls."
        )

    def caller_id() -> str | None:
        return caller_id_for(request.form, settings.transfer_caller_id)

    def audio_base() -> str:
        return settings.audio_base_url or f"{public_root(request, settings.public_base_url)}/audio"

    webhooks = {"voice", "key", "dial", "fallback", "status"}
    deleter = None
    if settings.delete_call_logs:
        assert settings.account_sid and settings.auth_token
        deleter = call_logs or CallLogDeleter(
            twilio_deleter(settings.account_sid, settings.auth_token)
        )

    @app.errorhandler(Exception)
    def failed(error: Exception) -> Response | HTTPException:
        if isinstance(error, HTTPException):
            return error
        # The trace names code, not callers: no form data is logged.
        log.exception("webhook %s failed; the caller is sent to the hotline", request.path)
        if request.endpoint not in webhooks:
            return Response("internal error", status=500, mimetype="text/plain")
        return fallback_response(request.form, settings.transfer_caller_id)

    @app.before_request
    def verify_signature() -> None:
        if request.endpoint in webhooks and check is not None and not check.is_valid(request):
            log.warning("refused %s: missing or invalid X-Twilio-Signature", request.path)
            abort(403)

    def respond(route: str, given: str | Heard | None, how: str = "") -> Response:
        answer = answers.webhook(route, request.query_string, given, caller_id(), audio_base())
        call = _short_call_id(request.form.get("CallSid", ""))
        log_webhook(f"call={call} {route}{how} {answer.log}")
        return Response(answer.body, mimetype="text/xml", headers=WEBHOOK_HEADERS)

    @app.post("/voice")
    def voice() -> Response:
        return respond("voice", None)

    @app.post("/key")
    def key() -> Response:
        digits = request.form.get("Digits")
        speech = request.form.get("SpeechResult")
        if not digits and speech:
            # What was said is matched, then forgotten: it is never logged or kept.
            return respond("key", answers.hear(request.query_string, speech), " by speech")
        return respond("key", digits)

    @app.post("/dial")
    def dial() -> Response:
        return respond("dial", request.form.get("DialCallStatus"))

    @app.post("/fallback")
    def fallback() -> Response:
        log.error("Twilio used the Fallback URL: the primary webhook failed")
        return fallback_response(request.form, settings.transfer_caller_id)

    @app.post("/status")
    def status() -> Response:
        """Twilio's status callback: with DELETE_CALL_LOGS=on, a finished call's log is deleted."""
        call_sid = request.form.get("CallSid", "")
        call_status = request.form.get("CallStatus", "")
        scheduled = deleter is not None and deleter.call_ended(call_sid, call_status)
        log.info(
            "call=%s status %s%s",
            _short_call_id(call_sid),
            call_status[:20] or "-",
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


def _short_call_id(call_sid: str) -> str:
    # Enough to follow one call through the log; the caller's number is never logged.
    return call_sid[-6:] if call_sid else "-"


__all__ = ["create_app"]
