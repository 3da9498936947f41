"""The document of record, split into passages: each sentence of prose, each bullet whole."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from ivr.menu.yaml_file import read_text

_AFTER_SENTENCE = re.compile(r"(?<=[.!?:])\s+")
_SENTENCE_START = ("¿", "¡", '"', "'", "(", "[")
_SPACES = re.compile(r"\s+")


def squeeze(text: str) -> str:
    """Collapse runs of white space, so line wrapping never changes a fingerprint."""
    return _SPACES.sub(" ", text).strip()


def fingerprint(text: str) -> str:
    """A short, stable fingerprint of a text, ignoring how white space is laid out."""
    return hashlib.sha256(squeeze(text).encode("utf-8")).hexdigest()[:12]


def passages_fingerprint(passages: tuple[Passage, ...] | list[Passage]) -> str:
    """The fingerprint a rewording records of the passages it was written for."""
    return fingerprint(" ".join(p.text for p in passages))


@dataclass(frozen=True)
class Passage:
    text: str
    line: int
    kind: str  # "sentence" or "bullet"


@dataclass(frozen=True)
class Document:
    path: Path
    passages: tuple[Passage, ...]

    def matching(self, excerpt: str) -> list[Passage]:
        """Passages that begin with `excerpt` (white space and case ignored)."""
        wanted = squeeze(excerpt).casefold()
        return [p for p in self.passages if p.text.casefold().startswith(wanted)]


def split_passages(text: str) -> tuple[Passage, ...]:
    passages: list[Passage] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):  # a note about the file, not part of the guide
            continue
        if line.startswith(("- ", "* ")):
            passages.append(Passage(squeeze(line[2:]), number, "bullet"))
            continue
        for sentence in _sentences(line):
            passages.append(Passage(squeeze(sentence), number, "sentence"))
    return tuple(passages)


def _sentences(line: str) -> list[str]:
    """Split after . ! ? or : where the next word starts a sentence (a capital, ¿, ¡, ...)."""
    sentences: list[str] = []
    for piece in _AFTER_SENTENCE.split(line):
        if sentences and not (piece[:1].isupper() or piece.startswith(_SENTENCE_START)):
            sentences[-1] += f" {piece}"
        elif piece:
            sentences.append(piece)
    return sentences


def read_document(path: Path) -> Document:
    return Document(path, split_passages(read_text(path)))
