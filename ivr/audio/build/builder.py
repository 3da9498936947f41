"""`ivr audio build`: a telephone-ready recording of every prompt, rebuilding only what changed.

Each prompt gets, in order of preference: the human recording staff left in
audio/sources/<lang>/<prompt_id>.<ext>; else a placeholder from the language's placeholder_tts;
else no recording, and the line speaks the prompt with its Twilio voice.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import click

from ivr.audio.build.engines import Engine, engine_for
from ivr.audio.build.ffmpeg import FfmpegError
from ivr.audio.build.process import PROCESSING, ProcessingError, Telephone, telephone_wav
from ivr.audio.build.sources import find_sources, read_bytes, read_source
from ivr.audio.manifest import Entry, Manifest, read_manifest, write_atomically, write_manifest
from ivr.audio.pace import placeholder_pace
from ivr.errors import ConfigError, shown
from ivr.menu.document import fingerprint
from ivr.menu.load import load_line
from ivr.menu.model import Language, Prompt

SOURCES = "sources"


@dataclass
class BuildReport:
    """What a build did; keys look like "en/greeting"."""

    built: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    no_recording: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    recordings: int = 0
    total_duration: float = 0.0  # seconds, over every recording in the manifest
    total_bytes: int = 0
    elapsed: float = 0.0

    @property
    def bytes_per_second(self) -> float:
        return self.total_bytes / self.total_duration if self.total_duration else 0.0

    def summary(self) -> str:
        return (
            f"built {len(self.built)}, unchanged {len(self.unchanged)}, "
            f"no recording {len(self.no_recording)}"
            + (f", removed {len(self.removed)}" if self.removed else "")
            + f"; {self.recordings} recordings, {self.total_duration:.2f} s of audio, "
            f"{self.total_bytes:,} bytes ({self.bytes_per_second:,.0f} bytes per second of "
            f"audio); {self.elapsed:.1f} s"
        )


@dataclass(frozen=True)
class _Job:
    key: str
    file: str  # relative to audio/
    language: Language
    prompt: Prompt
    source_fingerprint: str
    source: Path | None = None  # a human recording
    source_file: str | None = None  # the same, relative to audio/
    source_bytes: bytes = b""
    engine: Engine | None = None  # or a placeholder voice


def build_all(
    prompts_dir: Path,
    audio_dir: Path,
    force: bool = False,
    progress: bool = True,
    only: str | None = None,
    let_go: frozenset[str] = frozenset(),
) -> BuildReport:
    """Bring audio/ up to date with prompts/ and audio/sources/; print progress and a summary.

    `only` ("en/greeting"): build that prompt's recording alone, and leave every other as it is.
    `let_go`: recordings of a person, gone with their source, that staff agree to lose.
    Raises ConfigError, naming the file to fix, if a prompt or a recording cannot be used, or
    if a recording would be lost because the voice that makes it is missing; then nothing on
    disk has changed.
    """
    started = time.monotonic()
    line = load_line(prompts_dir)
    builder = _Builder(audio_dir, force, only, let_go)
    for language in line.languages.values():
        builder.plan(language)
    builder.refuse_losses()
    for warning in builder.report.warnings:
        click.echo(f"warning: {warning}", err=True)
    planned = len(builder.report.warnings)

    try:
        builder.run(progress)
    except BaseException:
        # Record what is on disk now, so the next build picks up where this one stopped.
        builder.save(partial=True)
        raise
    if only is None:
        builder.prune({language.id for language in line.languages.values()})
    builder.save(partial=False)

    report = builder.report
    for warning in report.warnings[planned:]:
        click.echo(f"warning: {warning}", err=True)
    recordings = builder.recordings.values()
    report.recordings = len(recordings)
    report.total_duration = round(sum(entry["duration"] for entry in recordings), 2)
    report.total_bytes = sum(entry["bytes"] for entry in recordings)
    report.elapsed = time.monotonic() - started
    click.echo(report.summary())
    return report


@dataclass(frozen=True)
class _Loss:
    """A recording this build cannot make, because the voice that makes it is missing."""

    key: str
    prompt: Prompt
    why: str  # why it must be made: "no recording yet", "its words changed", ...
    unavailable: str  # why the voice is missing, with what to install


class _Builder:
    def __init__(
        self,
        audio_dir: Path,
        force: bool,
        only: str | None = None,
        let_go: frozenset[str] = frozenset(),
    ) -> None:
        self.audio_dir = audio_dir
        self.force = force
        self.only = only
        self.let_go = let_go
        self.gone: list[tuple[str, Prompt]] = []  # a person's recordings lost with their source
        old = read_manifest(audio_dir)
        self.old, self.old_sources = old.recordings, old.sources
        # Building one prompt's recording leaves every other entry exactly as it is.
        self.recordings: dict[str, Entry] = {}
        if only is not None:
            self.recordings = {k: e for k, e in self.old.items() if k != only}
        self.sources: dict[str, Entry] = dict(self.old_sources) if only else {}
        self.jobs: list[_Job] = []
        self.losses: list[_Loss] = []
        self.report = BuildReport()

    # --- deciding what to build ---------------------------------------------------------

    def plan(self, language: Language) -> None:
        folder = self.audio_dir / SOURCES / language.id
        found, warnings = find_sources(folder, set(language.prompts))
        self.report.warnings.extend(warnings)
        engine = engine_for(language.placeholder_tts)
        unavailable = engine.unavailable(language.code) if engine else None
        silent: list[str] = []  # prompts left to the Twilio voice
        kept = 0
        for prompt in language.prompts.values():
            key = f"{language.id}/{prompt.id}"
            if self.only is not None and key != self.only:
                continue
            source = found.get(prompt.id)
            if source is not None and self._plan_human(key, language, prompt, source):
                continue
            if source is None and self._keep_human(key, prompt):
                continue
            if source is None and self._person_gone(key, prompt):
                continue
            if engine is None or unavailable:
                if self._keep_placeholder(key, prompt):
                    kept += 1
                elif engine is None:
                    silent.append(key)
                elif self.only is not None and key in self.old:
                    # Undoing a keep in the studio gives back what the prompt had, as it was.
                    self.recordings[key] = self.old[key]
                    self.report.unchanged.append(key)
                else:
                    assert unavailable is not None
                    self.losses.append(_Loss(key, prompt, self._why_made(key, prompt), unavailable))
            else:
                pace = f"{placeholder_pace(prompt.id):g}wpm"
                identity = _digest("synthetic", engine.identity, prompt.text, pace, PROCESSING)
                self._schedule(_Job(key, f"{key}.wav", language, prompt, identity, engine=engine))
        self.report.no_recording.extend(silent)
        if silent or kept:
            why = unavailable or "placeholder_tts is none"
            warning = f"{language.id}: no placeholder voice: {why}"
            if kept:
                warning += f"; kept {kept} earlier placeholder(s) whose text has not changed"
            if silent:
                warning += (
                    f"; {len(silent)} prompt(s) have no recording, "
                    f"and the line speaks them with {language.voice}"
                )
            self.report.warnings.append(warning)

    def refuse_losses(self) -> None:
        """Stop, before anything is written, if a recording would be lost or never made."""
        if self.gone:
            keys = [key for key, _ in self.gone]
            where = self.gone[0][1].where
            raise ConfigError(
                where.path,
                where.line,
                f"{len(keys)} recording(s) of a person are missing, and their source files "
                f"too: {', '.join(keys)}. Nothing was changed: restore them (`git checkout -- "
                f"{shown(self.audio_dir)}`), or, to let them go and have the line speak those "
                "prompts another way, run `ivr audio build "
                + " ".join(f"--let-go {key}" for key in keys)
                + "`",
            )
        if not self.losses:
            return
        first = self.losses[0]
        listed = "; ".join(f"{loss.key} ({loss.why})" for loss in self.losses[:5])
        more = len(self.losses) - 5
        raise ConfigError(
            first.prompt.where.path,
            first.prompt.where.line,
            f"{len(self.losses)} recording(s) need the placeholder voice, and "
            f"{first.unavailable}: {listed}"
            + (f"; and {more} more" if more > 0 else "")
            + ". Nothing was changed: install the voice, then run `ivr audio build` again "
            "(or record those prompts in `ivr studio`)",
        )

    def _why_made(self, key: str, prompt: Prompt) -> str:
        old = self.old.get(key)
        if old is None:
            return "no recording yet"
        if old.get("text_fingerprint") != fingerprint(prompt.text):
            return "its words changed"
        if self.force:
            return "--force rebuilds it"
        if not (self.audio_dir / str(old.get("file", ""))).is_file():
            return f"{old.get('file')} is missing"
        return f"{old.get('file')} is not the file the manifest names"

    def _keep_human(self, key: str, prompt: Prompt) -> bool:
        """A human recording whose source file is gone is kept while it says the prompt's words:
        no placeholder may replace a person's voice that cannot be built again."""
        if not self._keep_earlier(key, prompt, "human"):
            return False
        self.report.warnings.append(
            f"{self.old[key].get('source_file') or 'the human recording'} of {key} is missing "
            f"from {shown(self.audio_dir / SOURCES)}/; its built recording is kept as it is. "
            "Restore the file (from git) so that it can be built again"
        )
        return True

    def _person_gone(self, key: str, prompt: Prompt) -> bool:
        """A person's recording of the prompt's words whose built file and source are both
        missing: never replaced, nor dropped, unless staff let it go."""
        old = self.old.get(key)
        if (
            old is None
            or old.get("source") != "human"
            or old.get("text_fingerprint") != fingerprint(prompt.text)
            or (self.audio_dir / f"{key}.wav").is_file()
            or key in self.let_go
        ):
            return False
        self.gone.append((key, prompt))
        return True

    def _plan_human(self, key: str, language: Language, prompt: Prompt, source: Path) -> bool:
        """Schedule the human recording; False if it says what the prompt no longer says."""
        data = read_bytes(source)
        relative = source.relative_to(self.audio_dir).as_posix()
        digest = hashlib.sha256(data).hexdigest()
        said = self.old_sources.get(relative)
        if said is None or said.get("sha256") != digest:
            # A new or replaced recording: take it that the person read the current text.
            said = {
                "sha256": digest,
                "text": prompt.text,
                "text_fingerprint": fingerprint(prompt.text),
            }
        self.sources[relative] = said
        if said.get("text_fingerprint") != fingerprint(prompt.text):
            self.report.warnings.append(
                f"re-record {shown(source)}: the prompt's text changed "
                "(until then it gets a placeholder, if its language has one)"
            )
            return False
        identity = _digest("human", digest, PROCESSING)
        self._schedule(
            _Job(
                key,
                f"{key}.wav",
                language,
                prompt,
                identity,
                source=source,
                source_file=relative,
                source_bytes=data,
            )
        )
        return True

    def _schedule(self, job: _Job) -> None:
        old = self.old.get(job.key)
        if (
            not self.force
            and old is not None
            and old.get("source_fingerprint") == job.source_fingerprint
            and self._intact(old, job.file)
        ):
            # The same words, maybe laid out differently in the YAML: keep the layout current.
            self.recordings[job.key] = {**old, "text": job.prompt.text}
            self.report.unchanged.append(job.key)
        else:
            self.jobs.append(job)

    def _keep_placeholder(self, key: str, prompt: Prompt) -> bool:
        """With no voice to make it, an earlier placeholder still serves if its text holds."""
        return not self.force and self._keep_earlier(key, prompt, "synthetic")

    def _keep_earlier(self, key: str, prompt: Prompt, source: str) -> bool:
        """Keep the earlier recording of `source` kind if it says the prompt's words, intact."""
        old = self.old.get(key)
        if (
            old is None
            or old.get("source") != source
            or old.get("text_fingerprint") != fingerprint(prompt.text)
            or not self._intact(old, f"{key}.wav")
        ):
            return False
        self.recordings[key] = {**old, "text": prompt.text}
        self.report.unchanged.append(key)
        return True

    def _intact(self, entry: Entry, file: str) -> bool:
        path = self.audio_dir / file
        return (
            entry.get("file") == file
            and path.is_file()
            and hashlib.sha256(path.read_bytes()).hexdigest() == entry.get("sha256")
        )

    # --- building -----------------------------------------------------------------------

    def run(self, progress: bool) -> None:
        with _bar(self.jobs, progress) as jobs:
            for job in jobs:
                made = self._make(job)
                try:
                    write_atomically(self.audio_dir / job.file, made.wav)
                except OSError as error:
                    raise ConfigError(
                        self.audio_dir / job.file,
                        None,
                        f"cannot write it ({error.strerror or error}); it must be a file "
                        "this user may replace",
                    ) from None
                self.recordings[job.key] = _entry(job, made)
                self.report.built.append(job.key)

    def _make(self, job: _Job) -> Telephone:
        where = job.prompt.where
        if job.source is not None:
            error_at: tuple[Path, int | None] = (job.source, None)
            what = "this recording"
        else:
            error_at = (where.path, where.line)
            what = f"the placeholder for prompt {job.prompt.id!r}"
        try:
            if job.source is not None:
                segment = read_source(job.source, job.source_bytes)
            else:
                assert job.engine is not None
                try:
                    segment = job.engine.synthesize(
                        job.prompt.text, placeholder_pace(job.prompt.id)
                    )
                except Exception as error:  # any failure inside the engine: name the prompt
                    raise ConfigError(
                        *error_at,
                        f"{job.engine.label} could not voice prompt {job.prompt.id!r} "
                        f"({type(error).__name__}: {error}); check its text, or set "
                        "placeholder_tts: none",
                    ) from error
            return telephone_wav(segment)
        except ProcessingError as error:
            raise ConfigError(*error_at, f"cannot use {what}: {error}") from None
        except FfmpegError as error:
            raise ConfigError(
                *error_at, f"ffmpeg could not process {what} ({error.detail}); {_REPORT}"
            ) from None

    # --- tidying up ---------------------------------------------------------------------

    def prune(self, languages: set[str]) -> None:
        """Delete recordings of prompts that are gone; warn about files this build did not make."""
        wanted = {entry["file"] for entry in self.recordings.values()}
        for key, entry in sorted(self.old.items()):
            if key in self.recordings:
                continue
            self.report.removed.append(key)
            path = self.audio_dir / str(entry.get("file", ""))
            if entry.get("file") not in wanted and _is_recording(self.audio_dir, path):
                path.unlink(missing_ok=True)
        folders = languages | {
            str(entry.get("file", "")).split("/")[0] for entry in self.old.values()
        }
        for name in sorted(folders - {"", SOURCES}):
            folder = self.audio_dir / name
            if not folder.is_dir():
                continue
            for leftover in folder.glob(".*.tmp"):  # from a build that was killed mid-write
                leftover.unlink(missing_ok=True)
            for path in sorted(folder.glob("*.wav")):
                if f"{name}/{path.name}" not in wanted:
                    self.report.warnings.append(
                        f"{shown(path)} is not a recording this build made; move a human "
                        f"recording to {shown(self.audio_dir / SOURCES / name)}/, "
                        "or delete the file"
                    )
            if name not in languages and not any(folder.iterdir()):
                folder.rmdir()

    def save(self, partial: bool) -> None:
        if partial and not self.report.built:
            return  # nothing on disk changed
        recordings = dict(self.recordings)
        if partial:
            # Earlier entries still describe the files not yet rebuilt, so keep them.
            for key, entry in self.old.items():
                path = self.audio_dir / str(entry.get("file", ""))
                if key not in recordings and path.is_file():
                    recordings[key] = entry
        write_manifest(self.audio_dir, Manifest(recordings, self.sources))


_REPORT = "if the file plays elsewhere, export it again as WAV; otherwise report this"


def _entry(job: _Job, made: Telephone) -> Entry:
    measured = made.measurement
    engine = job.engine
    return {
        "file": job.file,
        "sha256": hashlib.sha256(made.wav).hexdigest(),
        "bytes": len(made.wav),
        "duration": round(measured.duration, 2),
        "text": job.prompt.text,
        "text_fingerprint": fingerprint(job.prompt.text),
        "source": "synthetic" if engine else "human",
        "source_file": job.source_file,
        "source_fingerprint": job.source_fingerprint,
        "engine": engine.label if engine else "human",
        "voice": engine.voice if engine else None,
        "loudness_lufs": round(measured.lufs, 2),
        "peak_dbfs": round(measured.peak_dbfs, 2),
    }


@contextlib.contextmanager
def _bar(jobs: list[_Job], progress: bool) -> Iterator[Iterator[_Job]]:
    if not progress or not jobs:
        yield iter(jobs)
        return
    with click.progressbar(
        jobs,
        label=f"Building {len(jobs)} recording(s)",
        item_show_func=lambda job: job.key if job else None,
        show_pos=True,
    ) as bar:
        yield iter(bar)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def _is_recording(audio_dir: Path, path: Path) -> bool:
    """Only ever delete a .wav this build would make, never outside audio/ or in sources/."""
    try:
        relative = path.resolve().relative_to(audio_dir.resolve())
    except ValueError:
        return False
    return path.suffix == ".wav" and len(relative.parts) == 2 and relative.parts[0] != SOURCES
