"""How fast a recording speaks: its prompt's words a minute, held to the line's targets.

The one place the targets live. `ivr check` warns about every recording over its target, human
takes too, `ivr listen --verbose` gives each recording's pace, the studio shows a take's pace
while it is judged, and `ivr audio build` makes its placeholders slow enough to meet them.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass

from ivr.audio.manifest import Entry
from ivr.menu.document import fingerprint
from ivr.menu.model import PhoneLine
from ivr.menu.words import word_count

# Conversational English runs near 150 words a minute. A caller who is frightened, whispering
# on a bad line, or not a native speaker needs time to take words in, and guidance for voice
# prompts is to slow down and pause wherever a caller must take information in. A pace is the
# prompt's words over the whole recording, its pauses and its short silence at each end
# included: what a caller hears.
MAX_WPM = 170.0  # any one recording
MAX_MEDIAN_WPM = 160.0  # the median of a language's recordings: the pace of most of a call
# The 911 advice is the first thing every caller hears, and the one thing none may miss.
MAX_911_WPM = 150.0
NINE_ONE_ONE_PROMPTS = frozenset({"danger", "language_offer"})
# Placeholders are made this much under their target (and every one under the median's), so
# that rounding and the build's trimming never tip one over.
PLACEHOLDER_MARGIN_WPM = 5.0


def words_a_minute(text: str, seconds: float) -> float:
    """The pace of `seconds` of speech saying `text`."""
    return word_count(text) * 60 / seconds if seconds > 0 else 0.0


def limit_for(prompt_id: str) -> float:
    """The fastest pace a recording of this prompt may have."""
    return MAX_911_WPM if prompt_id in NINE_ONE_ONE_PROMPTS else MAX_WPM


def placeholder_pace(prompt_id: str) -> float:
    """The pace `ivr audio build` asks of a placeholder for this prompt, at most."""
    return min(limit_for(prompt_id), MAX_MEDIAN_WPM) - PLACEHOLDER_MARGIN_WPM


@dataclass(frozen=True)
class Pace:
    key: str  # "en/danger"
    wpm: float
    limit: float
    human: bool

    @property
    def prompt_id(self) -> str:
        return self.key.split("/", 1)[1]

    @property
    def too_fast(self) -> bool:
        return round(self.wpm) > self.limit


def paces(recordings: Mapping[str, Entry]) -> list[Pace]:
    """Every recording's pace, by key, in key order."""
    return [
        Pace(
            key,
            words_a_minute(entry["text"], float(entry["duration"])),
            limit_for(key.split("/", 1)[1]),
            entry["source"] == "human",
        )
        for key, entry in sorted(recordings.items())
    ]


def median_wpm(of: list[Pace]) -> float:
    return statistics.median(p.wpm for p in of) if of else 0.0


def pace_warnings(
    line: PhoneLine, recordings: Mapping[str, Entry], manifest_where: str
) -> list[tuple[str, str, str]]:
    """(where, message, fix) for each recording the line plays that is over its target, and for
    each language whose recordings' median is over MAX_MEDIAN_WPM."""
    found = []
    for language in line.languages.values():
        served = {
            f"{language.id}/{prompt_id}": entry
            for prompt_id, prompt in language.prompts.items()
            if (entry := recordings.get(f"{language.id}/{prompt_id}")) is not None
            and entry.get("text_fingerprint") == fingerprint(prompt.text)
        }
        measured = paces(served)
        for pace in measured:
            if not pace.too_fast:
                continue
            found.append(
                (
                    str(language.prompts[pace.prompt_id].where),
                    f"the recording of prompt {pace.prompt_id!r}, {served[pace.key]['file']}, "
                    f"speaks {pace.wpm:.0f} words a minute, over the {pace.limit:.0f} "
                    + (
                        "of the 911 advice, which every caller must take in"
                        if pace.limit == MAX_911_WPM
                        else "a caller can follow"
                    ),
                    "record it again more slowly, with a short pause after each sentence"
                    if pace.human
                    else "run `ivr audio build`, which makes placeholders at the target pace; if "
                    "it leaves this one unchanged, the placeholder voice cannot say it slower: "
                    "record it in `ivr studio`, or reword it",
                )
            )
        middle = median_wpm(measured)
        if measured and round(middle) > MAX_MEDIAN_WPM:
            found.append(
                (
                    manifest_where,
                    f"the {len(measured)} {language.id} recordings speak a median "
                    f"{middle:.0f} words a minute, over {MAX_MEDIAN_WPM:.0f}",
                    "record the fastest again more slowly (the warnings above name those over "
                    "their target; the studio shows a take's pace as it judges it)",
                )
            )
    return found
