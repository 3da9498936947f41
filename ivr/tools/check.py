"""`ivr check`: does the line still say what the document says, and is the menu sound?"""

from __future__ import annotations

import difflib
import re
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from ivr.audio import manifest as manifest_file
from ivr.audio.extra import install_audio
from ivr.audio.manifest import Entry
from ivr.audio.pace import pace_warnings
from ivr.audio.recordings import check_recording
from ivr.call.keys_told import key_problems
from ivr.errors import ConfigError, shown
from ivr.menu.document import Document, Passage, fingerprint, passages_fingerprint, split_passages
from ivr.menu.load import load_line
from ivr.menu.model import Language, PhoneLine, Prompt
from ivr.menu.say_voices import engine_of, voices_for
from ivr.menu.soundness import menu_problems, reachable
from ivr.menu.words import words_of
from ivr.tools.opening import opening_problems


@dataclass(frozen=True)
class Problem:
    severity: str  # "error" or "warning"
    where: str  # "file:line"
    message: str
    fix: str = ""
    diff: str = ""

    def render(self) -> str:
        lines = [f"{self.where}: {self.severity}: {self.message}"]
        lines += [f"    {d}" for d in self.diff.splitlines()]
        if self.fix:
            lines.append(f"  fix: {self.fix}")
        return "\n".join(lines)


def word_diff(old: str, new: str) -> str:
    """Words removed as [-…-] and added as {+…+}, the rest as it was."""
    a, b = old.split(), new.split()
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out += a[i1:i2]
            continue
        if i2 > i1:
            out.append(f"[-{' '.join(a[i1:i2])}-]")
        if j2 > j1:
            out.append(f"{{+{' '.join(b[j1:j2])}+}}")
    return " ".join(out)


def run_check(prompts_dir: Path, audio_dir: Path) -> list[Problem]:
    try:
        line = load_line(prompts_dir)
        manifest = manifest_file.read_manifest(audio_dir).recordings
    except ConfigError as error:
        return [Problem("error", str(error.where), error.message)]
    problems = [Problem("error", str(where), message) for where, message in menu_problems(line)]
    problems += _keys_told(line, manifest)
    spoken = _reachable_prompts(line)
    for language in line.languages.values():
        problems += _fidelity(language)
        problems += _coverage(language, spoken)
        problems += _recordings(language, manifest, audio_dir)
        problems += _read_aloud(language)
        problems += _numbers_said(language)
        problems += _voice(language)
    problems += _fallback_read_aloud()
    where = shown(audio_dir / manifest_file.NAME)
    problems += [Problem("warning", *found) for found in pace_warnings(line, manifest, where)]
    problems += _recordings_of_no_prompt(line, manifest, audio_dir)
    if not any(p.severity == "error" for p in problems):
        problems += _opening(line, prompts_dir, audio_dir)
    return problems


def _opening(line: PhoneLine, prompts_dir: Path, audio_dir: Path) -> list[Problem]:
    """The first minute of a call against its targets (ivr.tools.opening), once the line is
    sound enough to place a call."""
    first = line.languages[line.default_language]
    at = {
        "spanish": first.prompts["danger"].where if "danger" in first.prompts else first.where,
        "silent": line.menus[line.start].where or first.where,
    }
    return [
        Problem("error", str(at[kind]), message, fix)
        for kind, message, fix in opening_problems(prompts_dir, audio_dir)
    ]


def _recordings_of_no_prompt(
    line: PhoneLine, manifest: dict[str, Entry], audio_dir: Path
) -> list[Problem]:
    """Recordings whose prompt is gone. A person's is an error: the build would drop it, and a
    renamed prompt would lose its voice."""
    problems = []
    known = {f"{lang.id}/{p}" for lang in line.languages.values() for p in lang.prompts}
    for key in sorted(set(manifest) - known):
        entry = manifest[key]
        code, _, prompt_id = key.partition("/")
        if entry.get("source") != "human":
            problems.append(
                Problem(
                    "warning",
                    shown(audio_dir / manifest_file.NAME),
                    f"recording {key!r} belongs to no prompt",
                    "`ivr audio build` removes it",
                )
            )
            continue
        language = line.languages.get(code)
        close = difflib.get_close_matches(prompt_id, list(language.prompts) if language else [], 1)
        source = entry.get("source_file") or entry["file"]
        problems.append(
            Problem(
                "error",
                shown(audio_dir / manifest_file.NAME),
                f"the human recording {shown(audio_dir / source)} belongs to no prompt: "
                f"{prompt_id!r} is not in {code}.yaml, and `ivr audio build` would drop it",
                (f"if the prompt is now {close[0]!r}, rename the file after it; " if close else "")
                + "if it is gone for good, delete the file",
            )
        )
    return problems


def _keys_told(line: PhoneLine, manifest: dict[str, Entry]) -> list[Problem]:
    """Every key a prompt (or the recording of one) names works wherever it is heard."""
    recorded = {
        key: entry["text"]
        for key, entry in manifest.items()
        if (language := line.languages.get(key.partition("/")[0])) is not None
        and (prompt := language.prompts.get(key.partition("/")[2])) is not None
        and entry["text"] != prompt.text
    }
    return [
        Problem(p.severity, str(p.where), p.message, p.fix) for p in key_problems(line, recorded)
    ]


def _reachable_prompts(line: PhoneLine) -> set[str]:
    nodes = reachable(line, line.start)
    ids = {line.menus[n].prompt for n in nodes if n in line.menus}
    for n in nodes & set(line.sections):
        ids.update(line.sections[n].points)
    return ids


def _fidelity(language: Language) -> list[Problem]:
    problems = []
    for prompt in language.prompts.values():
        if not prompt.stale:
            continue
        old = _passage_as_written_for(language.document, prompt)
        now = " ".join(p.text for p in prompt.passages)
        diff = (
            f"the passage changed: {word_diff(old, now)}"
            if old
            else f"rewording vs. the passage now: {word_diff(prompt.rewording or '', now)}"
        )
        problems.append(
            Problem(
                "error",
                str(prompt.where),
                f"prompt {prompt.id!r} rewords a passage that changed since it was written "
                f"({_lines(prompt.passages, language.document)}); "
                "callers hear the passage as written until it is updated",
                f"reword its text to match, then set written_for: "
                f"{passages_fingerprint(prompt.passages)}",
                diff,
            )
        )
    return problems


def _coverage(language: Language, spoken: set[str]) -> list[Problem]:
    document = language.document
    covered: dict[Passage, str] = {}
    for prompt in language.prompts.values():
        if prompt.id in spoken:
            covered.update({p: prompt.id for p in prompt.passages})
    problems = []
    left_out: set[Passage] = set()
    for item in language.not_spoken:
        found = document.matching(item.excerpt)
        if len(found) != 1:
            problems.append(
                Problem(
                    "error",
                    str(item.where),
                    f"not_spoken passage {item.excerpt!r} "
                    f"{'is in no' if not found else 'starts more than one'} sentence or bullet "
                    f"of {document.path.name}",
                    "quote the first words of exactly one passage, or remove the entry",
                )
            )
            continue
        if found[0] in covered:
            problems.append(
                Problem(
                    "warning",
                    str(item.where),
                    f"{item.excerpt!r} is listed as not spoken, but prompt "
                    f"{covered[found[0]]!r} speaks it",
                    "remove it from not_spoken",
                )
            )
        left_out.add(found[0])
    for passage in document.passages:
        if passage not in covered and passage not in left_out:
            problems.append(
                Problem(
                    "error",
                    f"{shown(document.path)}:{passage.line}",
                    f"this {passage.kind} is not spoken by any prompt a caller can reach: "
                    f"{passage.text!r}",
                    f"add a prompt with passage: {_excerpt(passage)!r} to a section, or list it "
                    f"under not_spoken in {language.where.path.name} with why",
                )
            )
    return problems


def _recordings(language: Language, manifest: dict[str, Entry], audio_dir: Path) -> list[Problem]:
    problems = []
    for prompt in language.prompts.values():
        entry = manifest.get(f"{language.id}/{prompt.id}")
        recording, why = check_recording(audio_dir, entry, prompt.text)
        if recording is not None:
            continue
        if entry is None:
            # Expected where the language has no placeholder voice; elsewhere a recording is
            # missing, and callers hear another voice than the rest of the line's.
            expected = language.placeholder_tts == "none"
            problems.append(
                Problem(
                    "warning" if expected else "error",
                    str(prompt.where),
                    f"prompt {prompt.id!r} has no recording; Twilio's voice speaks it",
                    f"record it in `ivr studio` ({language.id} has no placeholder voice for "
                    "`ivr audio build` to make one with; see audio/README.md)"
                    if expected
                    else f"run `ivr audio build` (its {language.placeholder_tts} voice needs "
                    f"{install_audio()}), or record it in `ivr studio`",
                )
            )
            continue
        stale = entry.get("text_fingerprint") != fingerprint(prompt.text)
        problems.append(
            Problem(
                "error",
                str(prompt.where),
                f"the recording of prompt {prompt.id!r}, {shown(audio_dir / entry['file'])}, "
                + ("is stale: it says words the prompt no longer says" if stale else why),
                "run `ivr audio build`"
                + (
                    f" (re-record {entry['source_file']})"
                    if entry.get("source_file")
                    else f" (a placeholder needs its voice: {install_audio()})"
                ),
                f"recorded vs. now: {word_diff(entry['text'], prompt.text)}" if stale else "",
            )
        )
    return problems


# What a voice may read aloud as a word ("nine dash one dash one"), found in what a prompt says.
_READ_ALOUD = (
    (re.compile(r"\d\s*[-\u2010-\u2015]\s*\d"), 'a hyphen between digits, read as "dash"'),
    (re.compile(r"/"), 'a slash, which a voice reads as "slash"'),
    (re.compile(r"[#&@%*+=_|~^$€£<>\\]"), "a symbol, which a voice reads aloud as a word"),
    (re.compile(r"\d{3,}"), "a number, which a voice may read whole instead of digit by digit"),
)
# A written form that is a number: "911", "22522", "1-866-331-9474".
_NUMBER = re.compile(r"^\+?\d[\d ().-]*\d$")


def _read_aloud(language: Language) -> list[Problem]:
    fix = (
        "write it in words, or give it a spoken form under spoken_forms in "
        f'{language.where.path.name} (like "911": "nine one one")'
    )
    # The question that names options is spoken too (with <Say>), from these words.
    asked = {f"option_names.{o}": name for o, name in language.option_names.items()}
    asked["which_one"] = language.which_one.format(options="", keys="")
    return [
        Problem("error", str(prompt.where), f"prompt {prompt.id!r} has {found}", fix)
        for prompt in language.prompts.values()
        if (found := said_aloud(prompt.text))
    ] + [
        Problem("error", str(language.where), f"{name} has {found}", "write it in words")
        for name, text in asked.items()
        if (found := said_aloud(text))
    ]


def said_aloud(text: str) -> str | None:
    """What in `text` a voice would read aloud as a word, and where; None if nothing."""
    for pattern, what in _READ_ALOUD:
        found = pattern.search(text)
        if found is not None:
            around = text[max(0, found.start() - 25) : found.end() + 25]
            return f'{what}: {found.group(0)!r} in "…{around}…"'
    return None


def _voice(language: Language) -> list[Problem]:
    """A standard voice is one Twilio lists, but a neural or generative one sounds like a person."""
    if engine_of(language.voice) != "standard":
        return []
    better = ", ".join(voices_for(language.code)[:4])
    return [
        Problem(
            "warning",
            str(language.where),
            f"voice {language.voice} is one of Twilio's standard voices, the most robotic",
            f"use a neural or generative voice for {language.code}, like {better}",
        )
    ]


def _fallback_read_aloud() -> list[Problem]:
    """The fallback's words are constants, spoken even when the YAML cannot be read."""
    from ivr.web import fallback

    return [
        Problem("error", shown(Path(fallback.__file__)), f"{name} has {found}", "write it in words")
        for name in ("APOLOGY", "AFTER", "APOLOGY_ES", "AFTER_ES")
        if (found := said_aloud(getattr(fallback, name)))
    ]


def _numbers_said(language: Language) -> list[Problem]:
    """Each number's spoken form says its digits, in order, every time it says them."""
    digit_of = {
        word: key
        for key, phrases in language.keys.items()
        if key.isdigit()
        for phrase in phrases
        if len(words := words_of(phrase)) == 1
        for word in words
    }
    problems = []
    for form in language.spoken_forms.values():
        if not _NUMBER.match(form.written):
            continue
        digits = "".join(c for c in form.written if c.isdigit())
        runs: list[str] = []
        run = ""
        for word in (*words_of(form.said), ""):
            if word.isdigit() or word in digit_of:
                run += word if word.isdigit() else digit_of[word]
            elif run:
                runs, run = [*runs, run], ""
        wrong = [r for r in runs if r != digits]
        if runs and not wrong:
            continue
        problems.append(
            Problem(
                "error",
                str(form.where),
                f"the spoken form of {form.written} says "
                + (", then ".join(wrong or runs) if runs else "no digits")
                + f", not {digits}",
                f"say its digits one by one, with the words under keys: in "
                f"{language.where.path.name}, like {' '.join(language.keys[d][0] for d in digits)}",
            )
        )
    return problems


def _passage_as_written_for(document: Document, prompt: Prompt) -> str | None:
    """The passage's text in the version of the document the rewording was written for.

    Looked up in the document's git history; None when that version cannot be found.
    """
    path = document.path.resolve()

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                ["git", *args], cwd=path.parent, capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.SubprocessError):
            return subprocess.CompletedProcess(args, 1, "", "")

    revisions = git("log", "--format=%H", "-n", "50", "--", path.name).stdout.split()
    top = git("rev-parse", "--show-prefix").stdout.strip()
    for revision in revisions:
        shown = git("show", f"{revision}:{top}{path.name}")
        if shown.returncode != 0:
            continue
        old = Document(path, split_passages(shown.stdout))
        found = [old.matching(e) for e in prompt.excerpts]
        if all(len(f) == 1 for f in found):
            passages = [f[0] for f in found]
            if passages_fingerprint(passages) == prompt.written_for:
                return " ".join(p.text for p in passages)
    return None


def _excerpt(passage: Passage) -> str:
    return " ".join(passage.text.split()[:6])


def _lines(passages: tuple[Passage, ...], document: Document) -> str:
    return ", ".join(f"{document.path.name}:{p.line}" for p in passages)


def summary(problems: list[Problem]) -> dict[str, object]:
    errors = sum(p.severity == "error" for p in problems)
    return {
        "ok": errors == 0,
        "errors": errors,
        "warnings": len(problems) - errors,
        "problems": [asdict(p) for p in problems],
    }
