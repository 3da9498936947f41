"""The call flow: given where a call is and what the caller did, what happens next.

Pure logic over the validated Line; it knows nothing of HTTP or TwiML. Every transition
starts from the current state, so the call's language and pace go along with it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .model import REPEAT, Line, Menu, Section
from .state import CallState

# DialCallStatus values after which the caller talked with an advocate, and the others.
CONNECTED = frozenset({"completed", "answered"})
NOT_CONNECTED = frozenset({"busy", "no-answer", "failed", "canceled"})


@dataclass(frozen=True)
class Ask:
    """Speak `say` inside a Gather and wait for one key; the answer goes to `state`.

    A prompt id may name another language as "es/language_offer".
    """

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
    state: CallState


Reply = Ask | Transfer | Hangup


class Flow:
    def __init__(self, line: Line) -> None:
        self.line = line
        self._section_actions = line.section_keys.by_key()
        self._switches = {
            language.switch_key: code
            for code, language in line.languages.items()
            if language.switch_key is not None
        }

    def greet(self, state: CallState | None = None) -> Reply:
        """The greeting and the main menu, offering the other languages in their own."""
        state = state or CallState(self.line.start)
        current = state.lang or self.line.default_language
        offers = tuple(
            f"{code}/language_offer" for code in self._switches.values() if code != current
        )
        return self._enter(replace(state, node=self.line.start), say=("greeting", *offers))

    def answer(self, state: CallState, digits: str | None) -> Reply:
        """The caller pressed `digits` (None or empty: silence) at `state`."""
        if digits == self.line.hotline.key:
            return Transfer(("connecting",), replace(state, misses=0))
        if digits == self.line.more_time.key:
            return self._again(replace(state, slow=True, misses=0), notice="more_time_on")
        node = self.line.node(state.node)
        if isinstance(node, Section):
            return self._in_section(node, state, digits)
        assert isinstance(node, Menu)
        if not digits:
            return self._miss(state, "no_input")
        if node.id == self.line.start and digits in self._switches:
            code = self._switches[digits]
            lang = "" if code == self.line.default_language else code
            return self.greet(CallState(self.line.start, lang=lang, slow=state.slow))
        target = node.keys.get(digits)
        if target is None:
            return self._miss(state, "not_an_option")
        return self._enter(replace(state, node=node.id if target == REPEAT else target))

    def dial_ended(self, state: CallState, status: str) -> Reply:
        if status in CONNECTED:
            return Hangup(("transfer_completed",), state)
        if state.misses >= self.line.no_input.tries:
            # The caller was put through because they stopped answering: asking again would loop.
            return Hangup(("transfer_failed", "goodbye"), state)
        return self._enter(replace(state, node=self.line.start), say=("transfer_failed",))

    def _in_section(self, section: Section, state: CallState, digits: str | None) -> Reply:
        last = len(section.points) - 1
        action = self._section_actions.get(digits or "", "next" if not digits else None)
        if action is None:
            return self._miss(state, "not_an_option")
        if action == "main_menu" or (action == "next" and state.point == last):
            return self._enter(replace(state, node=self.line.start))
        step = {"next": 1, "previous": -1, "repeat": 0}[action]
        return self._point(section, replace(state, point=max(0, state.point + step), misses=0))

    def _miss(self, state: CallState, notice: str) -> Reply:
        misses = state.misses + 1
        if misses >= self.line.no_input.tries:
            if self.line.no_input.then == "transfer":
                return Transfer((notice, "connecting"), replace(state, misses=misses))
            return Hangup((notice, "goodbye"), state)
        return self._again(replace(state, misses=misses), notice)

    def _again(self, state: CallState, notice: str) -> Reply:
        """`notice`, then the same menu or point again."""
        node = self.line.node(state.node)
        reply = self._point(node, state) if isinstance(node, Section) else self._enter(state)
        assert isinstance(reply, Ask)
        return replace(reply, say=(notice, *reply.say), state=state)

    def _enter(self, state: CallState, say: tuple[str, ...] = ()) -> Reply:
        """Arrive at `state.node`: a menu's prompt, or a section's first point."""
        node = self.line.node(state.node)
        if isinstance(node, Section):
            first = self._point(node, replace(state, point=0, misses=0))
            assert isinstance(first, Ask)
            # The keys are announced once, after the first point, so content comes first.
            return replace(first, say=(*say, first.say[0], "section_keys", *first.say[1:]))
        assert isinstance(node, Menu)
        return Ask(
            (*say, node.prompt), replace(state, point=0, misses=0), self._wait(state, "menu")
        )

    def _point(self, section: Section, state: CallState) -> Reply:
        say = [section.points[state.point]]
        if state.point == len(section.points) - 1:
            say.append("end_of_section")
        return Ask(tuple(say), state, self._wait(state, "point"))

    def _wait(self, state: CallState, kind: str) -> int:
        seconds = self.line.wait.menu if kind == "menu" else self.line.wait.point
        return seconds * self.line.more_time.factor if state.slow else seconds
