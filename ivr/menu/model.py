"""The validated menu: what the YAML in prompts/ says, checked and ready to serve."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from ivr.errors import Where
from ivr.menu.document import Document, Passage, passages_fingerprint

KEYS = "0123456789*#"
REPEAT = "repeat"
# In unspoken_keys: every section at once.
EVERY_SECTION = "sections"

# Prompts the engine itself speaks; every language must define them.
SYSTEM_PROMPTS = (
    "danger",
    "greeting",
    "not_an_option",
    "no_input",
    "section_keys",
    "end_of_section",
    "connecting",
    "transfer_failed",
    "transfer_completed",
    "goodbye",
    "more_time_on",
    "privacy",
    "not_understood",
    "keys_only",
    "other_ways",
    "try_again",
)
# What each of section_keys: does, in menu.yaml.
SECTION_ACTIONS = ("next", "repeat", "previous", "main_menu")
# What a caller can do by speaking, besides the menus' own targets.
SPOKEN_ACTIONS = ("repeat", "next", "previous", "main_menu", "hotline", "more_time")


@dataclass(frozen=True)
class Prompt:
    """One thing the line says. `passages` names what it speaks of the document."""

    id: str
    text: str  # what a caller hears
    passages: tuple[Passage, ...]
    excerpts: tuple[str, ...]  # the first words naming each passage, as written in the YAML
    written_for: str | None  # for a rewording: the fingerprint of the passages it was written for
    rewording: str | None  # the rewording's own words, even when stale and not spoken
    where: Where

    @property
    def stale(self) -> bool:
        """A rewording whose passage has changed since it was written."""
        return self.rewording is not None and self.written_for != passages_fingerprint(
            self.passages
        )


@dataclass(frozen=True)
class NotSpoken:
    """A passage of the document the line deliberately leaves out."""

    excerpt: str
    why: str
    where: Where


def _nowhere() -> MappingProxyType[str, Where]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Menu:
    id: str
    prompt: str
    keys: MappingProxyType[str, str]  # key -> menu or section id, or REPEAT
    where: Where
    key_where: MappingProxyType[str, Where] = field(
        default_factory=_nowhere
    )  # where each key is set
    keys_where: Where | None = None  # its `keys:`


@dataclass(frozen=True)
class Section:
    id: str
    points: tuple[str, ...]  # prompt ids, read one at a time
    where: Where


@dataclass(frozen=True)
class SectionKeys:
    next: str
    repeat: str
    previous: str
    main_menu: str
    where: Where | None = None  # `section_keys:`
    key_where: MappingProxyType[str, Where] = field(
        default_factory=_nowhere
    )  # where each key is set

    def by_key(self) -> dict[str, str]:
        return {
            self.next: "next",
            self.repeat: "repeat",
            self.previous: "previous",
            self.main_menu: "main_menu",
        }


@dataclass(frozen=True)
class Backup:
    """A further number, tried when the one before it is busy or does not answer."""

    number: str
    ring_seconds: int
    prompt: str  # what the caller hears before it rings ("trying another line")


@dataclass(frozen=True)
class Hotline:
    key: str
    number: str
    ring_seconds: int
    backups: tuple[Backup, ...] = ()
    key_where: Where | None = None

    def dialled(self, attempt: int) -> tuple[str, int]:
        """The number and ring time of a transfer's `attempt` (0: the hotline itself)."""
        if attempt == 0:
            return self.number, self.ring_seconds
        backup = self.backups[attempt - 1]
        return backup.number, backup.ring_seconds


@dataclass(frozen=True)
class NoInput:
    tries: int
    then: Literal["transfer", "goodbye"]
    silent_caller: int = 0  # tries for a caller silent since answer; 0: the same as `tries`

    def gives_up(self, misses: int, silent_since_answer: bool) -> bool:
        """After `misses` silent tries or wrong keys in a row, the line stops asking."""
        early = silent_since_answer and self.silent_caller and misses >= self.silent_caller
        return bool(early) or misses >= self.tries


@dataclass(frozen=True)
class WaitSeconds:
    menu: int
    point: int
    retry: int = 5  # after a failed transfer, for the caller to press the hotline key again


@dataclass(frozen=True)
class MoreTime:
    key: str  # in every menu and section
    factor: int  # every wait is this many times longer for the rest of the call
    key_where: Where | None = None


@dataclass(frozen=True)
class SpokenForm:
    """How a written form is said on the phone: "911" as "nine one one"."""

    written: str
    said: str
    where: Where


@dataclass(frozen=True)
class Language:
    id: str  # the language file's name, e.g. "en"
    code: str  # e.g. "en-US", for <Say language=...>
    voice: str  # a Twilio <Say> voice
    placeholder_tts: str  # what voices prompts nobody has recorded: piper, espeak-ng or none
    document: Document
    prompts: MappingProxyType[str, Prompt]
    not_spoken: tuple[NotSpoken, ...]
    words: MappingProxyType[str, tuple[str, ...]]  # option -> phrases a caller may say for it
    fillers: frozenset[str]  # words a match ignores ("um", "please")
    keys: MappingProxyType[str, tuple[str, ...]]  # phone key -> how it is said ("1": ("one",))
    key_prefixes: tuple[str, ...]  # words before a key's name: "press" one; the commonest first
    option_names: MappingProxyType[str, str]  # option -> how the line names it when asking
    which_one: str  # "Did you mean {options}? Press {keys}."
    or_word: str  # joins the last two options: "or"
    spoken_forms: MappingProxyType[str, SpokenForm]  # by written form, like "911"
    switch_key: str | None  # offered in the greeting; switches a call to this language
    where: Where
    switch_key_where: Where | None = None  # in menu.yaml
    prompts_where: Where | None = None  # its `prompts:`
    which_one_where: Where | None = None  # its `which_one:`


@dataclass(frozen=True)
class PhoneLine:
    """Everything the call flow needs, validated once at start-up."""

    start: str
    hotline: Hotline
    wait: WaitSeconds
    more_time: MoreTime
    no_input: NoInput
    section_keys: SectionKeys
    menus: MappingProxyType[str, Menu]
    sections: MappingProxyType[str, Section]
    languages: MappingProxyType[str, Language]
    default_language: str
    # Keys that work where no prompt names them, on purpose: menu or section id -> key -> where
    # menu.yaml says so.
    unspoken_keys: MappingProxyType[str, MappingProxyType[str, Where]] = field(
        default_factory=lambda: MappingProxyType({})
    )

    def node(self, node_id: str) -> Menu | Section | None:
        return self.menus.get(node_id) or self.sections.get(node_id)
