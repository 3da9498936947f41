"""Where a call is, carried in the URLs of the TwiML so any server process can answer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from .model import Line, Section


@dataclass(frozen=True)
class CallState:
    node: str  # a menu or section id
    point: int = 0  # the point being read, in a section
    misses: int = 0  # silent tries or wrong keys in a row
    lang: str = ""  # the call's language; "" for the line's first
    slow: bool = False  # the caller asked for more time

    def query(self) -> str:
        fields: dict[str, object] = {"n": self.node, "p": self.point, "m": self.misses}
        if self.lang:
            fields["l"] = self.lang
        if self.slow:
            fields["t"] = 1
        return urlencode(fields)

    @classmethod
    def parse(cls, args: Mapping[str, str], line: Line) -> CallState:
        """Read the state from URL arguments; a position not valid starts at the main menu."""
        lang = args.get("l", "")
        lang = lang if lang in line.languages and lang != line.default_language else ""
        slow = args.get("t") == "1"
        node = line.node(args.get("n", ""))
        point = _small_int(args.get("p", "0"))
        misses = _small_int(args.get("m", "0"))
        limit = len(node.points) if isinstance(node, Section) else 1
        if node is None or point is None or misses is None or point >= limit:
            return cls(line.start, lang=lang, slow=slow)
        return cls(node.id, point, min(misses, line.no_input.tries), lang, slow)


def _small_int(text: str) -> int | None:
    if not (0 < len(text) <= 3 and text.isascii() and text.isdigit()):
        return None
    return int(text)
