"""Calls from known CallSids and numbers through every path: the default-level log holds no
piece of any CallSid and no navigation, and the usage report counts exactly the calls placed."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from ivr.tools.simulated_call import http_post
from ivr.web.usage_store import Batch, SqliteStore
from tests.helpers import TOKEN, signed_post, start_server, stop_server
from tests.usage_fixtures import MovedClock, ivr_usage, versions_in_files

NUMBERS = ["+14155550123", "+442071838751", "+5215512345679"]
FAULT_KEY = "5"  # the planted fault of tests/fault_app.py
END_OF_SECTION = "That is the end of this section."

# Every line the line may write at the default level, whatever its calls did.
ALLOWED = [
    r"\[[^]]+\] \[\d+\] \[INFO\] (Starting gunicorn [\d.]+|Listening at: http://127\.0\.0\.1:\d+ "
    r"\(\d+\)|Using worker: ivr\.web\.worker\.LineWorker|Booting worker with pid: \d+|"
    r"Handling signal: term|Worker exiting \(pid: \d+\)|Shutting down: Master)",
    r"\S+ \S+Z INFO ivr: usage counters are kept in \S+/usage\.sqlite3",
    r"\S+ \S+Z WARNING ivr: \d+ (recording|prompt)[^:]*; callers hear Twilio's voice instead: "
    r"[\w/., ]+",
    r"\S+ \S+Z INFO ivr: \d+ prompt\(s\) are spoken by Twilio's voice until someone records them "
    r"\(their language has no placeholder voice\): [\w/., ]+",
    r"\S+ \S+Z WARNING ivr: refused in the last \d+ s: \d+ without a valid X-Twilio-Signature",
    r"\S+ \S+Z ERROR ivr: webhook /key failed; the caller is sent to the hotline",
    r"\S+ \S+Z ERROR ivr: Twilio used the Fallback URL: the primary webhook failed",
    # The planted fault's trace: code, never a request's data.
    r"Traceback \(most recent call last\):|  .*|RuntimeError: a planted fault",
]


def call_sid(number: str, n: int) -> str:
    """A CallSid in Twilio's form in which every six characters hold a letter, so no pid,
    port or timestamp in the log can look like a piece of it by chance."""
    digest = list(hashlib.sha256(f"{number}/{n}".encode()).hexdigest()[:32])
    for i in range(2, 32, 4):
        digest[i] = "abcdef"[int(digest[i], 16) % 6]
    return "CA" + "".join(digest)


def walk(server, number: str) -> list[str]:
    """One caller's calls through every path; the CallSids used."""
    sids = [call_sid(number, n) for n in range(8)]

    def call(n: int):
        return server.call(caller=number, call_sid=sids[n]).start()

    # Keys: a section heard to its end, then another entered.
    listening = call(0).press("1")
    while END_OF_SECTION not in listening.heard():
        listening.press("1")
    listening.press("*").press("2")
    call(1).say("police")  # speech
    call(2).press("9").press("3").press("#").press("0").dial_outcome("completed")  # Spanish
    call(3).press("").dial_outcome("no-answer").press("")  # silent: put through, then goodbye
    retry = call(4).press("0").dial_outcome("failed").press("0").dial_outcome("busy")
    retry.press("0").dial_outcome("canceled")
    call(5).press("7").press("7").press("7").dial_outcome("completed")  # wrong keys
    call(6).press("1").press(FAULT_KEY)  # an error in the webhook
    fallback = server.call(caller=number, call_sid=sids[7])
    fallback.voice_url = f"{server.url}/fallback"
    fallback.start()
    for sid in sids:
        url = f"{server.url}/status"
        params = {"CallSid": sid, "CallStatus": "completed", "From": number, "To": "+1"}
        assert signed_post(url, params).status == 204
    params = {"CallSid": sids[0], "From": number}
    assert http_post(f"{server.url}/voice", params, {}).status == 403  # refused
    return sids


# What one walk adds to the day's counters; every other counter stays at 0.
ONE_WALK = {
    "calls": 7,
    "first_choice.keys": 5,
    "first_choice.speech": 1,
    "language.en": 3,
    "language.es": 1,
    "more_time": 1,
    "section.police.entered": 3,
    "section.police.finished": 1,
    "section.what_you_can_do.entered": 1,
    "section.reach_advocate.entered": 1,
    "transfer.asked": 4,
    "transfer.silent": 2,
    "transfer.completed": 2,
    "transfer.no_answer": 1,
    "transfer.failed": 1,
    "transfer.busy": 1,
    "transfer.canceled": 1,
    "goodbye": 1,
    "error": 1,
    "fallback": 1,
    "refused": 1,
}


@pytest.fixture(scope="module")
def walked(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keeps")
    clock = MovedClock(folder, datetime(2026, 3, 15, 12, tzinfo=UTC))
    env = {"TWILIO_AUTH_TOKEN": TOKEN, "FAULT_KEY": FAULT_KEY, **clock.env}
    server = start_server(folder / "server.log", env, app="tests.fault_app:app")
    try:
        sids = [sid for number in NUMBERS for sid in walk(server, number)]
    finally:
        stop_server(server)
    return server.log(), sids, folder / "usage.sqlite3"


def test_the_default_log_holds_no_piece_of_any_call_sid_nor_any_number(walked):
    log, sids, _ = walked
    assert len(sids) == 24
    for sid in sids:
        pieces = {sid[i : i + 6] for i in range(len(sid) - 5)}
        assert not [piece for piece in pieces if piece in log], sid
    for number in NUMBERS:
        assert number not in log and number.lstrip("+") not in log and number[-7:] not in log


def test_the_default_log_holds_no_navigation_only_what_the_line_may_write(walked):
    log, _, _ = walked
    allowed = re.compile("|".join(f"(?:{pattern})" for pattern in ALLOWED))
    unexpected = [line for line in log.splitlines() if not allowed.fullmatch(line)]
    assert unexpected == []
    refused = re.findall(r"refused in the last \d+ s: (\d+) without a valid", log)
    assert sum(map(int, refused)) == log.count("webhook /key failed") == 3
    assert log.count("Fallback URL") == 3
    assert "call=" not in log and " status " not in log


def test_the_usage_report_counts_exactly_the_calls_placed(walked):
    _, _, usage_db = walked
    report = ivr_usage(
        "--month",
        "2026-03",
        "--csv",
        env={"USAGE_DB": str(usage_db), "USAGE_MIN_COUNT": "1"},
        today="2026-04-01",
    )
    assert report.returncode == 0, report.stderr
    rows = {row["day"]: row for row in csv.DictReader(io.StringIO(report.stdout))}
    day = {name: int(value) for name, value in rows["2026-03-15"].items() if name != "day"}
    expected = {name: count * len(NUMBERS) for name, count in ONE_WALK.items()}
    assert {name: count for name, count in day.items() if count} == expected
    assert all(int(value) == 0 for name, value in rows["2026-03-14"].items() if name != "day")
    assert rows["total"]["calls"] == "21"
    # At the default threshold, what was placed fewer than 10 times is not shown.
    shown = ivr_usage("--month", "2026-03", env={"USAGE_DB": str(usage_db)}, today="2026-04-01")
    # Exact, the month's 21 would give away the hidden days (all 0 but the 15th): rounded.
    assert re.search(r"calls answered\s+about 20\n", shown.stdout)
    assert re.search(r"language chosen: es\s+fewer than 10\n", shown.stdout)


# --- the usage store's files ------------------------------------------------------------------


def test_the_store_files_hold_no_older_version_of_the_table_that_sets_a_call_apart(tmp_path):
    """A lone caller's steps (Spanish, the hotline, busy) among calls that hung up: whoever
    reads every byte of the store's files (journal and log included, as a backup would copy
    them) finds each counter once, at its total, and never a version in between."""
    clock = MovedClock(tmp_path, datetime(2026, 3, 15, 3, tzinfo=UTC))
    env = {"TWILIO_AUTH_TOKEN": TOKEN, **clock.env}
    # A year of earlier days, so that the table spans many pages, as it does in production.
    names = [name for name in ONE_WALK if name != "refused"]
    year = {
        ((date(2026, 3, 14) - timedelta(days)).isoformat(), name): 40 + days % 7
        for days in range(400)
        for name in names
    }
    SqliteStore(tmp_path / "usage.sqlite3").add(Batch(year), date(2026, 3, 14))
    for run in range(2):
        server = start_server(tmp_path / "server.log", env)
        try:
            for n in range(12):
                server.call(call_sid=call_sid("hung up", 100 * run + n)).start()
            if run:
                lone = server.call(call_sid=call_sid("lone", 0)).start().press("9").press("0")
                lone.dial_outcome("busy")
            # While the server runs: the lone call waits in memory with the others.
            assert on_the_day(tmp_path) == ({"calls": {12}} if run else {})
        finally:
            stop_server(server)
    assert on_the_day(tmp_path) == {
        "calls": {25},
        "first_choice.keys": {1},
        "language.es": {1},
        "transfer.asked": {1},
        "transfer.busy": {1},
    }
    found = versions_in_files(sorted(tmp_path.glob("usage.sqlite3*")))
    earlier = {key: values for key, values in found.items() if key[0] != "2026-03-15"}
    # Every earlier day kept at the one total it has, those past 13 months gone without trace.
    assert earlier == {key: {n} for key, n in year.items() if key[0] >= "2025-02-15"}
    assert [f.name for f in tmp_path.glob("usage.sqlite3*")] == ["usage.sqlite3"], (
        "no journal is left behind"
    )


def on_the_day(folder: Path) -> dict[str, set[int]]:
    """What the store's files say of 15 March: each counter's values, wherever they are."""
    found = versions_in_files(sorted(folder.glob("usage.sqlite3*")))
    return {name: values for (day, name), values in found.items() if day == "2026-03-15"}
