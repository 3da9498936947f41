"""Counting what the line does, in each server process, without ever holding a caller up.

A webhook only adds to totals in memory; a background thread adds them to the shared store
about once a second, and once more when the process stops. When the store cannot be reached,
the totals wait in memory, one warning says so, and the store is tried again later.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date, timedelta

from ivr.call.counts import NOT_CONNECTED, TRANSFER_COMPLETED
from ivr.web.usage_store import UsageStore

log = logging.getLogger("ivr")

FLUSH_SECONDS = 1.0
RETRY_SECONDS = 30.0  # after the store failed: the next try
FAILED_IN_A_ROW = 5  # transfers in a row that did not connect before an operator is told
_EPOCH = date(1970, 1, 1)


class Usage:
    """The day's counters of one server process, on their way to the store."""

    def __init__(
        self,
        store: UsageStore | None,
        flush_seconds: float = FLUSH_SECONDS,
        retry_seconds: float = RETRY_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.flush_seconds = flush_seconds
        self.retry_seconds = retry_seconds
        self.clock = clock
        self._pending: Counter[tuple[int, str]] = Counter()  # (day number, name) -> count
        self._lock = threading.Lock()  # held for a moment: webhooks never wait on it
        self._flushing = threading.Lock()
        self._flusher_pid = 0
        self._stop = threading.Event()
        self._retry_at = 0.0
        self._store_down = False
        # Transfers in a row that did not connect, shared by the server processes forked from
        # this one (gunicorn --preload), so one warning speaks for the whole server.
        self._not_connected = multiprocessing.RawValue("i", 0)
        self._streak_lock = multiprocessing.Lock()

    def count(self, names: Iterable[str]) -> None:
        """Add one to each counter in `names`, for today (UTC). Never raises, never waits."""
        if not names:
            return
        day = int(self.clock()) // 86400
        with self._lock:
            for name in names:
                self._pending[(day, name)] += 1
        for name in names:
            if name == TRANSFER_COMPLETED or name in NOT_CONNECTED:
                self._transfer_ended(name == TRANSFER_COMPLETED)
        if self.store is not None and self._flusher_pid != os.getpid():
            self._start_flusher()

    def flush(self) -> bool:
        """Add what is pending to the store; True when nothing is left pending."""
        if self.store is None:
            return True
        # One at a time: the last flush at exit waits for one under way, or its counts are lost.
        with self._flushing:
            return self._flush(self.store)

    def _flush(self, store: UsageStore) -> bool:
        with self._lock:
            if not self._pending:
                return True
            pending, self._pending = self._pending, Counter()
        today = _EPOCH + timedelta(int(self.clock()) // 86400)
        counts = {
            ((_EPOCH + timedelta(day)).isoformat(), name): n for (day, name), n in pending.items()
        }
        try:
            store.add(counts, today)
        except Exception as error:
            with self._lock:
                self._pending.update(pending)
            self._retry_at = time.monotonic() + self.retry_seconds
            if not self._store_down:
                self._store_down = True
                # The type only: an error's text can name the store's address.
                log.warning(
                    "usage counters could not be saved (%s); calls go on, the counts wait in "
                    "memory and are tried again every %d s",
                    type(error).__name__,
                    self.retry_seconds,
                )
            return False
        if self._store_down:
            self._store_down = False
            log.info("usage counters are saved again")
        return True

    def close(self) -> None:
        """At exit: one last try to save what is pending."""
        self._stop.set()
        self.flush()

    def _transfer_ended(self, connected: bool) -> None:
        with self._streak_lock:
            failed = 0 if connected else self._not_connected.value + 1
            self._not_connected.value = failed
        if failed == FAILED_IN_A_ROW:
            log.warning(
                "the last %d transfers to the hotline did not connect (busy, no answer or "
                "failed): check that its number is reachable",
                FAILED_IN_A_ROW,
            )

    def _start_flusher(self) -> None:
        # Started in each server process at its first count: a thread does not survive a fork.
        with self._lock:
            if self._flusher_pid == os.getpid():
                return
            self._flusher_pid = os.getpid()
            # Made afresh here, after the fork and after gevent has patched threading: a lock
            # made before (the app is preloaded) blocks the whole process, not one greenlet, so
            # the last flush at exit would wait forever for a flush that is waiting on Redis.
            self._flushing = threading.Lock()
            self._stop = threading.Event()
        threading.Thread(target=self._run, name="usage", daemon=True).start()
        atexit.register(self.close)

    def _run(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            if time.monotonic() >= self._retry_at:
                self.flush()
