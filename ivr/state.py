"""Where a call is, carried in the URLs of the TwiML so any server process can answer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from .model import Line, Section

# One letter each in the "f" argument; the order is fixed so a state has one URL.
_FLAGS = {"slow": "t", "chosen": "c", "told_privacy": "v"}


@dataclass(frozen=True)
class CallState:
    node: str  # a menu or section id
    point: int = 0  # the point being read, in a section
    misses: int = 0  # silent tries or wrong keys in a row
    lang: str = ""  # the call's language; "" for the line's first
    slow: bool = False  # the caller asked for more time
    chosen: bool = False  # the caller has chosen something: their language is settled
    told_privacy: bool = False  # the caller has heard the privacy tip

    def query(self) -> str:
        args: dict[str, object] = {"n": self.node, "p": self.point, "m": self.misses}
        if self.lang:
            args["l"] = self.lang
        flags = "".join(letter for name, letter in _FLAGS.items() if getattr(self, name))
        if flags:
            args["f"] = flags
        return urlencode(args)

    @classmethod
    def parse(cls, args: Mapping[str, str], line: Line) -> CallState:
        """Read the state from URL arguments; a position not valid starts at the main menu."""
        lang = args.get("l", "")
        lang = lang if lang in line.languages and lang != line.default_language else ""
        given = args.get("f", "")
        flags = {name: letter in given for name, letter in _FLAGS.items()}
        node = line.node(args.get("n", ""))
        point = _small_int(args.get("p", "0"))
        misses = _small_int(args.get("m", "0"))
        limit = len(node.points) if isinstance(node, Section) else 1
        if node is None or point is None or misses is None or point >= limit:
            return cls(line.start, lang=lang, **flags)
        return cls(node.id, point, min(misses, line.no_input.tries), lang, **flags)


def _small_int(text: str) -> int | None:
    if not (0 < len(text) <= 3 and text.isascii() and text.isdigit()):
        return None
    return int(text)
