"""The Flask app factory: the line loaded once, then its blueprints."""

from __future__ import annotations

import atexit
import logging

from flask import Flask

from ivr.audio.recordings import load_recordings
from ivr.call.answers import Answers
from ivr.call.twiml import Renderer
from ivr.errors import ConfigError
from ivr.menu.load import load_line
from ivr.menu.soundness import menu_problems
from ivr.web.body_limit import limit_body
from ivr.web.call_records import CallRecordDeleter, record_deleter, twilio_client
from ivr.web.health import health
from ivr.web.home import home
from ivr.web.log_output import configure as configure_logging
from ivr.web.phone_page import phone_page
from ivr.web.public_url import trust_proxies
from ivr.web.recordings_route import recordings_route
from ivr.web.settings import Settings
from ivr.web.usage import Usage
from ivr.web.usage_store import UsageStore, open_store
from ivr.web.webhook import MAX_BODY
from ivr.web.webhooks import webhooks

log = logging.getLogger("ivr")


def create_app(
    settings: Settings | None = None, call_records: CallRecordDeleter | None = None
) -> Flask:
    """Load and validate the menu once, then serve it. A broken menu raises ConfigError.

    `call_records` replaces what deletes a call's record from Twilio, when that is on (for tests).
    """
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level)
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
    audio_base = settings.audio_base_url or (
        f"{settings.public_base_url}/audio" if settings.public_base_url else None
    )
    answers = Answers(line, Renderer(line, recordings), audio_base)

    # Each part sets its own headers where it answers; the phone page serves its own files.
    app = Flask(__name__, static_folder=None)
    app.config["IVR_LINE"] = line
    app.extensions["ivr.answers"] = answers  # what the line keeps, for whoever must inspect it
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY  # refused with 413 before the body is read
    app.wsgi_app = limit_body(app.wsgi_app, MAX_BODY)  # type: ignore[method-assign,assignment]
    trust_proxies(app, settings.proxy_hops)

    usage = Usage(_usage_store(settings), settings.usage_batch_seconds)
    app.extensions["ivr.usage"] = usage
    app.register_blueprint(
        webhooks(settings, answers, audio_base, _deleter(settings, call_records), usage)
    )
    app.register_blueprint(recordings_route(recordings))
    app.register_blueprint(health(line))
    app.register_blueprint(home(settings.phone_page_enabled))
    if settings.phone_page_enabled:
        texts = {r.file: r.text for r in recordings.by_file.values()}
        app.register_blueprint(phone_page(settings.auth_token, settings.public_base_url, texts))
        log.info("the browser phone is at /phone")
    return app


def _usage_store(settings: Settings) -> UsageStore | None:
    store = open_store(settings.usage_db, settings.redis_url)
    if store is not None:
        try:
            log.info("usage counters are kept in %s", store.prepare())
        except Exception as error:
            # The line answers anyway; its counts wait in memory until the store can be used.
            # Of a Redis error, only its type: its text could quote REDIS_URL and its password.
            where, why = (
                ("Redis (REDIS_URL)", type(error).__name__)
                if settings.redis_url
                else (str(settings.usage_db), str(error))
            )
            log.warning("usage counters cannot be kept in %s: %s", where, why)
    return store


def _deleter(settings: Settings, given: CallRecordDeleter | None) -> CallRecordDeleter | None:
    """With DELETE_CALL_LOGS=on, what deletes each finished call's record from Twilio."""
    if not settings.delete_call_logs:
        return None
    assert settings.account_sid and settings.auth_token
    account, token = settings.account_sid, settings.auth_token
    deleter = given or CallRecordDeleter(record_deleter(lambda: twilio_client(account, token)))
    # On a restart or a deploy: finish what is under way, and say what is left.
    atexit.register(deleter.shutdown)
    return deleter
