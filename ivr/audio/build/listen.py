"""Listening to the recordings by machine: numbers said digit by digit, and no symbol read aloud.

Offline recognition (pocketsphinx and its English model) follows each recording through a
grammar of the prompt's own words, and between any two words it may also hear an intrusion: the
name of a symbol ("nine dash one") or a word that only a number read whole has in it
("nine hundred eleven"). Whichever the audio fits best is what the recording is taken to say, so
those faults are heard, not guessed, and every word comes back with its time.

The digits themselves are held to the words: on 8 kHz audio this recognizer confuses "nine",
"five" and "one", and takes a "six" that lost its /s/ for a pause, so it cannot judge single
digits. That the words say the right digits in order is checked in the text (`ivr check`), and
a recording whose audio does not follow its words at all is reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ivr.audio.build import ffmpeg
from ivr.audio.build.wav import read_header
from ivr.audio.pace import words_a_minute
from ivr.errors import shown
from ivr.tools.check import Problem

# Names a voice reads aloud for symbols it finds in a text.
SYMBOLS = (
    "dash",
    "hyphen",
    "slash",
    "backslash",
    "plus",
    "percent",
    "ampersand",
    "underscore",
    "equals",
    "hash",
    "asterisk",
    "tilde",
)
DIGIT_WORDS: tuple[str, ...] = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
)
_DIGIT_OF = {word: str(value) for value, word in enumerate(DIGIT_WORDS)} | {"oh": "0"}
_TEENS: tuple[str, ...] = ("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen")
_TEENS += ("seventeen", "eighteen", "nineteen")
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
# Words that only a number read whole has in it.
WHOLE_NUMBER_WORDS = (*_TEENS, *_TENS, "hundred", "thousand", "million")
LANGUAGE = "en"  # the recognizer's model
RATE = 16000  # the English model's rate; telephone audio is resampled up to it
FRAME = 0.01  # seconds; the recognizer's step
# A recording's words may take the recognizer more than its usual search width to follow.
NARROW: dict[str, float] = {}
WIDE = {"beam": 1e-80, "wbeam": 1e-60, "pbeam": 1e-80}


@dataclass(frozen=True)
class Word:
    text: str
    start: float  # seconds into the recording
    end: float


@dataclass(frozen=True)
class Heard:
    """What the recognizer heard a recording say, following its words."""

    followed: bool  # False when the audio could not be followed through its words
    words: tuple[Word, ...]  # every word heard, intrusions included, in order
    intrusions: tuple[Word, ...]  # symbol names and whole-number words heard between words

    def numbers(self, expected: tuple[str, ...]) -> list[tuple[str, Word, Word]]:
        """Each number of the words: its digits, and the first and last digit heard."""
        said = [w for w in self.words if w not in self.intrusions]
        return [
            ("".join(_DIGIT_OF[d] for d in expected[start:end]), said[start], said[end - 1])
            for start, end in number_spans(expected)
        ]


def heard_words(text: str) -> tuple[str, ...]:
    """The words a voice says for `text`: lower case, numerals as words, no punctuation."""
    out: list[str] = []
    for raw in re.findall(r"[A-Za-z']+|\d+", text):
        if raw.isdigit():
            out += _numeral(raw)
        elif word := raw.lower().strip("'"):
            out.append(word)
    return tuple(out)


def _numeral(digits: str) -> list[str]:
    """How a voice reads a numeral: up to 99 as a number, longer ones digit by digit."""
    value = int(digits)
    if len(digits) == 1 or len(digits) > 2 or digits.startswith("0"):
        return [DIGIT_WORDS[int(d)] for d in digits]
    if value < 20:
        return [_TEENS[value - 10]]
    tens, ones = divmod(value, 10)
    return [_TENS[tens - 2], *([DIGIT_WORDS[ones]] if ones else [])]


def number_spans(words: tuple[str, ...]) -> list[tuple[int, int]]:
    """Runs of two or more digit words: the numbers a caller must hear digit by digit."""
    spans, start = [], None
    for index, word in enumerate((*words, "")):
        if word in _DIGIT_OF and start is None:
            start = index
        elif word not in _DIGIT_OF and start is not None:
            if index - start >= 2:
                spans.append((start, index))
            start = None
    return spans


def grammar(words: tuple[str, ...]) -> str:
    """A JSGF grammar of the words in order, an intrusion allowed before, between and after."""
    slot = " [<intrusion>] "
    return "\n".join(
        [
            "#JSGF V1.0;",
            "grammar heard;",
            f"<intrusion> = {' | '.join((*SYMBOLS, *WHOLE_NUMBER_WORDS))};",
            f"public <heard> = [<intrusion>] {slot.join(map(_either_zero, words))} [<intrusion>];",
        ]
    )


def _either_zero(word: str) -> str:
    return "(zero | oh)" if word in ("zero", "oh") else word


class Listener:
    """The English recognizer, loaded once; `hear` follows one recording through its words."""

    def __init__(self) -> None:
        from pocketsphinx import Decoder

        self._decoders = {
            width: Decoder(loglevel="FATAL", lm=None, **settings)
            for width, settings in (("narrow", NARROW), ("wide", WIDE))
        }
        self._added: set[str] = set()

    def unknown_words(self, words: tuple[str, ...]) -> list[str]:
        """Words the recognizer cannot follow, after trying each as two known words joined."""
        return [w for w in dict.fromkeys(words) if not self._know(w)]

    def hear(self, wav: bytes, words: tuple[str, ...]) -> Heard:
        """Follow `wav` through `words`; call `unknown_words` first, so every word is known."""
        samples = _samples(wav)
        for width in ("narrow", "wide"):
            said = self._decode(samples, grammar(words), width)
            if said is None:
                continue
            intrusions = _intrusions(said, words)
            if intrusions is not None:
                return Heard(True, said, intrusions)
        return Heard(False, (), ())

    def _decode(self, samples: bytes, grammar: str, width: str) -> tuple[Word, ...] | None:
        decoder = self._decoders[width]
        decoder.set_jsgf_string("heard", grammar)
        decoder.activate_search("heard")
        decoder.start_utt()
        decoder.process_raw(samples, full_utt=True)
        decoder.end_utt()
        if decoder.hyp() is None:
            return None
        return tuple(
            Word(_canonical(seg.word), seg.start_frame * FRAME, (seg.end_frame + 1) * FRAME)
            for seg in decoder.seg()
            if not seg.word.startswith(("<", "[", "("))  # silence, noise, the grammar's joins
        )

    def _know(self, word: str) -> bool:
        if word in self._added or self._decoders["narrow"].lookup_word(word) is not None:
            return True
        lookup = self._decoders["narrow"].lookup_word
        for cut in range(2, len(word) - 1):
            head, tail = lookup(word[:cut]), lookup(word[cut:])
            if head is not None and tail is not None:
                for decoder in self._decoders.values():
                    decoder.add_word(word, f"{head} {tail}", True)
                self._added.add(word)
                return True
        return False


def _intrusions(said: tuple[Word, ...], words: tuple[str, ...]) -> tuple[Word, ...] | None:
    """The words heard besides `words`, or None if `words` were not all heard, in order.

    A search that never reached the end of the words reports only how far it got.
    """
    extra, index = [], 0
    for word in said:
        if index < len(words) and _plain(word.text) == _plain(words[index]):
            index += 1
        else:
            extra.append(word)
    return tuple(extra) if index == len(words) else None


def _plain(word: str) -> str:
    return "zero" if word == "oh" else word


def _canonical(word: str) -> str:
    # The dictionary names a second pronunciation "word(2)".
    return re.sub(r"\(\d+\)$", "", word)


def _samples(wav: bytes) -> bytes:
    """A WAV file in any encoding, as 16 kHz mono 16-bit samples for the recognizer."""
    header = read_header(wav)
    codec = header.ffmpeg_codec
    if codec is None:
        raise ValueError(f"unsupported WAV encoding (format tag {header.format_tag})")
    out, _ = ffmpeg.run(
        [
            *("-f", "wav", "-c:a", codec, "-i", "pipe:0"),
            *("-ac", "1", "-ar", str(RATE), "-f", "s16le", "-c:a", "pcm_s16le", "pipe:1"),
        ],
        stdin=wav,
    )
    return out


@dataclass(frozen=True)
class Listened:
    """One recording, as heard."""

    key: str  # "en/greeting"
    file: str  # the recording, as staff would type its path
    prompt_where: str  # the prompt's file and line
    heard: Heard | None  # None when the recognizer does not know some of its words
    numbers: tuple[tuple[str, Word, Word], ...]
    unknown: tuple[str, ...]
    words_a_minute: float  # its pace: the words it was made from over its length

    def problems(self) -> list[Problem]:
        prompt = self.key.split("/", 1)[1]
        about = f"(prompt {prompt!r}, {self.prompt_where})"
        if self.heard is None:
            return [
                Problem(
                    "warning",
                    self.file,
                    f"not listened to: the recognizer does not know {list(self.unknown)} {about}",
                    "reword the prompt, or check this recording by ear",
                )
            ]
        if not self.heard.followed:
            return [
                Problem(
                    "error",
                    self.file,
                    f"does not say its prompt's words: the recognizer could not follow it {about}",
                    "listen to it; record it again, or run `ivr audio build --force`",
                )
            ]
        if not self.heard.intrusions:
            return []
        said = ", ".join(f'"{w.text}" at {w.start:.2f} s' for w in self.heard.intrusions)
        symbols = any(w.text in SYMBOLS for w in self.heard.intrusions)
        return [
            Problem(
                "error",
                self.file,
                ("reads a symbol aloud" if symbols else "reads a number whole, not digit by digit")
                + f": heard {said} {about}",
                'write numbers in words under spoken_forms (like "911": "nine one one"), '
                "then run `ivr audio build`",
            )
        ]

    def summary(self) -> str:
        pace = f"{self.words_a_minute:.0f} words a minute"
        if self.heard is None or not self.heard.followed:
            return f"{self.file}: {pace}; not heard"
        said = [
            f"{digits} at {first.start:.1f}-{last.end:.1f} s"
            for digits, first, last in self.numbers
        ]
        return f"{self.file}: {pace}; {'; '.join(said) or 'no numbers'}"


def listen_all(prompts_dir: Path, audio_dir: Path) -> tuple[list[Listened], list[str]]:
    """Every recording in the manifest, heard against the words it was made from, in the
    languages the recognizer knows; and what was not listened to, with why."""
    from ivr.audio.manifest import read_manifest
    from ivr.menu.load import load_line

    line = load_line(prompts_dir)
    listener = Listener()
    heard, skipped = [], []
    for key, entry in sorted(read_manifest(audio_dir).recordings.items()):
        language_id, prompt_id = key.split("/", 1)
        language = line.languages.get(language_id)
        path = audio_dir / entry["file"]
        if language is None or not language.code.lower().startswith(LANGUAGE):
            skipped.append(f"{shown(path)}: the recognizer knows English only")
            continue
        if not path.is_file():
            skipped.append(f"{shown(path)}: no such file")
            continue
        prompt = language.prompts.get(prompt_id)
        words = heard_words(entry["text"])
        unknown = tuple(listener.unknown_words(words))
        result = None if unknown else listener.hear(path.read_bytes(), words)
        numbers = tuple(result.numbers(words)) if result and result.followed else ()
        where = str(prompt.where) if prompt else "no longer in the YAML"
        pace = words_a_minute(entry["text"], float(entry["duration"]))
        heard.append(Listened(key, shown(path), where, result, numbers, unknown, pace))
    return heard, skipped
