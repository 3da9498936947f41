"""A take from the browser's microphone: the file it is kept as, and how it would sound.

A take is judged and heard through the very code `ivr audio build` uses on a human recording:
sources.read_source to decode it, process.telephone_wav to make it telephone-ready.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivr.audio.build import ffmpeg
from ivr.audio.build.ffmpeg import AudioSegment, FfmpegError
from ivr.audio.build.loudness import SILENT_LUFS, measure_raw
from ivr.audio.build.process import PAD_MS, TRIM_FLOOR_DBFS, ProcessingError, telephone_wav
from ivr.audio.build.sources import read_source
from ivr.audio.manifest import TARGET_LUFS
from ivr.audio.pace import limit_for, words_a_minute
from ivr.errors import ConfigError
from ivr.menu.words import speaking_seconds
from ivr.tools.studio.take_length import take_seconds

MAX_BYTES = 50 * 1024 * 1024  # some half an hour of Opus: far longer than any prompt
MAX_SECONDS = 180  # a prompt takes seconds; a take this long was left running
CLIPPED_DBFS = -0.1  # a peak this close to full scale has been cut off
QUIET_LUFS = -42.0  # over 20 dB below the line's loudness: the build would raise the noise too
SHORTER, LONGER = 0.6, 1.7  # against what the words need: "much shorter" and "much longer"

# The browser's type for a take -> the extension it is kept with. Chromium records WebM, which
# the build does not read: its Opus audio is moved, unchanged, into an Ogg file, which it does.
KEPT_AS = {
    "audio/webm": "ogg",
    "audio/ogg": "ogg",
    "audio/mp4": "m4a",
    "audio/x-m4a": "m4a",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
}


class TakeError(ValueError):
    """The take cannot be used; the message says why, in words for staff."""


@dataclass(frozen=True)
class Take:
    """A take as it is kept: a file the build reads, in audio/sources/<lang>/."""

    ext: str
    data: bytes


@dataclass(frozen=True)
class Verdict:
    """What the page shows before a take is kept."""

    warnings: list[str] = field(default_factory=list)
    usable: bool = True  # False: the build would refuse it (silent, undecodable)
    telephone: bytes | None = None  # as a caller hears it: 8 kHz mu-law WAV
    measurements: dict[str, float | None] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"warnings": self.warnings, "usable": self.usable, **self.measurements}


def take_from_upload(content_type: str, data: bytes) -> Take:
    """The file a take sent by the browser is kept as."""
    kind = content_type.split(";")[0].strip().lower()
    ext = KEPT_AS.get(kind)
    if ext is None:
        raise TakeError(f"a take sent as {kind or 'no type'} cannot be kept; record it again")
    if not data:
        raise TakeError("the take is empty: nothing was recorded; record it again")
    # Its length first, from the container: decoding an hour would take a gigabyte.
    seconds = take_seconds("webm" if kind.endswith("/webm") else ext, data)
    if seconds is None:
        raise TakeError("its length could not be read, so it was not opened; record it again")
    if seconds > MAX_SECONDS:
        raise TakeError(
            f"it is {int(seconds // 60)} min {int(seconds % 60)} s long, and a take over "
            f"{MAX_SECONDS // 60} minutes is not opened: a prompt takes seconds. Was Stop "
            "missed? Record it again"
        )
    if kind.endswith("/webm"):
        data = _webm_to_ogg(data)
    return Take(ext, data)


def _webm_to_ogg(data: bytes) -> bytes:
    try:
        out, _ = ffmpeg.run(
            [
                *("-f", "webm", "-i", "pipe:0", "-map", "0:a:0", "-c:a", "copy"),
                *ffmpeg.BITEXACT,
                *("-f", "ogg", "pipe:1"),
            ],
            stdin=data,
        )
    except FfmpegError as error:
        raise TakeError(f"the take could not be read ({error.detail}); record it again") from None
    return out


def decode(take: Take) -> AudioSegment:
    """The take's audio, decoded as the build decodes a human recording."""
    with tempfile.TemporaryDirectory(prefix="ivr-take-") as folder:
        path = Path(folder) / f"take.{take.ext}"
        path.write_bytes(take.data)
        try:
            return read_source(path, take.data)
        except ConfigError as error:
            raise TakeError(f"the take could not be read: {error.message}") from None


def judge(
    take: Take, text: str, placeholder_duration: float | None, prompt_id: str = ""
) -> Verdict:
    """Warnings about the take, its measurements, and how a caller would hear it."""
    segment = decode(take)
    mono = segment.set_channels(1)
    peak = segment.max_dBFS
    loudness = (
        measure_raw(mono.raw_data, mono.frame_rate, mono.sample_width).lufs
        if peak > -math.inf
        else SILENT_LUFS
    )
    measurements: dict[str, float | None] = {
        "take_seconds": round(len(segment) / 1000, 2),
        "peak_dbfs": round(peak, 1) if math.isfinite(peak) else None,
        "loudness_lufs": round(loudness, 1),
    }
    warnings: list[str] = []
    if peak <= TRIM_FLOOR_DBFS:
        warnings.append(
            "Silent: nothing louder than the room was heard. Check that the right microphone is "
            "chosen and not muted, then record it again."
        )
        return Verdict(warnings, usable=False, measurements=measurements)
    if peak >= CLIPPED_DBFS:
        warnings.append(
            f"Clipped: the loudest sounds reach the top of the meter ({peak:.1f} dBFS) and are "
            "cut off, which no processing can undo. Move back a little or lower the input "
            "level, then record it again."
        )
    if loudness < QUIET_LUFS:
        warnings.append(
            f"Too quiet: {loudness:.0f} LUFS, {TARGET_LUFS - loudness:.0f} dB under the line's "
            f"level ({TARGET_LUFS:.0f} LUFS); making it loud enough would make the room's noise "
            "as loud. Move closer to the microphone or raise its input level, then record it "
            "again."
        )
    try:
        telephone = telephone_wav(segment)
    except ProcessingError as error:
        warnings.append(f"Unusable: {error}.")
        return Verdict(warnings, usable=False, measurements=measurements)
    except FfmpegError as error:
        raise TakeError(f"the take could not be processed ({error.detail})") from None
    heard = telephone.measurement
    measurements |= {
        "telephone_seconds": round(heard.duration, 2),
        "telephone_lufs": round(heard.lufs, 1),
        "telephone_peak_dbfs": round(heard.peak_dbfs, 1),
    }
    length = _length_warning(heard.duration, text, placeholder_duration)
    if length:
        warnings.append(length)
    pace, limit = words_a_minute(text, heard.duration), limit_for(prompt_id)
    measurements |= {"words_a_minute": round(pace), "pace_limit": limit}
    if round(pace) > limit:
        warnings.append(
            f"Fast: {pace:.0f} words a minute, where a caller can follow at most {limit:.0f}. "
            "Record it again more slowly, with a short pause after each sentence."
        )
    return Verdict(warnings, True, telephone.wav, measurements)


def _length_warning(seconds: float, text: str, placeholder_duration: float | None) -> str | None:
    """Much shorter or longer than the words need, judged against the placeholder or the pace."""
    pad = 2 * PAD_MS / 1000  # every recording, the take and the placeholder, has these
    if placeholder_duration:
        needed = placeholder_duration
        basis = f"the synthetic placeholder takes {needed:.1f} s"
    else:
        words = len(text.split())
        needed = speaking_seconds(text) + pad
        basis = f"{words} words at a normal pace take about {needed:.1f} s"
    ratio = (seconds - pad) / max(needed - pad, 0.1)
    if ratio < SHORTER:
        return (
            f"Much shorter than the words need: {seconds:.1f} s, where {basis}. "
            "Were words left out, or did the take stop early?"
        )
    if ratio > LONGER:
        return (
            f"Much longer than the words need: {seconds:.1f} s, where {basis}. "
            "Were there long pauses or extra words?"
        )
    return None
