"""A pace a caller can follow: the recordings the line plays are held to the targets in
ivr.audio.pace, `ivr check` warns about any faster one, and placeholders are made slow enough."""

from __future__ import annotations

import json
import statistics

import pytest

from ivr.audio.manifest import read_manifest
from ivr.audio.pace import (
    MAX_911_WPM,
    MAX_MEDIAN_WPM,
    MAX_WPM,
    limit_for,
    placeholder_pace,
    words_a_minute,
)
from ivr.menu.document import fingerprint
from tests.audio_files import mulaw_wav, write_audio_dir
from tests.helpers import ROOT, ivr


def served(line) -> dict[str, float]:
    """Each recording the line plays, fresh for its prompt's words: its pace."""
    recordings = read_manifest(ROOT / "audio").recordings
    found = {}
    for language in line.languages.values():
        for prompt_id, prompt in language.prompts.items():
            entry = recordings.get(f"{language.id}/{prompt_id}")
            if entry and entry["text_fingerprint"] == fingerprint(prompt.text):
                found[f"{language.id}/{prompt_id}"] = words_a_minute(
                    entry["text"], entry["duration"]
                )
    return found


def test_the_recordings_the_line_plays_meet_the_three_pace_targets(line):
    paces = served(line)
    assert len(paces) == len(line.languages["en"].prompts), "every English prompt is recorded"
    too_fast = {key: round(wpm) for key, wpm in paces.items() if round(wpm) > MAX_WPM}
    assert too_fast == {}
    assert statistics.median(paces.values()) <= MAX_MEDIAN_WPM
    assert round(paces["en/danger"]) <= MAX_911_WPM
    assert (MAX_WPM, MAX_MEDIAN_WPM, MAX_911_WPM) == (170, 160, 150)


def test_a_pace_counts_words_as_a_voice_says_them():
    # 13 words in 5.2 s: "you'll" is one word, and "L, O, V, E" four.
    assert (
        words_a_minute("If you are in immediate danger, hang up and call nine one one.", 5.2) == 150
    )
    assert words_a_minute("You'll text L, O, V, E.", 3.0) == 120
    assert (limit_for("danger"), limit_for("language_offer"), limit_for("greeting")) == (
        150,
        150,
        170,
    )
    assert (placeholder_pace("danger"), placeholder_pace("greeting")) == (145, 155)


def test_ivr_check_warns_about_a_recording_too_fast_to_follow(tmp_path, en):
    """A person's take, 13 words in 3.3 s (236 words a minute): a warning, not an error."""
    audio = tmp_path / "audio"
    write_audio_dir(
        audio,
        {
            "en/danger": (en["danger"].text, mulaw_wav(3.3)),
            "en/no_input": (en["no_input"].text, mulaw_wav(2.8)),  # 7 words: 150 a minute
        },
    )
    manifest = json.loads((audio / "manifest.json").read_text())
    manifest["recordings"]["en/danger"]["source"] = "human"
    (audio / "manifest.json").write_text(json.dumps(manifest))
    done = ivr("check", "--json", AUDIO_DIR=str(audio), timeout=120)
    warnings = [p for p in json.loads(done.stdout)["problems"] if "words a minute" in p["message"]]
    assert warnings == [
        {
            "severity": "warning",
            "where": str(en["danger"].where),
            "message": "the recording of prompt 'danger', en/danger.wav, speaks 236 words a "
            "minute, over the 150 of the 911 advice, which every caller must take in",
            "fix": "record it again more slowly, with a short pause after each sentence",
            "diff": "",
        },
        {
            "severity": "warning",
            "where": str(audio / "manifest.json"),
            "message": "the 2 en recordings speak a median 193 words a minute, over 160",
            "fix": "record the fastest again more slowly (the warnings above name those over "
            "their target; the studio shows a take's pace as it judges it)",
            "diff": "",
        },
    ]


def test_placeholders_are_said_again_slower_only_as_far_as_their_pace_needs():
    pytest.importorskip("pydub", reason="the audio tools come with the dev extra")
    from pydub.generators import Sine

    from ivr.audio.build.engines import SLOWEST, TRIES, paced
    from ivr.audio.build.ffmpeg import AudioSegment

    text = "one two three four five six seven eight nine ten"  # 10 words
    tried: list[float] = []

    def speak(said: str, slowness: float) -> AudioSegment:
        """A voice that takes 3 s at its calm pace (200 a minute), and slows by less than
        asked: half a second for each 0.1 of slowness."""
        tried.append(slowness)
        return Sine(220).to_audio_segment(round(3000 + (slowness - 1) * 5000), -20.0)

    def pace(segment: AudioSegment) -> float:
        return words_a_minute(text, len(segment) / 1000 + 0.3)  # with the build's two pads

    tried.clear()
    assert pace(paced(speak, text, 250)) < 250 and tried == [1.0], "never sped up"
    tried.clear()
    made = pace(paced(speak, text, 150))
    assert 144 <= made <= 150, made
    assert tried[0] == 1.0 and len(tried) <= TRIES
    tried.clear()
    paced(speak, text, 20)  # slower than any voice should go: it stops at SLOWEST
    assert max(tried) == SLOWEST
