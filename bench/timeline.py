"""When a caller hears what, in seconds from answer, for each language; writes docs/timeline.md.

Places calls against the line in-process, as `ivr call` does, and lays out what they hear with
ivr.tools.timeline: recordings last as long as the manifest says, <Say> is timed at a stated pace.

    python bench/timeline.py
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ivr.menu import words
from ivr.menu.load import load_line
from ivr.tools import opening
from ivr.tools.simulated_call import SimulatedCall
from ivr.tools.timeline import Timed, first, timeline
from ivr.web.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
PROMPTS = Settings.from_env().prompts_dir
# What marks each moment, in each language's words.
NINE_ONE_ONE = {"en": "nine one one", "es": "nueve uno uno"}
PRESS_0 = {"en": "press 0", "es": "oprime 0"}
OTHER_SAY_PACES = (125, 175)  # words a minute: a sixth slower, and a sixth faster


def place_call() -> SimulatedCall:
    settings = Settings.from_env()
    return opening.place_call(settings.prompts_dir, settings.audio_dir)


def spoken(timed: list[Timed]) -> list[Timed]:
    return [t for t in timed if t.event.kind in ("say", "play")]


def ends(timed: list[Timed], phrase: str) -> float | None:
    """When a caller has heard all of `phrase`, the first time it is said."""
    start = first(timed, phrase)
    if start is None:
        return None
    event = next(t for t in timed if t.at(phrase) == start)
    words = len(event.event.text.split())
    return start + (event.end - event.start) * len(phrase.split()) / words


def milestones() -> dict[str, dict[str, float | None]]:
    call = place_call()
    prompts = {code: lang.prompts for code, lang in load_line(PROMPTS).languages.items()}
    english = spoken(timeline(call.transcript))
    offer = next(t for t in english if (t.event.language or "").startswith("es"))
    rows = {
        "en": {
            "911 advice ends": ends(english, NINE_ONE_ONE["en"]),
            "Spanish offer starts": offer.start,
            "Spanish offer ends": offer.end,
            "greeting ends": said(english, prompts["en"]["greeting"].text).end,
            '"press 0"': first(english, PRESS_0["en"]),
            "main menu ends": english[-1].end,
        }
    }
    # A Spanish speaker presses 9 as soon as the offer ends, and the call goes on in Spanish.
    call.transcript.clear()
    call.press("9")
    spanish = spoken(timeline(call.transcript, start=offer.end))
    rows["es"] = {
        "911 advice ends": ends([offer], NINE_ONE_ONE["es"]),
        "Spanish offer starts": offer.start,
        "Spanish offer ends": offer.end,
        "greeting ends": said(spanish, prompts["es"]["greeting"].text).end,
        '"press 0"': first(spanish, PRESS_0["es"]),
        "main menu ends": spanish[-1].end,
    }
    return rows


def said(timed: list[Timed], text: str) -> Timed:
    return next(t for t in timed if t.event.text == text)


def silent_caller_rings() -> float:
    """When the hotline starts ringing for a caller who presses and says nothing."""
    rings = opening.silent_caller_rings(place_call())
    assert rings is not None, "a silent caller is never put through"
    return rings


def table(rows: dict[str, dict[str, float | None]]) -> str:
    moments = list(next(iter(rows.values())))
    lines = [
        "| seconds from answer | " + " | ".join(rows) + " |",
        "| --- | " + " | ".join("---:" for _ in rows) + " |",
    ]
    for moment in moments:
        cells = [rows[code][moment] for code in rows]
        shown = [f"{cell:.1f}" if cell is not None else "-" for cell in cells]
        lines.append(f"| {moment} | " + " | ".join(shown) + " |")
    return "\n".join(lines)


@contextlib.contextmanager
def say_pace(words_a_minute: float) -> Iterator[None]:
    """Time <Say> at another pace for a while: Twilio's voices are not measured here."""
    kept = words.WORDS_PER_SECOND
    words.WORDS_PER_SECOND = words_a_minute / 60
    try:
        yield
    finally:
        words.WORDS_PER_SECOND = kept


def main() -> None:
    rows = milestones()
    figures = table(rows)
    rings = silent_caller_rings()
    print(figures)
    print(f"A caller who presses and says nothing: the hotline rings {rings:.1f} s after answer.")
    other_paces = []
    for pace in OTHER_SAY_PACES:
        with say_pace(pace):
            spanish_911 = milestones()["es"]["911 advice ends"]
            other_paces.append(
                f"- at {pace:g} words a minute, the Spanish 911 advice ends at "
                f"{spanish_911:.1f} s, and the hotline rings for a silent caller at "
                f"{silent_caller_rings():.1f} s"
            )
    print("\n".join(other_paces))
    (ROOT / "docs" / "timeline.md").write_text(
        "# What a caller hears, and when\n\n"
        "Seconds from answer, worked out by `python bench/timeline.py` from the committed\n"
        "recordings' durations (audio/manifest.json). A moment inside a recording is placed by\n"
        "its words' share of the recording.\n\n"
        "Prompts with no recording, every Spanish prompt for now, are spoken by Twilio's voice\n"
        "(`<Say>`), which has no length to measure before a call. They are timed at\n"
        f"{words.WORDS_PER_SECOND * 60:g} words a minute, and that is an assumption: Twilio's\n"
        "neural voices keep their own pace, which is not measured here. The end of this page\n"
        "shows how the figures move if they speak slower or faster.\n\n"
        "The Spanish column is a caller who presses 9 as soon as the Spanish offer ends.\n\n"
        f"{figures}\n\n"
        "A caller who presses nothing and says nothing hears the greeting and the main menu,\n"
        "then, after the menu's wait, that they are being put through, in both languages:\n"
        f"the hotline rings **{rings:.1f} s** after answer.\n\n"
        "If Twilio's voice speaks at another pace:\n\n" + "\n".join(other_paces) + "\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
