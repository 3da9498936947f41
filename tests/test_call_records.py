"""Optional deletion of finished calls' logs from Twilio.

Twilio's servers cannot be reached from here, so Twilio's REST API is played by a small HTTP
server on this machine, and twilio-python's own client talks to it over HTTP: its requests,
its timeouts and its errors are the real ones.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from twilio.http.http_client import TwilioHttpClient

from ivr.tools.simulated_call import flask_post
from ivr.web.app import create_app
from ivr.web.call_records import CallRecordDeleter, record_deleter, sweep, twilio_client
from ivr.web.log_output import call_pseudonym
from ivr.web.settings import Settings, SettingsError
from tests.helpers import ROOT, ivr, sign

ACCOUNT = "AC" + "0" * 32
LINE = "+18005550100"
CALLER = "+14155550181"


def sid(n: int) -> str:
    return f"CA{n:032x}"


PARENT, CHILD = sid(1), sid(2)


class FakeTwilio:
    """The part of Twilio's REST API the line uses, with faults to order."""

    def __init__(self) -> None:
        self.calls: dict[str, dict] = {}  # sid -> call resource
        self.requests: list[tuple[str, str, dict]] = []
        self.faults: list[int | float] = []  # next DELETE answers: an HTTP status, or a delay
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                fake.answer(self, "GET")

            def do_DELETE(self) -> None:
                fake.answer(self, "DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self, call_sid: str, status="completed", ended_minutes_ago=10.0, parent=None):
        ended = datetime.now(UTC) - timedelta(minutes=ended_minutes_ago)
        self.calls[call_sid] = {
            "sid": call_sid,
            "account_sid": ACCOUNT,
            "to": LINE if parent is None else "+18663319474",
            "from": CALLER,
            "status": status,
            "parent_call_sid": parent,
            "end_time": ended.strftime("%a, %d %b %Y %H:%M:%S +0000")
            if status != "in-progress"
            else None,
        }

    def answer(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        url = urllib.parse.urlsplit(handler.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        with self.lock:
            self.requests.append((method, url.path, query))
            fault = self.faults.pop(0) if method == "DELETE" and self.faults else None
        if isinstance(fault, float):
            time.sleep(fault)  # longer than the client waits
        if isinstance(fault, int):
            return self.send(handler, fault, {"code": 20500, "message": "oops", "status": fault})
        path = url.path.removeprefix(f"/2010-04-01/Accounts/{ACCOUNT}/")
        if method == "GET" and path == "IncomingPhoneNumbers.json":
            numbers = [{"sid": "PN" + "0" * 32, "phone_number": LINE}]
            return self.send(handler, 200, self.page("incoming_phone_numbers", numbers))
        if method == "GET" and path == "Calls.json":
            calls = [
                c
                for c in self.calls.values()
                if all(
                    c.get(k) == query[q]
                    for q, k in [("To", "to"), ("ParentCallSid", "parent_call_sid")]
                    if q in query
                )
            ]
            return self.send(handler, 200, self.page("calls", calls))
        if method == "DELETE" and path.startswith("Calls/"):
            call_sid = path.removeprefix("Calls/").removesuffix(".json")
            if self.calls.pop(call_sid, None) is None:
                return self.send(
                    handler, 404, {"code": 20404, "message": "not found", "status": 404}
                )
            return self.send(handler, 204, None)
        self.send(handler, 404, {"code": 20404, "message": "no such resource", "status": 404})

    @staticmethod
    def page(key: str, items: list[dict]) -> dict:
        return {key: items, "next_page_uri": None, "page": 0, "page_size": 50}

    @staticmethod
    def send(handler: BaseHTTPRequestHandler, status: int, body: object) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def deletes(self) -> list[str]:
        return [
            p.rsplit("/", 1)[1].removesuffix(".json") for m, p, _ in self.requests if m == "DELETE"
        ]


class ToFake(TwilioHttpClient):
    """twilio-python's HTTP client, sent to the fake API instead of api.twilio.com."""

    def __init__(self, base: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.base = base

    def request(self, method, url, *args, **kwargs):
        return super().request(
            method, url.replace("https://api.twilio.com", self.base), *args, **kwargs
        )


@pytest.fixture
def twilio():
    fake = FakeTwilio()
    yield fake
    fake.server.shutdown()


def client_for(fake: FakeTwilio, timeout: float = 2.0):
    return twilio_client(ACCOUNT, "token", http_client=ToFake(fake.base, timeout))


def deleter_for(fake: FakeTwilio, **kwargs) -> CallRecordDeleter:
    kwargs.setdefault("delay_seconds", 0)
    kwargs.setdefault("backoff_seconds", 0.05)
    timeout = kwargs.pop("timeout", 2.0)
    return CallRecordDeleter(record_deleter(lambda: client_for(fake, timeout)), **kwargs)


def wait_until(predicate, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_the_call_and_its_transfer_leg_are_deleted_through_the_real_client(twilio):
    twilio.add(PARENT)
    twilio.add(CHILD, parent=PARENT)
    count = record_deleter(lambda: client_for(twilio))(PARENT)
    assert count == 2
    lists = [q for m, p, q in twilio.requests if m == "GET"]
    assert lists == [{"ParentCallSid": PARENT}]
    assert twilio.deletes() == [CHILD, PARENT]
    assert twilio.calls == {}


def test_5xx_answers_and_timeouts_are_tried_again_then_it_succeeds(twilio, caplog):
    twilio.add(PARENT)
    twilio.faults = [503, 1.0, 500]  # then it works; the client waits 0.3 s
    deleter = deleter_for(twilio, timeout=0.3)
    with caplog.at_level("DEBUG", logger="ivr"):
        assert deleter.call_ended(PARENT, "completed")
        wait_until(lambda: not deleter.pending)
    assert PARENT not in twilio.calls
    assert twilio.deletes() == [PARENT] * 4
    assert f"call={call_pseudonym(PARENT)} deleted its log from Twilio (1 call record(s))" in (
        caplog.text
    )
    assert PARENT[-6:] not in caplog.text


def test_a_lasting_outage_gives_up_after_the_retries_and_says_so_without_the_number(twilio, caplog):
    twilio.add(PARENT)
    twilio.faults = [503] * 10
    deleter = deleter_for(twilio)
    with caplog.at_level("INFO", logger="ivr"):
        deleter.call_ended(PARENT, "completed")
        wait_until(lambda: not deleter.pending)
    assert len(twilio.deletes()) == 4, "the first try and three more"
    assert "a call's log could not be deleted from Twilio: HTTP 503" in caplog.text
    assert CALLER not in caplog.text and CALLER.lstrip("+") not in caplog.text


def test_a_refusal_is_not_tried_again(twilio, caplog):
    twilio.add(PARENT)
    twilio.faults = [401]
    deleter = deleter_for(twilio)
    with caplog.at_level("INFO", logger="ivr"):
        deleter.call_ended(PARENT, "completed")
        wait_until(lambda: not deleter.pending)
    assert len(twilio.deletes()) == 1
    assert "a call's log could not be deleted from Twilio: TwilioRestException" in caplog.text


def test_one_deletion_per_call_and_a_bounded_pool(twilio):
    twilio.add(PARENT)
    deleter = deleter_for(twilio, delay_seconds=0.5, workers=2, max_pending=50)
    before = threading.active_count()
    scheduled = [deleter.call_ended(PARENT, "completed") for _ in range(300)]
    assert scheduled.count(True) == 1, "300 replays of one callback: one deletion"
    for n in range(10, 200):
        deleter.call_ended(sid(n), "completed")
    assert deleter.pending == 50, "the rest is left for the sweep"
    assert threading.active_count() <= before + 2
    wait_until(lambda: not deleter.pending)
    assert twilio.deletes().count(PARENT) == 1


def test_at_shutdown_what_is_left_is_counted_in_the_log(twilio, caplog):
    deleter = deleter_for(twilio, delay_seconds=60)
    for n in range(10, 15):
        deleter.call_ended(sid(n), "completed")
    with caplog.at_level("WARNING", logger="ivr"):
        left = deleter.shutdown(wait_seconds=0.2)
    assert left == 5
    assert "stopping with 5 call log(s) not yet deleted from Twilio" in caplog.text
    assert not deleter.call_ended(sid(20), "completed"), "a stopped deleter takes no more"


def test_the_sweep_deletes_finished_calls_of_the_lines_numbers_and_their_legs(twilio):
    twilio.add(sid(1))
    twilio.add(sid(2), parent=sid(1))
    twilio.add(sid(3), status="no-answer", ended_minutes_ago=30)
    twilio.add(sid(4), ended_minutes_ago=1)  # too recent: the line itself deletes it
    twilio.add(sid(5), status="in-progress")
    twilio.faults = [503]  # a moment's outage on the first delete
    client = client_for(twilio)
    from ivr.web.call_records import line_numbers

    assert line_numbers(client) == [LINE]
    swept = sweep(client, line_numbers(client), timedelta(minutes=5), backoff_seconds=0.01)
    assert (swept.calls, swept.records, swept.failed) == (2, 3, 0)
    assert set(twilio.calls) == {sid(4), sid(5)}


def test_the_sweep_command_needs_credentials():
    result = ivr("delete-call-logs", TWILIO_ACCOUNT_SID="", TWILIO_AUTH_TOKEN="")
    assert result.returncode == 2
    assert "set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN" in result.stderr


# --- the /status webhook --------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, call_sid: str) -> int:
        self.calls.append(call_sid)
        return 1


def status(app, call_status: str, token: str | None = None):
    """Twilio's status callback, signed when the app has a token."""
    url = "http://localhost/status"
    params = {"CallSid": PARENT, "CallStatus": call_status, "From": CALLER}
    headers = {}
    if token:
        headers["X-Twilio-Signature"] = sign(url, params, token)
    return flask_post(app)(url, params, headers)


def settings(**changes) -> Settings:
    return Settings(prompts_dir=ROOT / "prompts", audio_dir=ROOT / "audio", **changes)


def test_off_by_default_nothing_is_deleted():
    assert Settings.from_env({}).delete_call_logs is False
    recorder = Recorder()
    app = create_app(settings(), call_records=CallRecordDeleter(recorder, delay_seconds=0))
    assert status(app, "completed").status == 204
    time.sleep(0.2)
    assert recorder.calls == []


def test_when_on_a_finished_call_is_deleted_once_and_only_when_signed():
    recorder = Recorder()
    deleter = CallRecordDeleter(recorder, delay_seconds=0)
    app = create_app(
        settings(delete_call_logs=True, account_sid=ACCOUNT, auth_token="t"), call_records=deleter
    )
    for early in ("ringing", "in-progress", "queued"):
        assert status(app, early, "t").status == 204
    assert status(app, "completed").status == 403, "unsigned: refused, nothing deleted"
    time.sleep(0.2)
    assert recorder.calls == []
    assert status(app, "completed", "t").status == 204
    wait_until(lambda: recorder.calls == [PARENT])


def test_only_final_statuses_and_real_call_sids_are_deleted():
    deleter = CallRecordDeleter(Recorder(), delay_seconds=0)
    assert not deleter.call_ended(PARENT, "in-progress")
    assert not deleter.call_ended("not-a-call-sid", "completed")
    assert not deleter.call_ended(sid(0xABC).upper(), "completed")
    assert deleter.call_ended(PARENT, "completed")


def test_on_needs_the_account_sid():
    with pytest.raises(SettingsError):
        Settings.from_env({"DELETE_CALL_LOGS": "on", "TWILIO_AUTH_TOKEN": "t"})
