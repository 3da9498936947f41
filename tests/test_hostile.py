"""The line as an attacker or a careless operator would treat it, against the Procfile's server."""

from __future__ import annotations

import gc
import json
import random
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ivr.call.answers import CACHE_SIZE
from ivr.errors import ConfigError
from ivr.menu.load import load_line
from ivr.tools.simulated_call import http_post
from ivr.web.app import create_app
from ivr.web.settings import Settings
from tests.helpers import ROOT, edit, ivr, rss_mib, sign, signed_post, workers
from tests.slow_clients import scenario

# Made as the tests run, so that only what the line keeps can hold them.
NUMBERS = [f"+1{random.randrange(2 * 10**9, 10**10)}" for _ in range(3)]


# --- mistaken and hostile files ---------------------------------------------------------------


def timed_check(prompts: Path, audio: Path = ROOT / "audio") -> tuple[float, str]:
    started = time.monotonic()
    result = ivr("check", PROMPTS_DIR=str(prompts), AUDIO_DIR=str(audio))
    assert result.returncode == 1
    return time.monotonic() - started, result.stdout


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        (
            "  tries: 3 ",
            "  triez: 3 ",
            "unknown setting 'triez' under no_input; did you mean 'tries'?",
        ),
        ("  point: 3 ", "  wait_secondz: 3 ", "unknown setting 'wait_secondz' under wait_seconds"),
        ("start: main", "strat: main", "unknown setting 'strat'; did you mean 'start'?"),
    ],
)
def test_a_misspelt_key_is_an_error_that_names_the_closest(prompts_copy, old, new, said):
    line = edit(prompts_copy / "menu.yaml", old, new)
    seconds, out = timed_check(prompts_copy)
    assert f"menu.yaml:{line}: error: {said}" in out
    assert seconds < 5


def test_a_misspelt_key_in_a_language_file(prompts_copy):
    edit(prompts_copy / "en.yaml", "placeholder_tts:", "placeholder_ttz:")
    _, out = timed_check(prompts_copy)
    assert "unknown setting 'placeholder_ttz'; did you mean 'placeholder_tts'?" in out


BOMB = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [
        f"{c}: &{c} [{','.join([f'*{p}'] * 9)}]"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    ]
)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (BOMB, "menu.yaml:1: error: YAML anchor &a is not allowed here"),
        (
            "start: " + "[" * 5000 + "]" * 5000,
            "menu.yaml:1: error: nested more than 32 levels deep",
        ),
        ("start: main\nx: " + "y" * 600_000, "menu.yaml: error: is larger than 512 KiB"),
    ],
    ids=["alias-bomb", "deep-nesting", "huge"],
)
def test_hostile_yaml_is_refused_in_under_a_second(prompts_copy, text, said):
    (prompts_copy / "menu.yaml").write_text(text)
    started = time.monotonic()
    with pytest.raises(ConfigError) as caught:
        load_line(prompts_copy)
    assert time.monotonic() - started < 1
    assert said.split(": error: ")[1] in str(caught.value)
    _, out = timed_check(prompts_copy)
    assert said in out


def test_undecodable_text_and_a_folder_for_a_file_name_the_path(prompts_copy, tmp_path):
    (prompts_copy / "es.yaml").write_bytes(b"language: es-US\nvoice: \xff\xfe\n")
    _, out = timed_check(prompts_copy)
    assert "es.yaml:2: error: not UTF-8 text (invalid start byte); save it as UTF-8" in out

    audio = tmp_path / "audio"
    (audio / "manifest.json").mkdir(parents=True)
    _, out = timed_check(ROOT / "prompts", audio)
    assert "manifest.json: error: is a folder; it should be a file" in out
    (audio / "manifest.json").rmdir()
    (audio / "manifest.json").write_bytes(b'{"version": 1,\n "recordings": {"\xff": 1}}')
    _, out = timed_check(ROOT / "prompts", audio)
    assert "manifest.json:2: error: not UTF-8 text" in out


# --- what reaches the log ---------------------------------------------------------------------


def test_only_what_the_line_wrote_reaches_the_log(run_server):
    with run_server({"PHONE_PAGE": "on", "LOG_LEVEL": "DEBUG"}) as server:
        forged = "\x1b[31mFORGED\nINFO ivr: call=000000 everything is fine"
        body = json.dumps({"url": f"{server.url}/voice", "call": forged, "params": {}})
        request = urllib.request.Request(
            f"{server.url}/phone/twiml",
            data=body.encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        assert signed_post(f"{server.url}/voice", {"CallSid": "CA1\nforged"}).status == 200
        # (gunicorn itself refuses control characters in a header: printable text here)
        settings_header = "algorithm=" + "A" * 4000 + " INFO ivr: all is well"
        refused = signed_post(
            f"{server.url}/voice",
            {"CallSid": "CA" + "1" * 32},
            **{"X-Twilio-Webhooks-Signature-Settings": settings_header},
        )
        assert refused.status == 403
    # Refused requests are summed up when a minute has passed, or, as here, when the server stops.
    log = server.log()
    assert "FORGED" not in log and "\x1b" not in log and "AAAAAAAA" not in log
    assert "call=invalid voice" in log
    assert re.search(
        r" WARNING ivr: refused in the last \d+ s: 1 without a valid X-Twilio-Sig", log
    )
    assert all(line.startswith("20") for line in log.splitlines() if " ivr: " in line)


# --- what is kept in memory -----------------------------------------------------------------


def test_no_callers_number_is_kept_after_the_request(tmp_path):
    """With the hotline shown the caller's own number, none of it stays in the line's memory."""
    app = create_app(
        Settings(
            auth_token=None,
            prompts_dir=ROOT / "prompts",
            audio_dir=ROOT / "audio",
            transfer_caller_id="from",
            log_level="ERROR",
        )
    )
    client = app.test_client()
    for number in NUMBERS:
        caller = {"CallSid": "CA" + "3" * 32, "From": number, "To": "+18005550100"}
        for path, extra in [
            ("/voice", {}),
            ("/key?n=main&p=0&m=0", {"Digits": "1"}),
            ("/key?n=police&p=0&m=0", {"Digits": "0"}),  # the transfer shows the number
            ("/dial?n=police&p=0&m=0", {"DialCallStatus": "busy"}),
            ("/key?n=main&p=0&m=0&f=r", {"SpeechResult": "advocate"}),
        ]:
            reply = client.post(path, data={**caller, **extra})
            assert reply.status_code == 200
        assert number in client.post("/key?n=main", data={**caller, "Digits": "0"}).text
    del reply, caller
    gc.collect()
    answers = app.extensions["ivr.answers"]
    assert 0 < answers.decide.cache_info().currsize <= CACHE_SIZE
    kept = repr(gc.get_referents(answers.decide))
    for number in NUMBERS:
        digits = number.lstrip("+")
        assert digits[-7:] not in kept
        leftover = [
            o
            for o in gc.get_objects()
            if isinstance(o, dict | list | tuple)
            and o is not NUMBERS
            and any(isinstance(v, str) and digits[-7:] in v for v in _values(o))
            and not _is_test_frame_data(o)
        ]
        assert not leftover, leftover[:3]


def _values(container: object) -> list[object]:
    if isinstance(container, dict):
        return [*container.keys(), *container.values()]
    return list(container)  # type: ignore[call-overload]


def _is_test_frame_data(o: object) -> bool:
    # This module's own globals hold the numbers on purpose.
    return o is globals()


def test_10000_distinct_signed_requests_grow_a_worker_by_under_10_mb(run_server):
    with run_server({"PHONE_PAGE": "on"}) as server:

        def direct(n: int) -> int:
            host = f"line-{n}.{'x' * 60}.{'y' * 60}.{'z' * 60}.example.org"
            query = f"n=police&p={n % 7}&m={n % 3}&junk={n}"
            params = {"CallSid": f"CA{n:032x}", "From": NUMBERS[n % 3], "Digits": str(n % 10)}
            return signed_post(f"{server.url}/key?{query}", params, Host=host).status

        def relayed(n: int) -> int:
            body = json.dumps(
                {
                    "url": f"{server.url}/key?n=main&p=0&m=0&junk={n}",
                    "call": f"CA{n:032x}",
                    "params": {"Digits": str(n % 10)},
                }
            )
            request = urllib.request.Request(
                f"{server.url}/phone/twiml",
                data=body.encode(),
                headers={"Content-Type": "application/json", "Host": f"relay-{n}.example.org"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status

        with ThreadPoolExecutor(4) as pool:
            # Warm up first: a worker's first requests touch pages it shares with the master.
            assert set(pool.map(direct, range(500))) | set(pool.map(relayed, range(500))) == {200}
            pids = workers(server.process.pid)
            before = [rss_mib(pid) for pid in pids]
            numbers = range(1000, 6000)
            statuses = list(pool.map(direct, numbers)) + list(pool.map(relayed, numbers))
        assert statuses.count(200) == 10_000
        assert workers(server.process.pid) == pids, "no worker died or was replaced"
        after = [rss_mib(pid) for pid in pids]
    grown = [a - b for a, b in zip(after, before, strict=True)]
    print(f"workers: {before} -> {after} MiB")
    assert max(grown) < 10, f"workers grew from {before} to {after} MiB"


# --- smaller gaps -------------------------------------------------------------------------------


def test_the_fallback_app_warns_without_a_token(run_server):
    with run_server(
        {"TWILIO_AUTH_TOKEN": ""}, app="ivr.web.fallback:create_fallback_app()"
    ) as server:
        time.sleep(0.2)
        assert "TWILIO_AUTH_TOKEN is not set: webhooks are NOT checked" in server.log()


def test_a_chunked_body_over_the_cap_gets_413(server):
    parts = urllib.parse.urlsplit(server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(
            b"POST /voice HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n\r\n"
        )
        try:
            for _ in range(10):
                sock.sendall(b"fa0\r\n" + b"x" * 4000 + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and hang up before the rest is sent
        assert sock.recv(100).startswith(b"HTTP/1.1 413")


def test_a_small_chunked_body_is_read_and_checked(server):
    parts = urllib.parse.urlsplit(server.url)
    params = {"CallSid": "CA" + "4" * 32, "From": NUMBERS[0]}
    body = urllib.parse.urlencode(params).encode()
    signature = sign(f"{server.url}/voice", params)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(
            f"POST /voice HTTP/1.1\r\nHost: {parts.netloc}\r\nTransfer-Encoding: chunked\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n"
            f"X-Twilio-Signature: {signature}\r\n\r\n".encode()
            + f"{len(body):x}\r\n".encode()
            + body
            + b"\r\n0\r\n\r\n"
        )
        reply = b""
        while chunk := sock.recv(4000):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200") and b"<Gather" in reply


def test_a_voice_url_with_a_slash_at_the_end_answers_the_caller(server):
    call = server.call()
    call.voice_url = f"{server.url}/voice/"
    call.start()
    assert call.waiting_for == "key" and not call.events("error")


def test_a_get_webhook_answers_the_caller_and_warns_to_switch_to_post(run_server):
    with run_server() as server:
        params = {"CallSid": "CA" + "6" * 32, "From": NUMBERS[1], "To": "+18005550100"}
        url = f"{server.url}/voice?{urllib.parse.urlencode(params)}"
        signature = sign(url, {})  # a GET is signed over its URL alone
        request = urllib.request.Request(url, headers={"X-Twilio-Signature": signature})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200 and b"<Gather" in response.read()
        unsigned = urllib.request.Request(url)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(unsigned, timeout=10)
        assert refused.value.code == 403
        time.sleep(0.2)
        log = server.log()
    assert log.count("Twilio calls /voice with HTTP GET") == 1
    assert "set the number's webhooks to HTTP POST" in log
    assert NUMBERS[1] not in log and NUMBERS[1][1:] not in log


def test_each_server_has_no_control_socket(run_server, tmp_path):
    with run_server({"HOME": str(tmp_path)}) as server:
        assert http_post(f"{server.url}/voice", {}, {}).status == 403  # up and checking
        assert not (tmp_path / ".gunicorn").exists()


# --- slow clients -------------------------------------------------------------------------------


def test_100_slow_clients_do_not_keep_the_line_from_answering(run_server):
    with run_server() as server:
        seen, probes = scenario(server.url, clients=100, seconds=10)
    assert seen.opened >= 100
    assert probes.sent >= 30 and probes.answered == probes.sent, "every probe answered 200"
    assert probes.over(1) == 0, f"the slowest answer took {probes.worst():.2f} s"
