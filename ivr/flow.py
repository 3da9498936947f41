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
# The tip on keeping a call private; spoken once a call, in a section or before goodbye.
PRIVACY = "privacy"


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
        # A point that introduces a list ("Police may:") runs straight on into its first item.
        self._leads_on = frozenset(
            prompt.id
            for language in line.languages.values()
            for prompt in language.prompts.values()
            if prompt.text.endswith(":")
        )

    def greet(self, state: CallState | None = None) -> Ask:
        """The 911 advice, the other languages' offers, who this line is, then the main menu.

        A caller who has just chosen their language heard the 911 advice in its offer.
        """
        state = replace(state or CallState(self.line.start), node=self.line.start)
        advice = () if state.chosen else ("danger", *self._offers(state))
        return self._menu(state, say=(*advice, "greeting"))

    def answer(self, state: CallState, digits: str | None) -> Reply:
        """The caller pressed `digits` (None or empty: silence) at `state`."""
        if digits == self.line.hotline.key:
            return Transfer(self._in_every_language("connecting", state), replace(state, misses=0))
        if digits == self.line.more_time.key:
            return self._again(self._chose(state, slow=True), notice="more_time_on")
        node = self.line.node(state.node)
        if isinstance(node, Section):
            return self._in_section(node, state, digits)
        assert isinstance(node, Menu)
        if not digits:
            return self._miss(state, "no_input")
        if node.id == self.line.start and digits in self._switches:
            code = self._switches[digits]
            lang = "" if code == self.line.default_language else code
            return self.greet(CallState(self.line.start, lang=lang, slow=state.slow, chosen=True))
        target = node.keys.get(digits)
        if target is None:
            return self._miss(state, "not_an_option")
        return self._enter(self._chose(state, node=node.id if target == REPEAT else target))

    def dial_ended(self, state: CallState, status: str) -> Reply:
        if status in CONNECTED:
            return self._hangup(state, "transfer_completed")
        if state.misses >= self.line.no_input.tries:
            # The caller was put through because they stopped answering: asking again would loop.
            return self._hangup(state, "transfer_failed", "goodbye")
        return self._menu(replace(state, node=self.line.start), say=("transfer_failed",))

    def _in_section(self, section: Section, state: CallState, digits: str | None) -> Reply:
        last = len(section.points) - 1
        action = self._section_actions.get(digits or "", "next" if not digits else None)
        if action is None:
            return self._miss(state, "not_an_option")
        if digits:
            state = self._chose(state)
        if action == "main_menu" or (action == "next" and state.point == last):
            return self._enter(replace(state, node=self.line.start))
        step = {"next": 1, "previous": -1, "repeat": 0}[action]
        return self._point(section, replace(state, point=max(0, state.point + step), misses=0))

    def _miss(self, state: CallState, notice: str) -> Reply:
        misses = state.misses + 1
        if misses >= self.line.no_input.tries:
            if self.line.no_input.then == "transfer":
                connecting = self._in_every_language("connecting", state)
                return Transfer((notice, *connecting), replace(state, misses=misses))
            return self._hangup(state, notice, "goodbye")
        return self._again(replace(state, misses=misses), notice)

    def _again(self, state: CallState, notice: str) -> Ask:
        """`notice`, then the same menu or point again."""
        node = self.line.node(state.node)
        if isinstance(node, Section):
            reply = self._point(node, state)
            return replace(reply, say=(notice, *reply.say))
        return self._menu(state, say=(notice, *self._offers(state)))

    def _enter(self, state: CallState) -> Ask:
        """Arrive at `state.node`: a menu's prompt, or a section's first point."""
        node = self.line.node(state.node)
        if isinstance(node, Menu):
            return self._menu(replace(state, misses=0))
        assert isinstance(node, Section)
        return self._point(node, replace(state, point=0, misses=0), entering=True)

    def _menu(self, state: CallState, say: tuple[str, ...] = ()) -> Ask:
        menu = self.line.menus[state.node]
        return Ask((*say, menu.prompt), replace(state, point=0), self._wait(state, "menu"))

    def _point(self, section: Section, state: CallState, entering: bool = False) -> Ask:
        """A point (and, for a list's introduction, its first item), then the section's keys
        once when the caller has just come in, and the end of the section after its last."""
        last = len(section.points) - 1
        point = state.point
        say = [section.points[point]]
        while say[-1] in self._leads_on and point < last:
            point += 1
            say.append(section.points[point])
        if entering:
            say.append("section_keys")
        if point == last:
            say.append("end_of_section")
        told = state.told_privacy or PRIVACY in say
        return Ask(
            tuple(say), replace(state, point=point, told_privacy=told), self._wait(state, "point")
        )

    def _hangup(self, state: CallState, *say: str) -> Hangup:
        """The last words, with the privacy tip before them if the caller has not heard it;
        the very last (the hotline's number, or thanks) in every language until one is chosen."""
        tip = () if state.told_privacy else (PRIVACY,)
        last = self._in_every_language(say[-1], state)
        return Hangup((*say[:-1], *tip, *last), replace(state, told_privacy=True))

    def _offers(self, state: CallState) -> tuple[str, ...]:
        """Until the caller has chosen, each other language offers itself, in its own words."""
        if state.chosen:
            return ()
        current = state.lang or self.line.default_language
        others = [code for code in self._switches.values() if code != current]
        return tuple(f"{code}/language_offer" for code in others)

    def _in_every_language(self, prompt: str, state: CallState) -> tuple[str, ...]:
        """`prompt` in the call's language, and, while the caller has not chosen, in the others."""
        if state.chosen:
            return (prompt,)
        current = state.lang or self.line.default_language
        others = [code for code in self.line.languages if code != current]
        return (prompt, *(f"{code}/{prompt}" for code in others))

    def _chose(self, state: CallState, **changes: object) -> CallState:
        return replace(state, chosen=True, misses=0, **changes)  # type: ignore[arg-type]

    def _wait(self, state: CallState, kind: str) -> int:
        seconds = self.line.wait.menu if kind == "menu" else self.line.wait.point
        return seconds * self.line.more_time.factor if state.slow else seconds
