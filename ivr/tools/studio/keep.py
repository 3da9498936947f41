"""Keeping a take: it becomes the prompt's human recording, built by `ivr audio build`'s code."""

from __future__ import annotations

from pathlib import Path

from ivr.audio.build.builder import SOURCES, build_all
from ivr.audio.build.sources import BACKUP, EXTENSIONS, find_sources
from ivr.audio.manifest import write_atomically
from ivr.errors import ConfigError, shown
from ivr.tools.studio.takes import Take


def keep_take(
    prompts_dir: Path, audio_dir: Path, language: str, prompt_id: str, take: Take
) -> Path:
    """Write the take to audio/sources/<lang>/<prompt id>.<ext>, then build the recordings.

    The take it replaces stays beside it as <prompt id>.previous.<ext> until the next keep.
    A build that fails raises ConfigError, saying that the take itself is saved.
    """
    folder = audio_dir / SOURCES / language
    kept = folder / f"{prompt_id}.{take.ext}"
    # Written in full before anything is moved, so no failure leaves the prompt with neither.
    arriving = folder / f".{kept.name}.new"
    write_atomically(arriving, take.data)
    current = find_sources(folder, {prompt_id})[0].get(prompt_id)
    for ext in EXTENSIONS:
        (folder / f"{prompt_id}{BACKUP}.{ext}").unlink(missing_ok=True)
    if current is not None:
        current.replace(current.with_name(f"{prompt_id}{BACKUP}{current.suffix}"))
    arriving.replace(kept)
    try:
        # Its summary and warnings go to the terminal the studio runs in, as a build's do.
        # Only this prompt is built: keeping a take changes no other recording.
        build_all(prompts_dir, audio_dir, progress=False, only=f"{language}/{prompt_id}")
    except ConfigError as error:
        raise ConfigError(
            error.path,
            error.line,
            f"{error.message}. The take is saved as {shown(kept)}, but the build stopped "
            "there: fix that, then press Keep again (or run `ivr audio build`).",
        ) from None
    return kept
