"""Every prompt of the line, in the order a caller meets it, with the state of its recording."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ivr.audio.build.builder import SOURCES
from ivr.audio.build.sources import find_sources
from ivr.audio.manifest import Entry, Manifest, read_manifest
from ivr.audio.recordings import check_recording
from ivr.menu.document import fingerprint
from ivr.menu.load import load_line
from ivr.menu.model import REPEAT, Language, PhoneLine, Prompt
from ivr.tools.check import word_diff
from ivr.tools.studio.keep import undo_file

HUMAN, SYNTHETIC, MISSING, STALE = "human", "synthetic", "missing", "stale"
GREETING = ("danger", "language_offer", "greeting")


@dataclass(frozen=True)
class PromptState:
    """What the studio shows of one prompt; `key` is "<lang>/<prompt id>"."""

    key: str
    language: str
    id: str
    text: str  # the words a caller hears, spoken forms applied
    fingerprint: str  # of `text`: a take is kept only for the words it was recorded from
    where: str  # file:line of the prompt in the YAML
    status: str  # HUMAN, SYNTHETIC, MISSING or STALE
    changed: str  # for a stale one: word_diff of the words recorded and the words now
    duration: float | None  # seconds, of the recording the line has now (fresh or not)
    placeholder_duration: float | None  # of the fresh synthetic placeholder, if that is it
    source_file: str | None  # the human recording, relative to audio/
    note: str  # anything else staff should know
    playable: bool = False  # the line plays its recording (it is fresh)
    undo: bool = False  # its last keep can be undone

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Group:
    language: str
    title: str
    prompts: tuple[PromptState, ...]


def catalog(prompts_dir: Path, audio_dir: Path) -> list[Group]:
    """Every prompt of every language, grouped as a caller meets them; read afresh each time."""
    line = load_line(prompts_dir)
    manifest = read_manifest(audio_dir)
    groups = []
    for language in line.languages.values():
        found, _ = find_sources(audio_dir / SOURCES / language.id, set(language.prompts))
        for title, ids in caller_order(line, language):
            states = tuple(
                prompt_state(audio_dir, manifest, language, language.prompts[i], found.get(i))
                for i in ids
            )
            if states:
                groups.append(Group(language.id, title, states))
    return groups


def find_prompt(prompts_dir: Path, audio_dir: Path, key: str) -> PromptState | None:
    return next(
        (p for g in catalog(prompts_dir, audio_dir) for p in g.prompts if p.key == key), None
    )


def caller_order(line: PhoneLine, language: Language) -> list[tuple[str, list[str]]]:
    """Titled groups of prompt ids: the greeting, the menus, each section, then the rest."""
    menus: list[str] = []
    sections: list[str] = []
    queue, seen = [line.start], set()
    while queue:  # breadth first: the order in which a caller's keys reach them
        node = queue.pop(0)
        if node in seen:
            continue
        seen.add(node)
        if node in line.menus:
            menus.append(node)
            queue += [target for target in line.menus[node].keys.values() if target != REPEAT]
        elif node in line.sections:
            sections.append(node)
    # Ones no key reaches still have prompts to record.
    menus += [m for m in line.menus if m not in seen]
    sections += [s for s in line.sections if s not in seen]

    groups = [
        ("Greeting", [p for p in GREETING if p in language.prompts]),
        ("Menus", [line.menus[m].prompt for m in menus]),
    ]
    for section in sections:
        name = language.option_names.get(section, section)
        groups.append((f"Section: {name}", list(line.sections[section].points)))
    placed: set[str] = set()
    ordered = []
    for title, ids in groups:
        ids = [i for i in dict.fromkeys(ids) if i in language.prompts and i not in placed]
        placed.update(ids)
        ordered.append((title, ids))
    ordered.append(("Anywhere in a call", [p for p in language.prompts if p not in placed]))
    return ordered


def prompt_state(
    audio_dir: Path, manifest: Manifest, language: Language, prompt: Prompt, source: Path | None
) -> PromptState:
    key = f"{language.id}/{prompt.id}"
    entry = manifest.recordings.get(key)
    relative = source.relative_to(audio_dir).as_posix() if source else None
    said = _what_it_says(source, manifest.sources.get(relative or ""))
    status, changed, note = MISSING, "", ""
    if said is not None and said.get("text_fingerprint") != fingerprint(prompt.text):
        # The human recording says other words; the build gave the prompt a placeholder meanwhile.
        status, changed = STALE, word_diff(str(said.get("text", "")), prompt.text)
    elif entry is not None:
        recording, why = check_recording(audio_dir, entry, prompt.text)
        if recording is not None:
            status = HUMAN if recording.source == HUMAN else SYNTHETIC
        elif entry.get("text_fingerprint") != fingerprint(prompt.text):
            status, changed = STALE, word_diff(entry["text"], prompt.text)
        else:
            note = why
    if source is not None and status != STALE and (entry or {}).get("source_file") != relative:
        note = f"{relative} is not built yet: run `ivr audio build`"
    fresh_placeholder = status == SYNTHETIC and entry is not None
    return PromptState(
        key=key,
        language=language.id,
        id=prompt.id,
        text=prompt.text,
        fingerprint=fingerprint(prompt.text),
        where=str(prompt.where),
        status=status,
        changed=changed,
        duration=float(entry["duration"]) if entry else None,
        placeholder_duration=float(entry["duration"]) if fresh_placeholder and entry else None,
        source_file=relative,
        note=note,
        playable=status in (HUMAN, SYNTHETIC),
        undo=undo_file(audio_dir, language.id, prompt.id).is_file(),
    )


def _what_it_says(source: Path | None, said: Entry | None) -> Entry | None:
    """The manifest's words for this human recording, if it describes these very bytes."""
    if source is None or said is None:
        return None
    try:
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
    except OSError:
        return None
    return said if digest == said.get("sha256") else None
