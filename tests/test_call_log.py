"""Optional deletion of a finished call's log from Twilio, tested around the one REST call."""

from __future__ import annotations

import json
import logging
import threading
import time

import pytest
from twilio.http import HttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.request_validator import RequestValidator

from ivr.app import create_app
from ivr.call_log import CallLogDeleter, twilio_deleter
from ivr.settings import Settings, SettingsError
from ivr.simulated_call import flask_post

from .conftest import ROOT

PARENT = "CA" + "1" * 32
CHILD = "CA" + "2" * 32
ACCOUNT = "AC" + "0" * 32


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[str] = []
        self.done = threading.Event()
        self.fail = fail

    def __call__(self, call_sid: str) -> int:
        self.calls.append(call_sid)
        self.done.set()
        if self.fail:
            raise RuntimeError(f"Twilio said no for a call from +14155550181 ({call_sid})")
        return 2


def status(app, call_status: str, token: str | None = None):
    """Twilio's status callback, signed when the app has a token."""
    url = "http://localhost/status"
    params = {"CallSid": PARENT, "CallStatus": call_status, "From": "+14155550181"}
    headers = {}
    if token:
        headers["X-Twilio-Signature"] = RequestValidator(token).compute_signature(url, params)
    return flask_post(app)(url, params, headers)


def settings(**changes) -> Settings:
    return Settings(prompts_dir=ROOT / "prompts", audio_dir=ROOT / "audio", **changes)


def test_off_by_default_nothing_is_deleted():
    assert Settings.from_env({}).delete_call_logs is False
    recorder = Recorder()
    app = create_app(settings(), call_logs=CallLogDeleter(recorder, delay_seconds=0))
    assert status(app, "completed").status == 204
    time.sleep(0.2)
    assert recorder.calls == []


def test_when_on_a_finished_call_is_deleted_once_and_only_when_signed():
    recorder = Recorder()
    app = create_app(
        settings(delete_call_logs=True, account_sid=ACCOUNT, auth_token="t"),
        call_logs=CallLogDeleter(recorder, delay_seconds=0),
    )
    for early in ("ringing", "in-progress", "queued"):
        assert status(app, early, "t").status == 204
    assert status(app, "completed").status == 403, "unsigned: refused, nothing deleted"
    time.sleep(0.2)
    assert recorder.calls == []
    assert status(app, "completed", "t").status == 204
    assert recorder.done.wait(5)
    assert recorder.calls == [PARENT]


def test_the_status_webhook_schedules_deletion_for_final_statuses_only():
    recorder = Recorder()
    deleter = CallLogDeleter(recorder, delay_seconds=0)
    assert not deleter.call_ended(PARENT, "in-progress")
    assert not deleter.call_ended("not-a-call-sid", "completed")
    assert deleter.call_ended(PARENT, "completed")
    assert recorder.done.wait(5)
    assert recorder.calls == [PARENT]


def test_a_failed_deletion_is_logged_without_the_number(caplog):
    recorder = Recorder(fail=True)
    deleter = CallLogDeleter(recorder, delay_seconds=0)
    with caplog.at_level("INFO", logger="ivr"):
        deleter.call_ended(PARENT, "completed")
        assert recorder.done.wait(5)
        time.sleep(0.1)
    assert "could not delete its log from Twilio: RuntimeError" in caplog.text
    assert "+14155550181" not in caplog.text


def test_on_needs_the_account_sid():
    with pytest.raises(SettingsError):
        Settings.from_env({"DELETE_CALL_LOGS": "on", "TWILIO_AUTH_TOKEN": "t"})


class TwilioApi(HttpClient):
    """Twilio's REST API as far as this feature uses it, answering on this machine."""

    def __init__(self) -> None:
        super().__init__(logging.getLogger("twilio-api-here"), is_async=False)
        self.requests: list[tuple[str, str, dict]] = []

    def request(self, method, url, params=None, data=None, headers=None, auth=None, **kwargs):
        self.requests.append((method, url, dict(params or {})))
        if method == "GET":
            page = {
                "calls": [{"sid": CHILD, "account_sid": ACCOUNT, "parent_call_sid": PARENT}],
                "next_page_uri": None,
                "page": 0,
                "page_size": 50,
            }
            return TwilioResponse(200, json.dumps(page))
        return TwilioResponse(204, "")


def test_the_rest_calls_delete_the_call_and_its_transfer_leg():
    api = TwilioApi()
    count = twilio_deleter(ACCOUNT, "token", http_client=api)(PARENT)
    assert count == 2
    methods = [(m, u.split("/2010-04-01/")[1], p) for m, u, p in api.requests]
    assert methods[0][0] == "GET" and methods[0][1] == f"Accounts/{ACCOUNT}/Calls.json"
    assert methods[0][2].get("ParentCallSid") == PARENT
    assert methods[1:] == [
        ("DELETE", f"Accounts/{ACCOUNT}/Calls/{CHILD}.json", {}),
        ("DELETE", f"Accounts/{ACCOUNT}/Calls/{PARENT}.json", {}),
    ]
