"""The real app with a fault planted for tests: pressing 9 (or $FAULT_KEY) raises inside the
call flow.

Served by gunicorn exactly as the Procfile serves ivr.wsgi:app.
"""

from __future__ import annotations

import os

from ivr.call.flow import Flow

_answer = Flow.answer
_KEY = os.environ.get("FAULT_KEY", "9")


def _faulty_answer(self, state, digits):
    if digits == _KEY:
        raise RuntimeError("a planted fault")
    return _answer(self, state, digits)


from ivr.wsgi import app  # noqa: E402

# Planted once the line has started, which runs the flow through every state to check it.
Flow.answer = _faulty_answer  # type: ignore[method-assign]

__all__ = ["app"]
