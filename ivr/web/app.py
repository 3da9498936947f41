"""The Flask app factory: the line loaded once, then its blueprints."""

from __future__ import annotations

import atexit
import logging

from flask import Flask

from ivr.audio.recordings import (
    FILE_CHANGED,
    FILE_MISSING,
    NO_RECORDING,
    STALE,
    NotFresh,
    load_recordings,
)
from ivr.call.answers import Answers
from ivr.call.keys_told import key_problems
from ivr.call.twiml import Renderer
from ivr.errors import ConfigError
from ivr.menu.load import load_line
from ivr.menu.model import PhoneLine
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
    _keys_told(line)
    recordings = load_recordings(settings.audio_dir, line)
    _log_not_fresh(line, recordings.not_fresh)
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


SHOWN_IDS = 3  # prompts named in a line of the start-up log; the rest are counted
# Each kind of problem with a recording, in the order the log gives them, and what it means.
_NOT_FRESH = (
    (STALE, "recording(s) say words their prompt no longer says (re-record or rebuild them)"),
    (FILE_MISSING, "recording file(s) are missing from the audio folder (rebuild them)"),
    (FILE_CHANGED, "recording file(s) are not the ones the manifest names (rebuild them)"),
    (NO_RECORDING, "prompt(s) have no recording, though their language has a voice for one"),
)


def _log_not_fresh(line: PhoneLine, not_fresh: tuple[NotFresh, ...]) -> None:
    """One line per kind of problem: what changes what callers hear first, as warnings, then
    the prompts that wait for a person (no placeholder voice in their language), as news."""

    def listed(items: list[NotFresh]) -> str:
        more = len(items) - SHOWN_IDS
        return ", ".join(i.key for i in items[:SHOWN_IDS]) + (
            f" and {more} more" if more > 0 else ""
        )

    def waits(item: NotFresh) -> bool:
        code = item.key.partition("/")[0]
        return item.kind == NO_RECORDING and line.languages[code].placeholder_tts == "none"

    for kind, meaning in _NOT_FRESH:
        items = [i for i in not_fresh if i.kind == kind and not waits(i)]
        if items:
            log.warning(
                "%d %s; callers hear Twilio's voice instead: %s", len(items), meaning, listed(items)
            )
    waiting = [i for i in not_fresh if waits(i)]
    if waiting:
        log.info(
            "%d prompt(s) are spoken by Twilio's voice until someone records them (their "
            "language has no placeholder voice): %s",
            len(waiting),
            listed(waiting),
        )


def _keys_told(line: PhoneLine) -> None:
    """A prompt that names a key doing nothing where it is heard stops the line; a key that
    works where no prompt names it is logged."""
    try:
        problems = key_problems(line)
    except Exception:
        # A fault in the call flow itself is code's, not the menu's: the line still serves,
        # and the call that meets the fault hears the apology and goes to the hotline.
        log.exception("the keys the prompts name could not be checked")
        return
    for problem in problems:
        if problem.severity == "error":
            raise ConfigError(
                problem.where.path, problem.where.line, f"{problem.message}; {problem.fix}"
            )
    for problem in problems:
        log.warning("%s: %s; %s", problem.where, problem.message, problem.fix)


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
