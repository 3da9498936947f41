"""Small recordings made by hand, for tests that must not depend on the audio pipeline."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

from ivr.menu.document import fingerprint


def mulaw_wav(seconds: float, level: int = 0x7F) -> bytes:
    """A minimal 8 kHz mono mu-law WAV file."""
    data = bytes([level]) * int(8000 * seconds)
    fmt = struct.pack("<HHIIHH", 7, 1, 8000, 8000, 1, 8)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def write_audio_dir(audio: Path, entries: dict[str, tuple[str, bytes | None]]) -> dict:
    """entries: prompt key -> (text it was recorded from, wav bytes or None for a lost file)."""
    recordings = {}
    for key, (text, data) in entries.items():
        file = f"{key}.wav"
        wav = data if data is not None else mulaw_wav(1.0)
        if data is not None:
            (audio / file).parent.mkdir(parents=True, exist_ok=True)
            (audio / file).write_bytes(wav)
        recordings[key] = {
            "file": file,
            "sha256": hashlib.sha256(wav).hexdigest(),
            "bytes": len(wav),
            "duration": (len(wav) - 44) / 8000,
            "text": text,
            "text_fingerprint": fingerprint(text),
            "source": "synthetic",
        }
    audio.mkdir(parents=True, exist_ok=True)
    (audio / "manifest.json").write_text(json.dumps({"version": 1, "recordings": recordings}))
    return recordings
