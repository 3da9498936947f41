"""Keeping a take: it becomes the prompt's human recording, built by `ivr audio build`'s code.

What the prompt had before (its recording, the manifest's word on it, the take it was built
from) is kept beside it, so the keep can be undone from the page: undoing swaps the two, so it
can itself be undone.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

from ivr.audio.build.builder import SOURCES, build_all
from ivr.audio.build.sources import BACKUP, EXTENSIONS, find_sources
from ivr.audio.manifest import Entry, Manifest, read_manifest, write_atomically, write_manifest
from ivr.errors import ConfigError, shown
from ivr.tools.studio.takes import Take


@dataclass(frozen=True)
class _Held:
    """What a prompt has: its take (a file in sources/), its recording, and the manifest's
    entries for both."""

    source: str | None  # the take's file name in audio/sources/<lang>/
    entry: Entry | None  # the recording's, in the manifest
    source_entry: Entry | None  # the take's, in the manifest's sources
    recording: bytes | None  # audio/<lang>/<prompt id>.wav


def keep_take(
    prompts_dir: Path, audio_dir: Path, language: str, prompt_id: str, take: Take
) -> Path:
    """Write the take to audio/sources/<lang>/<prompt id>.<ext>, then build its recording.

    The take it replaces stays beside it as <prompt id>.previous.<ext> until the next keep.
    A build that fails raises ConfigError, saying that the take itself is saved.
    """
    folder = audio_dir / SOURCES / language
    kept = folder / f"{prompt_id}.{take.ext}"
    # Written in full before anything is moved, so no failure leaves the prompt with neither.
    arriving = folder / f".{kept.name}.new"
    write_atomically(arriving, take.data)
    before = _held(audio_dir, language, prompt_id)
    current = find_sources(folder, {prompt_id})[0].get(prompt_id)
    for ext in EXTENSIONS:
        (folder / f"{prompt_id}{BACKUP}.{ext}").unlink(missing_ok=True)
    backup = None
    if current is not None:
        backup = current.with_name(f"{prompt_id}{BACKUP}{current.suffix}")
        current.replace(backup)
    _save_undo(audio_dir, language, prompt_id, before, backup.name if backup else None)
    arriving.replace(kept)
    _build(prompts_dir, audio_dir, language, prompt_id, kept, "Keep")
    return kept


def undo_keep(prompts_dir: Path, audio_dir: Path, language: str, prompt_id: str) -> str | None:
    """Give the prompt back what it had before its last keep, and build it; the take undone
    becomes the one to undo to. Returns the take now in use (None: none, as before)."""
    folder = audio_dir / SOURCES / language
    undo = undo_file(audio_dir, language, prompt_id)
    if not undo.is_file():
        raise ConfigError(undo, None, f"there is no keep of {language}/{prompt_id} to undo")
    saved = json.loads(undo.read_text(encoding="utf-8"))
    earlier = _Held(
        saved.get("source"),
        saved.get("entry"),
        saved.get("source_entry"),
        base64.b64decode(saved["recording"]) if saved.get("recording") else None,
    )
    now = _held(audio_dir, language, prompt_id)
    # The take in use steps aside under a name of its own, the earlier one takes its place,
    # then the one undone becomes the backup.
    stepping_aside = None
    if now.source is not None:
        stepping_aside = folder / f".{now.source}.undone"
        (folder / now.source).replace(stepping_aside)
    restored = None
    if earlier.source is not None and (folder / earlier.source).is_file():
        ext = earlier.source.rsplit(".", 1)[-1]
        restored = f"{prompt_id}.{ext}"
        (folder / earlier.source).replace(folder / restored)
    for ext in EXTENSIONS:
        (folder / f"{prompt_id}{BACKUP}.{ext}").unlink(missing_ok=True)
    backup = None
    if stepping_aside is not None and now.source is not None:
        backup = f"{prompt_id}{BACKUP}.{now.source.rsplit('.', 1)[-1]}"
        stepping_aside.replace(folder / backup)
    _save_undo(audio_dir, language, prompt_id, now, backup)
    _restore(audio_dir, language, prompt_id, earlier, restored, now.source)
    _build(
        prompts_dir, audio_dir, language, prompt_id, folder / restored if restored else None, "Undo"
    )
    return restored


def _held(audio_dir: Path, language: str, prompt_id: str) -> _Held:
    key = f"{language}/{prompt_id}"
    folder = audio_dir / SOURCES / language
    manifest = read_manifest(audio_dir)
    source = find_sources(folder, {prompt_id})[0].get(prompt_id)
    relative = source.relative_to(audio_dir).as_posix() if source else None
    entry = manifest.recordings.get(key)
    recording = audio_dir / f"{key}.wav"
    return _Held(
        source.name if source else None,
        entry,
        manifest.sources.get(relative) if relative else None,
        recording.read_bytes() if entry is not None and recording.is_file() else None,
    )


def undo_file(audio_dir: Path, language: str, prompt_id: str) -> Path:
    """What a prompt had before its last keep; beside the take, ignored by git with it."""
    return audio_dir / SOURCES / language / f".{prompt_id}{BACKUP}.json"


def _save_undo(
    audio_dir: Path, language: str, prompt_id: str, held: _Held, backup: str | None
) -> None:
    saved = {
        "source": backup,
        "entry": held.entry,
        "source_entry": held.source_entry,
        "recording": base64.b64encode(held.recording).decode() if held.recording else None,
    }
    write_atomically(undo_file(audio_dir, language, prompt_id), json.dumps(saved).encode())


def _restore(
    audio_dir: Path,
    language: str,
    prompt_id: str,
    earlier: _Held,
    restored: str | None,
    undone: str | None,
) -> None:
    """The recording and the manifest's entries as they were before the keep."""
    key = f"{language}/{prompt_id}"
    manifest = read_manifest(audio_dir)
    recordings, sources = dict(manifest.recordings), dict(manifest.sources)
    if undone is not None:
        sources.pop(f"{SOURCES}/{language}/{undone}", None)
    if restored is not None and earlier.source_entry is not None:
        sources[f"{SOURCES}/{language}/{restored}"] = earlier.source_entry
    recording = audio_dir / f"{key}.wav"
    if earlier.entry is not None and earlier.recording is not None:
        entry = dict(earlier.entry)
        if restored is not None:
            entry["source_file"] = f"{SOURCES}/{language}/{restored}"
        write_atomically(recording, earlier.recording)
        recordings[key] = entry
    else:
        recordings.pop(key, None)
        recording.unlink(missing_ok=True)
    write_manifest(audio_dir, Manifest(recordings, sources))


def _build(
    prompts_dir: Path,
    audio_dir: Path,
    language: str,
    prompt_id: str,
    take: Path | None,
    button: str,
) -> None:
    try:
        # Its summary and warnings go to the terminal the studio runs in, as a build's do.
        # Only this prompt is built: keeping a take changes no other recording.
        build_all(prompts_dir, audio_dir, progress=False, only=f"{language}/{prompt_id}")
    except ConfigError as error:
        saved = f"The take is saved as {shown(take)}, but" if take else "But"
        raise ConfigError(
            error.path,
            error.line,
            f"{error.message}. {saved} the build stopped there: fix that, then press {button} "
            "again (or run `ivr audio build`).",
        ) from None
