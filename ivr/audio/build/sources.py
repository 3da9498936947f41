"""Human recordings that staff drop in audio/sources/<lang>/<prompt_id>.<ext>."""

from __future__ import annotations

from pathlib import Path

from pydub.exceptions import CouldntDecodeError

from ivr.audio.build import ffmpeg
from ivr.audio.build.ffmpeg import AudioSegment
from ivr.audio.build.wav import WavError, read_header
from ivr.errors import ConfigError

EXTENSIONS = ("wav", "mp3", "m4a", "ogg", "flac")
# The take a newer one replaced, kept beside it by `ivr studio`: <prompt id>.previous.<ext>.
BACKUP = ".previous"
_REEXPORT = "export it again as WAV, MP3, M4A, OGG or FLAC, or remove it"


def find_sources(folder: Path, prompt_ids: set[str]) -> tuple[dict[str, Path], list[str]]:
    """Map prompt id -> recording in `folder`; and warnings about files that fit no prompt."""
    found: dict[str, Path] = {}
    warnings: list[str] = []
    if not folder.is_dir():
        return found, warnings
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        stem, _, ext = path.name.rpartition(".")
        if is_backup(stem, prompt_ids):
            continue
        if ext.lower() not in EXTENSIONS:
            warnings.append(f"{path}: not a recording this build reads; {_REEXPORT}")
        elif stem not in prompt_ids:
            warnings.append(
                f"{path}: no prompt is called {stem!r}; name the file after a prompt id, "
                f"like {folder / 'greeting.m4a'}"
            )
        elif stem in found:
            raise ConfigError(
                path, None, f"{found[stem].name} records the same prompt; keep only one of them"
            )
        else:
            found[stem] = path
    return found, warnings


def is_backup(stem: str, prompt_ids: set[str]) -> bool:
    """A replaced take, kept until the next one: never built, and no stray file either."""
    return stem.endswith(BACKUP) and stem not in prompt_ids and stem[: -len(BACKUP)] in prompt_ids


def decoder(path: Path, data: bytes) -> tuple[str, str]:
    """The format and codec to give pydub: without ffprobe it cannot find them out itself."""
    ext = path.suffix.lower().lstrip(".")
    if ext == "wav":
        try:
            codec = read_header(data).ffmpeg_codec
        except WavError as error:
            raise ConfigError(path, None, f"unreadable WAV ({error}); {_REEXPORT}") from None
        if codec is None:
            raise ConfigError(path, None, f"a WAV encoding this build cannot read; {_REEXPORT}")
        return "wav", codec
    if ext == "ogg":
        # Ogg holds Vorbis or, from phones and messaging apps, Opus.
        return "ogg", "libopus" if b"OpusHead" in data[:512] else "libvorbis"
    if ext == "m4a":
        return "mp4", _mp4_codec(data)
    return ext, ext  # mp3 and flac: the format and decoder share the name


def _mp4_codec(data: bytes) -> str:
    # The first sample entry after "stsd" names the codec: mp4a (AAC) or alac (Apple Lossless).
    at = data.find(b"stsd")
    if at >= 0 and data[at + 16 : at + 20] == b"alac":
        return "alac"
    return "aac"


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise ConfigError(path, None, f"cannot read it ({error.strerror})") from None


def read_source(path: Path, data: bytes) -> AudioSegment:
    """Decode the human recording at `path`, whose bytes are `data`."""
    format_, codec = decoder(path, data)
    ffmpeg.executable()  # points pydub at imageio-ffmpeg's binary
    try:
        segment = AudioSegment.from_file(path, format=format_, codec=codec)
    except (CouldntDecodeError, OSError, IndexError) as error:
        last = [line for line in str(error).splitlines() if line.strip()][-1:] or ["no audio"]
        raise ConfigError(
            path, None, f"cannot decode it as {format_}/{codec} ({last[0].strip()}); {_REEXPORT}"
        ) from None
    if len(segment) == 0:
        raise ConfigError(path, None, f"holds no audio; {_REEXPORT}")
    return segment
