"""Speech: what a caller says, matched to the key it stands for.

A caller may name a key ("one", "press one", "star") or an option ("police", "next"). The match
forgives case, accents, punctuation and filler words, and never guesses: words that fit no option
are heard as noise, and words that fit several are sent back to the caller as a question.
"""

from __future__ import annotations

from dataclasses import dataclass

from ivr.call.state import CallState
from ivr.errors import ConfigError
from ivr.menu.model import KEYS, REPEAT, Menu, PhoneLine, Section
from ivr.menu.named_keys import key_names
from ivr.menu.words import words_of

# What Twilio documents for <Gather hints>: up to 500 entries of up to 100 characters each.
MAX_HINTS = 500
MAX_HINT_LENGTH = 100
HINTED_PREFIXES = 3  # of key_prefixes, the first: a language file lists what callers say most first


@dataclass(frozen=True)
class Heard:
    """What a caller's words come to where the call is: a key, a question, or noise."""

    key: str | None = None  # the key the words stand for
    options: tuple[tuple[str, str], ...] = ()  # (option, key) for each, when they fit several

    @property
    def noise(self) -> bool:
        return self.key is None and not self.options


NOISE = Heard()


def _contains(words: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    size = len(phrase)
    return any(words[i : i + size] == phrase for i in range(len(words) - size + 1))


class SpeechKeys:
    """For each language and place in the menu, what a caller's words stand for."""

    def __init__(self, line: PhoneLine) -> None:
        self.line = line
        self._phrases = {
            code: [
                (words_of(phrase, language.fillers), option)
                for option, phrases in language.words.items()
                for phrase in phrases
            ]
            for code, language in line.languages.items()
        }
        self._keys = {code: key_names(language) for code, language in line.languages.items()}
        self._options = {node: self._options_at(node) for node in [*line.menus, *line.sections]}

    def hear(self, state: CallState, utterance: str) -> Heard:
        """What the caller's words choose at `state`."""
        code = state.lang or self.line.default_language
        said = words_of(utterance, self.line.languages[code].fillers)
        key = self._named_key(code, said)
        if key is not None:
            return Heard(key=key)
        options = self.options_at(state.node)
        fitting = {
            option
            for phrase, option in self._phrases[code]
            if phrase and option in options and _contains(said, phrase)
        }
        chosen = tuple((option, key) for option, key in options.items() if option in fitting)
        if len(chosen) == 1:
            return Heard(key=chosen[0][1])
        return Heard(options=chosen)

    def options_at(self, node_id: str) -> dict[str, str]:
        """Option -> key, for what can be chosen by name at a menu or section."""
        return self._options[node_id]

    def _named_key(self, code: str, said: tuple[str, ...]) -> str | None:
        """A key said by its name, maybe after words like "press": "press one", "number 2"."""
        keys = self._keys[code]
        prefixes = self.line.languages[code].key_prefixes
        while said:
            if said in keys:
                return keys[said]
            if said[0] not in prefixes:
                return None
            said = said[1:]
        return None

    def _options_at(self, node_id: str) -> dict[str, str]:
        """Option -> key, for what can be chosen at a menu or section, in the menu's order."""
        line = self.line
        node = line.node(node_id)
        options: dict[str, str] = {}
        if isinstance(node, Section):
            keys = line.section_keys
            options.update(
                next=keys.next, repeat=keys.repeat, previous=keys.previous, main_menu=keys.main_menu
            )
        elif isinstance(node, Menu):
            options.update({target: key for key, target in node.keys.items()})
            if REPEAT in options:
                options.setdefault("main_menu", options[REPEAT])
            if node.id == line.start:
                for code, language in line.languages.items():
                    if language.switch_key is not None:
                        options[code] = language.switch_key
        options.update(hotline=line.hotline.key, more_time=line.more_time.key)
        return options


def hints(line: PhoneLine, code: str) -> str:
    """Every phrase of a language, and its keys' names, for Twilio's speech recognizer."""
    language = line.languages[code]
    names = [phrases[0] for key, phrases in language.keys.items() if key in KEYS]
    # The commonest verbs only ("press one"): every verb with every key would crowd out the
    # phrases of a larger menu from Twilio's 500.
    verbs = language.key_prefixes[:HINTED_PREFIXES]
    prefixed = [f"{prefix} {name}" for prefix in verbs for name in names]
    phrases = dict.fromkeys(
        [
            *(p for ps in language.words.values() for p in ps),
            *(p for ps in language.keys.values() for p in ps),
            *prefixed,
        ]
    )
    too_long = [p for p in phrases if len(p) > MAX_HINT_LENGTH]
    if len(phrases) > MAX_HINTS or too_long:
        raise ConfigError(
            language.where.path,
            None,
            f"Twilio takes up to {MAX_HINTS} hints of up to {MAX_HINT_LENGTH} characters; "
            f"words:, keys: and key_prefixes: make {len(phrases)}"
            + (f", and {too_long[0]!r} is too long" if too_long else "")
            + "; list fewer",
        )
    return ", ".join(phrases)
