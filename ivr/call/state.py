"""Where a call is, carried in the URLs of the TwiML so any server process can answer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from ivr.menu.model import PhoneLine, Section

_Frozen = TypeVar("_Frozen")


def replace(record: _Frozen, /, **changes: Any) -> _Frozen:
    """dataclasses.replace for the call's own frozen records (no slots, every field set by
    __init__ as given), several times faster: finding every moment of every call at start-up
    makes tens of thousands of them."""
    fields = record.__dict__
    if not changes.keys() <= fields.keys():
        raise TypeError(f"{type(record).__name__} has no field {set(changes) - set(fields)}")
    copy = object.__new__(type(record))
    copy.__dict__.update(fields)
    copy.__dict__.update(changes)
    return copy


# One letter each in the "f" argument; the order is fixed so a state has one URL.
_FLAGS = {
    "slow": "t",
    "chosen": "c",
    "pressed": "x",
    "told_privacy": "v",
    "heard_noise": "z",
    "keys_only": "k",
    "retry": "r",
}


@dataclass(frozen=True)
class CallState:
    node: str  # a menu or section id
    point: int = 0  # the point being read, in a section
    misses: int = 0  # silent tries or wrong keys in a row
    lang: str = ""  # the call's language; "" for the line's first
    slow: bool = False  # the caller asked for more time
    chosen: bool = False  # the caller has chosen something: their language is settled
    pressed: bool = False  # the caller has pressed a key, or named one, even a wrong one
    told_privacy: bool = False  # the caller has heard the privacy tip
    heard_noise: bool = False  # the last thing heard was words that fit no option
    keys_only: bool = False  # speech is off for the rest of the call: the room is noisy
    retry: bool = False  # a transfer just failed: the hotline key tries it again
    attempt: int = 0  # in a transfer: 0 for the hotline, then each backup number in turn

    def query(self) -> str:
        args: dict[str, object] = {"n": self.node, "p": self.point, "m": self.misses}
        if self.lang:
            args["l"] = self.lang
        flags = "".join(letter for name, letter in _FLAGS.items() if getattr(self, name))
        if flags:
            args["f"] = flags
        if self.attempt:
            args["h"] = self.attempt
        return urlencode(args)

    @classmethod
    def parse(cls, args: Mapping[str, str], line: PhoneLine) -> CallState:
        """Read the state from URL arguments; a position not valid starts at the main menu."""
        lang = args.get("l", "")
        lang = lang if lang in line.languages and lang != line.default_language else ""
        given = args.get("f", "")
        flags = {name: letter in given for name, letter in _FLAGS.items()}
        attempt = _small_int(args.get("h", "0"))
        attempt = attempt if attempt is not None and attempt <= len(line.hotline.backups) else 0
        node = line.node(args.get("n", ""))
        point = _small_int(args.get("p", "0"))
        misses = _small_int(args.get("m", "0"))
        limit = len(node.points) if isinstance(node, Section) else 1
        if node is None or point is None or misses is None or point >= limit:
            return cls(line.start, lang=lang, attempt=attempt, **flags)
        misses = min(misses, line.no_input.tries)
        return cls(node.id, point, misses, lang, attempt=attempt, **flags)


def _small_int(text: str) -> int | None:
    if not (0 < len(text) <= 3 and text.isascii() and text.isdigit()):
        return None
    return int(text)
