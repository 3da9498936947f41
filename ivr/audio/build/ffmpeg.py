"""The ffmpeg binary from imageio-ffmpeg, and pydub pointed at it.

imageio-ffmpeg ships ffmpeg without ffprobe, so every pydub read must name its format and codec.
"""

from __future__ import annotations

import functools
import subprocess
import warnings

import imageio_ffmpeg

with warnings.catch_warnings():
    # pydub warns at import when no ffmpeg is on PATH (we set its converter just below), and
    # Python 3.11-3.12 warn that pydub's audioop is deprecated; neither concerns the user.
    warnings.simplefilter("ignore")
    from pydub import AudioSegment as AudioSegment  # re-exported: ffmpeg set up before use

# Flags that keep encoder versions and metadata out of the output, so bytes repeat run to run.
BITEXACT = ["-fflags", "+bitexact", "-flags:a", "+bitexact", "-map_metadata", "-1"]
RAW_FORMATS = {1: "s8", 2: "s16le", 4: "s32le"}


class FfmpegError(RuntimeError):
    """ffmpeg failed; `detail` is the end of what it said."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"ffmpeg failed: {detail}")


@functools.cache
def executable() -> str:
    """The ffmpeg binary; pydub decodes with it from the first call on."""
    path: str = imageio_ffmpeg.get_ffmpeg_exe()
    AudioSegment.converter = path
    return path


def run(args: list[str], stdin: bytes | None = None) -> tuple[bytes, str]:
    """Run ffmpeg with `args`, feeding it `stdin`; return its stdout and its log."""
    process = subprocess.run(
        [executable(), "-hide_banner", "-nostats", *args],
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        check=False,
    )
    log = process.stderr.decode("utf-8", errors="replace")
    if process.returncode != 0:
        lines = [line for line in log.splitlines() if line.strip()]
        raise FfmpegError(" / ".join(lines[-3:]) or f"exit status {process.returncode}")
    return process.stdout, log


def raw_input_args(segment: AudioSegment) -> list[str]:
    """ffmpeg input options for `segment.raw_data` piped on stdin."""
    return [
        "-f",
        RAW_FORMATS[segment.sample_width],
        "-ar",
        str(segment.frame_rate),
        "-ac",
        str(segment.channels),
        "-i",
        "pipe:0",
    ]


def segment_from_raw(data: bytes, sample_rate: int, channels: int = 1) -> AudioSegment:
    """An AudioSegment of 16-bit samples as ffmpeg writes them with `-f s16le`."""
    return AudioSegment(data=data, sample_width=2, frame_rate=sample_rate, channels=channels)
