"""The committed recordings in audio/: telephone-ready, as the manifest says, and up to date."""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from pathlib import Path

import pytest

from ivr.menu.document import fingerprint
from ivr.menu.load import load_line

ROOT = Path(__file__).resolve().parents[1]
AUDIO = ROOT / "audio"
MANIFEST = AUDIO / "manifest.json"
MULAW_TOP = 32124  # the largest magnitude mu-law holds: a sample there may have been clipped


@dataclass(frozen=True)
class Wav:
    format_tag: int
    channels: int
    sample_rate: int
    bits: int
    data: bytes

    @property
    def duration(self) -> float:
        return len(self.data) / (self.channels * self.bits // 8) / self.sample_rate


def parse_wav(raw: bytes) -> Wav:
    """The fmt and data chunks of a WAV file, read here rather than trusted to a library."""
    assert raw[:4] == b"RIFF" and raw[8:12] == b"WAVE", "not a RIFF WAVE file"
    assert struct.unpack_from("<I", raw, 4)[0] == len(raw) - 8, "RIFF size is wrong"
    fmt = None
    pos = 12
    while pos + 8 <= len(raw):
        chunk, size = raw[pos : pos + 4], struct.unpack_from("<I", raw, pos + 4)[0]
        if chunk == b"fmt ":
            fmt = struct.unpack_from("<HHIIHH", raw, pos + 8)
        elif chunk == b"data":
            assert fmt is not None, "data before fmt"
            assert len(raw) - (pos + 8 + size) in (0, size & 1), "data size is wrong"
            tag, channels, rate, _, _, bits = fmt
            return Wav(tag, channels, rate, bits, raw[pos + 8 : pos + 8 + size])
        pos += 8 + size + (size & 1)
    raise AssertionError("no data chunk")


def mulaw_samples(data: bytes) -> list[int]:
    """G.711 mu-law to 16-bit linear (Python's wave module cannot read mu-law)."""
    samples = []
    for byte in data:
        code = ~byte & 0xFF
        magnitude = ((((code & 0x0F) << 3) + 0x84) << ((code >> 4) & 0x07)) - 0x84
        samples.append(-magnitude if code & 0x80 else magnitude)
    return samples


def check_telephone_wav(raw: bytes) -> Wav:
    """8 kHz mono 8-bit mu-law, with no sample at the top of mu-law's range."""
    wav = parse_wav(raw)
    assert (wav.format_tag, wav.channels, wav.sample_rate, wav.bits) == (7, 1, 8000, 8)
    clipped = sum(1 for s in mulaw_samples(wav.data) if abs(s) >= MULAW_TOP)
    assert clipped == 0, f"{clipped} clipped samples"
    return wav


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


def test_manifest_matches_the_prompts() -> None:
    line = load_line(ROOT / "prompts")
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
