"""When a caller hears what: a call's transcript laid out in seconds from answer.

Recordings last as long as the manifest says; <Say> has no recording to measure, so it is timed
at a stated pace; a silence lasts as long as the Gather waits. A key or words act at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from ivr.menu.words import speaking_seconds
from ivr.tools.simulated_call import Event


@dataclass(frozen=True)
class Timed:
    start: float  # seconds from answer
    end: float
    event: Event

    def at(self, phrase: str) -> float | None:
        """When `phrase` starts inside this event, by its place among the words; else None."""
        words = self.event.text.split()
        wanted = phrase.split()
        for index in range(len(words) - len(wanted) + 1):
            if [w.strip(".,;:!?").casefold() for w in words[index : index + len(wanted)]] == [
                w.casefold() for w in wanted
            ]:
                return self.start + (self.end - self.start) * index / len(words)
        return None


def duration(event: Event) -> float:
    if event.kind == "say":
        return speaking_seconds(event.text)
    if event.kind in ("play", "silence"):
        return event.seconds or 0.0
    return 0.0


def timeline(transcript: list[Event], start: float = 0.0) -> list[Timed]:
    """Each event with its start and end, in seconds from `start`."""
    timed, now = [], start
    for event in transcript:
        length = duration(event)
        timed.append(Timed(now, now + length, event))
        now += length
    return timed


def first(timed: list[Timed], phrase: str) -> float | None:
    """When a caller first hears `phrase`."""
    return next((t for t in (e.at(phrase) for e in timed) if t is not None), None)
