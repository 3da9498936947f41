"""How long a take is, read from its container before any of it is decoded.

Decoding an hour of Opus takes more than a gigabyte and half a minute; its length is in a few
bytes: the granule position of an Ogg file's last page, the timecodes of a WebM file's last
cluster, an M4A file's movie header, a WAV file's data size. Only when those cannot be read is
ffmpeg asked, copying the packets without decoding them, and for a bounded time.
"""

from __future__ import annotations

import re
import struct
import subprocess

from ivr.audio.build import ffmpeg
from ivr.audio.build.wav import WavError, read_header

OPUS_RATE = 48000  # Opus counts every granule at 48 kHz, whatever it was recorded at
PROBE_SECONDS = 20  # ffmpeg's time to read a take's packets, far more than any prompt's needs
_CLUSTER = b"\x1f\x43\xb6\x75"
_TIMECODE = 0xE7
_SIMPLE_BLOCK = 0xA3
_BLOCK_GROUP = 0xA0
_BLOCK = 0xA1
_TIMECODE_SCALE = b"\x2a\xd7\xb1"
_DEFAULT_SCALE = 1_000_000  # nanoseconds per timecode unit


def take_seconds(kind: str, data: bytes) -> float | None:
    """The take's length in seconds; `kind` is its container: webm, ogg, m4a or wav."""
    seconds = container_seconds(kind, data)
    return seconds if seconds is not None else _probe(data)


def container_seconds(kind: str, data: bytes) -> float | None:
    """The length its container gives, or None when it gives none that can be read."""
    readers = {"webm": _webm, "ogg": _ogg, "m4a": _mp4, "wav": _wav}
    try:
        return readers[kind](data) if kind in readers else None
    except (IndexError, ValueError, StopIteration, struct.error):
        return None


def _ogg(data: bytes) -> float | None:
    """The last page's granule position: samples at 48 kHz for Opus, less its pre-skip."""
    last = data.rfind(b"OggS")
    if last < 0 or last + 14 > len(data):
        return None
    granule: int = struct.unpack_from("<q", data, last + 6)[0]
    head = data.find(b"OpusHead")
    if head >= 0:
        pre_skip: int = struct.unpack_from("<H", data, head + 10)[0]
        return max(granule - pre_skip, 0) / OPUS_RATE
    vorbis = data.find(b"\x01vorbis")
    if vorbis >= 0:
        rate: int = struct.unpack_from("<I", data, vorbis + 12)[0]
        return granule / rate if rate else None
    return None


def _webm(data: bytes) -> float | None:
    """The last cluster's timecode and the latest block in it (browsers write no Duration)."""
    scale = _DEFAULT_SCALE
    at = data.find(_TIMECODE_SCALE)
    if 0 <= at < 4096:
        size, width = _vint(data, at + 3)
        scale = int.from_bytes(data[at + 3 + width : at + 3 + width + size], "big") or scale
    start = data.rfind(_CLUSTER)
    while start >= 0:
        found = _cluster_end(data, start + 4)
        if found is not None:
            return found * scale / 1e9
        start = data.rfind(_CLUSTER, 0, start)  # four bytes of audio that looked like one
    return None


def _cluster_end(data: bytes, at: int) -> int | None:
    """The timecode of the last block of the cluster whose size starts at `at`."""
    size, width = _vint(data, at)
    at += width
    end = min(at + size, len(data)) if size >= 0 else len(data)
    cluster: int | None = None
    latest = 0
    while at < end:
        element, width = _element_id(data, at)
        at += width
        size, width = _vint(data, at)
        at += width
        if element == _BLOCK_GROUP:
            continue  # its Block is read as the loop goes on inside it
        if size < 0:
            return None
        body = data[at : at + size]
        if element == _TIMECODE:
            cluster = int.from_bytes(body, "big")
        elif element in (_SIMPLE_BLOCK, _BLOCK) and body:
            _, track_width = _vint(body, 0)
            latest = max(latest, struct.unpack_from(">h", body, track_width)[0])
        at += size
    return cluster + latest if cluster is not None else None


def _element_id(data: bytes, at: int) -> tuple[int, int]:
    first = data[at]
    width = 1 + next(i for i in range(4) if first & (0x80 >> i))
    return int.from_bytes(data[at : at + width], "big"), width


def _vint(data: bytes, at: int) -> tuple[int, int]:
    """An EBML size and its width in bytes; -1 for "unknown" (a live recording's)."""
    first = data[at]
    width = 1 + next(i for i in range(8) if first & (0x80 >> i))
    value = first & (0xFF >> width)
    for byte in data[at + 1 : at + width]:
        value = value << 8 | byte
    return (-1 if value == (1 << (7 * width)) - 1 else value), width


def _mp4(data: bytes) -> float | None:
    """The movie header's duration; a fragmented file's is in its movie extends header."""
    header = data.find(b"mvhd")
    if header < 0:
        return None
    version = data[header + 4]
    if version == 1:
        timescale, duration = struct.unpack_from(">IQ", data, header + 24)
    else:
        timescale, duration = struct.unpack_from(">II", data, header + 16)
    extends = data.find(b"mehd")
    if not duration and extends >= 0:
        wide = data[extends + 4] == 1
        duration = struct.unpack_from(">Q" if wide else ">I", data, extends + 8)[0]
    return duration / timescale if duration and timescale else None


def _wav(data: bytes) -> float | None:
    try:
        header = read_header(data)
    except WavError:
        return None
    rate = header.sample_rate * header.block_align
    return min(header.data_size, len(data) - header.data_offset) / rate if rate else None


_OUT_TIME = re.compile(rb"out_time_us=(\d+)")


def _probe(data: bytes) -> float | None:
    """ffmpeg reads the packets without decoding them; None if it cannot, or takes too long."""
    try:
        process = subprocess.run(
            [
                ffmpeg.executable(),
                *("-hide_banner", "-nostats", "-i", "pipe:0", "-map", "0:a:0", "-c", "copy"),
                *("-f", "null", "-progress", "pipe:1", "-"),
            ],
            input=data,
            capture_output=True,
            timeout=PROBE_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    times = _OUT_TIME.findall(process.stdout)
    return int(times[-1]) / 1e6 if process.returncode == 0 and times else None
