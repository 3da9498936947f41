"""WAV files for tests: small recordings made by hand, for tests that must not depend on the
audio pipeline, and a reader that checks what the pipeline made."""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from pathlib import Path

from ivr.menu.document import fingerprint

MULAW_TOP = 32124  # the largest magnitude mu-law holds: a sample there may have been clipped


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
