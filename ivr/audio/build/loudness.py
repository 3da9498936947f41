"""Loudness and peak meter for any WAV file, mu-law included.

Loudness is ITU-R BS.1770 integrated loudness from ffmpeg's ebur128 filter. The filter runs at
48 kHz: its K-weighting is designed for that rate and reads telephone-rate audio up to 0.5 LU
off near 4 kHz, and upsampling band-limited audio leaves its loudness unchanged.
"""

from __future__ import annotations

import math
import re
import sys
from array import array
from dataclasses import dataclass
from pathlib import Path

from ivr.audio.build import ffmpeg
from ivr.audio.build.wav import WavError, read_header

FULL_SCALE = 32768
# The largest magnitude G.711 mu-law can hold, as ffmpeg decodes it (-0.17 dBFS). A sample
# there may have been clipped; a 16-bit sample there is within 0.2 dB of full scale.
MULAW_TOP = 32124
SILENT_LUFS = -70.0  # what ebur128 reports when nothing passes its gate
_LOUDNESS = re.compile(r"lavfi\.r128\.I=(-?[\d.]+|-?inf|nan)")
_SUMMARY = re.compile(r"^\s*I:\s*(-?[\d.]+|-?inf|nan) LUFS", re.MULTILINE)


@dataclass(frozen=True)
class Measurement:
    lufs: float  # integrated loudness
    peak_dbfs: float  # highest sample, -inf for digital silence
    clipped: int  # samples at MULAW_TOP or beyond
    frames: int
    sample_rate: int
    channels: int

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate


def measure(wav: Path | bytes) -> Measurement:
    """Measure a WAV file (a path, or its bytes) in any encoding ffmpeg decodes."""
    data = wav.read_bytes() if isinstance(wav, Path) else wav
    try:
        header = read_header(data)
    except WavError as error:
        raise ValueError(f"{wav if isinstance(wav, Path) else 'data'}: {error}") from None
    codec = header.ffmpeg_codec
    if codec is None:
        raise ValueError(f"unsupported WAV encoding (format tag {header.format_tag})")
    args = ["-f", "wav", "-c:a", codec, "-i", "pipe:0"]
    return _analyze(args, data, header.sample_rate, header.channels)


def measure_raw(pcm: bytes, sample_rate: int, sample_width: int = 2) -> Measurement:
    """Measure mono little-endian PCM samples (as pydub holds them)."""
    args = [
        "-f",
        ffmpeg.RAW_FORMATS[sample_width],
        "-ar",
        str(sample_rate),
        "-ac",
        "1",
        "-i",
        "pipe:0",
    ]
    return _analyze(args, pcm, sample_rate, 1)


def _analyze(input_args: list[str], data: bytes, sample_rate: int, channels: int) -> Measurement:
    # One pass: the decoded samples come out on stdout, the loudness in the log.
    graph = (
        "[0:a]asplit=2[samples][meter];"
        "[meter]aresample=48000,ebur128=metadata=1:framelog=quiet,"
        "ametadata=mode=print:key=lavfi.r128.I,anullsink"
    )
    out, log = ffmpeg.run(
        [
            "-v",
            "info",
            *input_args,
            "-filter_complex",
            graph,
            "-map",
            "[samples]",
            "-f",
            "s16le",
            "-c:a",
            "pcm_s16le",
            "pipe:1",
        ],
        stdin=data,
    )
    samples = array("h")
    samples.frombytes(out[: len(out) - len(out) % 2])
    if sys.byteorder == "big":
        samples.byteswap()
    peak = max(max(samples, default=0), -min(samples, default=0))
    clipped = sum(1 for s in samples if s >= MULAW_TOP or s <= -MULAW_TOP)
    return Measurement(
        lufs=_integrated(log),
        peak_dbfs=20 * math.log10(peak / FULL_SCALE) if peak else -math.inf,
        clipped=clipped,
        frames=len(samples) // channels,
        sample_rate=sample_rate,
        channels=channels,
    )


def _integrated(log: str) -> float:
    """The last running value is the whole clip's (to 3 decimals; the summary gives 1)."""
    values = _LOUDNESS.findall(log) or _SUMMARY.findall(log)
    if not values:
        return SILENT_LUFS  # shorter than one 400 ms block
    value = float(values[-1])
    return value if math.isfinite(value) and value > SILENT_LUFS else SILENT_LUFS
