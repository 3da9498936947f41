"""audio/manifest.json: what each recording is, for the server and for the next build.

The layout is a contract with the server; see audio/README.md. Written deterministically (sorted
keys, no timestamps), so an unchanged build leaves the file byte for byte the same.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ivr.audio.build.process import SAMPLE_RATE, TARGET_LUFS
from ivr.audio.recordings import MAX_MANIFEST_BYTES
from ivr.errors import ConfigError
from ivr.menu.yaml_file import read_text

NAME = "manifest.json"
VERSION = 1
FORMAT = {"codec": "pcm_mulaw", "sample_rate": SAMPLE_RATE, "channels": 1}

Entry = dict[str, Any]


def read_manifest(audio_dir: Path) -> tuple[dict[str, Entry], dict[str, Entry]]:
    """The recordings and the human sources recorded by the last build (empty if none)."""
    path = audio_dir / NAME
    if not path.exists():
        return {}, {}
    try:
        data = json.loads(read_text(path, max_bytes=MAX_MANIFEST_BYTES))
    except ValueError as error:
        raise ConfigError(
            path, None, f"unreadable ({error}); delete it and run `ivr audio build --force`"
        ) from None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise ConfigError(
            path, None, f"not a version {VERSION} manifest; delete it and run ivr audio build"
        )
    return dict(data.get("recordings", {})), dict(data.get("sources", {}))


def render(recordings: dict[str, Entry], sources: dict[str, Entry]) -> bytes:
    manifest: dict[str, Any] = {
        "version": VERSION,
        "format": FORMAT,
        "target_lufs": TARGET_LUFS,
        "recordings": recordings,
    }
    if sources:
        # What each human recording says: the prompt's text when the file was last replaced.
        # It outlives a change of the text, so that old words are never passed off as new.
        manifest["sources"] = sources
    return (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()


def write_manifest(
    audio_dir: Path, recordings: dict[str, Entry], sources: dict[str, Entry]
) -> None:
    path = audio_dir / NAME
    data = render(recordings, sources)
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
