"""Daily usage counters: exact under several workers, kept in SQLite or Redis, reported by day
with small counts hidden, and never in a caller's way when the store is gone."""

from __future__ import annotations

import calendar
import csv
import io
import json
import re
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta

import pytest
import redis

from ivr.tools.simulated_call import HttpReply, SimulatedCall
from ivr.web.settings import Settings, SettingsError
from ivr.web.usage import Usage
from ivr.web.usage_store import Batch, RedisStore, SqliteStore
from tests.helpers import TOKEN, start_server, stop_server
from tests.usage_fixtures import (
    MovedClock,
    ivr_usage,
    redis_server,
    server_time,
    start_redis,
)

NOT_SAVED = "usage counters could not be saved"


def sid(n: int) -> str:
    return f"CA{n:032x}"


def around_today() -> tuple[date, date]:
    today = datetime.now(UTC).date()
    return today - timedelta(1), today + timedelta(1)


def wait_until(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def csv_rows(text: str) -> dict[str, dict[str, str]]:
    return {row["day"]: row for row in csv.DictReader(io.StringIO(text))}


def cells(report: str, first: str) -> dict[str, str]:
    """One row of the printed day table, by column header."""
    lines = report.splitlines()
    header = next(line for line in lines if line.startswith("day "))
    row = next(line for line in lines if line.startswith(first + " "))
    return dict(zip(re.split(r"\s{2,}", header), re.split(r"\s{2,}", row), strict=True))


# --- several workers at once ---------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_four_workers_counting_at_once_give_exact_totals(tmp_path, kind):
    clock = MovedClock(tmp_path, datetime(2026, 3, 10, 12, tzinfo=UTC))
    env = {"TWILIO_AUTH_TOKEN": TOKEN, "WEB_CONCURRENCY": "4", **clock.env}
    with ExitStack() as stack:
        if kind == "redis":
            env["REDIS_URL"] = stack.enter_context(redis_server(tmp_path)).url
        server = start_server(tmp_path / "server.log", env)
        try:

            def caller(thread: int) -> None:
                for n in range(15):
                    call = server.call(call_sid=sid(thread * 100 + n)).start().press("1")
                    call.press("0").dial_outcome("busy" if n % 2 else "completed")
                    assert not call.events("error")

            with ThreadPoolExecutor(8) as pool:
                list(pool.map(caller, range(8)))
        finally:
            stop_server(server)  # each worker saves what it still holds as it stops
        assert server.log().count("Booting worker") == 4, server.log()
        report_env = {"USAGE_MIN_COUNT": "1", "USAGE_DB": str(tmp_path / "usage.sqlite3")}
        if kind == "redis":
            report_env["REDIS_URL"] = env["REDIS_URL"]
        result = ivr_usage("--month", "2026-03", "--csv", env=report_env, today="2026-04-01")
    assert result.returncode == 0, result.stderr
    day = csv_rows(result.stdout)["2026-03-10"]
    assert day["calls"] == day["transfer.asked"] == day["section.police.entered"] == "120"
    assert day["transfer.completed"] == "64" and day["transfer.busy"] == "56"
    assert csv_rows(result.stdout)["2026-03-09"]["calls"] == "0"


# --- across midnight, small counts hidden ---------------------------------------------------


def test_the_report_across_midnight_shows_full_days_and_hides_counts_under_ten(tmp_path):
    midnight = datetime(2026, 3, 2, tzinfo=UTC)
    clock = MovedClock(tmp_path, midnight - timedelta(minutes=2))
    server = start_server(tmp_path / "server.log", {"TWILIO_AUTH_TOKEN": TOKEN, **clock.env})
    try:
        # 1 March: 11 calls, 10 choose Spanish, 9 of those ask for an advocate.
        spanish = [server.call(call_sid=sid(n)).start().press("9") for n in range(10)]
        ringing = [call.press("0") for call in spanish[:9]]
        spanish[9].press("1")
        server.call(call_sid=sid(10)).start().press("1")
        assert server_time(server.url) < midnight, "the first day's calls ran past midnight"
        clock.move_to(midnight + timedelta(seconds=2))
        assert server_time(server.url) >= midnight
        # 2 March: the 9 transfers end busy; 10 new calls, 9 ask for more time, 2 transfer.
        for call in ringing:
            call.dial_outcome("busy")
            assert not call.events("error") and call.waiting_for == "key", "the call goes on"
        for n in range(10):
            call = server.call(call_sid=sid(20 + n)).start()
            if n < 9:
                call.press("#")
            if n >= 8:
                call.press("0").dial_outcome("busy")
    finally:
        stop_server(server)
    env = {"USAGE_DB": str(tmp_path / "usage.sqlite3")}

    on_the_2nd = ivr_usage("--month", "2026-03", env=env, today="2026-03-02")
    assert on_the_2nd.returncode == 0, on_the_2nd.stderr
    assert "2026-03-01" in on_the_2nd.stdout and "2026-03-02" not in on_the_2nd.stdout, (
        "today is never reported"
    )
    assert ivr_usage(env=env, today="2026-03-02").stdout.count("2026-03-02") == 0

    chart = tmp_path / "chart.svg"
    result = ivr_usage("--month", "2026-03", "--svg", str(chart), env=env, today="2026-03-03")
    assert result.returncode == 0, result.stderr
    report = result.stdout
    few = "fewer than 10"
    assert cells(report, "2026-03-01") == {
        "day": "2026-03-01",
        "calls": "11",
        "en": few,
        "es": "10",
        "advocate": few,  # 9
        "completed": few,
        "busy": few,
        "no answer": few,
        "failed": few,
    }
    second = cells(report, "2026-03-02")
    assert (second["calls"], second["es"], second["advocate"], second["busy"]) == (
        "10",
        few,
        few,  # 2
        "11",
    )
    total = cells(report, "total")
    # Exact where no day is hidden; else rounded, so that no hidden day can be worked out.
    assert (total["calls"], total["es"], total["advocate"], total["busy"]) == (
        "21",
        "about 10",  # 10 and 0
        "about 10",  # 9 and 2
        "about 10",  # 0 and 11
    )
    assert re.search(r"more time asked for\s+fewer than 10\n", report)  # 9 in all
    assert re.search(r"language chosen: en\s+about 10\n", report)  # 1 and 9
    assert not re.search(r"\b[1-9]\b", report.split("Totals")[1]), "no count under 10 shown"

    svg = ET.parse(chart).getroot()
    texts = " ".join(svg.itertext())
    assert "Calls a day, 2026-03-01 to 2026-03-02" in texts
    assert "2026-03-01: 11 calls" in texts and "2026-03-02: 10 calls" in texts
    assert "busy" in texts and "about 10" in texts and few in texts  # no completed transfer

    printed = ivr_usage("--month", "2026-03", "--csv", env=env, today="2026-03-03").stdout
    spreadsheet = csv_rows(printed)
    assert list(spreadsheet) == ["2026-03-01", "2026-03-02", "total"]
    assert spreadsheet["2026-03-01"]["transfer.asked"] == few
    assert spreadsheet["total"]["language.es"] == "about 10"


@pytest.mark.parametrize(
    ("count", "shown", "total"),
    [(9, "fewer than 10", "fewer than 10"), (10, "10", "about 10"), (11, "11", "about 10")],
)
def test_the_threshold_is_exact_in_a_days_row_and_the_total(tmp_path, count, shown, total):
    SqliteStore(tmp_path / "usage.sqlite3").add(
        Batch({("2026-02-03", "calls"): count}), date(2026, 3, 1)
    )
    result = ivr_usage(
        "--month", "2026-02", env={"USAGE_DB": str(tmp_path / "usage.sqlite3")}, today="2026-03-01"
    )
    assert cells(result.stdout, "2026-02-03")["calls"] == shown
    # The other days' 0 are hidden too, so the total is rounded: it gives no hidden day away.
    assert cells(result.stdout, "total")["calls"] == total
    assert cells(result.stdout, "2026-02-04")["calls"] == "fewer than 10"


def test_a_hidden_day_cannot_be_worked_out_from_the_total(tmp_path):
    path = tmp_path / "usage.sqlite3"
    counts = {("2026-02-01", "calls"): 20, ("2026-02-02", "calls"): 34, ("2026-02-03", "calls"): 4}
    SqliteStore(path).add(Batch(counts), date(2026, 3, 1))
    days = {f"2026-02-{d:02}": {"calls": 40} for d in range(4, 29)}  # every other day shown
    SqliteStore(path).add(Batch({(day, "calls"): 40 for day in days}), date(2026, 3, 1))
    report = ivr_usage("--month", "2026-02", env={"USAGE_DB": str(path)}, today="2026-03-01")
    assert cells(report.stdout, "2026-02-03")["calls"] == "fewer than 10"
    shown_days = 20 + 34 + 40 * len(days)
    # Exact, the total would be shown_days + 4, and the 4 would be plain to see.
    assert cells(report.stdout, "total")["calls"] == f"about {round((shown_days + 4) / 10) * 10}"
    assert str(shown_days + 4) not in report.stdout


# --- when the store goes away --------------------------------------------------------------


def test_a_redis_that_goes_away_mid_call_leaves_the_call_going_and_one_warning(tmp_path):
    with redis_server(tmp_path) as store:
        env = {
            "TWILIO_AUTH_TOKEN": TOKEN,
            "WEB_CONCURRENCY": "1",
            "REDIS_URL": store.url,
            "USAGE_BATCH_SECONDS": "1",
        }
        server = start_server(tmp_path / "server.log", env)
        try:
            call = server.call(call_sid=sid(1)).start().press("1")
            saved = redis.Redis.from_url(store.url, decode_responses=True)
            today = datetime.now(UTC).date().isoformat()
            wait_until(lambda: saved.hget(f"ivr:usage:{today}", "calls") == "1")
            store.stop()
            call.press("0").dial_outcome("busy")
            assert not call.events("error") and call.waiting_for == "key"
            assert "To try the advocate line again, press 0." in call.heard()
            for n in range(3):
                assert not server.call(call_sid=sid(10 + n)).start().press("2").events("error")
            wait_until(lambda: NOT_SAVED in server.log())
            time.sleep(2.5)  # two more rounds of saving, had the line not waited
            assert server.log().count(NOT_SAVED) == 1
            report = ivr_usage(env={"REDIS_URL": store.url})
            assert report.returncode == 2
            assert "the usage counters could not be read: ConnectionError" in report.stderr
        finally:
            stop_server(server)
    log = server.log()
    assert log.count(NOT_SAVED) == 1, "one warning, even with a last try at shutdown"
    assert store.url not in log and "Traceback" not in log


def test_counts_wait_in_memory_while_redis_is_away_and_are_saved_when_it_is_back(tmp_path, caplog):
    first = start_redis(tmp_path)
    usage = Usage(RedisStore(first.url), batch_seconds=3600, retry_seconds=0)
    usage.count(("calls",))
    assert usage.flush()
    first.stop()
    usage.count(("calls", "transfer.asked"))
    with caplog.at_level("INFO", logger="ivr"):
        assert not usage.flush() and not usage.flush()
        # A new Redis, empty, at the same address.
        second = start_redis(tmp_path, port=first.port)
        try:
            assert usage.flush()
            today = datetime.now(UTC).date().isoformat()
            saved = redis.Redis.from_url(second.url, decode_responses=True)
            assert saved.hgetall(f"ivr:usage:{today}") == {"calls": "1", "transfer.asked": "1"}
        finally:
            second.stop()
    assert caplog.text.count(NOT_SAVED) == 1
    assert "usage counters are saved again" in caplog.text


def test_an_unwritable_usage_db_costs_a_warning_not_a_call_and_the_loss_is_said(
    tmp_path, run_server
):
    env = {
        "USAGE_DB": str(tmp_path / "missing" / "usage.sqlite3"),
        "USAGE_BATCH_SECONDS": "1",
        "WEB_CONCURRENCY": "1",
    }
    with run_server(env) as server:
        call = server.call().start().press("1").press("0").dial_outcome("completed")
        assert not call.events("error") and call.ended
        wait_until(lambda: NOT_SAVED in server.log())
    assert "usage counters cannot be kept in" in server.log()
    # calls, first_choice.keys, language.en, section.police.entered, transfer.asked and
    # transfer.completed: a number, never which counters or which day.
    lost = re.findall(r"WARNING ivr: usage counters: (.*) could not be saved", server.log())
    assert lost == ["6 counts"]


def test_five_transfers_in_a_row_not_connecting_give_one_warning_for_all_workers(run_server):
    warning = (
        "WARNING ivr: the last 5 transfers to the hotline did not connect (busy, no answer or "
        "failed): check that its number is reachable\n"
    )
    with run_server({"WEB_CONCURRENCY": "2"}) as server:
        for n, outcome in enumerate(["busy", "no-answer", "failed", "busy", "busy", "failed"]):
            server.call(call_sid=sid(200 + n)).start().press("0").dial_outcome(outcome)
        assert server.log().count(warning) == 1
        server.call(call_sid=sid(210)).start().press("0").dial_outcome("completed")
        for n in range(4):
            server.call(call_sid=sid(220 + n)).start().press("0").dial_outcome("busy")
        assert server.log().count(warning) == 1, "four since the last that connected"
        server.call(call_sid=sid(230)).start().press("0").dial_outcome("no-answer")
        assert server.log().count(warning) == 2


# --- 13 months ---------------------------------------------------------------------------------


def test_sqlite_drops_days_older_than_13_months(tmp_path):
    store = SqliteStore(tmp_path / "usage.sqlite3")
    store.add(Batch({("2026-03-14", "calls"): 3, ("2026-03-15", "calls"): 4}), date(2026, 3, 15))
    store.add(Batch({("2027-04-15", "calls"): 1}), date(2027, 4, 15))
    assert store.read(date(2026, 1, 1), date(2027, 12, 31)) == {
        "2026-03-15": {"calls": 4},
        "2027-04-15": {"calls": 1},
    }


def test_a_usage_db_deleted_to_drop_every_count_is_made_again_by_the_next_batch(tmp_path):
    path = tmp_path / "usage.sqlite3"
    store = SqliteStore(path)
    store.add(Batch({("2026-03-15", "calls"): 3}), date(2026, 3, 15))
    path.unlink()  # while the server runs, its connection open
    store.add(Batch({("2026-03-15", "calls"): 2}), date(2026, 3, 15))
    assert SqliteStore(path).read(date(2026, 3, 1), date(2026, 3, 31)) == {
        "2026-03-15": {"calls": 2}
    }


def test_redis_expires_each_day_13_months_after_it(tmp_path):
    with redis_server(tmp_path) as server:
        yesterday = datetime.now(UTC).date() - timedelta(1)
        RedisStore(server.url).add(Batch({(yesterday.isoformat(), "calls"): 2}), yesterday)
        client = redis.Redis.from_url(server.url)
        month = yesterday.month + 13
        gone = date(yesterday.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
        gone = gone.replace(day=min(yesterday.day, calendar.monthrange(gone.year, gone.month)[1]))
        expected = calendar.timegm((gone + timedelta(1)).timetuple())
        assert abs(client.ttl(f"ivr:usage:{yesterday}") - (expected - time.time())) < 5


# --- settings and mistakes ---------------------------------------------------------------------


def test_usage_settings_from_the_environment():
    settings = Settings.from_env({})
    assert (str(settings.usage_db), settings.redis_url, settings.usage_min_count) == (
        "usage.sqlite3",
        None,
        10,
    )
    assert Settings.from_env({"USAGE_MIN_COUNT": "25"}).usage_min_count == 25
    for bad in ("0", "ten", "-1"):
        with pytest.raises(SettingsError, match="USAGE_MIN_COUNT"):
            Settings.from_env({"USAGE_MIN_COUNT": bad})
    assert settings.usage_batch_seconds == 600, "a batch every 10 minutes"
    assert Settings.from_env({"USAGE_BATCH_SECONDS": "60"}).usage_batch_seconds == 60
    for bad in ("0", "10m", "-1", "1.5"):
        with pytest.raises(SettingsError, match="USAGE_BATCH_SECONDS should be a whole number"):
            Settings.from_env({"USAGE_BATCH_SECONDS": bad})


def test_the_report_says_what_is_wrong(tmp_path):
    env = {"USAGE_DB": str(tmp_path / "none.sqlite3")}
    missing = ivr_usage(env=env)
    assert missing.returncode == 2 and "no usage counters at" in missing.stderr
    assert not (tmp_path / "none.sqlite3").exists(), "reading makes no file"
    assert "--month should be YYYY-MM" in ivr_usage("--month", "2026-3", env=env).stderr
    assert (
        "no day of 2026-03 has ended yet"
        in ivr_usage("--month", "2026-03", env=env, today="2026-03-01").stderr
    )


# --- the browser phone is a demo ---------------------------------------------------------------


def through_the_page(server, call_sid: str) -> SimulatedCall:
    """A call placed as the browser phone places it: each webhook sent to /phone/twiml as
    JSON, unsigned, for the page to relay as a signed webhook."""

    def post(url: str, params: dict[str, str], headers: dict[str, str]) -> HttpReply:
        sent = {k: v for k, v in params.items() if k in ("Digits", "DialCallStatus")}
        status, answer, body = to_the_page(server, url, sent, params["CallSid"])
        return HttpReply(status, answer["Content-Type"], body)

    return SimulatedCall(post, f"{server.url}/voice", call_sid=call_sid)


def to_the_page(server, url: str, params: dict[str, str], call: str):
    """What the page sends for one webhook: its status, headers and body."""
    body = json.dumps({"url": url, "params": params, "call": call}).encode()
    request = urllib.request.Request(
        f"{server.url}/phone/twiml", body, {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def test_the_browser_phone_in_production_is_not_counted_nor_hides_a_dead_hotline(tmp_path):
    env = {"TWILIO_AUTH_TOKEN": TOKEN, "PHONE_PAGE": "on", "WEB_CONCURRENCY": "1"}
    server = start_server(tmp_path / "server.log", env)
    warning = "the last 5 transfers to the hotline did not connect"
    try:
        for n in range(4):
            server.call(call_sid=sid(300 + n)).start().press("0").dial_outcome("busy")
        # Anyone can open the page and say that a transfer was answered: it changes nothing.
        demo = through_the_page(server, sid(310)).start().press("1").press("0")
        demo.dial_outcome("completed")
        assert demo.ended and not demo.events("error")
        server.call(call_sid=sid(304)).start().press("0").dial_outcome("busy")
        assert warning in server.log(), "the fifth real transfer in a row that did not connect"
        # A few calls a minute from one client; the sixth is refused, and told when to retry.
        for n in range(4):
            assert through_the_page(server, sid(320 + n)).start().waiting_for == "key"
        refused = through_the_page(server, sid(330))
        refused.start()
        assert refused.events("error")[0].text.startswith("application error: HTTP 429")
        status, headers, body = to_the_page(server, f"{server.url}/voice", {}, sid(331))
        assert (status, body) == (429, "Too many calls from here: try again in a minute.")
        assert 1 <= int(headers["Retry-After"]) <= 12
    finally:
        stop_server(server)
    stored = SqliteStore(tmp_path / "usage.sqlite3").read(*around_today())
    day = {}
    for counters in stored.values():
        day.update(counters)
    assert day == {"calls": 5, "first_choice.keys": 5, "transfer.asked": 5, "transfer.busy": 5}
