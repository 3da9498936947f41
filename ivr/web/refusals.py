"""Refused requests, summed up in the log: a line a minute with a count per reason.

Anyone can send refused requests as fast as the network carries them, so a line for each would
let them write the log. Each server process counts them instead, by a reason fixed in the code,
and writes one line when a minute has passed since the first it counted (and one more when it
stops), naming no part of any request.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable

log = logging.getLogger("ivr")

INTERVAL = 60.0

# The reasons, as the summary names them.
SIGNATURE = "without a valid X-Twilio-Signature"
# Anyone can name a key, so this is counted, not told once: a flood of made-up ids cannot use
# up the warning that a key Twilio really signs with is missing.
UNKNOWN_KEY = (
    "signed with a webhook shared key this line does not have (if Twilio signs with it, add "
    "its id and secret to TWILIO_WEBHOOK_KEYS)"
)
TOO_LARGE = "with a body over the size limit"
TOO_MANY_FIELDS = "with more form fields than Twilio sends"
FIELD_TOO_LONG = "with a form field far longer than Twilio's"
NOT_A_FORM = "with a body that is not a form"
MALFORMED = "that were not HTTP the server could read"
HEAD_LARGE = "with a header far larger than Twilio's"
TOO_SLOW = "not sent whole within the request deadline"
NOT_READ = "whose answer was not read within the answer deadline"
CROWDED_OUT = "waiting connections closed to make room for new ones"


class Refusals:
    """The counts of one server process, on their way to the log."""

    def __init__(self, interval: float = INTERVAL, clock: Callable[[], float] = time.monotonic):
        self.interval = interval
        self.clock = clock
        self._counts: Counter[str] = Counter()
        self._since = 0.0
        self._pid = 0  # the process whose timer and lock these are: neither survives a fork
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def count(self, reason: str) -> None:
        """One more refused for `reason`; never waits, never writes the log itself."""
        if self._pid != os.getpid():
            self._start()
        with self._lock:
            if not self._counts:
                self._since = self.clock()
            self._counts[reason] += 1
            if self._timer is None:
                self._timer = threading.Timer(self.interval, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        """Write what was counted, in one line, and start over."""
        with self._lock:
            counts, self._counts = self._counts, Counter()
            self._timer = None
            seconds = self.clock() - self._since
        if counts:
            log.warning("refused in the last %.0f s: %s", seconds, summary(counts))

    def _start(self) -> None:
        # Made afresh in each process at its first count, after gevent has patched threading.
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._counts, self._timer = Counter(), None
        atexit.register(self.flush)


def summary(counts: Counter[str]) -> str:
    """`1,200 not sent whole within the request deadline, 3 without a valid ...`."""
    return ", ".join(f"{count:,} {reason}" for reason, count in counts.most_common())


# The process's own: every part of the server counts here.
refused = Refusals()
