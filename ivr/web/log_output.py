"""Where the line's log goes: standard error, one line per event.

Each webhook logs one line, and under load the logging module's general machinery (a
LogRecord, a Formatter, text-stream buffering) cost a webhook about a twentieth of its time.
The webhook line is therefore written directly, in the same format as every other line.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time

FORMAT = "%(asctime)sZ %(levelname)s %(name)s: %(message)s"
CALL_SID = re.compile(r"CA[0-9a-f]{32}")  # what Twilio sends; anything else is never logged


def short_call_id(call_sid: str | None) -> str:
    """Enough of a CallSid to follow one call through the log, or "invalid"."""
    if not call_sid:
        return "-"
    return call_sid[-6:] if CALL_SID.fullmatch(call_sid) else "invalid"


class LineHandler(logging.Handler):
    """Writes each record as one line with a single write to a file descriptor."""

    def __init__(self, fd: int | None = None) -> None:
        super().__init__()
        self.fd = sys.stderr.fileno() if fd is None else fd

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
    """The one line each webhook logs, at INFO on the "ivr" logger, made cheaply."""

    def __init__(self) -> None:
        self.logger = logging.getLogger("ivr")
        self._second = -1
        self._stamp = ""

    def __call__(self, message: str) -> None:
        if not self.logger.isEnabledFor(logging.INFO):
            return
        handlers = self.logger.handlers
        if len(handlers) != 1 or not isinstance(handlers[0], LineHandler):
            self.logger.info("%s", message)  # other handlers were attached: use them
            return
        now = time.time()
        if int(now) != self._second:
            self._second = int(now)
            self._stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(self._second))
        handlers[0].write_line(f"{self._stamp},{int(now * 1000) % 1000:03d}Z INFO ivr: {message}")


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
