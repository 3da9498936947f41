"""Each recording's pace, and how well a recognizer hears it; writes docs/pace.md.

Pace: the prompt's words over the recording's length, against ivr.audio.pace's targets.

Word error rate, twice, from pocketsphinx's U.S. English model on each English recording
resampled from 8 kHz to the model's 16 kHz, as `ivr listen` hears it:
- free: its general language model and dictionary, told nothing of the line;
- the line's words: a language model of the words of every recording, each as likely as any
  other in any order, so the recognizer knows the line's vocabulary but not which prompt, nor
  the order of its words.
The words heard are aligned with the prompt's words (`ivr listen`'s reading: numerals as words,
no punctuation): substitutions, deletions and insertions over the prompt's words, summed over
every recording. A recognizer is no caller, but it is one more listener, who never tires.

    python bench/pace.py            # needs the audio or dev extra (pocketsphinx, ffmpeg)
"""

from __future__ import annotations

import math
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ivr.audio.build.listen import LANGUAGE, _canonical, _samples, heard_words
from ivr.audio.manifest import read_manifest
from ivr.audio.pace import MAX_911_WPM, MAX_MEDIAN_WPM, MAX_WPM, Pace, median_wpm, paces
from ivr.web.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def errors(said: list[str], heard: list[str]) -> int:
    """Word-level edit distance: substitutions, deletions and insertions."""
    row = list(range(len(heard) + 1))
    for i, word in enumerate(said, 1):
        previous, row[0] = row[0], i
        for j, other in enumerate(heard, 1):
            previous, row[j] = (
                row[j],
                min(row[j] + 1, row[j - 1] + 1, previous + (word != other)),
            )
    return row[-1]


def decoding(decoder: Any) -> Callable[[bytes], list[str]]:
    def hear(wav: bytes) -> list[str]:
        decoder.start_utt()
        decoder.process_raw(_samples(wav), full_utt=True)
        decoder.end_utt()
        hypothesis = decoder.hyp()
        words = hypothesis.hypstr.split() if hypothesis is not None else []
        return [_canonical(w).lower() for w in words if not w.startswith(("<", "["))]

    return hear


def decoders(vocabulary: set[str], folder: Path) -> dict[str, Callable[[bytes], list[str]]]:
    from pocketsphinx import Decoder

    free = Decoder(loglevel="FATAL")  # the default model, language model and dictionary
    known = sorted(w for w in vocabulary if free.lookup_word(w) is not None)
    # The line's words, each as likely as any other, in any order: a language model of one-word
    # counts only, in ARPA's text form.
    chance = f"{-math.log10(len(known) + 1):.4f}"
    arpa = folder / "line.arpa"
    arpa.write_text(
        f"\\data\\\nngram 1={len(known) + 2}\n\n\\1-grams:\n-99 <s>\n"
        + "".join(f"{chance} {word}\n" for word in (*known, "</s>"))
        + "\n\\end\\\n",
        encoding="utf-8",
    )
    restricted = Decoder(loglevel="FATAL", lm=str(arpa))
    return {"free": decoding(free), "the line's words": decoding(restricted)}


@dataclass
class Tally:
    said: int = 0
    wrong: int = 0

    @property
    def rate(self) -> str:
        return f"{100 * self.wrong / max(self.said, 1):.1f}% ({self.wrong} in {self.said} words)"


def main() -> None:
    settings = Settings.from_env()
    recordings = read_manifest(settings.audio_dir).recordings
    measured = paces(recordings)
    english = [p for p in measured if p.key.startswith(f"{LANGUAGE}/")]
    vocabulary = {w for p in english for w in heard_words(recordings[p.key]["text"])}
    with tempfile.TemporaryDirectory(prefix="ivr-pace-") as folder:
        hearers = decoders(vocabulary, Path(folder))
    tallies = {name: Tally() for name in hearers}
    rows = []
    for pace in measured:
        entry = recordings[pace.key]
        rates = []
        if pace in english:
            said = list(heard_words(entry["text"]))
            wav = (settings.audio_dir / entry["file"]).read_bytes()
            for name, hear in hearers.items():
                wrong = errors(said, hear(wav))
                tallies[name].said += len(said)
                tallies[name].wrong += wrong
                rates.append(f"{100 * wrong / len(said):.0f}%")
        rows.append((pace, float(entry["duration"]), rates))
    figures = table(rows, list(hearers))
    fastest = max(measured, key=lambda p: p.wpm)
    summary = [
        f"median: {median_wpm(measured):.0f} words a minute over {len(measured)} recordings "
        f"(target: at most {MAX_MEDIAN_WPM:.0f})",
        *(
            f"`{p.key}`: {p.wpm:.0f} (target: at most {p.limit:.0f})"
            for p in measured
            if p.limit == MAX_911_WPM
        ),
        f"fastest: `{fastest.key}`, {fastest.wpm:.0f} (target: at most {MAX_WPM:.0f})",
        *(f"word error rate, {name}: {tally.rate}" for name, tally in tallies.items()),
    ]
    print(figures)
    print("\n".join(summary))
    (ROOT / "docs" / "pace.md").write_text(
        "# How fast the recordings speak\n\n"
        "Worked out by `python bench/pace.py` from the committed recordings. A pace is the\n"
        "prompt's words over the recording's whole length (its pauses and the short silence at\n"
        "each end included), in words a minute. The targets are in `ivr/audio/pace.py`, and\n"
        "`ivr check` warns about any recording over its target.\n\n"
        "The word error rates are how often a recognizer mishears the prompt's words:\n"
        "pocketsphinx's U.S. English model, on the 8 kHz recording resampled to 16 kHz, either\n"
        "free (its general language model) or held to the line's words, in any order;\n"
        "substitutions, deletions and insertions over the prompt's words.\n\n"
        + "\n".join(f"- {line}" for line in summary)
        + f"\n\n{figures}\n",
        encoding="utf-8",
    )


def table(rows: list[tuple[Pace, float, list[str]]], hearers: list[str]) -> str:
    heads = "".join(f" word error rate, {name} |" for name in hearers)
    lines = [
        f"| recording | seconds | words a minute | target |{heads}",
        "| --- | ---: | ---: | ---: |" + " ---: |" * len(hearers),
    ]
    for pace, seconds, rates in rows:
        mark = " **over**" if pace.too_fast else ""
        cells = "".join(f" {rate} |" for rate in rates or ["-"] * len(hearers))
        lines.append(
            f"| `{pace.key}`{' (human)' if pace.human else ''} | {seconds:.2f} | "
            f"{pace.wpm:.0f}{mark} | {pace.limit:.0f} |{cells}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
