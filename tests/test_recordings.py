"""The committed recordings in audio/: telephone-ready, as the manifest says, and up to date."""

from __future__ import annotations

import hashlib
import json

import pytest

from ivr.menu.document import fingerprint
from ivr.menu.model import PhoneLine
from tests.audio_files import check_telephone_wav
from tests.helpers import ROOT

AUDIO = ROOT / "audio"
MANIFEST = AUDIO / "manifest.json"


def _manifest() -> dict:
    return json.loads(MANIFEST.read_text(encoding="utf-8")) if MANIFEST.exists() else {}


RECORDINGS = _manifest().get("recordings", {})


def test_manifest_is_there() -> None:
    assert MANIFEST.exists(), "audio/manifest.json is missing; run `ivr audio build`"
    manifest = _manifest()
    assert manifest["version"] == 1
    assert manifest["format"] == {"codec": "pcm_mulaw", "sample_rate": 8000, "channels": 1}
    assert manifest["target_lufs"] == -20.0


@pytest.mark.parametrize("key", sorted(RECORDINGS))
def test_recording(key: str) -> None:
    from ivr.audio.build.loudness import measure  # needs the dev extra's pydub and imageio-ffmpeg

    entry = RECORDINGS[key]
    assert entry["file"] == f"{key}.wav"
    raw = (AUDIO / entry["file"]).read_bytes()
    assert hashlib.sha256(raw).hexdigest() == entry["sha256"], "rebuild: the file changed"
    assert len(raw) == entry["bytes"]
    wav = check_telephone_wav(raw)
    assert wav.duration > 0.3
    assert abs(wav.duration - entry["duration"]) <= 0.05
    measured = measure(AUDIO / entry["file"])
    assert abs(measured.lufs - _manifest()["target_lufs"]) <= 1.0, measured
    assert measured.clipped == 0
    assert abs(measured.lufs - entry["loudness_lufs"]) <= 0.05
    assert abs(measured.peak_dbfs - entry["peak_dbfs"]) <= 0.05


def test_manifest_matches_the_prompts(line: PhoneLine) -> None:
    stale, missing, unknown = [], [], set(RECORDINGS)
    for language in line.languages.values():
        for prompt in language.prompts.values():
            key = f"{language.id}/{prompt.id}"
            unknown.discard(key)
            entry = RECORDINGS.get(key)
            if entry is None:
                if language.placeholder_tts != "none":
                    missing.append(key)
            elif entry["text_fingerprint"] != fingerprint(prompt.text):
                stale.append(key)
            elif entry["text"] != prompt.text:
                stale.append(f"{key} (text)")
    problems = {"stale": stale, "missing": missing, "of no prompt": sorted(unknown)}
    assert not any(problems.values()), f"run `ivr audio build`: {problems}"


def test_no_stray_recordings() -> None:
    made = {entry["file"] for entry in RECORDINGS.values()}
    on_disk = {
        path.relative_to(AUDIO).as_posix()
        for path in AUDIO.glob("*/*.wav")
        if path.parent.name != "sources"
    }
    assert on_disk == made
