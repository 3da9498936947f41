"""audio/manifest.json: what each recording is. The one reader and writer, for server and build.

The layout is a contract between `ivr audio build` (or a human recording) and the server; see
audio/README.md. Written deterministically (sorted keys, no timestamps), so an unchanged build
leaves the file byte for byte the same.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivr.errors import ConfigError
from ivr.menu.yaml_file import read_text

NAME = "manifest.json"
VERSION = 1
MAX_BYTES = 8 * 1024 * 1024  # some 20,000 recordings
SAMPLE_RATE = 8000  # what the telephone network carries (G.711)
TARGET_LUFS = -20.0
FORMAT = {"codec": "pcm_mulaw", "sample_rate": SAMPLE_RATE, "channels": 1}
# What the server relies on in each recording's entry.
_FIELDS: dict[str, type | tuple[type, ...]] = {
    "file": str,
    "sha256": str,
    "duration": (int, float),
    "text": str,
    "source": str,
}
_REBUILD = "delete it and run `ivr audio build --force`"

Entry = dict[str, Any]


@dataclass(frozen=True)
class Manifest:
    """The recordings by "<lang>/<prompt id>", and what each human source was recorded for."""

    recordings: dict[str, Entry] = field(default_factory=dict)
    sources: dict[str, Entry] = field(default_factory=dict)


def read_manifest(audio_dir: Path) -> Manifest:
    """The manifest, empty if there is none; ConfigError, with its line, when it is not valid."""
    path = audio_dir / NAME
    if not path.exists():
        return Manifest()
    try:
        data = json.loads(read_text(path, max_bytes=MAX_BYTES))
    except json.JSONDecodeError as error:
        raise ConfigError(path, error.lineno, f"not valid JSON: {error.msg}; {_REBUILD}") from None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise ConfigError(path, None, f"not a version {VERSION} manifest; {_REBUILD}")
    recordings, sources = data.get("recordings", {}), data.get("sources", {})
    if not isinstance(recordings, dict) or not isinstance(sources, dict):
        raise ConfigError(path, None, f"'recordings' and 'sources' must be mappings; {_REBUILD}")
    for key, entry in recordings.items():
        given = entry if isinstance(entry, dict) else {}
        bad = [f for f, kind in _FIELDS.items() if not isinstance(given.get(f), kind)]
        if bad:
            raise ConfigError(path, None, f"recording {key!r} lacks {bad}; {_REBUILD}")
    return Manifest(dict(recordings), dict(sources))


def render(manifest: Manifest) -> bytes:
    data: dict[str, Any] = {
        "version": VERSION,
        "format": FORMAT,
        "target_lufs": TARGET_LUFS,
        "recordings": manifest.recordings,
    }
    if manifest.sources:
        # What each human recording says: the prompt's text when the file was last replaced.
        # It outlives a change of the text, so that old words are never passed off as new.
        data["sources"] = manifest.sources
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()


def write_manifest(audio_dir: Path, manifest: Manifest) -> None:
    path = audio_dir / NAME
    data = render(manifest)
    if not path.exists() or path.read_bytes() != data:
        write_atomically(path, data)


def write_atomically(path: Path, data: bytes) -> None:
    """Readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; the server may run as another user
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
