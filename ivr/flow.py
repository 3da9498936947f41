"""The call flow: given where a call is and what the caller did, what happens next.

Pure logic over the validated Line; it knows nothing of HTTP or TwiML.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .model import REPEAT, Line, Menu, Section
from .state import CallState

# DialCallStatus values after which the caller talked with an advocate.
CONNECTED = frozenset({"completed", "answered"})


@dataclass(frozen=True)
class Ask:
    """Speak `say` inside a Gather and wait for one key; the answer goes to `state`."""

    say: tuple[str, ...]
    state: CallState
    wait: int


@dataclass(frozen=True)
class Transfer:
    """Speak `say`, then dial the hotline; how it ended goes back with `state`."""

    say: tuple[str, ...]
    state: CallState


@dataclass(frozen=True)
class Hangup:
    say: tuple[str, ...]


Reply = Ask | Transfer | Hangup


class Flow:
    def __init__(self, line: Line) -> None:
        self.line = line
        self._section_actions = line.section_keys.by_key()

    def greet(self) -> Reply:
        return self._enter(self.line.start, say=("greeting",))

    def answer(self, state: CallState, digits: str | None) -> Reply:
        """The caller pressed `digits` (None or empty: silence) at `state`."""
        if digits == self.line.hotline.key:
            return Transfer(("connecting",), replace(state, misses=0))
        node = self.line.node(state.node)
        if isinstance(node, Section):
            return self._in_section(node, state, digits)
        assert isinstance(node, Menu)
        if not digits:
            return self._miss(state, "no_input")
        target = node.keys.get(digits)
        if target is None:
            return self._miss(state, "not_an_option")
        if target == REPEAT:
            return self._enter(node.id)
        return self._enter(target)

    def dial_ended(self, state: CallState, status: str) -> Reply:
        if status in CONNECTED:
            return Hangup(("transfer_completed",))
        if state.misses >= self.line.no_input.tries:
            # The caller was put through because they stopped answering: asking again would loop.
            return Hangup(("transfer_failed", "goodbye"))
        return self._enter(self.line.start, say=("transfer_failed",))

    def _in_section(self, section: Section, state: CallState, digits: str | None) -> Reply:
        last = len(section.points) - 1
        action = self._section_actions.get(digits or "", "next" if not digits else None)
        if action is None:
            return self._miss(state, "not_an_option")
        if action == "main_menu" or (action == "next" and state.point == last):
            return self._enter(self.line.start)
        step = {"next": 1, "previous": -1, "repeat": 0}[action]
        return self._point(section, max(0, state.point + step))

    def _miss(self, state: CallState, notice: str) -> Reply:
        misses = state.misses + 1
        if misses >= self.line.no_input.tries:
            if self.line.no_input.then == "transfer":
                return Transfer((notice, "connecting"), replace(state, misses=misses))
            return Hangup((notice, "goodbye"))
        node = self.line.node(state.node)
        if isinstance(node, Section):
            reply = self._point(node, state.point)
        else:
            reply = self._enter(state.node)
        assert isinstance(reply, Ask)
        return replace(reply, say=(notice, *reply.say), state=replace(reply.state, misses=misses))

    def _enter(self, node_id: str, say: tuple[str, ...] = ()) -> Reply:
        node = self.line.node(node_id)
        if isinstance(node, Section):
            first = self._point(node, 0)
            assert isinstance(first, Ask)
            # The keys are announced once, after the first point, so content comes first.
            return replace(first, say=(*say, first.say[0], "section_keys", *first.say[1:]))
        assert isinstance(node, Menu)
        return Ask((*say, node.prompt), CallState(node.id), self.line.wait.menu)

    def _point(self, section: Section, point: int) -> Reply:
        say = [section.points[point]]
        if point == len(section.points) - 1:
            say.append("end_of_section")
        return Ask(tuple(say), CallState(section.id, point), self.line.wait.point)
