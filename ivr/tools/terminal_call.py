"""`ivr call`: a phone call in the terminal, scripted or typed key by key."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ivr.tools.simulated_call import Event, SimulatedCall
from ivr.tools.timeline import duration

# What a caller can choose when the line transfers them; the first is used when unsure.
OUTCOMES = {
    "answered": "completed",
    "completed": "completed",
    "busy": "busy",
    "no-answer": "no-answer",
    "failed": "failed",
    "canceled": "canceled",
}
PLAYERS = (
    ["aplay", "-q"],
    ["paplay"],
    ["afplay"],
    ["ffplay", "-nodisp", "-autoexit", "-loglevel", "quiet"],
)


_SHOWN_AS = {
    "say": "  line (voice): {text}",
    "wait": "  ... waiting for {text}",
    "key": "> caller presses {text}",
    "speech": '> caller says "{text}"',
    "silence": "> caller stays silent ({text})",
    "dial": "  TRANSFER to {text}",
    "outcome": "> the transfer ends: {text}",
    "hangup": "  END: {text}",
}


def describe(event: Event) -> str:
    if event.kind == "play":
        length = f" {event.seconds:.1f} s" if event.seconds is not None else ""
        return f"  line (recording{length}): {event.text}"
    if event.kind == "say" and event.language:
        return f"  line (voice, {event.language}): {event.text}"
    return _SHOWN_AS.get(event.kind, "  !! {text}").format(text=event.text)


def parse_keys(script: str) -> list[str]:
    """`1,#,,next` -> ["1", "#", "", "next"]; an empty item is silence, words are speech."""
    return [item.strip() for item in script.split(",")]


def find_player() -> list[str] | None:
    return next((p for p in PLAYERS if shutil.which(p[0])), None)


class AudioOut:
    """Plays recordings on the local sound device, when there is a player for one."""

    def __init__(self, audio_dir: Path) -> None:
        self.audio_dir = audio_dir
        self.player = find_player()

    def play(self, event: Event, recordings: dict[str, dict[str, Any]]) -> None:
        if self.player is None or event.url is None:
            return
        file = next((f for f in recordings if event.url.split("?")[0].endswith(f"/{f}")), None)
        local = self.audio_dir / file if file else None
        if local and local.is_file():
            subprocess.run([*self.player, str(local)], check=False)
            return
        with tempfile.NamedTemporaryFile(suffix=".wav") as copy:
            with urllib.request.urlopen(event.url, timeout=10) as response:
                copy.write(response.read())
            copy.flush()
            subprocess.run([*self.player, copy.name], check=False)


def run_call(
    call: SimulatedCall,
    keys: list[str] | None,
    say: Callable[[str], None],
    ask: Callable[[str], str],
    audio: AudioOut | None = None,
    clock: bool = False,
) -> SimulatedCall:
    """Drive `call` from a script of keys (None: ask the person at the terminal).

    With `clock`, each line starts with the seconds from answer at which the caller hears it.
    """
    script: Iterator[str] | None = iter(keys) if keys is not None else None
    shown = 0
    now = 0.0

    def show() -> None:
        nonlocal shown, now
        for event in call.transcript[shown:]:
            if clock:
                say(f"{now:6.1f} s {describe(event)}")
                now += duration(event)
            else:
                say(describe(event))
            if audio is not None and event.kind == "play":
                audio.play(event, call.recordings)
        shown = len(call.transcript)

    call.start()
    show()
    while not call.ended:
        if call.waiting_for == "key":
            answer = _next(script, ask, "key or words (Enter for silence, q to hang up)> ")
            if answer is None or answer == "q":
                say("  caller hangs up")
                break
            if len(answer.strip()) > 1:
                call.say(answer.strip())  # more than a key: the caller speaks
            else:
                call.press(answer.strip() or None)
        else:
            choices = "answered, busy, no-answer, failed"
            answer = _next(script, ask, f"transfer outcome ({choices})> ")
            if answer is None or answer == "q":
                say("  caller hangs up")
                break
            call.dial_outcome(OUTCOMES.get(answer.strip().lower(), "completed"))
        show()
    return call


def _next(script: Iterator[str] | None, ask: Callable[[str], str], prompt: str) -> str | None:
    if script is None:
        try:
            return ask(prompt)
        except EOFError:
            return None
    return next(script, None)
