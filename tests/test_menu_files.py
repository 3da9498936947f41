"""Staff edit YAML: every mistake is reported with its file, its line and what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.errors import ConfigError
from ivr.menu.load import load_line
from tests.helpers import ROOT, edit, failed_start


def _line_of(path: Path, text: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


def _error(prompts: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_line(prompts)
    return caught.value


def test_the_shipped_menu_loads():
    line = load_line(ROOT / "prompts")
    assert set(line.sections) == {"police", "what_you_can_do", "reach_advocate"}


def test_broken_yaml_syntax_names_the_line(prompts_copy):
    menu = prompts_copy / "menu.yaml"
    line = edit(menu, '      "2": what_you_can_do', '      "2": [what_you_can_do')
    error = _error(prompts_copy)
    assert error.path == menu
    assert error.line in (line, line + 1)
    assert "YAML syntax" in str(error)


def test_an_unquoted_star_key_is_explained(prompts_copy):
    line = edit(prompts_copy / "menu.yaml", '      "*": repeat', "      *: repeat")
    error = _error(prompts_copy)
    assert error.line == line
    assert 'keys "*" and "#" must be written in quotes' in str(error)


def test_an_unquoted_hash_key_is_not_silently_lost(prompts_copy):
    line = edit(prompts_copy / "menu.yaml", '      "*": repeat', "      #: repeat")
    error = _error(prompts_copy)
    assert error.line == line
    assert '"#"' in str(error)


def test_a_key_given_twice_in_a_menu(prompts_copy):
    line = edit(
        prompts_copy / "menu.yaml", '      "3": reach_advocate', '      "2": reach_advocate'
    )
    error = _error(prompts_copy)
    assert error.line == line
    assert "'2' is given twice" in str(error)


def test_a_key_that_goes_nowhere(prompts_copy):
    line = edit(prompts_copy / "menu.yaml", '"3": reach_advocate', '"3": reach_advocates')
    error = _error(prompts_copy)
    assert (error.path.name, error.line) == ("menu.yaml", line)
    assert "'reach_advocates', which is no menu or section" in str(error)


def test_a_menu_may_not_take_the_hotline_key(prompts_copy):
    line = edit(prompts_copy / "menu.yaml", '"3": reach_advocate', '"0": reach_advocate')
    error = _error(prompts_copy)
    assert error.line == line
    assert "always reaches the hotline" in str(error)


def test_not_a_phone_key(prompts_copy):
    line = edit(prompts_copy / "menu.yaml", '"3": reach_advocate', '"A": reach_advocate')
    assert _error(prompts_copy).line == line


def test_a_missing_prompt_is_named_with_where_it_is_used(prompts_copy):
    edit(prompts_copy / "menu.yaml", "      - police.arrest", "      - police.arrests")
    error = _error(prompts_copy)
    assert error.path.name == "en.yaml"
    assert "'police.arrests' is missing" in str(error)
    assert "menu.yaml:" in str(error)


def test_a_passage_that_is_not_in_the_document(prompts_copy):
    en = prompts_copy / "en.yaml"
    line = edit(en, 'passage: "Arrest your abusive partner"', 'passage: "Arrest the partner"')
    error = _error(prompts_copy)
    assert (error.path, error.line) == (en, line)
    assert "is not the start of any sentence or bullet" in str(error)


def test_a_rewording_without_its_fingerprint_says_what_to_write(prompts_copy):
    en = prompts_copy / "en.yaml"
    edit(en, "    written_for: 7e16a5751fda\n", "")
    error = _error(prompts_copy)
    assert error.line == _line_of(en, "reach.text:")
    assert "add written_for: '7e16a5751fda'" in str(error)


def test_a_number_out_of_range(prompts_copy):
    line = edit(prompts_copy / "menu.yaml", "  tries: 3 ", "  tries: 0 ")
    error = _error(prompts_copy)
    assert error.line == line
    assert "from 1 to 10" in str(error)


def test_a_setting_of_the_wrong_type(prompts_copy):
    line = edit(prompts_copy / "menu.yaml", "  menu: 7 ", "  menu: soon ")
    error = _error(prompts_copy)
    assert error.line == line
    assert "should be a whole number" in str(error)


def test_a_broken_menu_does_not_start_the_server(prompts_copy, tmp_path):
    line = edit(prompts_copy / "menu.yaml", '"3": reach_advocate', '"3": nowhere')
    code, log = failed_start(tmp_path / "log", {"PROMPTS_DIR": str(prompts_copy)})
    assert code != 0
    assert f"menu.yaml:{line}: key 3 goes to 'nowhere'" in log
