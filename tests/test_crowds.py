"""Staying up while a crowd holds connections open: every request has a deadline, a crowd cannot
fill the room a worker keeps, bodies Twilio never sends are refused before they are parsed, and
nothing a client sends reaches the log. Against the server as the Procfile starts it, in the line
and in the fallback app; the same attacks at full scale are in bench/hostile.py."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from ivr.web.body_limit import MAX_FIELD_BYTES, MAX_FIELDS
from ivr.web.worker import REQUEST_SECONDS, SPREAD
from tests.crowd import crowd, flood_request, headers_request
from tests.helpers import (
    CALLER,
    TOKEN,
    signed_post,
    signed_request,
    start_server,
    stop_server,
    workers,
)
from tests.slow_clients import probe

FALLBACK = "ivr.web.fallback:create_fallback_app()"
APPS = {"line": ("ivr.wsgi:app", "voice"), "fallback app": (FALLBACK, "fallback")}
LATEST = REQUEST_SECONDS * (1 + SPREAD) + 1.5  # by when a slow request must have been closed
SECRET = "+15551234567"  # what a client tries to write into the log


def exchange(url: str, pieces: list[bytes], every: float = 0.0, limit: float = 30) -> bytes:
    """Send `pieces` on one connection, `every` seconds apart, and read until the server
    closes it (or `limit` seconds pass); what the server sent."""
    parts = urllib.parse.urlsplit(url)
    answer = b""
    with socket.create_connection((parts.hostname, parts.port), timeout=limit) as sock:
        stop = time.monotonic() + limit
        try:
            for piece in pieces:
                sock.sendall(piece)
                if every:
                    sock.settimeout(every)
                    try:
                        if not (data := sock.recv(4096)):
                            return answer
                        answer += data
                    except TimeoutError:
                        continue
            sock.settimeout(max(0.1, stop - time.monotonic()))
            while data := sock.recv(4096):
                answer += data
        except (TimeoutError, ConnectionResetError, BrokenPipeError):
            pass
    return answer


def summed_up(log: str, reason: str) -> int:
    """The count of `reason` over the log's summary lines."""
    return sum(int(n.replace(",", "")) for n in re.findall(rf"([\d,]+) {reason}", log))


# --- deadlines ---------------------------------------------------------------------------------


@pytest.mark.parametrize("app", APPS)
def test_a_request_that_is_not_sent_whole_within_the_deadline_is_closed(run_server, app):
    served, path = APPS[app]
    with run_server(app=served) as server:
        head = f"POST /{path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-"
        head += "urlencoded\r\nX-Twilio-Signature: slow\r\nContent-Length: 30000\r\n\r\n"
        slow = {
            "a body that never comes": ([head.encode()], 0.0),
            "a body a byte a second": ([head.encode(), *[b"a"] * 30], 1.0),
            "a header a line a second": (
                [b"GET /healthz HTTP/1.1\r\n", *[f"X-{i}: {i}\r\n".encode() for i in range(30)]],
                1.0,
            ),
        }
        answers: dict[str, tuple[float, bytes]] = {}

        def measure(name: str) -> None:
            pieces, every = slow[name]
            started = time.monotonic()
            answer = exchange(server.url, pieces, every)
            answers[name] = (time.monotonic() - started, answer)

        threads = [threading.Thread(target=measure, args=(name,)) for name in slow]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    for name, (seconds, answer) in answers.items():
        assert REQUEST_SECONDS - 0.5 < seconds < LATEST, f"{name}: closed after {seconds:.1f} s"
        assert answer.startswith(b"HTTP/1.1 408 "), f"{name}: {answer[:40]!r}"
    assert summed_up(server.log(), "not sent whole within the request deadline") == 3


def raw(base: str, path: str, extra: dict[str, str], more: str = "") -> tuple[bytes, bytes]:
    """A signed webhook's header (with `more` header lines) and body, as bytes on the wire."""
    request = signed_request(base, path, extra)
    headers = "".join(f"{k}: {v}\r\n" for k, v in request["headers"].items())  # type: ignore[attr-defined]
    body = str(request["body"]).encode()
    head = f"POST {request['path']} HTTP/1.1\r\nHost: {base[7:]}\r\n{headers}{more}"
    return f"{head}Content-Length: {len(body)}\r\n\r\n".encode(), body


def test_an_idle_connection_waits_and_keeps_serving_requests(server):
    """Between requests a connection is kept: Twilio, or a router in front, may send more."""
    head, body = raw(server.url, "key?n=main&p=0&m=0", {"Digits": "1"})
    parts = urllib.parse.urlsplit(server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        for pause in (0, LATEST, 0):  # longer than any request may take, then at once
            time.sleep(pause)
            sock.sendall(head + body)
            answer = sock.recv(65536)
            assert answer.startswith(b"HTTP/1.1 200 "), answer[:40]
            while b"</Response>" not in answer:
                answer += sock.recv(65536)


@pytest.mark.parametrize("cut", [1, 100, 400])
def test_pipelined_webhooks_are_each_answered_at_once(server, cut):
    """Two signed webhooks sent back to back on one connection, the second's last `cut` bytes
    a moment later: the second is answered as soon as it is whole, not refused at its
    deadline."""
    first = b"".join(raw(server.url, "key?n=main&p=0&m=0", {"Digits": "1"}))
    head, body = raw(server.url, "key?n=main&p=0&m=0", {"Digits": "2"}, "Connection: close\r\n")
    second = head + body
    parts = urllib.parse.urlsplit(server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(first + second[:-cut])
        time.sleep(0.3)
        sent = time.monotonic()
        sock.sendall(second[-cut:])
        answer = b""
        while data := sock.recv(65536):
            answer += data
        took = time.monotonic() - sent
    answers = answer.split(b"HTTP/1.1 ")[1:]
    assert [a[:3] for a in answers] == [b"200", b"200"], answer[:300]
    assert took < REQUEST_SECONDS / 2, f"answered after {took:.1f} s"


def test_a_client_that_waits_for_100_continue_is_answered(server):
    more = "Expect: 100-continue\r\nConnection: close\r\n"
    head, body = raw(server.url, "voice", {}, more)
    parts = urllib.parse.urlsplit(server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(head)
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(body)
        answer = b""
        while data := sock.recv(65536):
            answer += data
    assert answer.startswith(b"HTTP/1.1 200 ") and b"<Gather" in answer


# --- room that a crowd cannot fill ---------------------------------------------------------------


@pytest.mark.parametrize("app", APPS)
def test_a_crowd_larger_than_the_room_keeps_no_webhook_waiting(run_server, app):
    """2,200 stalled bodies, more than gevent's pool of 1,000 a worker would hold, and 1,000
    idle sockets that come back when closed, against 2 workers that each let 250 wait."""
    served, path = APPS[app]
    with (
        run_server({"WORKER_CONNECTIONS": "250"}, app=served) as server,
        crowd("stalled", 2200, server.url, 30, again=False) as stalled,
        crowd("idle", 1000, server.url, 30) as idle,
    ):
        probes = probe(server.url, LATEST + 2, timeout=15, path=path, health=False)
        during = server.log()
    assert probes.sent >= 12 and probes.answered == probes.sent, "every webhook answered 200"
    assert probes.over(1) == 0, f"the slowest answer took {probes.worst():.2f} s"
    # Each stalled body was closed, at its deadline (408) or, past it, to make room.
    assert stalled.closed_by_server == 2200 and stalled.longest_open < LATEST
    assert idle.closed_by_server > 0, "idle sockets were closed to make room"
    assert "refused" not in during, "nothing written while the crowd came"
    log = server.log()
    timed_out = summed_up(log, "not sent whole within the request deadline")
    assert timed_out >= stalled.answers.get("HTTP/1.1 408 Request Timeout", 0) > 0
    made_room = summed_up(log, "waiting connections closed to make room")
    assert timed_out + made_room >= stalled.closed_by_server + idle.closed_by_server
    assert len(re.findall("refused in the last", log)) <= 2, "a line per worker at most"


# --- what the log holds ------------------------------------------------------------------------

MALFORMED = {
    "not a request line": f"X Caller {SECRET} called, pressed 0\r\n\r\n",
    "a header line without a colon": f"GET /healthz HTTP/1.1\r\nX Caller {SECRET}\r\n\r\n",
    "a request line too long": f"GET /{SECRET * 400} HTTP/1.1\r\n\r\n",
    "too many header lines": "GET /healthz HTTP/1.1\r\n" + f"X-Caller: {SECRET}\r\n" * 200 + "\r\n",
    "a chunk size that is not one": "POST /voice HTTP/1.1\r\nHost: x\r\n"
    f"Transfer-Encoding: chunked\r\n\r\n{SECRET}\r\n",
    "an HTTP version that is not one": f"GET /healthz HTTP/{SECRET}\r\n\r\n",
    "a length that is not one": f"POST /voice HTTP/1.1\r\nContent-Length: {SECRET}\r\n\r\n",
    "a method that is not one": f"caller{SECRET} /healthz HTTP/1.1\r\n\r\n",
}


@pytest.mark.parametrize("app", APPS)
def test_requests_the_server_cannot_read_are_refused_and_never_quoted(run_server, app):
    served, _ = APPS[app]
    with run_server(app=served) as server:
        answers = {name: exchange(server.url, [text.encode()]) for name, text in MALFORMED.items()}
    for name, answer in answers.items():
        assert re.match(rb"HTTP/1.1 4\d\d ", answer), f"{name}: {answer[:40]!r}"
        assert SECRET.encode() not in answer, f"{name}: the answer quotes the request"
    log = server.log()
    assert SECRET not in log and SECRET[2:] not in log and "Caller" not in log
    assert "Invalid request" not in log and "Traceback" not in log
    assert summed_up(log, "that were not HTTP the server could read") == len(MALFORMED)


def test_refused_requests_are_summed_up_not_written_one_by_one(run_server):
    with run_server() as server:
        for _ in range(300):
            params = {**CALLER, "From": SECRET}
            reply = signed_post(f"{server.url}/voice", params, token="not-the-token")
            assert reply.status == 403
        during = server.log()
    log = server.log()
    assert "refused" not in during and SECRET not in log
    assert summed_up(log, "without a valid X-Twilio-Signature") == 300
    assert len(re.findall("refused in the last", log)) <= 2, "a line per worker at most"


# --- bodies Twilio never sends -----------------------------------------------------------------


def test_bodies_twilio_never_sends_are_refused_before_their_signature_is_checked(server):
    """Each is signed with the right token: refused all the same, before anything was checked."""
    url = f"{server.url}/voice"
    refused = {
        "4,600 empty fields": {f"{i:05d}": "" for i in range(4600)},
        "one field more than the most": {f"f{i}": "1" for i in range(MAX_FIELDS + 1)},
        "a field far longer than Twilio's": {**CALLER, "Digits": "1" * MAX_FIELD_BYTES},
    }
    for name, params in refused.items():
        assert signed_post(url, params).status == 413, name
    many = "&".join(f"q{i}=" for i in range(MAX_FIELDS + 1))
    assert signed_post(f"{url}?{many}", CALLER).status == 413, "as many in the URL's query"
    files = b"--x\r\nContent-Disposition: form-data; name=CallSid\r\n\r\nCA1\r\n--x--\r\n"
    multipart = exchange(
        server.url,
        [
            b"POST /voice HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Content-Type: multipart/form-data; boundary=x\r\n"
            + f"Content-Length: {len(files)}\r\n\r\n".encode()
            + files
        ],
    )
    assert multipart.startswith(b"HTTP/1.1 415 ")
    flood = exchange(server.url, [flood_request("x", 0).replace(b"HTTP/1.1", b"HTTP/1.0")])
    assert flood.startswith(b"HTTP/1.0 413 "), "the benchmark's flood, unsigned"


def test_a_header_far_larger_than_twilios_is_refused_before_it_is_parsed(run_server):
    with run_server() as server:
        answer = exchange(server.url, [headers_request("x", 0)])
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert summed_up(server.log(), "with a header far larger than Twilio's") == 1


def test_the_largest_webhook_twilio_sends_is_answered(server):
    """Every field Twilio documents for a voice webhook, the long ones at their longest."""
    passport = "eyJhbGciOiJFUzI1NiIsInBwdCI6InNoYWtlbiJ9." + "x" * 600 + "." + "y" * 86
    params = {
        **CALLER,
        "AccountSid": "AC" + "1" * 32,
        "ApiVersion": "2010-04-01",
        "Direction": "inbound",
        "CallStatus": "in-progress",
        "Caller": CALLER["From"],
        "Called": CALLER["To"],
        "ForwardedFrom": "+15005550002",
        "CallerName": "WIRELESS CALLER",
        "ParentCallSid": "CA" + "2" * 32,
        "CallToken": json.dumps(
            {"parentCallInfoToken": passport, "identityHeaderTokens": [passport] * 5}
        ),
        "StirVerstat": "TN-Validation-Passed-A",
        "StirPassportToken": passport,
        "AddOns": json.dumps({"status": "successful", "results": {"lookup": "z" * 9000}}),
        "SpeechResult": " ".join(["llamé a la policía y después esperé en la estación"] * 40),
        "UnstableSpeechResult": "policía",
        "Confidence": "0.91",
        "Digits": "1",
        "FinishedOnKey": "",
        "msg": "Gather End",
        "Language": "es-US",
        **{
            f"{who}{what}": "SAN FRANCISCO"
            for who in ("From", "To", "Caller", "Called")
            for what in ("City", "State", "Zip", "Country")
        },
        **{f"SipHeader_X-Custom-{i}": "value" for i in range(20)},
    }
    # With what Twilio and a router in front add to the header, and then some.
    headers = {
        "User-Agent": "TwilioProxy/1.1",
        "I-Twilio-Idempotency-Token": "a" * 36,
        "X-Home-Region": "us1",
        "X-Forwarded-For": ", ".join(["203.0.113.7"] * 20),
        "X-Request-Id": "b" * 36,
        "X-Request-Start": "1700000000000",
        "Via": "1.1 vegur",
        **{f"X-Proxy-{i}": "c" * 500 for i in range(20)},
    }
    reply = signed_post(f"{server.url}/key?n=main&p=0&m=0", params, **headers)
    assert reply.status == 200 and "<Gather" in reply.body


# --- the open-file limit -----------------------------------------------------------------------


def test_the_open_file_limit_is_raised_as_far_as_it_goes_and_a_low_one_is_named(tmp_path):
    server = start_server(tmp_path / "log", {"TWILIO_AUTH_TOKEN": TOKEN}, open_files=(1024, 4000))
    try:
        limits = [Path(f"/proc/{pid}/limits").read_text() for pid in workers(server.process.pid)]
    finally:
        stop_server(server)
    assert all(re.search(r"Max open files\s+4000\s+4000 ", text) for text in limits)
    assert re.search(
        r"WARNING\] the open-file limit is 4000, so each worker can hold 3510 waiting "
        r"connections, not the 10000 of WORKER_CONNECTIONS: raise the hard limit to 11211 ",
        server.log(),
    )
