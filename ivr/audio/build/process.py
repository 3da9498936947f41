"""Turning any recording into a telephone-ready one: mono, trimmed, 8 kHz, -20 LUFS, mu-law."""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pydub.silence import detect_leading_silence

from ivr.audio.build import ffmpeg
from ivr.audio.build.ffmpeg import AudioSegment
from ivr.audio.build.loudness import SILENT_LUFS, Measurement, measure, measure_raw
from ivr.audio.manifest import SAMPLE_RATE, TARGET_LUFS

TRIM_BELOW_PEAK_DB = 45.0  # quieter than this under the clip's peak counts as silence...
TRIM_FLOOR_DBFS = -60.0  # ...but never below this, or a quiet recording's hiss would count
TRIM_CHUNK_MS = 10
PAD_MS = 150  # the silence every recording starts and ends with, whatever its source had
PEAK_CEILING_DBFS = -1.0  # room for mu-law's coarse top steps (up to 0.3 dB) below full scale
# The resampler's own low-pass passes speech up to 3.6 kHz and holds back what would alias.
RESAMPLE = f"aresample={SAMPLE_RATE}:cutoff=0.9"
LIMIT = (
    f"alimiter=limit={10 ** (PEAK_CEILING_DBFS / 20):.6f}"
    ":attack=5:release=50:level=false:latency=true"
)
LOUDNESS_AIM = 0.1  # LU; re-normalizing after a limiter stops once this close
MAX_PASSES = 4
_REVISION = 1  # raise when the code below changes what it makes: every recording is rebuilt

# Part of every recording's source fingerprint, so a change of settings rebuilds them all.
PROCESSING = (
    f"r{_REVISION} mono trim(peak-{TRIM_BELOW_PEAK_DB:g},floor{TRIM_FLOOR_DBFS:g},"
    f"{TRIM_CHUNK_MS}ms) pad{PAD_MS}ms {RESAMPLE} {TARGET_LUFS:g}LUFS "
    f"ceiling{PEAK_CEILING_DBFS:g}dBFS {LIMIT} pcm_mulaw"
)


class ProcessingError(ValueError):
    """The audio cannot be made into a recording; the message says why, for the user."""


@dataclass(frozen=True)
class Telephone:
    wav: bytes  # a complete 8 kHz mono mu-law WAV file
    measurement: Measurement


def telephone_wav(segment: AudioSegment) -> Telephone:
    """The full processing chain; the same input always gives the same bytes."""
    trimmed = trim(segment.set_channels(1))
    return normalize(resample(trimmed))


def trim(segment: AudioSegment) -> AudioSegment:
    """Cut leading and trailing silence, then pad both ends with exactly PAD_MS of it."""
    peak = segment.max_dBFS
    threshold = max(peak - TRIM_BELOW_PEAK_DB, TRIM_FLOOR_DBFS)
    if peak <= threshold:
        level = "it is silent" if peak == -math.inf else f"its peak is only {peak:.0f} dBFS"
        raise ProcessingError(f"{level}; record it again, closer to the microphone")
    start = detect_leading_silence(segment, silence_threshold=threshold, chunk_size=TRIM_CHUNK_MS)
    tail = detect_leading_silence(
        segment.reverse(), silence_threshold=threshold, chunk_size=TRIM_CHUNK_MS
    )
    pad = AudioSegment.silent(PAD_MS, frame_rate=segment.frame_rate)
    return pad + segment[start : len(segment) - tail] + pad


def resample(segment: AudioSegment) -> AudioSegment:
    """To 8 kHz through ffmpeg, whose resampler low-passes first (pydub's would alias)."""
    out, _ = ffmpeg.run(
        [
            *ffmpeg.raw_input_args(segment),
            "-af",
            RESAMPLE,
            *("-f", "s16le", "-c:a", "pcm_s16le", "pipe:1"),
        ],
        stdin=segment.raw_data,
    )
    return ffmpeg.segment_from_raw(out, SAMPLE_RATE)


def normalize(pcm: AudioSegment) -> Telephone:
    """Bring 8 kHz mono audio to TARGET_LUFS without clipping, and encode it as mu-law."""
    loudness = measure_raw(pcm.raw_data, SAMPLE_RATE, pcm.sample_width).lufs
    if loudness <= SILENT_LUFS:
        raise ProcessingError("it is too short or too quiet to measure its loudness")
    gain = TARGET_LUFS - loudness
    best: Telephone | None = None
    for _ in range(MAX_PASSES):
        wav = encode(_louder(pcm, gain))
        result = Telephone(wav, measure(wav))
        off = TARGET_LUFS - result.measurement.lufs
        safe = result.measurement.clipped == 0
        if safe and (best is None or abs(off) < abs(TARGET_LUFS - best.measurement.lufs)):
            best = result
        if safe and abs(off) <= LOUDNESS_AIM:
            break
        # A limiter lowers loudness as it lowers peaks: ask for the difference again.
        gain += off
    if best is None:
        raise ProcessingError("it cannot reach the target loudness without clipping")
    return best


def _louder(pcm: AudioSegment, gain_db: float) -> AudioSegment:
    if pcm.max_dBFS + gain_db <= PEAK_CEILING_DBFS:
        return pcm.apply_gain(gain_db)
    # The gain alone would clip: apply it in floating point and limit the peaks.
    out, _ = ffmpeg.run(
        [
            *ffmpeg.raw_input_args(pcm),
            "-af",
            f"volume={gain_db:.4f}dB:precision=double,{LIMIT}",
            *("-f", "s16le", "-c:a", "pcm_s16le", "pipe:1"),
        ],
        stdin=pcm.raw_data,
    )
    return ffmpeg.segment_from_raw(out, pcm.frame_rate)


def encode(pcm: AudioSegment) -> bytes:
    """8 kHz mono G.711 mu-law in a WAV file, with nothing in it that varies run to run."""
    with tempfile.TemporaryDirectory(prefix="ivr-audio-") as folder:
        # A file, not a pipe: the WAV muxer goes back to write the sizes into the header.
        path = Path(folder) / "out.wav"
        ffmpeg.run(
            [
                *ffmpeg.raw_input_args(pcm),
                *("-c:a", "pcm_mulaw", "-ar", str(SAMPLE_RATE), "-ac", "1"),
                *ffmpeg.BITEXACT,
                *("-f", "wav", str(path)),
            ],
            stdin=pcm.raw_data,
        )
        return path.read_bytes()
