"""Spoken forms: how a written text is said clearly on a phone ("911" as "nine one one")."""

from __future__ import annotations

import re
from collections.abc import Mapping

_TERMINAL = (".", "?", "!", ":", ";")


class SpokenForms:
    """Replaces written forms by their spoken forms, longest first, whole words only."""

    def __init__(self, forms: Mapping[str, str]) -> None:
        self.forms = dict(forms)
        if self.forms:
            alternatives = "|".join(re.escape(w) for w in sorted(self.forms, key=len, reverse=True))
            self._pattern: re.Pattern[str] | None = re.compile(rf"(?<![\w.]){alternatives}(?![\w])")
        else:
            self._pattern = None

    def apply(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda m: self.forms[m.group(0)], text)


def join_passages(texts: list[str]) -> str:
    """Join passages into one prompt, ending each with a full stop if it has none."""
    parts = [t if t.endswith(_TERMINAL) else f"{t}." for t in texts[:-1]]
    joined = " ".join([*parts, texts[-1]]) if texts else ""
    return joined[:1].upper() + joined[1:]
