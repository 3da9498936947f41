"""What one webhook adds to the day's usage counters: names of totals, never anything of a call.

Worked out from the call flow's decision alone (where the call was, what the caller did, what
the line answers), so it is kept with the decision and costs nothing per request.
"""

from __future__ import annotations

from ivr.call.flow import CONNECTED, Hangup, Reply, Transfer
from ivr.call.speech_match import Heard
from ivr.call.state import CallState
from ivr.menu.model import PhoneLine, Section

CALLS = "calls"  # calls answered
BY_KEYS = "first_choice.keys"  # the caller's first choice made with a key
BY_SPEECH = "first_choice.speech"  # ... or by naming one
MORE_TIME = "more_time"
TRANSFER_ASKED = "transfer.asked"  # the caller asked for an advocate
TRANSFER_SILENT = "transfer.silent"  # a caller who said nothing was put through
TRANSFER_COMPLETED = "transfer.completed"
TRANSFER_BUSY = "transfer.busy"
TRANSFER_NO_ANSWER = "transfer.no_answer"
TRANSFER_FAILED = "transfer.failed"
TRANSFER_CANCELED = "transfer.canceled"  # the caller hung up while it rang
GOODBYE = "goodbye"  # the line ended the call itself
# Counted by the web layer, where they happen.
ERROR = "error"
FALLBACK = "fallback"
REFUSED = "refused"

# Each outcome Twilio reports for a transfer's number, by its counter.
OUTCOMES = {
    "completed": TRANSFER_COMPLETED,
    "answered": TRANSFER_COMPLETED,
    "busy": TRANSFER_BUSY,
    "no-answer": TRANSFER_NO_ANSWER,
    "failed": TRANSFER_FAILED,
    "canceled": TRANSFER_CANCELED,
}
NOT_CONNECTED = frozenset({TRANSFER_BUSY, TRANSFER_NO_ANSWER, TRANSFER_FAILED})


def language(code: str) -> str:
    """Calls whose language was settled as `code`, at the caller's first choice."""
    return f"language.{code}"


def section_entered(section: str) -> str:
    return f"section.{section}.entered"


def section_finished(section: str) -> str:
    """The section heard to its last point."""
    return f"section.{section}.finished"


def counted(
    line: PhoneLine, route: str, state: CallState | None, given: object, reply: Reply
) -> tuple[str, ...]:
    """The counters one webhook adds to: `given` is the key, the outcome or what was heard."""
    names: list[str] = []
    if route == "voice" or state is None:
        return (CALLS,)
    after = reply.state
    if route == "dial":
        outcome = OUTCOMES.get(given) if isinstance(given, str) else None
        if outcome:
            names.append(outcome)
    elif route == "key":
        key = given.key if isinstance(given, Heard) else given
        if key and not (state.chosen or state.pressed):
            names.append(BY_SPEECH if isinstance(given, Heard) else BY_KEYS)
        if isinstance(reply, Transfer):
            names.append(TRANSFER_ASKED if key == line.hotline.key else TRANSFER_SILENT)
    if after.chosen and not state.chosen:
        names.append(language(after.lang or line.default_language))
    if after.slow and not state.slow:
        names.append(MORE_TIME)
    node = line.node(after.node)
    if isinstance(reply, Hangup):
        if not (route == "dial" and given in CONNECTED):
            names.append(GOODBYE)
    elif not isinstance(reply, Transfer) and isinstance(node, Section):
        same = state.node == node.id
        if not same:
            names.append(section_entered(node.id))
        last = len(node.points) - 1
        if after.point == last and not (same and state.point == last):
            names.append(section_finished(node.id))
    return tuple(names)
