"""The call flow: given where a call is and what the caller did, what happens next.

Pure logic over the validated PhoneLine; it knows nothing of HTTP or TwiML. Every transition
starts from the current state, so the call's language and pace go along with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ivr.call.speech_match import Heard
from ivr.call.state import CallState, replace
from ivr.menu.model import REPEAT, Language, Menu, PhoneLine, Section

# DialCallStatus values after which the caller talked with an advocate, and the others.
CONNECTED = frozenset({"completed", "answered"})
NOT_CONNECTED = frozenset({"busy", "no-answer", "failed", "canceled"})
# Outcomes after which the next backup number, if any, is tried.
TRY_NEXT = frozenset({"busy", "no-answer", "failed"})
# The tip on keeping a call private; spoken once a call, in a section or before goodbye.
PRIVACY = "privacy"


@dataclass(frozen=True)
class Which:
    """A question: the caller's words fit these options; which one, by which key?"""

    options: tuple[str, ...]
    keys: tuple[str, ...]

    def words(self, language: Language) -> str:
        """ "Did you mean what the police can do, or to talk with an advocate? Press 1 or 0." """
        names = [language.option_names[option] for option in self.options]
        keys = [key if key.isdigit() else language.keys[key][0] for key in self.keys]
        return language.which_one.format(
            options=_listed(names, f", {language.or_word} "),
            keys=_listed(keys, f" {language.or_word} "),
        )


def _listed(items: list[str], last_joint: str) -> str:
    """ "a, b, or c": every item, the last two joined by `last_joint`."""
    return ", ".join(items[:-1]) + last_joint + items[-1] if len(items) > 1 else items[0]


Said = str | Which  # a prompt id ("greeting", or "es/language_offer" in another language)


@dataclass(frozen=True)
class Ask:
    """Speak `say` inside a Gather and wait for one key; the answer goes to `state`."""

    say: tuple[Said, ...]
    state: CallState
    wait: int


@dataclass(frozen=True)
class Transfer:
    """Speak `say`, then dial the number of `state.attempt`; its outcome goes back with `state`."""

    say: tuple[Said, ...]
    state: CallState


@dataclass(frozen=True)
class Hangup:
    say: tuple[Said, ...]
    state: CallState


Reply = Ask | Transfer | Hangup


class Flow:
    def __init__(self, line: PhoneLine) -> None:
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
        state = replace(state, pressed=True) if digits else state
        if digits == self.line.hotline.key:
            return self._transfer(state, ())
        if state.retry:
            # After a failed transfer, the caller had a moment to press the hotline key again.
            state = replace(state, retry=False)
            if not digits:
                if self._gives_up(state, state.misses):
                    return self._hangup(state, "goodbye")  # put through for silence: no loop
                return self._menu(replace(state, misses=0))
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

    def hear(self, state: CallState, heard: Heard) -> Reply:
        """The caller spoke at `state`: a key by its name or an option, a question, or noise."""
        if heard.key is not None:
            return self.answer(replace(state, heard_noise=False, retry=False), heard.key)
        state = replace(state, retry=False)
        if heard.options:
            # The words fit several options: name them and ask, then go on where the call was.
            which = Which(*zip(*heard.options, strict=True))
            again = self._again(replace(state, heard_noise=False))
            return replace(again, say=(which, *again.say))
        # Words that fit nothing, like a television: never counted, never a move.
        if state.keys_only:
            return self._again(state)
        if state.heard_noise:
            # Twice in a row: from now on the line listens for keys only.
            return self._again(replace(state, keys_only=True), notice="keys_only")
        notice = "" if isinstance(self.line.node(state.node), Section) else "not_understood"
        return self._again(replace(state, heard_noise=True), notice=notice)

    def dial_ended(self, state: CallState, status: str) -> Reply:
        if status in CONNECTED:
            return self._hangup(state, "transfer_completed")
        if status in TRY_NEXT and state.attempt < len(self.line.hotline.backups):
            backup = self.line.hotline.backups[state.attempt]
            return Transfer((backup.prompt,), replace(state, attempt=state.attempt + 1))
        # The number slowly, twice; the 911 advice; other ways; and a moment to try again.
        failed = ("transfer_failed", "danger", "other_ways", "try_again")
        return Ask(
            self._in_every_language(failed, state),
            replace(state, node=self.line.start, point=0, attempt=0, retry=True),
            self.line.wait.retry,
        )

    def _in_section(self, section: Section, state: CallState, digits: str | None) -> Reply:
        last = len(section.points) - 1
        action = self._section_actions.get(digits or "", "next" if not digits else None)
        if action is None:
            return self._miss(state, "not_an_option")
        if digits:
            state = self._chose(state)
        if action == "main_menu" or (action == "next" and state.point == last):
            return self._enter(replace(state, node=self.line.start))
        # A point and the item its introduction runs into are heard, repeated and passed as one.
        start = self._start_of(section, state.point)
        point = {
            "next": state.point + 1,
            "repeat": start,
            "previous": self._start_of(section, max(0, start - 1)),
        }[action]
        return self._point(section, replace(state, point=point, misses=0))

    def _miss(self, state: CallState, notice: str) -> Reply:
        misses = state.misses + 1
        if self._gives_up(state, misses):
            if self.line.no_input.then == "transfer":
                # A caller silent since answer needs no apology, only to hear at once, in every
                # language, that a person is coming: it rings the hotline seconds sooner.
                said = () if _silent_since_answer(state) else (notice,)
                return self._transfer(replace(state, misses=misses), said)
            return self._hangup(state, notice, "goodbye")
        return self._again(replace(state, misses=misses), notice)

    def _gives_up(self, state: CallState, misses: int) -> bool:
        return self.line.no_input.gives_up(misses, _silent_since_answer(state))

    def _transfer(self, state: CallState, say: tuple[str, ...]) -> Transfer:
        connecting = self._in_every_language(("connecting",), state)
        return Transfer((*say, *connecting), replace(state, retry=False, attempt=0))

    def _again(self, state: CallState, notice: str = "") -> Ask:
        """`notice`, then the same menu or point again, from its start."""
        first = (notice,) if notice else ()
        node = self.line.node(state.node)
        if isinstance(node, Section):
            reply = self._point(node, replace(state, point=self._start_of(node, state.point)))
            return replace(reply, say=(*first, *reply.say))
        return self._menu(state, say=(*first, *self._offers(state)))

    def _enter(self, state: CallState) -> Ask:
        """Arrive at `state.node`: a menu's prompt, or a section's first point."""
        node = self.line.node(state.node)
        if isinstance(node, Menu):
            return self._menu(replace(state, misses=0))
        assert isinstance(node, Section)
        return self._point(node, replace(state, point=0, misses=0), entering=True)

    def _menu(self, state: CallState, say: tuple[Said, ...] = ()) -> Ask:
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

    def _start_of(self, section: Section, point: int) -> int:
        """The first point of what is heard as one with `point`: its list's introduction."""
        while point > 0 and section.points[point - 1] in self._leads_on:
            point -= 1
        return point

    def _hangup(self, state: CallState, *say: str) -> Hangup:
        """The last words, with the privacy tip before them if the caller has not heard it;
        the very last (the hotline's number, or thanks) in every language until one is chosen."""
        tip = () if state.told_privacy else (PRIVACY,)
        last = self._in_every_language(say[-1:], state)
        return Hangup((*say[:-1], *tip, *last), replace(state, told_privacy=True))

    def _offers(self, state: CallState) -> tuple[str, ...]:
        """Until the caller has chosen, each other language offers itself, in its own words."""
        if state.chosen:
            return ()
        current = state.lang or self.line.default_language
        others = [code for code in self._switches.values() if code != current]
        return tuple(f"{code}/language_offer" for code in others)

    def _in_every_language(self, prompts: tuple[str, ...], state: CallState) -> tuple[str, ...]:
        """`prompts` in the call's language, then, while the caller has not chosen, in each
        other language in turn."""
        current = state.lang or self.line.default_language
        others = [] if state.chosen else [c for c in self.line.languages if c != current]
        return (*prompts, *(f"{code}/{prompt}" for code in others for prompt in prompts))

    def _chose(self, state: CallState, **changes: object) -> CallState:
        return replace(state, chosen=True, misses=0, heard_noise=False, **changes)

    def _wait(self, state: CallState, kind: str) -> int:
        seconds = self.line.wait.menu if kind == "menu" else self.line.wait.point
        return seconds * self.line.more_time.factor if state.slow else seconds


def _silent_since_answer(state: CallState) -> bool:
    return not (state.chosen or state.pressed)
