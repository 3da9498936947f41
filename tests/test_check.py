"""`ivr check` on temporary copies of prompts/: drift, coverage, recordings and the menu."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ivr.menu.load import load_line
from ivr.tools.check import run_check, word_diff
from tests.audio_files import write_audio_dir
from tests.helpers import ROOT, edit, ivr


@pytest.fixture
def audio_copy(tmp_path, prompts_copy) -> Path:
    """Fresh recordings of every prompt of the temporary copy."""
    audio = tmp_path / "audio"
    line = load_line(prompts_copy)
    write_audio_dir(
        audio,
        {
            f"{code}/{pid}": (p.text, b"RIFF")
            for code, language in line.languages.items()
            for pid, p in language.prompts.items()
        },
    )
    return audio


def ivr_check(prompts: Path, audio: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return ivr("check", *args, PROMPTS_DIR=str(prompts), AUDIO_DIR=str(audio))


def errors(prompts: Path, audio: Path):
    return [p for p in run_check(prompts, audio) if p.severity == "error"]


def test_the_shipped_repo_passes_its_own_check():
    result = ivr_check(ROOT / "prompts", ROOT / "audio")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ivr check: 0 error(s)" in result.stderr or "ivr check: clean" in result.stdout
    assert "error:" not in result.stdout


def test_a_clean_copy_has_no_problems(prompts_copy, audio_copy):
    assert run_check(prompts_copy, audio_copy) == []


def test_a_changed_word_names_the_prompt_and_its_stale_recording(prompts_copy, audio_copy):
    document = prompts_copy / "calling-the-police.en.txt"
    edit(document, "escape to a safe place", "escape to a safer place")
    result = ivr_check(prompts_copy, audio_copy)
    assert result.returncode == 1
    assert "prompt 'police.stop_abuse'" in result.stdout
    assert "en/police.stop_abuse.wav, is stale" in result.stdout
    assert "[-safe-] {+safer+}" in result.stdout
    line = load_line(prompts_copy)
    # Meanwhile the line speaks the new words, never the recording of the old ones.
    assert "safer place" in line.languages["en"].prompts["police.stop_abuse"].text


def test_a_changed_passage_under_a_rewording_is_stale_with_the_words_that_changed(
    prompts_copy, audio_copy
):
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=prompts_copy, check=True, capture_output=True)

    git("init", "-q")
    git(
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.org",
        "commit",
        "-qam",
        "x",
        "--allow-empty",
    )
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "document")
    document = prompts_copy / "calling-the-police.en.txt"
    edit(document, 'SMS text "loveis" to 22522', 'SMS text "loveis" to 22533')
    (problem,) = [p for p in errors(prompts_copy, audio_copy) if "rewords" in p.message]
    assert "prompt 'reach.text' rewords a passage that changed" in problem.message
    en = (prompts_copy / "en.yaml").read_text()
    assert problem.where.endswith(f"en.yaml:{en[: en.index('reach.text:')].count(chr(10)) + 1}")
    assert problem.diff == 'the passage changed: SMS text "loveis" to [-22522-] {+22533+}'
    assert "written_for:" in problem.fix
    spoken = load_line(prompts_copy).languages["en"].prompts["reach.text"].text
    assert spoken == "SMS text the word love is, spelled L, O, V, E, I, S, to 22533", (
        "the passage as written, not old words"
    )
    # Until it gets a spoken form, the new number would be read whole.
    (whole,) = [p for p in errors(prompts_copy, audio_copy) if "'22533'" in p.message]
    assert "a number, which a voice may read whole" in whole.message


def test_without_history_a_stale_rewording_is_diffed_against_the_passage(prompts_copy, audio_copy):
    document = prompts_copy / "calling-the-police.en.txt"
    edit(document, 'SMS text "loveis" to 22522', 'SMS text "loveis" to 22533')
    (problem,) = [p for p in errors(prompts_copy, audio_copy) if "rewords" in p.message]
    assert problem.diff.startswith("rewording vs. the passage now:")


def test_a_new_bullet_is_reported_as_not_covered(prompts_copy, audio_copy):
    document = prompts_copy / "calling-the-police.en.txt"
    line = edit(
        document,
        "- Arrest your abusive partner",
        "- Take you to a hospital.\n- Arrest your abusive partner",
    )
    result = ivr_check(prompts_copy, audio_copy)
    assert result.returncode == 1
    assert f"calling-the-police.en.txt:{line}: error: this bullet is not spoken" in result.stdout
    assert "'Take you to a hospital.'" in result.stdout
    assert "not_spoken" in result.stdout


def test_a_passage_listed_as_not_spoken_is_covered(prompts_copy, audio_copy):
    edit(prompts_copy / "calling-the-police.en.txt", "connect now!", "connect today!")
    problems = errors(prompts_copy, audio_copy)
    assert any("connect today!" in p.message for p in problems)
    assert any("not_spoken passage 'connect now!' is in no" in p.message for p in problems)


def test_a_deleted_menu_target_is_reported_with_its_line(prompts_copy, audio_copy):
    menu = prompts_copy / "menu.yaml"
    text = menu.read_text()
    key_line = text[: text.index('"3": reach_advocate')].count("\n") + 1
    menu.write_text(text[: text.index("  reach_advocate:\n    points:")])
    result = ivr_check(prompts_copy, audio_copy)
    assert result.returncode == 1
    expected = f"menu.yaml:{key_line}: error: key 3 goes to 'reach_advocate', which is no menu"
    assert expected in result.stdout


def test_broken_yaml_syntax_is_reported_with_the_line(prompts_copy, audio_copy):
    line = edit(prompts_copy / "en.yaml", "  no_input: Sorry", "  no_input: [Sorry")
    result = ivr_check(prompts_copy, audio_copy)
    assert result.returncode == 1
    assert f"en.yaml:{line}: error: YAML syntax" in result.stdout or (
        f"en.yaml:{line + 1}: error: YAML syntax" in result.stdout
    )


def test_an_unreachable_section_and_a_menu_with_no_way_back(prompts_copy, audio_copy):
    menu = prompts_copy / "menu.yaml"
    edit(menu, '      "3": reach_advocate\n', '      "3": more\n')
    edit(
        menu,
        "sections:\n",
        'more:\n    prompt: main_menu\n    keys:\n      "1": more\n\nsections:\n',
    )
    edit(menu, "more:\n    prompt", "  more:\n    prompt")
    for language, word in (("en", "more"), ("es", "más")):
        edit(prompts_copy / f"{language}.yaml", "words:\n", f"words:\n  more: [{word}]\n")
    messages = [p.message for p in errors(prompts_copy, audio_copy)]
    assert "section 'reach_advocate' cannot be reached from the greeting" in " ".join(messages)
    assert "menu 'more' has no way back to the main menu" in " ".join(messages)


def test_a_missing_recording_is_a_warning_and_json_output(prompts_copy, audio_copy):
    """Where the language has no placeholder voice (Spanish), a prompt waits for a person."""
    manifest = json.loads((audio_copy / "manifest.json").read_text())
    del manifest["recordings"]["es/goodbye"]
    (audio_copy / "manifest.json").write_text(json.dumps(manifest))
    result = ivr_check(prompts_copy, audio_copy, "--json")
    assert result.returncode == 0
    report = json.loads(result.stdout)
    assert (report["ok"], report["errors"], report["warnings"]) == (True, 0, 1)
    (warning,) = report["problems"]
    assert warning["severity"] == "warning"
    assert "'goodbye' has no recording" in warning["message"]


def test_word_diff():
    assert word_diff("a b c", "a x c") == "a [-b-] {+x+} c"
    assert word_diff("a b", "a b c") == "a b {+c+}"


def test_the_spanish_document_is_checked_like_the_english_one(prompts_copy, audio_copy):
    spanish = prompts_copy / "calling-the-police.es.txt"
    line = edit(
        spanish,
        "- Arrestar a tu pareja abusiva",
        "- Llevarte a un hospital.\n- Arrestar a tu pareja abusiva",
    )
    edit(spanish, "al 22522", "al 22533")
    result = ivr_check(prompts_copy, audio_copy)
    assert result.returncode == 1
    assert f"calling-the-police.es.txt:{line}: error: this bullet is not spoken" in result.stdout
    assert "'Llevarte a un hospital.'" in result.stdout
    assert "prompt 'reach.text' rewords a passage that changed" in result.stdout
    assert "es.yaml" in result.stdout
    # The Spanish recording of a changed verbatim prompt is stale, like an English one.
    edit(spanish, "un lugar seguro", "un sitio seguro")
    assert "en/police.stop_abuse" not in ivr_check(prompts_copy, audio_copy).stdout
    assert "es/police.stop_abuse.wav, is stale" in ivr_check(prompts_copy, audio_copy).stdout


def test_a_symbol_a_voice_would_read_aloud_is_an_error_at_its_line(prompts_copy, audio_copy):
    forms_line = edit(prompts_copy / "en.yaml", '"911": "nine one one"', '"911": "9-1-1"')
    line = edit(
        prompts_copy / "en.yaml",
        "Thank you for calling. Take care of yourself.",
        "Thank you for calling and/or take care of yourself.",
    )
    found = {p.where: p for p in errors(prompts_copy, audio_copy)}
    danger = next(p for p in found.values() if "'danger'" in p.message)
    assert 'a hyphen between digits, read as "dash"' in danger.message
    assert "call 9-1-1." in danger.message and "spoken_forms" in danger.fix
    assert found[f"{prompts_copy / 'en.yaml'}:{line}"].message.startswith(
        "prompt 'transfer_completed' has a slash"
    )
    assert not [p for p in found.values() if p.where.endswith(f"en.yaml:{forms_line}")], (
        "the form itself says 911's digits in order; the prompts that use it are at fault"
    )


def test_a_spoken_form_that_misses_a_digit_is_an_error_at_its_line(prompts_copy, audio_copy):
    line = edit(
        prompts_copy / "es.yaml",
        "dos dos cinco, dos dos. Otra vez: dos dos cinco, dos dos",
        "dos dos cinco, dos dos. Otra vez: dos cinco, dos dos",
    )
    (problem,) = [p for p in errors(prompts_copy, audio_copy) if "spoken form" in p.message]
    assert problem.where.endswith(f"es.yaml:{line}")
    assert problem.message == "the spoken form of 22522 says 2522, not 22522"
    assert "dos dos cinco dos dos" in problem.fix


# --- recordings are never lost ------------------------------------------------------------------


def _manifest(audio: Path) -> dict:
    return json.loads((audio / "manifest.json").read_text())


@pytest.mark.skipif(
    importlib.util.find_spec("piper") is not None, reason="piper is installed: the voice is there"
)
def test_without_the_voice_the_build_never_drops_a_recording(tmp_path):
    """As make's .venv is: pydub and ffmpeg, no piper. The greeting's recording is deleted and
    `ivr audio build` run as the check suggests: it stops, naming what to install, and the
    check goes on refusing until the recording is back."""
    prompts, audio = tmp_path / "prompts", tmp_path / "audio"
    shutil.copytree(ROOT / "prompts", prompts)
    shutil.copytree(ROOT / "audio", audio)
    (audio / "en/greeting.wav").unlink()
    manifest = (audio / "manifest.json").read_bytes()
    files = sorted(p.name for p in (audio / "en").iterdir())
    env = {"PROMPTS_DIR": str(prompts), "AUDIO_DIR": str(audio)}
    checked = ivr("check", **env)
    assert checked.returncode == 1
    assert (
        "prompt 'greeting'" in checked.stdout and "missing file en/greeting.wav" in checked.stdout
    )
    built = ivr("audio", "build", timeout=120, **env)
    assert built.returncode != 0
    assert "pip install -e '.[audio]'" in built.stderr
    assert "en/greeting (en/greeting.wav is missing)" in built.stderr
    assert "Nothing was changed" in built.stderr
    assert (audio / "manifest.json").read_bytes() == manifest
    assert sorted(p.name for p in (audio / "en").iterdir()) == files
    assert ivr("check", **env).returncode == 1


def test_a_prompt_renamed_with_its_human_recording_left_behind_is_an_error(
    prompts_copy, audio_copy
):
    manifest = _manifest(audio_copy)
    entry = manifest["recordings"]["en/police.arrest"]
    entry.update(source="human", source_file="sources/en/police.arrest.ogg")
    (audio_copy / "manifest.json").write_text(json.dumps(manifest))
    edit(prompts_copy / "menu.yaml", "      - police.arrest\n", "      - police.arrested\n")
    for code in ("en", "es"):
        edit(prompts_copy / f"{code}.yaml", "  police.arrest:", "  police.arrested:")
    (problem,) = [
        p for p in errors(prompts_copy, audio_copy) if "belongs to no prompt" in p.message
    ]
    assert problem.where.endswith("manifest.json")
    assert "sources/en/police.arrest.ogg" in problem.message
    assert "`ivr audio build` would drop it" in problem.message
    assert "if the prompt is now 'police.arrested', rename the file after it" in problem.fix


def test_a_prompt_without_a_recording_is_an_error_where_its_language_has_a_voice(
    prompts_copy, audio_copy
):
    manifest = _manifest(audio_copy)
    del manifest["recordings"]["en/goodbye"], manifest["recordings"]["es/goodbye"]
    (audio_copy / "manifest.json").write_text(json.dumps(manifest))
    found = {
        (p.where.split("/")[-1].split(":")[0], p.severity)
        for p in run_check(prompts_copy, audio_copy)
        if "prompt 'goodbye' has no recording" in p.message
    }
    assert found == {("en.yaml", "error"), ("es.yaml", "warning")}
