"""The recordings in audio/: which prompts have a fresh one, loaded once at start-up.

A recording is fresh when its file is on disk, its bytes are the ones the manifest names, and
the text it was recorded from is the prompt's current text. Anything else is spoken with <Say>,
so a caller never hears outdated words.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

from ivr.audio.manifest import Entry, read_manifest
from ivr.menu.document import fingerprint
from ivr.menu.model import PhoneLine


@dataclass(frozen=True)
class Recording:
    file: str  # relative to audio/, e.g. "en/greeting.wav"
    data: bytes
    sha256: str
    duration: float
    text: str
    source: str  # "human" or "synthetic"
    last_modified: datetime

    @property
    def url_path(self) -> str:
        """The file's path with its content hash, so a new recording gets a new URL."""
        return f"{self.file}?v={self.sha256[:16]}"


# Why a prompt has no fresh recording.
NO_RECORDING = "no recording"
STALE = "stale"
FILE_MISSING = "file missing"
FILE_CHANGED = "file changed"


@dataclass(frozen=True)
class NotFresh:
    key: str  # "en/greeting"
    kind: str  # NO_RECORDING, STALE, FILE_MISSING or FILE_CHANGED
    why: str  # in words


@dataclass(frozen=True)
class Recordings:
    by_prompt: MappingProxyType[str, Recording]  # "en/greeting" -> fresh recording
    by_file: MappingProxyType[str, Recording]  # "en/greeting.wav" -> the same
    not_fresh: tuple[NotFresh, ...]  # for the start-up log

    def fresh(self, language: str, prompt_id: str) -> Recording | None:
        return self.by_prompt.get(f"{language}/{prompt_id}")


def load_recordings(audio_dir: Path, line: PhoneLine) -> Recordings:
    entries = read_manifest(audio_dir).recordings
    fresh: dict[str, Recording] = {}
    not_fresh: list[NotFresh] = []
    for language in line.languages.values():
        for prompt_id, prompt in language.prompts.items():
            key = f"{language.id}/{prompt_id}"
            recording, kind, why = freshness(audio_dir, entries.get(key), prompt.text)
            if recording is None:
                not_fresh.append(NotFresh(key, kind, why))
            else:
                fresh[key] = recording
    return Recordings(
        by_prompt=MappingProxyType(fresh),
        by_file=MappingProxyType({r.file: r for r in fresh.values()}),
        not_fresh=tuple(not_fresh),
    )


def check_recording(
    audio_dir: Path, entry: Entry | None, text: str
) -> tuple[Recording | None, str]:
    """The recording if it is fresh for `text`, else None and why not."""
    recording, _, why = freshness(audio_dir, entry, text)
    return recording, why


def freshness(audio_dir: Path, entry: Entry | None, text: str) -> tuple[Recording | None, str, str]:
    """The recording if it is fresh for `text`, else None, the kind of problem, and why."""
    if entry is None:
        return None, NO_RECORDING, "no recording"
    if entry.get("text_fingerprint") != fingerprint(text):
        return None, STALE, "stale: the prompt's text changed since it was recorded"
    path = audio_dir / entry["file"]
    if not path.is_file() or audio_dir.resolve() not in path.resolve().parents:
        return None, FILE_MISSING, f"missing file {entry['file']}"
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    if sha != entry["sha256"]:
        return None, FILE_CHANGED, f"{entry['file']} is not the file the manifest names; rebuild"
    modified = datetime.fromtimestamp(int(path.stat().st_mtime), tz=UTC)
    recording = Recording(
        entry["file"], data, sha, float(entry["duration"]), entry["text"], entry["source"], modified
    )
    return recording, "", ""
