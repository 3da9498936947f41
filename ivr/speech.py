"""Speech: what a caller says, matched to the key it stands for.

The match forgives case, accents, punctuation and filler words, and never guesses: when the
words fit no option, or more than one, it is treated like a wrong key.
"""

from __future__ import annotations

from .model import REPEAT, Line, Menu, Section
from .speech_words import words_of
from .state import CallState

NOT_A_KEY = "?"


def _contains(words: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    size = len(phrase)
    return any(words[i : i + size] == phrase for i in range(len(words) - size + 1))


class SpeechKeys:
    """For each language and place in the menu, which key a caller's words stand for."""

    def __init__(self, line: Line) -> None:
        self.line = line
        self._phrases = {
            code: [
                (words_of(phrase, language.fillers), option)
                for option, phrases in language.words.items()
                for phrase in phrases
            ]
            for code, language in line.languages.items()
        }
        self._options = {node: self._options_at(node) for node in [*line.menus, *line.sections]}

    def key_for(self, state: CallState, utterance: str) -> str:
        """The key the caller's words choose at `state`, or NOT_A_KEY."""
        code = state.lang or self.line.default_language
        options = self._options[state.node]
        said = words_of(utterance, self.line.languages[code].fillers)
        chosen = {
            option
            for phrase, option in self._phrases[code]
            if phrase and option in options and _contains(said, phrase)
        }
        return options[chosen.pop()] if len(chosen) == 1 else NOT_A_KEY

    def _options_at(self, node_id: str) -> dict[str, str]:
        """Option -> key, for what can be chosen at a menu or section."""
        line = self.line
        node = line.node(node_id)
        options = {"hotline": line.hotline.key, "more_time": line.more_time.key}
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
        return options


def hints(line: Line, code: str) -> str:
    """Every phrase of a language, for Twilio's speech recognizer."""
    phrases = dict.fromkeys(p for ps in line.languages[code].words.values() for p in ps)
    return ", ".join(phrases)
