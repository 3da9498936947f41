"""Where the daily usage counters are kept: an SQLite file, or Redis for several servers.

Each row is a UTC day, a counter's name and its total: no time of day, nothing of one call.
Both stores drop a day's counters once they are more than 13 months old.
"""

from __future__ import annotations

import calendar
import os
import sqlite3
import threading
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Protocol

KEEP_MONTHS = 13
TIMEOUT_SECONDS = 0.5  # for Redis: an unreachable store must not hold counts up for long
BUSY_SECONDS = 1.0  # for SQLite: another process writing its counts finishes well within this
REDIS_PREFIX = "ivr:usage:"

Counts = Mapping[tuple[str, str], int]  # (ISO day, counter name) -> amount to add
Days = dict[str, dict[str, int]]  # ISO day -> counter name -> total


class UsageStore(Protocol):
    def prepare(self) -> str:
        """At start-up: make ready what can be without a server process; say where it is."""

    def add(self, counts: Counts, today: date) -> None:
        """Add `counts` to the totals, and drop days no longer kept on `today`."""

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
    """One file shared by every process on the machine: WAL, so readers never wait on writers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._pid = 0
        self._dropped: date | None = None  # the day old counters were last dropped

    def prepare(self) -> str:
        self._open().close()  # the file and its table, made before any server process starts
        return str(self.path)

    def _open(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False
        )
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(
            "CREATE TABLE IF NOT EXISTS usage (day TEXT NOT NULL, name TEXT NOT NULL, "
            "count INTEGER NOT NULL, PRIMARY KEY (day, name)) WITHOUT ROWID"
        )
        return connection

    def _connect(self) -> sqlite3.Connection:
        # A connection never crosses a fork: each server process opens its own.
        if self._connection is None or self._pid != os.getpid():
            self._connection, self._pid, self._dropped = self._open(), os.getpid(), None
        return self._connection

    def add(self, counts: Counts, today: date) -> None:
        with self._lock:
            connection = self._connect()
            with connection:  # one transaction
                connection.execute("BEGIN IMMEDIATE")
                connection.executemany(
                    "INSERT INTO usage (day, name, count) VALUES (?, ?, ?) "
                    "ON CONFLICT (day, name) DO UPDATE SET count = count + excluded.count",
                    [(day, name, amount) for (day, name), amount in counts.items()],
                )
                if self._dropped != today:
                    connection.execute(
                        "DELETE FROM usage WHERE day < ?", (oldest_kept(today).isoformat(),)
                    )
            self._dropped = today

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


class RedisStore:
    """A hash per day, `ivr:usage:YYYY-MM-DD`, that Redis itself expires after 13 months."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._client: Any = None
        self._pid = 0

    def prepare(self) -> str:
        self._redis()  # no connection yet: each server process makes its own, when it counts
        return "Redis (REDIS_URL)"

    def _redis(self) -> Any:
        # redis-py looks up the socket module at each connection, so those made in a server
        # process use gevent's sockets; its pool starts afresh in each forked process.
        if self._client is None or self._pid != os.getpid():
            import redis

            self._client = redis.Redis.from_url(
                self.url,
                socket_timeout=TIMEOUT_SECONDS,
                socket_connect_timeout=TIMEOUT_SECONDS,
                decode_responses=True,
            )
            self._pid = os.getpid()
        return self._client

    def add(self, counts: Counts, today: date) -> None:
        pipe = self._redis().pipeline(transaction=True)
        days = set()
        for (day, name), amount in counts.items():
            pipe.hincrby(REDIS_PREFIX + day, name, amount)
            days.add(day)
        for day in days:
            pipe.expireat(REDIS_PREFIX + day, _expires_at(day))
        pipe.execute()

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
