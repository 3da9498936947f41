"""The usage store at fault, against the server the Procfile starts: a file locked by another
process, Redis answering past the line's timeout, Redis gone at stop. Webhooks are answered
at once all along, and every count reaches the store exactly once, or is said to be lost."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis

from ivr.tools.simulated_call import HttpReply, SimulatedCall, http_post
from ivr.web.usage_store import SqliteStore
from tests.helpers import ROOT, TOKEN, Server, start_server, stop_server
from tests.usage_fixtures import SlowAnswers, locked_by_another_process, redis_server

NOT_SAVED = "usage counters could not be saved"
SAVED_AGAIN = "usage counters are saved again"
# What one call below adds: answered, a key first, English, a section, the hotline, answered.
ONE_CALL = (
    "calls",
    "first_choice.keys",
    "language.en",
    "section.police.entered",
    "transfer.asked",
    "transfer.completed",
)
# Far above what a webhook takes (milliseconds), far below a store's wait (a locked file is
# waited on for 1 s, Redis for 0.5 s): the margin is for a machine shared with other tests.
PROMPT = 0.5


class Caller:
    """Places whole calls, each webhook timed from the moment it is sent to its answer."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.placed = 0
        self.seconds: list[float] = []

    def post(self, url: str, params: dict[str, str], headers: dict[str, str]) -> HttpReply:
        started = time.perf_counter()
        reply = http_post(url, params, headers)
        self.seconds.append(time.perf_counter() - started)
        return reply

    def call(self) -> None:
        sid = f"CA{self.placed + 1:032x}"
        call = SimulatedCall(self.post, f"{self.server.url}/voice", TOKEN, call_sid=sid)
        call.start().press("1").press("0").dial_outcome("completed")
        assert not call.events("error") and call.ended
        self.placed += 1

    def calls_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.call()

    def expected(self) -> dict[str, int]:
        return {name: self.placed for name in ONE_CALL}


def wait_until(condition, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def totals(days: dict[str, dict[str, int]]) -> dict[str, int]:
    """Every day's counters added up: a test that runs across midnight counts on both days."""
    summed: Counter[str] = Counter()
    for counters in days.values():
        summed.update(counters)
    return dict(summed)


def counted_in(saved: redis.Redis) -> dict[str, int]:
    """Every day's counters in Redis, added up."""
    days = saved.keys("ivr:usage:2*")
    return totals({day: {k: int(v) for k, v in saved.hgetall(day).items()} for day in days})


def around_today() -> tuple:
    today = datetime.now(UTC).date()
    return today - timedelta(1), today + timedelta(1)


def test_a_file_locked_by_another_process_holds_no_webhook_up_and_loses_no_count(tmp_path):
    env = {"TWILIO_AUTH_TOKEN": TOKEN, "USAGE_BATCH_SECONDS": "1"}
    server = start_server(tmp_path / "server.log", env)
    caller = Caller(server)
    try:
        caller.calls_for(1.5)
        # A backup, or `sqlite3` left at its prompt, holds the file for several batches.
        with locked_by_another_process(tmp_path / "usage.sqlite3"):
            caller.calls_for(5)
            assert NOT_SAVED in server.log()
        assert max(caller.seconds) < PROMPT, sorted(caller.seconds)[-5:]
        wait_until(lambda: SAVED_AGAIN in server.log())
        caller.calls_for(1.5)
    finally:
        stop_server(server)
    assert max(caller.seconds) < PROMPT, sorted(caller.seconds)[-5:]
    assert totals(SqliteStore(tmp_path / "usage.sqlite3").read(*around_today())) == (
        caller.expected()
    )
    assert "could not be saved before stopping" not in server.log()


def test_redis_answering_past_the_timeout_counts_each_call_once(tmp_path):
    with redis_server(tmp_path) as store:
        proxy = SlowAnswers(store.port)
        env = {"TWILIO_AUTH_TOKEN": TOKEN, "USAGE_BATCH_SECONDS": "1", "REDIS_URL": proxy.url}
        server = start_server(tmp_path / "server.log", env)
        caller = Caller(server)
        saved = redis.Redis.from_url(store.url, decode_responses=True)

        try:
            caller.calls_for(1.5)
            wait_until(lambda: counted_in(saved) == caller.expected())
            # Redis applies each batch, but its answer comes after the line has given up.
            proxy.delay = 1.5
            caller.calls_for(6)
            assert NOT_SAVED in server.log()
            proxy.delay = 0
            # A retry comes within a batch; 40 s lets a line that retries every 30 s show
            # what it does.
            wait_until(lambda: SAVED_AGAIN in server.log(), seconds=40)
            caller.calls_for(1.5)
        finally:
            stop_server(server)
            proxy.close()
        assert counted_in(saved) == caller.expected()
    assert max(caller.seconds) < PROMPT, sorted(caller.seconds)[-5:]
    assert "could not be saved before stopping" not in server.log()


def test_counts_that_cannot_be_saved_at_stop_are_said_by_their_number(tmp_path):
    with redis_server(tmp_path) as store:
        env = {
            "TWILIO_AUTH_TOKEN": TOKEN,
            "WEB_CONCURRENCY": "1",
            "USAGE_BATCH_SECONDS": "1",
            "REDIS_URL": store.url,
        }
        server = start_server(tmp_path / "server.log", env)
        caller = Caller(server)
        try:
            caller.call()
            saved = redis.Redis.from_url(store.url, decode_responses=True)
            wait_until(lambda: saved.keys("ivr:usage:2*"))
            store.stop()
            for _ in range(7):
                caller.call()
        finally:
            stop_server(server)
    log = server.log()
    lost = re.findall(r"WARNING ivr: usage counters: (\d+) counts could not be saved.*", log)
    assert lost == [str(7 * len(ONE_CALL))], log
    line = next(line for line in log.splitlines() if "before stopping" in line)
    assert not re.search(r"calls|transfer|language|section|\d{4}-\d\d", line.split(": ", 2)[2])


def test_counts_reach_the_store_in_batches_of_many_calls_and_redis_logs_one_write_a_batch(
    tmp_path: Path,
):
    """By default a batch every 10 minutes: here, all the calls are in the batches the two
    server processes write as they stop. Redis's append-only file holds a write a batch."""
    with redis_server(tmp_path, appendonly=True) as store:
        env = {"TWILIO_AUTH_TOKEN": TOKEN, "WEB_CONCURRENCY": "2", "REDIS_URL": store.url}
        server = start_server(tmp_path / "server.log", env)
        caller = Caller(server)
        saved = redis.Redis.from_url(store.url, decode_responses=True)
        try:
            for _ in range(12):
                caller.call()
            time.sleep(2)
            lone = server.call(call_sid=f"CA{99:032x}").start().press("9").press("0")
            lone.dial_outcome("busy")
            assert saved.keys("ivr:usage:*") == [], "nothing is written between batches"
        finally:
            stop_server(server)
        stored = counted_in(saved)
        aof = b"".join(f.read_bytes() for f in (tmp_path / "appendonlydir").glob("*.aof"))
    assert stored == {
        **{name: 12 for name in ONE_CALL},
        "calls": 13,
        "first_choice.keys": 13,
        "language.es": 1,
        "transfer.asked": 13,
        "transfer.busy": 1,
    }
    writes = aof.split(b"MULTI")[1:]
    assert 1 <= len(writes) <= 2, "one write for each process's batch"
    assert all(b"HINCRBY" in write for write in writes)


# What gunicorn's worker does on a quick stop (SIGQUIT, or Ctrl-C's SIGINT): 0.1 s after the
# signal a greenlet calls sys.exit(0), and the process's last flush may be waiting then.
QUICK_STOP = """
import sys
from gevent import monkey
monkey.patch_all()
import gevent
from pathlib import Path
from ivr.web.usage import Usage
from ivr.web.usage_store import SqliteStore

usage = Usage(SqliteStore(Path(sys.argv[1])), batch_seconds=3600)
for _ in range(5):
    usage.count(["calls"])
print("counted", flush=True)
gevent.spawn(lambda: (gevent.sleep(0.1), sys.exit(0)))
usage.close()
print("closed", flush=True)
"""


def test_a_quick_stop_during_the_last_save_loses_no_count(tmp_path):
    db = tmp_path / "usage.sqlite3"
    SqliteStore(db).prepare()
    # The file is busy for 0.5 s as the process stops: the last save waits through the exit.
    with locked_by_another_process(db):
        process = subprocess.Popen(
            [sys.executable, "-c", QUICK_STOP, str(db)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None and process.stdout.readline() == "counted\n"
        time.sleep(0.5)
    out, err = process.communicate(timeout=20)
    assert totals(SqliteStore(db).read(*around_today())) == {"calls": 5}, (out, err)
    assert out == "closed\n" and "Traceback" not in err and "could not be saved" not in err


def test_counts_sent_at_stop_with_no_answer_are_said_apart_from_counts_lost(tmp_path):
    """Redis applies the last batch, but answers after the line has stopped waiting: the log
    says those counts were given with no answer, not that they were lost."""
    with redis_server(tmp_path) as store:
        proxy = SlowAnswers(store.port)
        env = {
            "TWILIO_AUTH_TOKEN": TOKEN,
            "WEB_CONCURRENCY": "1",
            "USAGE_BATCH_SECONDS": "2",
            "REDIS_URL": proxy.url,
        }
        server = start_server(tmp_path / "server.log", env)
        caller = Caller(server)
        saved = redis.Redis.from_url(store.url, decode_responses=True)

        try:
            caller.call()
            wait_until(lambda: counted_in(saved) == caller.expected())
            # Just after a batch: the next is 2 s away, and the stop comes first.
            for _ in range(3):
                caller.call()
            proxy.delay = 1.5
        finally:
            stop_server(server)
        wait_until(lambda: counted_in(saved) == caller.expected())
        proxy.close()
    log = server.log()
    assert "could not be saved before stopping" not in log
    said = re.findall(r"usage counters: (\d+) counts were given to the store before stopping", log)
    assert said == [str(3 * len(ONE_CALL))], log
