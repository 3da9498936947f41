"""Optional: delete finished calls' logs from Twilio, so the caller's number is not kept there.

Off unless DELETE_CALL_LOGS=on. Twilio calls /status when a call ends; the deletion then runs in
the background, a few seconds later, once Twilio has finished writing the call: a few at a
time, one per call, retried when Twilio or the network fails for a moment. What a restart or a
lost callback leaves behind, `ivr delete-call-logs` sweeps up (run it from a scheduler).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ivr.web.log_output import CALL_SID, call_pseudonym

log = logging.getLogger("ivr")

# Statuses after which a call is over and its log complete.
FINAL = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
TIMEOUT_SECONDS = 10  # for each request to Twilio's API
RETRIES = 3
BACKOFF_SECONDS = 2.0  # then 4, 8: a brief outage or a rate limit passes
MAX_PENDING = 500  # calls waiting for deletion at once; past that, the sweep deletes them


class Transient(Exception):
    """A failure worth trying again: a timeout, a dropped connection, a 5xx or a 429."""


def twilio_client(account_sid: str, auth_token: str, http_client: Any = None) -> Any:
    """twilio-python's REST client, with a timeout on every request."""
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    http = http_client or TwilioHttpClient(timeout=TIMEOUT_SECONDS)
    return Client(account_sid, auth_token, http_client=http)


def record_deleter(make_client: Callable[[], Any]) -> Callable[[str], int]:
    """Deletes a call and the calls it made (the transfer's leg); returns how many records.

    The client is made at the first deletion, in the worker: twilio-python's HTTP stack must
    load after gunicorn's gevent worker has patched the standard library, not in the master.
    """
    client = functools.cache(make_client)

    def delete(call_sid: str) -> int:
        try:
            legs = [leg.sid for leg in client().calls.list(parent_call_sid=call_sid)]
            deleted = 0
            for sid in [*legs, call_sid]:
                deleted += _delete_one(client(), sid)
            return deleted
        except Exception as error:
            raise _classified(error) from error

    return delete


def _delete_one(client: Any, sid: str) -> int:
    from twilio.base.exceptions import TwilioRestException

    try:
        client.calls(sid).delete()
    except TwilioRestException as error:
        if error.status == 404:
            return 0  # already gone
        raise
    return 1


def _classified(error: Exception) -> Exception:
    """`error` as Transient when trying again may help, as it was otherwise."""
    from twilio.base.exceptions import TwilioRestException

    status = error.status if isinstance(error, TwilioRestException) else None
    if status is not None and (status == 429 or status >= 500):
        return Transient(f"HTTP {status}")
    if isinstance(error, OSError):  # timeouts and dropped connections, requests' included
        return Transient(type(error).__name__)
    return error


def with_retries(
    delete: Callable[[str], int],
    call_sid: str,
    backoff_seconds: float = BACKOFF_SECONDS,
    pause: Callable[[float], bool | None] = time.sleep,
) -> int:
    """`delete(call_sid)`, tried again after growing pauses while failures are transient.

    `pause(seconds)` waits, and returns True to give up early (the line is stopping).
    """
    for attempt in range(RETRIES + 1):
        try:
            return delete(call_sid)
        except Transient:
            if attempt == RETRIES or pause(backoff_seconds * 2**attempt):
                raise
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class _Job:
    call_sid: str
    due: float  # time.monotonic() when Twilio has finished writing the call


class CallRecordDeleter:
    """Deletes finished calls' logs in the background: a bounded pool, one job per call."""

    def __init__(
        self,
        delete: Callable[[str], int],
        delay_seconds: float = 5.0,
        workers: int = 2,
        backoff_seconds: float = BACKOFF_SECONDS,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self._delete = delete
        self.delay_seconds = delay_seconds
        self.backoff_seconds = backoff_seconds
        self.max_pending = max_pending
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="call-log")
        self._pending: set[str] = set()  # queued or being deleted
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._told_full = False

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def call_ended(self, call_sid: str, status: str) -> bool:
        """Schedule the deletion if the call is over; True if it was scheduled now."""
        if status not in FINAL or not CALL_SID.fullmatch(call_sid) or self._stopping.is_set():
            return False
        with self._lock:
            if call_sid in self._pending:
                return False  # already on its way: one deletion per call at a time
            if len(self._pending) >= self.max_pending:
                if not self._told_full:
                    self._told_full = True
                    log.warning(
                        "%d call logs are waiting to be deleted from Twilio; later ones are "
                        "left for `ivr delete-call-logs`",
                        self.max_pending,
                    )
                return False
            self._pending.add(call_sid)
        self._pool.submit(self._run, _Job(call_sid, time.monotonic() + self.delay_seconds))
        return True

    def shutdown(self, wait_seconds: float = 5.0) -> int:
        """Finish what is under way, for at most `wait_seconds`; log what is left undone."""
        deadline = time.monotonic() + wait_seconds
        while self.pending and time.monotonic() < deadline:
            time.sleep(0.05)
        self._stopping.set()  # cut short any wait: what is left stays for the sweep
        self._pool.shutdown(wait=False, cancel_futures=True)
        left = self.pending
        if left:
            log.warning(
                "stopping with %d call log(s) not yet deleted from Twilio; "
                "`ivr delete-call-logs` deletes them",
                left,
            )
        return left

    def _run(self, job: _Job) -> None:
        try:
            if self._stopping.wait(max(0.0, job.due - time.monotonic())):
                return
            try:
                count = with_retries(
                    self._delete, job.call_sid, self.backoff_seconds, self._stopping.wait
                )
            except Exception as error:
                # What a Transient says is the line's own; of anything else, only its type:
                # the error's text may quote the call's data.
                # No call named: a line written at the default level is joined to no call.
                why = str(error) if isinstance(error, Transient) else type(error).__name__
                log.error(
                    "a call's log could not be deleted from Twilio: %s; "
                    "`ivr delete-call-logs` will delete it",
                    why,
                )
                return
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "call=%s deleted its log from Twilio (%d call record(s))",
                    call_pseudonym(job.call_sid),
                    count,
                )
        finally:
            with self._lock:
                self._pending.discard(job.call_sid)


@dataclass
class Swept:
    calls: int = 0  # finished calls found
    records: int = 0  # call records deleted, transfer legs included
    failed: int = 0


def sweep(
    client: Any,
    numbers: Iterable[str],
    older_than: timedelta,
    now: datetime | None = None,
    backoff_seconds: float = BACKOFF_SECONDS,
) -> Swept:
    """Delete every finished call to `numbers` that ended more than `older_than` ago."""
    before = (now or datetime.now(UTC)) - older_than
    delete = record_deleter(lambda: client)
    swept = Swept()
    for number in numbers:
        # Listed in full first: deleting while paging could skip calls.
        for call in list(client.calls.stream(to=number)):
            finished = call.status in FINAL and call.end_time is not None
            if not finished or call.end_time >= before or call.parent_call_sid:
                continue  # still going, too recent, or a leg: deleted with its call
            swept.calls += 1
            try:
                swept.records += with_retries(delete, call.sid, backoff_seconds)
            except Exception:
                swept.failed += 1
    return swept


def line_numbers(client: Any) -> list[str]:
    """The account's own phone numbers: the numbers callers dial."""
    return [number.phone_number for number in client.incoming_phone_numbers.list()]
