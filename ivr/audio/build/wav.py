"""Just enough of the RIFF/WAVE header to know how a WAV file is encoded."""

from __future__ import annotations

import struct
from dataclasses import dataclass

PCM, FLOAT, ALAW, MULAW, EXTENSIBLE = 1, 3, 6, 7, 0xFFFE


class WavError(ValueError):
    pass


@dataclass(frozen=True)
class WavHeader:
    format_tag: int  # WAVE_FORMAT_EXTENSIBLE resolved to the tag of its subformat
    channels: int
    sample_rate: int
    bits_per_sample: int
    block_align: int
    data_offset: int
    data_size: int

    @property
    def ffmpeg_codec(self) -> str | None:
        """The ffmpeg decoder for these samples, or None if ffmpeg has none we trust here."""
        if self.format_tag == PCM:
            return {8: "pcm_u8", 16: "pcm_s16le", 24: "pcm_s24le", 32: "pcm_s32le"}.get(
                self.bits_per_sample
            )
        if self.format_tag == FLOAT:
            return {32: "pcm_f32le", 64: "pcm_f64le"}.get(self.bits_per_sample)
        return {ALAW: "pcm_alaw", MULAW: "pcm_mulaw"}.get(self.format_tag)


def read_header(data: bytes) -> WavHeader:
    """Parse the header of a WAV file held in `data`; raise WavError if it is not one."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise WavError("not a RIFF/WAVE file")
    fmt: tuple[int, ...] | None = None
    pos = 12
    while pos + 8 <= len(data):
        chunk_id, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        body = pos + 8
        if chunk_id == b"fmt ":
            if size < 16 or body + size > len(data):
                raise WavError("the fmt chunk is cut short")
            tag, channels, rate, _, align, bits = struct.unpack_from("<HHIIHH", data, body)
            if tag == EXTENSIBLE and size >= 40:
                tag = struct.unpack_from("<H", data, body + 24)[0]  # first bytes of the GUID
            fmt = (tag, channels, rate, bits, align)
        elif chunk_id == b"data":
            if fmt is None:
                raise WavError("the data chunk comes before the fmt chunk")
            # A WAV streamed to a pipe cannot go back to fill in its size: trust the bytes.
            available = len(data) - body
            size = available if size in (0, 0xFFFFFFFF) or size > available else size
            tag, channels, rate, bits, align = fmt
            return WavHeader(tag, channels, rate, bits, align, body, size)
        pos = body + size + (size & 1)  # chunks are padded to an even length
    raise WavError("no fmt or data chunk")
