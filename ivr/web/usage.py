"""Counting what the line does, in each server process, without ever holding a caller up.

A webhook only adds to totals in memory. Every few minutes (on the clock: :00, :10, ... by
default), a flusher sends them to the shared store as one batch of many calls, and once more
when the process stops; the store's I/O runs in a real OS thread, never in the loop that
answers webhooks. A batch the store did not answer is sent again as it is, with its id, so it
is applied once however late or lost its answer. What could not be saved at stop is logged,
as a number.
"""

from __future__ import annotations

import atexit
import functools
import logging
import multiprocessing
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date, timedelta

import gevent
from gevent import monkey
from gevent.threadpool import ThreadPool

from ivr.call.counts import NOT_CONNECTED, TRANSFER_COMPLETED
from ivr.web.usage_store import Batch, UsageStore

log = logging.getLogger("ivr")

BATCH_SECONDS = 600  # how often counts are saved: each write holds many calls
RETRY_SECONDS = 30.0  # after the store failed: the next try (or the next batch, if sooner)
IO_SECONDS = 10.0  # the longest a flush waits for the store; the store's own timeouts are less
STOP_SECONDS = 3.0  # at stop, within gunicorn's --graceful-timeout 5
FAILED_IN_A_ROW = 5  # transfers in a row that did not connect before an operator is told
# Set in the WSGI environ by the browser phone's relay, which no HTTP client can set: the
# demo's calls are not the line's calls.
NOT_COUNTED = "ivr.not_counted"
_EPOCH = date(1970, 1, 1)


def next_batch(now: float, seconds: float) -> float:
    """The next moment on the clock that is a whole number of batches since the epoch, so
    that every process of every server saves at the same moment."""
    return (now // seconds + 1) * seconds


def _error_of(work: Callable[[], None]) -> Exception | None:
    try:
        work()
    except Exception as error:
        return error
    return None


class Usage:
    """The day's counters of one server process, on their way to the store."""

    def __init__(
        self,
        store: UsageStore | None,
        batch_seconds: float = BATCH_SECONDS,
        retry_seconds: float = RETRY_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.batch_seconds = batch_seconds
        self.retry_seconds = min(retry_seconds, batch_seconds)
        self.clock = clock
        self._pending: Counter[tuple[int, str]] = Counter()  # (day number, name) -> count
        self._lock = threading.Lock()  # held for a moment: webhooks never wait on it
        self._batch: Batch | None = None  # sent, but its answer has not come
        self._tries = 0  # of that batch
        self._forget: tuple[str, ...] = ()  # ids of batches saved at their first try
        self._flushing = threading.Lock()
        self._flusher_pid = 0
        self._stop = threading.Event()
        self._store_down = False
        self._unanswered = False  # the last send failed for want of an answer, not an error
        self._pool: ThreadPool | None = None
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
        """Send one batch: the one whose answer is awaited, else what is pending now. True
        when the store took it (or there was nothing to send)."""
        if self.store is None:
            return True
        # One at a time: the last flush at exit waits for one under way.
        with self._flushing:
            return self._send(self.store, self._batch or self._cut(record=True), IO_SECONDS)

    def close(self) -> None:
        """At exit: send the batch awaiting an answer and what is pending; say, as numbers,
        what is lost and what was sent with no answer."""
        self._stop.set()
        if self.store is None:
            return
        deadline = time.monotonic() + STOP_SECONDS
        lost = unanswered = 0

        def send(batch: Batch | None) -> None:
            nonlocal lost, unanswered
            if batch is None or self._send(store, batch, max(0.1, deadline - time.monotonic())):
                return
            self._batch = None
            if self._unanswered:
                unanswered += sum(batch.counts.values())
            else:
                lost += sum(batch.counts.values())

        store = self.store
        if self._flushing.acquire(timeout=STOP_SECONDS):
            try:
                awaited, self._batch = self._batch, None
                send(awaited)
                # Sent once only: no retry can follow, so the store need not keep its id.
                send(self._cut(record=False))
            except (SystemExit, KeyboardInterrupt):
                pass  # a quick stop cut the last sends short: what was not sent is counted
            finally:
                self._flushing.release()
        with self._lock:
            lost += sum(self._pending.values())
        lost += sum(self._batch.counts.values()) if self._batch else 0
        # How many, never which counters or days.
        if lost:
            log.warning("usage counters: %d counts could not be saved before stopping", lost)
        if unanswered:
            log.warning(
                "usage counters: %d counts were given to the store before stopping, but it did "
                "not answer in time: they may or may not be saved",
                unanswered,
            )

    def _cut(self, record: bool) -> Batch | None:
        """What is pending, as a batch of its own."""
        with self._lock:
            if not self._pending:
                return None
            pending, self._pending = self._pending, Counter()
        self._tries = 0
        counts = {
            ((_EPOCH + timedelta(d)).isoformat(), name): n for (d, name), n in pending.items()
        }
        return Batch(counts, forget=self._forget, record=record)

    def _send(self, store: UsageStore, batch: Batch | None, wait: float) -> bool:
        if batch is None:
            return True
        self._batch = batch
        self._tries += 1
        today = _EPOCH + timedelta(int(self.clock()) // 86400)
        try:
            self._off_loop(functools.partial(store.add, batch, today), wait)
        except Exception as error:
            # A store that took the batch may still be answering: then it is not known lost.
            self._unanswered = "Timeout" in type(error).__name__
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
        self._batch = None
        # Saved at its first try, no copy of it can come again: the next batch forgets its id.
        self._forget = (batch.id,) if batch.record and self._tries == 1 else ()
        if self._store_down:
            self._store_down = False
            log.info("usage counters are saved again")
        return True

    def _off_loop(self, work: Callable[[], None], wait: float) -> None:
        """Run `work` where it cannot hold a webhook up: under gevent, in a real OS thread of
        its own (a locked SQLite file waits in C code, which would stop the whole loop); else
        here, in the flusher's own thread."""
        if not monkey.is_module_patched("socket"):
            work()
            return
        if self._pool is None:
            # One thread: the Redis connection's gevent socket belongs to that thread's hub.
            self._pool = ThreadPool(1)
        # Its error comes back as a value: the pool would print its trace, which for Redis
        # names the store's address.
        result = self._pool.spawn(_error_of, work)
        deadline = time.monotonic() + wait
        while True:
            try:
                failed = result.get(timeout=max(0.0, deadline - time.monotonic()))
                break
            except gevent.Timeout:
                raise TimeoutError(f"no answer within {wait:g} s") from None
            except (SystemExit, KeyboardInterrupt):
                # A quick stop (SIGQUIT, Ctrl-C) has gunicorn exit 0.1 s after the signal,
                # into this wait for the last batch at exit: the process is stopping either
                # way, and the counts in that batch are not to be lost to it.
                if not self._stop.is_set():
                    raise
        if failed is not None:
            raise failed

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
            self._pool = None
        threading.Thread(target=self._run, name="usage", daemon=True).start()
        atexit.register(self.close)

    def _run(self) -> None:
        due = next_batch(time.time(), self.batch_seconds)
        while not self._stop.wait(max(0.0, due - time.time())):
            if time.time() < due:
                continue
            saved = self.flush()
            now = time.time()
            due = next_batch(now, self.batch_seconds)
            if not saved:
                due = min(due, now + self.retry_seconds)
