"""Which phone keys a prompt's words tell a caller to press: "press 3", "oprime la tecla numeral".

Everything comes from the language file itself, never from a list here: its `keys:` say how
each key is named (and a key may be written as its digit), its `key_prefixes:` are the words
that go before a key's name ("press", "oprime", "tecla"), and its `or:` joins the last two keys
of a list. A key is named when its name comes

- within three words after a prefix, with no other key between ("press 3", "press the star
  key", "oprime la tecla numeral");
- or, once a key has been named in a sentence, at the start of a later clause of it, or right
  after `or:` ("Press 1 for the next point, 2 to repeat, ... or 0 to talk with an advocate"),
  or anywhere in it as a digit ("press 1 for help and 4 for more"): in a sentence that names a
  key, other numbers are written in words.

Numbers are not keys: a spoken form of a written number ("911" as "nine one one", the hotline's
digits, "24/7") names none, and neither does a digit right next to another digit ("nine one
one" written out), so "call nine one one" names no key where "press 9" names one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ivr.menu.model import Language
from ivr.menu.words import words_of

PREFIX_REACH = 3  # words between a prefix and the key's name, at most: "press the star key"
LIST_ITEM_WORDS = 5  # words after a key named in a list, quoted with it: "2 to repeat"
_NUMBER = "\ue000"  # stands for a spoken number in the words, so nothing next to it is a key
_TOKEN = re.compile(rf"\w+|{_NUMBER}|[,;:.!?]")
_SENTENCE_END = frozenset(".!?")
_CLAUSE_END = frozenset(",;:")
_DIGITS = "0123456789"


@dataclass(frozen=True)
class NamedKey:
    """A key a text tells the caller to press, and the words that do it."""

    key: str
    words: str  # as written in the text: "press 3", "2 to repeat", "oprime la tecla numeral"
    # What the text says the key is for, as words (see words_of): the rest of its clause, or,
    # for a clause that is only the key ("For what the police can do, press 1"), the clauses
    # before it in the sentence back to the last key named.
    meant: tuple[str, ...] = field(default=(), compare=False)


def key_names(language: Language) -> dict[tuple[str, ...], str]:
    """Each way of naming a key, as words (see words_of), -> the key: ("one",) -> "1"."""
    return {
        **{(digit,): digit for digit in _DIGITS},
        **{
            words_of(phrase, language.fillers): key
            for key, phrases in language.keys.items()
            for phrase in phrases
        },
    }


def spoken_numbers(language: Language) -> tuple[str, ...]:
    """How the language says its written numbers ("nine one one"): no key is named in them."""
    said = (
        form.said
        for form in language.spoken_forms.values()
        if sum(c.isdigit() for c in form.written) >= 2
    )
    return tuple(sorted(set(said), key=len, reverse=True))


@dataclass(frozen=True)
class _Token:
    word: str  # as words_of makes it, or a punctuation mark, or _NUMBER
    start: int
    end: int


class KeyNamer:
    """Finds the keys named in texts of one language."""

    def __init__(self, language: Language) -> None:
        self.names = key_names(language)
        self.longest = max(len(name) for name in self.names)
        self.prefixes = language.key_prefixes
        self.or_words = words_of(language.or_word)
        numbers = spoken_numbers(language)
        self._numbers = re.compile("|".join(map(re.escape, numbers))) if numbers else None

    def named(self, text: str) -> tuple[NamedKey, ...]:
        tokens = self._tokens(text)
        found: list[NamedKey] = []
        sentence: list[_Token] = []
        for token in [*tokens, _Token(".", len(text), len(text))]:
            if token.word in _SENTENCE_END:
                found += self._in_sentence(text, sentence, listing=bool(found))
                sentence = []
            else:
                sentence.append(token)
        return tuple(found)

    def _tokens(self, text: str) -> list[_Token]:
        numbers = [m.span() for m in self._numbers.finditer(text)] if self._numbers else []
        tokens: list[_Token] = []
        for match in _TOKEN.finditer(text):
            inside = next((span for span in numbers if span[0] <= match.start() < span[1]), None)
            if inside is not None:
                if not tokens or tokens[-1].start != inside[0]:
                    tokens.append(_Token(_NUMBER, *inside))
                continue
            mark = match.group(0)
            if mark in _CLAUSE_END or mark in _SENTENCE_END:
                tokens.append(_Token(mark, *match.span()))
            else:
                tokens += [_Token(word, *match.span()) for word in words_of(mark)]
        return tokens

    def _in_sentence(self, text: str, tokens: list[_Token], listing: bool) -> list[NamedKey]:
        """The keys named in one sentence; `listing`: an earlier sentence named a key, so one
        that opens with a digit goes on with the list ("Press 1 for help. 2 to repeat.")."""
        words = [t.word for t in tokens]
        size = len(self.or_words)
        opening = size if size and tuple(words[:size]) == self.or_words else 0
        keys = self._key_spans(words)
        found: list[NamedKey] = []
        spans: list[tuple[int, int]] = []  # the words naming each key found, prefix included
        clause_start, last_named_end, at = 0, -1, 0
        while at < len(words):
            if words[at] in _CLAUSE_END:
                clause_start = at + 1
            if at not in keys:
                at += 1
                continue
            end, key = keys[at]
            quote_end = end
            anchor = self._prefix_before(words, keys, at, clause_start)
            opens = listing and not found and at == opening and words[at] in _DIGITS
            if anchor is None and (found or opens):
                # A list, once a key has been named in the sentence: "..., 2 to repeat, or 0".
                after_or = size > 0 and tuple(words[max(at - size, 0) : at]) == self.or_words
                if opens:
                    anchor = 0
                elif at == clause_start or words[at] in _DIGITS:
                    # A digit written alone is a key once a key has been named in the
                    # sentence, however joined: "press 1 for help and 4 for more", "1 u 8".
                    anchor = at
                elif after_or and at - size in (clause_start, last_named_end):
                    anchor = at - size
                while (
                    quote_end < len(words)
                    and quote_end - end < LIST_ITEM_WORDS
                    and words[quote_end] not in _CLAUSE_END
                ):
                    quote_end += 1
            if anchor is not None:
                quoted = text[tokens[anchor].start : tokens[quote_end - 1].end]
                found.append(NamedKey(key, quoted))
                spans.append((anchor, end))
                last_named_end = end
            at = end
        return [
            NamedKey(named.key, named.words, self._meant(words, spans, span))
            for named, span in zip(found, spans, strict=True)
        ]

    def _meant(
        self, words: list[str], spans: list[tuple[int, int]], span: tuple[int, int]
    ) -> tuple[str, ...]:
        """The words around the key named at `span` that say what it is for (NamedKey.meant)."""
        clauses: list[list[int]] = [[]]  # indexes of words, clause by clause
        for i, word in enumerate(words):
            if word in _CLAUSE_END:
                clauses.append([])
            else:
                clauses[-1].append(i)
        keyed = {i for start, end in spans for i in range(start, end)}
        own = next(n for n, clause in enumerate(clauses) if span[0] in clause)
        plain = [words[i] for i in clauses[own] if i not in keyed and words[i] not in self.or_words]
        if plain:
            return tuple(plain)
        before: list[str] = []
        for clause in reversed(clauses[:own]):
            if keyed.intersection(clause):
                break
            before[:0] = [words[i] for i in clause]
        return tuple(before)

    def _key_spans(self, words: list[str]) -> dict[int, tuple[int, str]]:
        """Start -> (end, key) of each key's name that is not part of a number."""
        spans: dict[int, tuple[int, str]] = {}
        at = 0
        while at < len(words):
            for size in range(min(self.longest, len(words) - at), 0, -1):
                key = self.names.get(tuple(words[at : at + size]))
                if key is not None:
                    spans[at] = (at + size, key)
                    at += size
                    break
            else:
                at += 1
        numbers = {
            start
            for start, (end, key) in spans.items()
            if key in _DIGITS
            and (
                _is_number(words, start - 1, spans, backwards=True, written=words[start].isdigit())
                or _is_number(words, end, spans, backwards=False, written=words[start].isdigit())
            )
        }
        return {start: span for start, span in spans.items() if start not in numbers}

    def _prefix_before(
        self, words: list[str], keys: Mapping[int, tuple[int, str]], at: int, clause_start: int
    ) -> int | None:
        """Where the prefix that names the key at `at` stands, if one does."""
        if words[at] in self.prefixes and keys[at][0] - at > 1:
            return at  # a name that starts with a prefix, like "press oh"
        taken = {i for start, (end, _) in keys.items() if start < at for i in range(start, end)}
        found = None  # the first of them, to quote "oprime la tecla numeral" whole
        for back in range(at - 1, max(clause_start, at - PREFIX_REACH) - 1, -1):
            if back in taken:
                break  # another key stands between
            if words[back] in self.prefixes:
                found = back
        return found


def _is_number(
    words: list[str],
    at: int,
    spans: Mapping[int, tuple[int, str]],
    backwards: bool,
    written: bool,
) -> bool:
    """Whether the word at `at`, next to a digit's name (`written` as a digit, or a word),
    makes a number with it. Digits and words are not mixed in one number: "press 1 for help"
    names key 1 even where a language file gives "for" as a name of 4."""
    if not 0 <= at < len(words):
        return False
    word = words[at]
    if word == _NUMBER or (word.isdigit() and len(word) > 1):
        return True
    if backwards:
        return any(
            end == at + 1 and key in _DIGITS and words[start].isdigit() == written
            for start, (end, key) in spans.items()
        )
    span = spans.get(at)
    return span is not None and span[1] in _DIGITS and words[at].isdigit() == written


def keys_named(text: str, language: Language) -> tuple[NamedKey, ...]:
    """The keys `text` tells a caller to press, in the words of `language`."""
    return KeyNamer(language).named(text)
