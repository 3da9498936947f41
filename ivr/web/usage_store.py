"""Where the daily usage counters are kept: an SQLite file, or Redis for several servers.

Each row is a UTC day, a counter's name and its total: no time of day, nothing of one call.
Counts arrive in batches, each applied once however often it is sent: its id is recorded in
the same transaction as its counts. Both stores drop a day's counters, and the ids of batches
written that day, once they are more than 13 months old.
"""

from __future__ import annotations

import calendar
import contextlib
import os
import sqlite3
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Protocol

KEEP_MONTHS = 13
TIMEOUT_SECONDS = 0.5  # for Redis: an unreachable store must not hold counts up for long
BUSY_SECONDS = 1.0  # for SQLite: another process writing its counts finishes well within this
REDIS_PREFIX = "ivr:usage:"
REDIS_BATCH = REDIS_PREFIX + "batch:"  # a batch's id, kept while a retry of it can come

Counts = Mapping[tuple[str, str], int]  # (ISO day, counter name) -> amount to add
Days = dict[str, dict[str, int]]  # ISO day -> counter name -> total


@dataclass(frozen=True)
class Batch:
    """Counts of many calls, sent as one write; sent again as it is until the store answers.

    `record`: the store keeps the id, so that a retry of a batch it applied is not applied
    again; a batch sent once only (at stop) needs none. `forget`: ids of earlier batches whose
    answer came at their first try, which no retry can follow.
    """

    counts: Counts
    forget: tuple[str, ...] = ()
    record: bool = True
    id: str = field(default_factory=lambda: uuid.uuid4().hex)


class UsageStore(Protocol):
    def prepare(self) -> str:
        """At start-up: make ready what can be without a server process; say where it is."""

    def add(self, batch: Batch, today: date) -> None:
        """Add the batch's counts, unless it was added before; drop days no longer kept."""

    def read(self, first: date, last: date) -> Days:
        """The totals of each day from `first` to `last`, both included, that has any."""


def add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier), or the last day of that month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def oldest_kept(today: date) -> date:
    """The first day whose counters are kept on `today`: 13 months back."""
    return add_months(today, -KEEP_MONTHS)


def open_store(usage_db: Path | None, redis_url: str | None) -> UsageStore | None:
    """Redis when REDIS_URL is set, else the SQLite file; None when counting is off."""
    if redis_url:
        return RedisStore(redis_url)
    if usage_db is not None:
        return SqliteStore(usage_db)
    return None


def _expires_at(day: str) -> int:
    """When Redis drops `day`'s counters: at the start of the day after it is 13 months old."""
    gone = add_months(date.fromisoformat(day), KEEP_MONTHS) + timedelta(days=1)
    return calendar.timegm(gone.timetuple())


def _days(first: date, last: date) -> list[str]:
    return [(first + timedelta(n)).isoformat() for n in range((last - first).days + 1)]


class SqliteStore:
    """One file shared by every process on the machine, that keeps no older version of itself.

    Its rollback journal holds the pages a batch changes only while the batch is written, and
    is deleted when it commits; deleted rows are zeroed (secure_delete). But SQLite leaves
    stale bytes where a page was rebuilt (a row grown by a batch moves cells about), so after
    each batch the file is rewritten whole (VACUUM, its copy built in memory): it holds the
    totals as they are now, and never what they were a batch ago.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._pid = 0
        self._inode: int | None = None  # of the file the connection has open
        self._dropped: date | None = None  # the day old counters were last dropped

    def prepare(self) -> str:
        # The file and its tables, made before any server process starts.
        connection = self._open(at_start=True)
        connection.close()
        return str(self.path)

    def _open(self, at_start: bool = False) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False
        )
        connection.execute("PRAGMA secure_delete=ON")
        connection.execute("PRAGMA temp_store=MEMORY")  # VACUUM's copy: in no other file
        # A write-ahead log would keep every batch's version of the table until a checkpoint.
        mode = connection.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
        if mode != "delete":
            connection.close()
            raise sqlite3.OperationalError(f"{self.path} cannot leave journal mode {mode}")
        connection.execute(
            "CREATE TABLE IF NOT EXISTS usage (day TEXT NOT NULL, name TEXT NOT NULL, "
            "count INTEGER NOT NULL, PRIMARY KEY (day, name)) WITHOUT ROWID"
        )
        connection.execute(
            "CREATE TABLE IF NOT EXISTS usage_batches (id TEXT PRIMARY KEY, day TEXT NOT NULL) "
            "WITHOUT ROWID"
        )
        if at_start:
            # A file kept by an earlier version (write-ahead log, no secure_delete): rewritten.
            _rewrite(connection)
        return connection

    def _connect(self) -> sqlite3.Connection:
        # A connection never crosses a fork: each server process opens its own. Nor does it
        # outlive its file: deleted (to drop every count) or replaced, the file is opened
        # again, and counts never go on into a file no one can read.
        try:
            inode = self.path.stat().st_ino
        except FileNotFoundError:
            inode = None
        if self._connection is None or self._pid != os.getpid() or inode != self._inode:
            if self._connection is not None and self._pid == os.getpid():
                self._connection.close()
            self._connection, self._pid, self._dropped = self._open(), os.getpid(), None
            self._inode = self.path.stat().st_ino
        return self._connection

    def add(self, batch: Batch, today: date) -> None:
        kept = oldest_kept(today).isoformat()
        with self._lock:
            connection = self._connect()
            with connection:  # one transaction
                connection.execute("BEGIN IMMEDIATE")
                seen = "SELECT 1 FROM usage_batches WHERE id = ?"
                if connection.execute(seen, (batch.id,)).fetchone():
                    return  # applied before: its answer was lost
                connection.executemany(
                    "DELETE FROM usage_batches WHERE id = ?", [(id,) for id in batch.forget]
                )
                connection.executemany(
                    "INSERT INTO usage (day, name, count) VALUES (?, ?, ?) "
                    "ON CONFLICT (day, name) DO UPDATE SET count = count + excluded.count",
                    [(d, name, n) for (d, name), n in batch.counts.items() if d >= kept],
                )
                if batch.record:
                    connection.execute(
                        "INSERT INTO usage_batches (id, day) VALUES (?, ?)",
                        (batch.id, today.isoformat()),
                    )
                if self._dropped != today:
                    connection.execute("DELETE FROM usage WHERE day < ?", (kept,))
                    connection.execute("DELETE FROM usage_batches WHERE day < ?", (kept,))
            self._dropped = today
            _rewrite(connection)

    def read(self, first: date, last: date) -> Days:
        if not self.path.exists():
            raise FileNotFoundError(f"no usage counters at {self.path}")
        with self._lock:
            rows = self._connect().execute(
                "SELECT day, name, count FROM usage WHERE day BETWEEN ? AND ?",
                (first.isoformat(), last.isoformat()),
            )
            days: Days = {}
            for day, name, count in rows:
                days.setdefault(day, {})[name] = count
            return days


def _rewrite(connection: sqlite3.Connection) -> None:
    """The file written afresh from its rows alone: no stale byte of an earlier version."""
    with contextlib.suppress(sqlite3.OperationalError):
        # The batch is saved; if another process holds the file, the next batch does this.
        connection.execute("VACUUM")


# One batch, applied once: KEYS are the batch's key, the keys to forget, then a hash per day;
# ARGV are whether to record the batch, when its key expires and how many keys to forget,
# then for each day: when it expires, how many counters, and each counter's name and amount.
_ADD_ONCE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local forget = tonumber(ARGV[3])
for k = 2, forget + 1 do redis.call('DEL', KEYS[k]) end
local a = 4
for k = forget + 2, #KEYS do
  local expires, names = ARGV[a], tonumber(ARGV[a + 1])
  a = a + 2
  for _ = 1, names do
    redis.call('HINCRBY', KEYS[k], ARGV[a], ARGV[a + 1])
    a = a + 2
  end
  redis.call('EXPIREAT', KEYS[k], expires)
end
if ARGV[1] == '1' then
  redis.call('SET', KEYS[1], '1')
  redis.call('EXPIREAT', KEYS[1], ARGV[2])
end
return 1
"""


class RedisStore:
    """A hash per day, `ivr:usage:YYYY-MM-DD`, that Redis itself expires after 13 months."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._client: Any = None
        self._script: Any = None
        self._pid = 0

    def prepare(self) -> str:
        self._redis()  # no connection yet: each server process makes its own, when it counts
        return "Redis (REDIS_URL)"

    def _redis(self) -> Any:
        # redis-py looks up the socket module at each connection, so those made in a server
        # process use gevent's sockets, in the thread that saves the counts (with its own
        # hub); its pool starts afresh in each forked process.
        if self._client is None or self._pid != os.getpid():
            import redis

            self._client = redis.Redis.from_url(
                self.url,
                socket_timeout=TIMEOUT_SECONDS,
                socket_connect_timeout=TIMEOUT_SECONDS,
                decode_responses=True,
            )
            self._script = self._client.register_script(_ADD_ONCE)
            self._pid = os.getpid()
        return self._client

    def add(self, batch: Batch, today: date) -> None:
        self._redis()
        by_day: dict[str, list[object]] = {}
        for (day, name), amount in batch.counts.items():
            by_day.setdefault(day, []).extend((name, amount))
        days = sorted(by_day)
        keys = [
            REDIS_BATCH + batch.id,
            *(REDIS_BATCH + id for id in batch.forget),
            *(REDIS_PREFIX + day for day in days),
        ]
        args: list[object] = [int(batch.record), _expires_at(today.isoformat()), len(batch.forget)]
        for day in days:
            args.extend((_expires_at(day), len(by_day[day]) // 2, *by_day[day]))
        self._script(keys=keys, args=args)

    def read(self, first: date, last: date) -> Days:
        pipe = self._redis().pipeline(transaction=False)
        names = _days(first, last)
        for day in names:
            pipe.hgetall(REDIS_PREFIX + day)
        return {
            day: {name: int(count) for name, count in totals.items()}
            for day, totals in zip(names, pipe.execute(), strict=True)
            if totals
        }
