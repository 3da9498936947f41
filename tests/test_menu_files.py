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


# (edits of menu.yaml, the edit whose line the error names, what it names as shared)
SHARED = {
    "two section keys": (
        [('repeat: "2"', 'repeat: "1"')],
        'repeat: "1"',
        "key 1 is set for both next ({menu}:{next}) and repeat",
    ),
    "a section key and more time": (
        [('key: "#" ', 'key: "3" ')],
        'key: "3" ',
        "key 3 is set for both previous ({menu}:{previous}) and more time",
    ),
    "the Spanish key and a menu key": (
        [('"3": reach_advocate', '"9": reach_advocate')],
        'key: "9" ',
        "key 9 is set for both reach_advocate in menu 'main' ({menu}:{nine}) and the call in es",
    ),
    "the hotline key and a section key": (
        [('key: "0"  ', 'key: "*"  ')],
        'main_menu: "*"',
        "key * is set for main menu, but it is the hotline key ({menu}:{hotline})",
    ),
}


@pytest.mark.parametrize("what", SHARED)
def test_a_key_set_for_two_things_in_one_place_names_both_lines(prompts_copy, what):
    """Two section keys on one key would leave one of them with none, silently."""
    edits, at, says = SHARED[what]
    menu = prompts_copy / "menu.yaml"
    for old, new in edits:
        edit(menu, old, new)
    lines = menu.read_text().splitlines()

    def line_of(text: str) -> int | None:
        return next((n for n, line in enumerate(lines, 1) if text in line), None)

    error = _error(prompts_copy)
    assert error.line == line_of(at)
    assert says.format(
        menu=menu,
        next=line_of('next: "1"'),
        previous=line_of('previous: "3"'),
        nine=line_of('"9": reach_advocate'),
        hotline=line_of('key: "*"  '),
    ) in str(error)


def test_not_a_phone_key(prompts_copy):
    line = edit(prompts_copy / "menu.yaml", '"3": reach_advocate', '"A": reach_advocate')
    assert _error(prompts_copy).line == line


def test_a_misspelt_point_id_is_reported_at_its_own_line_with_the_closest_id(prompts_copy):
    line = edit(prompts_copy / "menu.yaml", "      - police.arrest", "      - police.arest")
    error = _error(prompts_copy)
    assert (error.path.name, error.line) == ("menu.yaml", line)
    assert "'police.arest' is no prompt in en.yaml or es.yaml" in error.message
    en = prompts_copy / "en.yaml"
    assert f"did you mean 'police.arrest' ({en}:{_line_of(en, '  police.arrest:')})?" in str(error)


def test_a_prompt_id_misspelt_in_one_language_file_is_reported_there(prompts_copy):
    es = prompts_copy / "es.yaml"
    line = edit(es, "  police.arrest:", "  police.arrets:")
    error = _error(prompts_copy)
    assert (error.path, error.line) == (es, line)
    assert "prompt 'police.arrets' is used by no menu or section" in error.message
    assert "did you mean 'police.arrest' (used at " in error.message
    assert f"menu.yaml:{_line_of(prompts_copy / 'menu.yaml', '- police.arrest')})" in str(error)


def test_a_new_point_without_prompts_says_where_to_add_them(prompts_copy):
    line = edit(
        prompts_copy / "menu.yaml", "      - police.arrest", "      - police.arrest\n      - zz.new"
    )
    error = _error(prompts_copy)
    assert (error.path.name, error.line) == ("menu.yaml", line + 1)
    assert "'zz.new' is no prompt in en.yaml or es.yaml; add it under prompts: in each" in str(
        error
    )


def test_a_prompt_missing_from_one_language_file_is_named_with_where_it_is_used(prompts_copy):
    es = prompts_copy / "es.yaml"
    edit(es, '  police.arrest:\n    passage: "Arrestar a tu pareja abusiva"\n', "")
    error = _error(prompts_copy)
    assert (error.path, error.line) == (es, _line_of(es, "prompts:"))
    assert "prompt 'police.arrest' is missing (used at " in error.message
    assert "menu.yaml:" in error.message


def test_a_misspelt_key_target_names_the_closest(prompts_copy):
    line = edit(prompts_copy / "menu.yaml", '"3": reach_advocate', '"3": reach_advocat')
    error = _error(prompts_copy)
    assert error.line == line
    assert "did you mean 'reach_advocate'?" in error.message


@pytest.mark.parametrize(
    ("file", "old", "new"),
    [
        ("menu.yaml", '      "3": reach_advocate', "      3: reach_advocate"),
        ("menu.yaml", '  next: "1"', "  next: 1"),  # a value may be unquoted: it is read as "1"
        ("en.yaml", '  "3": [three]', "  3: [three]"),
        ("es.yaml", '  "22522": "dos dos', '  22522: "dos dos'),
    ],
)
def test_an_unquoted_digit_key_says_to_quote_it(prompts_copy, file, old, new):
    line = edit(prompts_copy / file, old, new)
    if "next" in old:
        load_line(prompts_copy)
        return
    error = _error(prompts_copy)
    assert (error.path.name, error.line) == (file, line)
    key = new.split(":")[0].strip()
    assert f'write the key {key} in quotes, "{key}":' in error.message


# (file, old, new, the line of the mistake from the edited line, words of the message)
SYNTAX = {
    "a colon inside a value": (
        "en.yaml",
        "  not_an_option: Sorry, that is not an option.",
        "  not_an_option: Sorry: that is not an option.",
        0,
        "a colon followed by a space inside a value; put the whole value in quotes",
    ),
    "a key without its colon": (
        "en.yaml",
        "  keys_only: I will listen for keys only now.",
        "  keys_only I will listen for keys only now.",
        0,
        "a key without its colon",
    ),
    "a key without its colon before a nested one": (
        "menu.yaml",
        "  main:\n    prompt: main_menu",
        "  main\n    prompt: main_menu",
        0,
        "a key without its colon",
    ),
    "no space after a colon": (
        "en.yaml",
        "  keys_only: I will listen",
        "  keys_only:I will listen",
        0,
        "put a space after the colon",
    ),
    "a key indented one space too far": (
        "menu.yaml",
        "  point: 3 ",
        "   point: 3 ",
        0,
        "indent it like the line above",
    ),
    "a key indented under one that has a value": (
        "menu.yaml",
        "  factor: 2 ",
        "    factor: 2 ",
        0,
        "indented further than the line above, which already has a value",
    ),
    "a list item indented one space too little": (
        "menu.yaml",
        "      - police.arrest",
        "     - police.arrest",
        0,
        "line up",
    ),
    "a list item without its dash": (
        "menu.yaml",
        "      - police.arrest",
        "      police.arrest",
        0,
        "start it with - like the others",
    ),
    "a tab": ("menu.yaml", "  tries: 3", "\ttries: 3", 0, "a tab; YAML indents with spaces only"),
    "a quote never closed": (
        "en.yaml",
        'which_one: "Did you mean {options}? Press {keys}."',
        'which_one: "Did you mean {options}? Press {keys}.',
        0,
        "a quote opened on this line is never closed on it",
    ),
    "text after a closing quote": (
        "es.yaml",
        'which_one: "¿Quisiste decir {options}? Oprime {keys}."',
        'which_one: "¿Quisiste decir {options}?" Oprime {keys}.',
        0,
        "more text after a closing quote",
    ),
    "a list never closed": (
        "en.yaml",
        "  police: [police, the police, what can the police do, cops]",
        "  police: [police, the police, what can the police do, cops",
        0,
        "a [ opened on this line is not closed with ]",
    ),
    "a text line indented like a key": (
        "en.yaml",
        "    For other ways to reach an advocate, by text or chat, press 3.",
        "  For other ways to reach an advocate, by text or chat, press 3.",
        0,
        "indent it like that text",
    ),
    "a value starting with a backquote": (
        "en.yaml",
        "  keys_only: I will listen for keys only now.",
        "  keys_only: `I` will listen for keys only now.",
        0,
        "a value cannot start with `; put it in quotes",
    ),
}


@pytest.mark.parametrize("what", SYNTAX)
def test_a_yaml_syntax_error_says_what_is_wrong_at_the_line_to_fix(prompts_copy, what):
    file, old, new, offset, words = SYNTAX[what]
    line = edit(prompts_copy / file, old, new)
    error = _error(prompts_copy)
    assert (error.path.name, error.line) == (file, line + offset), str(error)
    assert words in error.message, str(error)
    for parser_words in ("mapping values", "<block end>", "expected", "scanning", "token"):
        assert parser_words not in error.message


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
