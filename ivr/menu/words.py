"""Words as speech matching sees them: no case, no accents, no punctuation, no fillers."""

from __future__ import annotations

import re
import unicodedata

_NOT_WORD = re.compile(r"[^\w]+")
# A calm, normal pace, and that of Twilio's <Say> voices: about 150 words a minute.
WORDS_PER_SECOND = 2.5


def words_of(text: str, fillers: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """Lower-case words without accents or punctuation, fillers left out."""
    plain = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return tuple(w for w in _NOT_WORD.sub(" ", plain).split() if w not in fillers)


def word_count(text: str) -> int:
    """The words a voice says for `text`: "you'll" is one, "L, O, V, E" four, a lone dash none."""
    return sum(1 for token in text.split() if any(c.isalnum() for c in token))


def speaking_seconds(text: str) -> float:
    """How long `text` takes to say at a normal pace."""
    return word_count(text) / WORDS_PER_SECOND
