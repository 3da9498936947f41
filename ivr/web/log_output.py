"""Where the line's log goes: standard error, one line per event.

At the default level (INFO) nothing written can be joined to one call. With LOG_LEVEL=DEBUG,
each webhook logs one line of where the call went, under a call pseudonym; the logging
module's general machinery (a LogRecord, a Formatter, text-stream buffering) would cost a
webhook about a twentieth of its time, so that line is written directly, in the same format.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import sys
import time

FORMAT = "%(asctime)sZ %(levelname)s %(name)s: %(message)s"
CALL_SID = re.compile(r"CA[0-9a-f]{32}")  # what Twilio sends; anything else is never logged


# Made at start-up and held only in memory: a pseudonym cannot be matched with Twilio's records,
# nor with those of an earlier run. Server processes forked from one start share it.
_PSEUDONYM_KEY = secrets.token_bytes(32)


def call_pseudonym(call_sid: str | None) -> str:
    """A name for one call, to follow it through a DEBUG log: never any part of its CallSid."""
    if not call_sid:
        return "-"
    if not CALL_SID.fullmatch(call_sid):
        return "invalid"
    return hmac.new(_PSEUDONYM_KEY, call_sid.encode(), hashlib.sha256).hexdigest()[:10]


class LineHandler(logging.Handler):
    """Writes each record as one line with a single write to a file descriptor."""

    def __init__(self, fd: int | None = None) -> None:
        super().__init__()
        self.given_fd = fd

    @property
    def fd(self) -> int:
        # Looked up at each line, not kept: a descriptor kept from a stderr since replaced (a
        # test runner's capture) may be closed, or reused by a file this process opens later.
        return sys.stderr.fileno() if self.given_fd is None else self.given_fd

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.write_line(self.format(record))
        except Exception:
            self.handleError(record)

    def write_line(self, text: str) -> None:
        data = (text + "\n").encode("utf-8", "replace")
        while data:
            data = data[os.write(self.fd, data) :]


class WebhookLog:
    """The one line each webhook logs, at DEBUG on the "ivr" logger, made cheaply."""

    def __init__(self) -> None:
        self.logger = logging.getLogger("ivr")
        self._second = -1
        self._stamp = ""

    def __call__(self, call_sid: str | None, what: str) -> None:
        """Log `what` happened in the call `call_sid`, under its pseudonym."""
        if not self.logger.isEnabledFor(logging.DEBUG):
            return
        message = f"call={call_pseudonym(call_sid)} {what}"
        handlers = self.logger.handlers
        if len(handlers) != 1 or not isinstance(handlers[0], LineHandler):
            self.logger.debug("%s", message)  # other handlers were attached: use them
            return
        now = time.time()
        if int(now) != self._second:
            self._second = int(now)
            self._stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(self._second))
        handlers[0].write_line(f"{self._stamp},{int(now * 1000) % 1000:03d}Z DEBUG ivr: {message}")


def configure(level: str) -> None:
    """Send the "ivr" logger to standard error at `level`, timestamps in UTC."""
    logger = logging.getLogger("ivr")
    if not logger.handlers:
        handler = LineHandler()
        formatter = logging.Formatter(FORMAT)
        formatter.converter = time.gmtime
        handler.setFormatter(formatter)
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(level)
