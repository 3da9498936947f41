"""The first minute of a call, timed from the real recordings: what `ivr check` holds it to.

A Spanish speaker must hear Spanish before they give up, and a caller who cannot press or speak
(hiding, hurt, or with someone in the room) must be put through without asking: the targets
are seconds from answer, worked out by placing a call in-process and timing what it hears
(recordings by their length, Twilio's voice at a normal pace).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from ivr.audio.manifest import read_manifest
from ivr.tools.simulated_call import SimulatedCall, flask_post
from ivr.tools.timeline import timeline
from ivr.web.settings import Settings

SPANISH_WITHIN = 10.0  # seconds from answer until a caller first hears Spanish
SILENT_RINGS_WITHIN = 60.0  # until the hotline rings for a caller who presses and says nothing


def place_call(prompts_dir: Path, audio_dir: Path) -> SimulatedCall:
    """A call to the line in-process, answered: not counted, unsigned, quiet."""
    from ivr.web.app import create_app

    env = {"PROMPTS_DIR": str(prompts_dir), "AUDIO_DIR": str(audio_dir)}
    settings = replace(Settings.from_env(env), log_level="ERROR", usage_db=None)
    manifest = read_manifest(audio_dir).recordings
    return SimulatedCall(
        flask_post(create_app(settings)),
        "http://localhost/voice",
        recordings={entry["file"]: entry for entry in manifest.values()},
    ).start()


def spanish_starts(call: SimulatedCall) -> float | None:
    """When the call, as answered, first speaks Spanish: Twilio's voice, or a recording."""
    for timed in timeline(call.transcript):
        event = timed.event
        if event.kind == "say" and (event.language or "").startswith("es"):
            return timed.start
        if event.kind == "play" and "/es/" in urlsplit(event.url or "").path:
            return timed.start
    return None


def silent_caller_rings(call: SimulatedCall) -> float | None:
    """When the hotline starts ringing, if the caller, from here on, presses and says nothing."""
    while call.waiting_for == "key":
        call.press(None)
    return next((t.start for t in timeline(call.transcript) if t.event.kind == "dial"), None)


def opening_problems(prompts_dir: Path, audio_dir: Path) -> list[tuple[str, str, str]]:
    """What of the opening is later than its target: ("spanish" or "silent", what, the fix)."""
    problems = []
    call = place_call(prompts_dir, audio_dir)
    spanish = spanish_starts(call)
    if spanish is None or spanish > SPANISH_WITHIN:
        heard = "never" if spanish is None else f"{spanish:.1f} s after answer"
        problems.append(
            (
                "spanish",
                f"a caller first hears Spanish {heard}, later than {SPANISH_WITHIN:g} s",
                "shorten what is said before the Spanish offer",
            )
        )
    rings = silent_caller_rings(call)
    if rings is None or rings > SILENT_RINGS_WITHIN:
        heard = "never" if rings is None else f"{rings:.1f} s after answer"
        problems.append(
            (
                "silent",
                f"the hotline rings for a caller who presses and says nothing {heard}, later "
                f"than {SILENT_RINGS_WITHIN:g} s",
                "shorten what is said before the first menu's wait (the greeting, the main "
                "menu, what is said as the call is put through), or lower wait_seconds: menu",
            )
        )
    return problems
