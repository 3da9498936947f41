"""A caller is never told to press a key that does nothing where they hear it.

Staff's edits of copies of prompts/, in both languages, checked by `ivr check` and at start-up:
a key moved in menu.yaml with the words left alone, words that name a key that does nothing
where they are heard, and numbers that are no keys ("call nine one one").
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ivr.call.keys_told import key_problems
from ivr.call.moments import Moment, call_moments
from ivr.menu.load import load_line
from ivr.menu.named_keys import keys_named
from ivr.tools.check import Problem, run_check
from tests.audio_files import write_audio_dir
from tests.helpers import ROOT, edit, failed_start, ivr


def _line_of(path: Path, text: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


def _prompt_line(path: Path, prompt_id: str) -> int:
    """The line of a prompt under prompts: in a language file."""
    lines = path.read_text().splitlines()
    start = lines.index("prompts:")
    for number, line in enumerate(lines[start:], start=start + 1):
        if line.startswith(f"  {prompt_id}:"):
            return number
    raise AssertionError(f"no prompt {prompt_id!r} in {path}")


def key_errors(prompts: Path, audio: Path) -> list[Problem]:
    return [
        p
        for p in run_check(prompts, audio)
        if p.severity == "error" and "says" in p.message and "does nothing" in p.message
    ]


def meant_errors(prompts: Path, audio: Path) -> list[Problem]:
    """Errors for a key named for one option where it does another."""
    return [
        p
        for p in run_check(prompts, audio)
        if p.severity == "error" and '" for "' in p.message and "but in" in p.message
    ]


def key_warnings(prompts: Path, audio: Path) -> list[Problem]:
    return [p for p in run_check(prompts, audio) if "heard there names it" in p.message]


@pytest.fixture
def audio(tmp_path: Path) -> Path:
    folder = tmp_path / "audio"
    folder.mkdir()
    return folder


# --- what the words name ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "text", "keys"),
    [
        ("en", "For other ways to reach an advocate, press 3.", ["3"]),
        ("en", "To hear this again, press star. For more time, press pound.", ["*", "#"]),
        ("en", "Press the star key for the main menu.", ["*"]),
        (
            "en",
            "Press 1 for the next point, 2 to repeat, star for the menu, or 0 for help.",
            ["1", "2", "*", "0"],
        ),
        ("en", "Did you mean the police, or help? Press 1 or 0.", ["1", "0"]),
        ("en", "Dial oh for an advocate.", ["0"]),
        ("en", "If you are in danger, call 911.", []),
        ("en", "If you are in danger, dial nine one one.", []),
        ("en", "Call the hotline at 1-866-331-9474, 24/7.", []),
        ("en", "Text loveis to 22522. It has 7 days of tips, one for each day.", []),
        ("en", "Press 1 to hear one more time what the three police officers said.", ["1"]),
        ("en", "Press 1 to hear what the 3 police officers said.", ["1", "3"]),
        ("en", "Press 1 for help and 4 for more.", ["1", "4"]),
        ("en", "Press 1, then 4.", ["1", "4"]),
        ("en", "Enter 4 for help, or choose 5.", ["4", "5"]),
        ("en", "Advocates are there 24 hours a day, 7 days a week.", []),
        ("es", "Para español, oprime 9.", ["9"]),
        ("es", "Oprime 1 para ayuda y 4 para más.", ["1", "4"]),
        ("es", "Oprime 1 u 8.", ["1", "8"]),
        ("es", "Selecciona 4 para ayuda, o elige 5.", ["4", "5"]),
        ("es", "Aprieta 4 para ayuda, o toca el 5.", ["4", "5"]),
        ("en", "Press 1 for the next point. 5 to repeat.", ["1", "5"]),
        ("en", "For help, press 1. Or 5, for more time.", ["1", "5"]),
        ("es", "Oprime 1 para el siguiente punto. 4 para repetir.", ["1", "4"]),
        ("en", "Advocates answer. 7 days a week, they are there.", []),
        ("es", "Para tener más tiempo, oprime la tecla numeral.", ["#"]),
        (
            "es",
            "Oprime 1 para seguir, 2 para repetir, asterisco para el menú, o 0 para ayuda.",
            ["1", "2", "*", "0"],
        ),
        ("es", "Para hablar con una persona consejera, oprime 0.", ["0"]),
        ("es", "Si estás en peligro, llama al 911. Abierto las 24 horas, 24/7.", []),
        ("es", "Marca el nueve uno uno si estás en peligro.", []),
        ("es", "Envía un texto al 22522 o llama al 1-866-331-9474.", []),
    ],
)
def test_the_keys_a_text_names(line_copy, language, text, keys):
    named = keys_named(text, line_copy.languages[language])
    assert [k.key for k in named] == keys, named


@pytest.fixture(scope="module")
def line_copy():
    return load_line(ROOT / "prompts")


def test_key_names_come_from_the_language_file(prompts_copy):
    """A key named by a word the language file gives it, and no word it does not."""
    es = prompts_copy / "es.yaml"
    edit(es, '"#": [numeral, gato, almohadilla]', '"#": [numeral, gato, almohadilla, michi]')
    language = load_line(prompts_copy).languages["es"]
    assert [k.key for k in keys_named("Para más tiempo, oprime michi.", language)] == ["#"]
    assert keys_named("Para más tiempo, oprime pulpo.", language) == ()


def test_a_key_named_by_a_common_word_does_not_hide_the_digits_beside_it(prompts_copy, audio):
    """ "for" given as a name of 4 (a caller may say it so): "press 1 for the next point"
    still names key 1, and the check still sees key 1 move."""
    en = prompts_copy / "en.yaml"
    edit(en, '"4": [four]', '"4": [four, for]')
    language = load_line(prompts_copy).languages["en"]
    assert [k.key for k in keys_named("Press 1 for the next point.", language)] == ["1"]
    edit(prompts_copy / "menu.yaml", 'next: "1"', 'next: "5"')
    errors = key_errors(prompts_copy, audio)
    assert any("en.yaml" in p.where and "key 1 does nothing" in p.message for p in errors)


# --- a key moved, the words not ---------------------------------------------------------------

# (menu.yaml edit, what the words still name, in each language file)
MOVED = {
    "a menu key": (('"3": reach_advocate', '"4": reach_advocate'), "3"),
    "the next key": (('next: "1"', 'next: "4"'), "1"),
    "the repeat key": (('repeat: "2"', 'repeat: "5"'), "2"),
    "the previous key": (('previous: "3"', 'previous: "6"'), "3"),
    "the main menu key in sections": (('main_menu: "*"', 'main_menu: "7"'), "*"),
    "the hotline key": (('key: "0"  ', 'key: "8"  '), "0"),
    "the Spanish key": (('key: "9" ', 'key: "8" '), "9"),
    "the more-time key": (('key: "#" ', 'key: "7" '), "#"),
}


@pytest.mark.parametrize("what", MOVED)
def test_a_key_moved_with_the_words_left_alone_is_an_error_in_each_language(
    prompts_copy, audio, what
):
    (old, new), said = MOVED[what]
    edit(prompts_copy / "menu.yaml", old, new)
    errors = key_errors(prompts_copy, audio)
    by_file = {p.where.split(":")[0].rsplit("/", 1)[-1] for p in errors}
    assert by_file >= ({"es.yaml"} if what == "the Spanish key" else {"en.yaml", "es.yaml"})
    for problem in errors:
        assert f"but key {said} does nothing" in problem.message
        # The prompt's own line, and where the keys of that place are set.
        file, line = problem.where.rsplit(":", 1)
        prompt_id = problem.message.split("'")[1]
        assert int(line) == _prompt_line(Path(file), prompt_id)
        assert "menu.yaml:" in problem.message or "put through" in problem.message


def test_the_key_that_took_its_place_is_named_with_its_line(prompts_copy, audio):
    new_line = edit(prompts_copy / "menu.yaml", '"3": reach_advocate', '"4": reach_advocate')
    en = prompts_copy / "en.yaml"
    (problem,) = [p for p in key_errors(prompts_copy, audio) if "en.yaml" in p.where]
    assert problem.where.endswith(f"en.yaml:{_prompt_line(en, 'main_menu')}")
    assert "says \"press 3\", but key 3 does nothing in menu 'main'" in problem.message
    assert f"key 4, set at {prompts_copy / 'menu.yaml'}:{new_line}" in problem.fix
    (warning,) = key_warnings(prompts_copy, audio)
    assert warning.where.endswith(f"menu.yaml:{new_line}")
    assert "key 4 (goes to reach_advocate) works in menu 'main'" in warning.message


def test_the_line_does_not_start_with_a_key_named_that_does_nothing(prompts_copy, tmp_path):
    edit(prompts_copy / "menu.yaml", 'previous: "3"', 'previous: "6"')
    code, log = failed_start(tmp_path / "log", {"PROMPTS_DIR": str(prompts_copy)})
    assert code != 0
    line = _prompt_line(prompts_copy / "en.yaml", "end_of_section")
    assert f"en.yaml:{line}: prompt 'end_of_section' says \"Press 3\"" in log
    assert "key 3 does nothing in section 'police'" in log


# --- words that name a key that does nothing where they are heard -----------------------------

# (file, old, new, the key, a place it does nothing)
NAMED = {
    "en: a key heard in sections": (
        "en.yaml",
        "not_an_option: Sorry, that is not an option.",
        "not_an_option: Sorry, that is not an option. For Spanish, press 9.",
        "9",
        "section 'police'",
    ),
    "es: a key while the call is put through": (
        "es.yaml",
        "No cuelgues.",
        "No cuelgues, o oprime 1 para colgar.",
        "1",
        "while the call is put through",
    ),
    "en: a key by its second name at goodbye": (
        "en.yaml",
        "call 911. Goodbye.",
        "call 911. To hear this again, press hash. Goodbye.",
        "#",
        "as the call ends",
    ),
    "es: a key no menu has": (
        "es.yaml",
        "por texto o chat, oprime 3.",
        "por texto o chat, oprime la tecla 5.",
        "5",
        "menu 'main'",
    ),
    "en: the 911 advice, heard in the greeting and after a failed transfer": (
        "en.yaml",
        "danger: If you are in immediate danger, hang up and call 911.",
        "danger: If you are in immediate danger, hang up and call 911, or press 4.",
        "4",
        "menu 'main'",
    ),
    "es: the Spanish offer": (
        "es.yaml",
        "Para español, oprime 9.",
        "Para español, oprime 7.",
        "7",
        "menu 'main'",
    ),
    "en: the retry after a failed transfer": (
        "en.yaml",
        "try_again: To try the advocate line again, press 0.",
        "try_again: To try the advocate line again, press 0, or 6 for the main menu.",
        "6",
        "after a failed transfer",
    ),
    "es: a list in the sections' keys": (
        "es.yaml",
        "2 para repetir, 3 para regresar,",
        "2 para repetir, 3 para regresar, 5 para el final,",
        "5",
        "section 'what_you_can_do'",
    ),
    "es: the question when words fit two options": (
        "es.yaml",
        'Oprime {keys}."',
        'Oprime {keys}, o 9 para español."',
        "9",
        "section 'reach_advocate'",
    ),
    "es: another verb of key_prefixes": (
        "es.yaml",
        "Para saber qué puede hacer la policía, oprime 1.",
        "Para saber qué puede hacer la policía, pulsa 6.",
        "6",
        "menu 'main'",
    ),
    "en: a key joined by 'and'": (
        "en.yaml",
        "For more time to answer, press pound.",
        "For more time to answer, press pound, and 6 for help.",
        "6",
        "menu 'main'",
    ),
    "es: a key after a verb": (
        "es.yaml",
        "Para saber qué puede hacer la policía, oprime 1.",
        "Para saber qué puede hacer la policía, selecciona 5.",
        "5",
        "menu 'main'",
    ),
    "en: the end of a section": (
        "en.yaml",
        "Press 3 to go back, or star for the main menu.",
        "Press 3 to go back, or pound for the main menu, or 9 for Spanish.",
        "9",
        "section 'reach_advocate'",
    ),
}


@pytest.mark.parametrize("what", NAMED)
def test_words_that_name_a_key_doing_nothing_where_heard_are_an_error(prompts_copy, audio, what):
    file, old, new, key, place = NAMED[what]
    edit(prompts_copy / file, old, new)
    errors = key_errors(prompts_copy, audio)
    assert errors, f"no error for {what}"
    (problem,) = [p for p in errors if f"key {key} does nothing" in p.message]
    assert problem.where.rsplit("/", 1)[-1].startswith(f"{file}:")
    assert place in problem.message


# --- numbers that are no keys, and keys named where they work ---------------------------------

ALLOWED = {
    "en: 911 in the main menu": (
        "en.yaml",
        "For more time to answer, press pound.",
        "For more time to answer, press pound. In danger, call 911.",
    ),
    "en: the hotline's number, open 24/7, in sections": (
        "en.yaml",
        "not_an_option: Sorry, that is not an option.",
        "not_an_option: Sorry, that is not an option. The hotline, 1-866-331-9474, is open 24/7.",
    ),
    "en: digits of a number written out": (
        "en.yaml",
        "not_an_option: Sorry, that is not an option.",
        "not_an_option: Sorry, that is not an option. In danger, dial nine one one.",
    ),
    "es: 911 and 22522 while the call is put through": (
        "es.yaml",
        "No cuelgues.",
        'No cuelgues. Si estás en peligro, llama al 911, o escribe "loveis" al 22522.',
    ),
    "es: a key that works where it is heard": (
        "es.yaml",
        "Ahora tienes más tiempo para responder.",
        "Ahora tienes más tiempo para responder. Para hablar con alguien, oprime 0.",
    ),
}


@pytest.mark.parametrize("what", ALLOWED)
def test_numbers_and_keys_that_work_are_no_error(prompts_copy, audio, what):
    file, old, new = ALLOWED[what]
    edit(prompts_copy / file, old, new)
    assert key_errors(prompts_copy, audio) == []
    assert meant_errors(prompts_copy, audio) == []


def test_the_shipped_line_tells_of_every_key_or_says_why_not(audio):
    problems = run_check(ROOT / "prompts", audio)
    assert [p for p in problems if "names it" in p.message or "does nothing" in p.message] == []
    assert meant_errors(ROOT / "prompts", audio) == []


# --- a key named for one option where it does another -------------------------------------------

# (edits of (file, old, new); the prompt, its file; the key; the option the words name; the
# menu.yaml line where that key is set, as its text)
SWAPPED = {
    "two menu keys swapped in menu.yaml": (
        [
            ("menu.yaml", '"1": police', '"1": what_you_can_do'),
            ("menu.yaml", '"2": what_you_can_do', '"2": police'),
        ],
        ("main_menu", "en.yaml"),
        "1",
        '"what the police can do" (police)',
        '"1": what_you_can_do',
    ),
    "two section keys swapped in menu.yaml": (
        [
            ("menu.yaml", 'repeat: "2"', 'repeat: "3"'),
            ("menu.yaml", 'previous: "3"', 'previous: "2"'),
        ],
        ("section_keys", "es.yaml"),
        "3",
        '"regresar" (previous)',
        'repeat: "3"',
    ),
    "the hotline and more-time keys swapped in menu.yaml": (
        [
            ("menu.yaml", 'key: "0"  ', 'key: "%"  '),
            ("menu.yaml", 'key: "#" ', 'key: "0" '),
            ("menu.yaml", 'key: "%"  ', 'key: "#"  '),
        ],
        ("main_menu", "es.yaml"),
        "#",
        '"más tiempo para responder" (more_time)',
        'key: "#"  ',
    ),
    "es: two keys swapped in the words": (
        [
            ("es.yaml", "hacer la policía, oprime 1.", "hacer la policía, oprime 3."),
            ("es.yaml", "por texto o chat, oprime 3.", "por texto o chat, oprime 1."),
        ],
        ("main_menu", "es.yaml"),
        "3",
        '"qué puede hacer la policía" (police)',
        '"3": reach_advocate',
    ),
    "es: a prompt heard in the menu and in sections, fit for sections only": (
        [
            (
                "es.yaml",
                "more_time_on: Ahora tienes más tiempo para responder.",
                "more_time_on: Ahora tienes más tiempo para responder. Oprime 3 para regresar.",
            )
        ],
        ("more_time_on", "es.yaml"),
        "3",
        '"regresar" (previous)',
        '"3": reach_advocate',
    ),
    "en: a list's keys swapped in the words": (
        [("en.yaml", "2 to repeat, 3 to go back", "3 to repeat, 2 to go back")],
        ("section_keys", "en.yaml"),
        "2",
        '"go back" (previous)',
        'repeat: "2"',
    ),
}


@pytest.mark.parametrize("what", SWAPPED)
def test_a_key_named_for_what_another_key_does_is_an_error(prompts_copy, audio, what):
    edits, (prompt_id, file), key, meant, setting = SWAPPED[what]
    for edited, old, new in edits:
        edit(prompts_copy / edited, old, new)
    errors = meant_errors(prompts_copy, audio)
    (problem,) = [
        p
        for p in errors
        if f"prompt {prompt_id!r}" in p.message
        and f", key {key}:" in p.message
        and p.where.rsplit("/", 1)[-1].startswith(f"{file}:")
    ]
    assert int(problem.where.rsplit(":", 1)[1]) == _prompt_line(prompts_copy / file, prompt_id)
    assert f" for {meant}, but in " in problem.message
    menu = prompts_copy / "menu.yaml"
    assert problem.message.endswith(f"(set at {menu}:{_line_of(menu, setting)})")


def test_the_line_does_not_start_with_two_keys_swapped(prompts_copy, tmp_path):
    edit(prompts_copy / "menu.yaml", 'next: "1"', 'next: "3"')
    edit(prompts_copy / "menu.yaml", 'previous: "3"', 'previous: "1"')
    code, log = failed_start(tmp_path / "log", {"PROMPTS_DIR": str(prompts_copy)})
    assert code != 0
    line = _prompt_line(prompts_copy / "en.yaml", "end_of_section")
    assert f'en.yaml:{line}: prompt \'end_of_section\' says "Press 3" for "go back"' in log
    assert "in section 'police', key 3: next (set at" in log


def test_words_that_fit_another_option_better_are_settled_in_the_language_file(prompts_copy, audio):
    """ "Para intentarlo otra vez, oprime 0" fits repeat ("otra vez") better than the hotline:
    the fix is to give the hotline those words, as a caller may say them too."""
    es = prompts_copy / "es.yaml"
    edit(
        es,
        "Para intentar de nuevo con la línea de apoyo, oprime 0.",
        "Para intentarlo otra vez, oprime 0.",
    )
    (problem,) = meant_errors(prompts_copy, audio)
    assert '"oprime 0" for "otra vez" (repeat)' in problem.message
    assert problem.fix.startswith(
        "if the words are right for what key 0 does there, add them to es.yaml's words: for it"
    )
    edit(es, "  hotline: [consejera,", "  hotline: [intentarlo otra vez, consejera,")
    assert meant_errors(prompts_copy, audio) == []


@pytest.mark.parametrize(
    ("file", "old", "new"),
    [
        (
            "en.yaml",
            "For what you can do when the police are contacted, press 2.",
            "For what you can do when the police come, press 2.",
        ),
        (
            "en.yaml",
            "For what you can do when the police are contacted, press 2.",
            "For tips on talking to the police, press 2.",
        ),
        (
            "es.yaml",
            "Para saber qué puedes hacer cuando se llama a la policía, oprime 2.",
            "Para saber qué puedes hacer tú si llamas a la policía, oprime 2.",
        ),
        ("en.yaml", "To try the advocate line again, press 0.", "To try again, press 0."),
        (
            "en.yaml",
            "Press 3 to go back, or star for the main menu.",
            "Press 3 to go back a point, or star to start again.",
        ),
    ],
)
def test_a_rewording_that_still_fits_its_key_is_no_error(prompts_copy, audio, file, old, new):
    """Words that fit the key's own option best, or name another by one word among many."""
    edit(prompts_copy / file, old, new)
    assert meant_errors(prompts_copy, audio) == []


# --- keys that work with no prompt naming them --------------------------------------------------


def test_a_working_key_no_prompt_names_is_a_warning_until_marked_unspoken(prompts_copy, audio):
    menu = prompts_copy / "menu.yaml"
    line = edit(menu, '      "*": repeat', '      "*": repeat\n      "5": police')
    (warning,) = key_warnings(prompts_copy, audio)
    assert warning.where.endswith(f"menu.yaml:{line + 1}")
    assert "key 5 (goes to police) works in menu 'main'" in warning.message
    assert "en.yaml or es.yaml" in warning.message
    assert 'unspoken_keys: main: ["5"]' in warning.fix
    edit(menu, '  main: ["9"]', '  main: ["9", "5"]')
    assert key_warnings(prompts_copy, audio) == []


def test_a_key_untold_in_every_section_is_marked_for_them_all(prompts_copy, audio):
    edit(prompts_copy / "menu.yaml", '  sections: ["#"]      #', "  #")
    (warning,) = key_warnings(prompts_copy, audio)
    assert "key # (more time) works in section 'police'" in warning.message
    assert 'unspoken_keys: sections: ["#"]' in warning.fix


def test_a_key_marked_unspoken_that_does_nothing_is_an_error(prompts_copy, audio):
    line = edit(prompts_copy / "menu.yaml", '  main: ["9"]', '  main: ["9", "5"]')
    (problem,) = [p for p in run_check(prompts_copy, audio) if "unspoken_keys" in p.message]
    assert problem.severity == "error"
    assert problem.where.endswith(f"menu.yaml:{line}")
    assert "key 5 does nothing in menu 'main'" in problem.message


def test_unspoken_keys_must_name_a_menu_or_section(prompts_copy, audio):
    line = edit(prompts_copy / "menu.yaml", '  sections: ["#"]', '  section: ["#"]')
    (problem,) = [p for p in run_check(prompts_copy, audio) if p.severity == "error"]
    assert problem.where.endswith(f"menu.yaml:{line}")
    assert "did you mean 'sections'?" in problem.message


# --- recordings, through the words they were made from ------------------------------------------


def test_a_recording_that_names_a_key_doing_nothing_is_an_error(prompts_copy, tmp_path):
    line = load_line(prompts_copy)
    audio = tmp_path / "audio"
    texts = {
        f"{code}/{pid}": (p.text, b"RIFF")
        for code, language in line.languages.items()
        for pid, p in language.prompts.items()
    }
    said = texts["en/not_an_option"][0]
    texts["en/not_an_option"] = (f"{said} For Spanish, press 9.", b"RIFF")
    write_audio_dir(audio, texts)
    result = ivr("check", "--json", PROMPTS_DIR=str(prompts_copy), AUDIO_DIR=str(audio))
    assert result.returncode == 1
    problems = json.loads(result.stdout)["problems"]
    (problem,) = [p for p in problems if "does nothing" in p["message"]]
    assert problem["message"].startswith(
        "the recording of prompt 'not_an_option' says \"press 9\", but key 9 does nothing"
    )
    en = prompts_copy / "en.yaml"
    assert problem["where"].endswith(f"en.yaml:{_prompt_line(en, 'not_an_option')}")


def test_a_backup_number_s_prompt_is_heard_where_no_key_works(prompts_copy, audio):
    edit(
        prompts_copy / "menu.yaml",
        "  # backups:",
        '  backups:\n    - number: "+15555550100"\n      say: trying_backup\n  # backups:',
    )
    for code, said in (("en", "Trying another line. To stop, press 1."), ("es", "Otra línea.")):
        edit(
            prompts_copy / f"{code}.yaml",
            "  goodbye: >-",
            f"  trying_backup: {said}\n  goodbye: >-",
        )
    (problem,) = key_errors(prompts_copy, audio)
    assert problem.where.endswith(
        f"en.yaml:{_prompt_line(prompts_copy / 'en.yaml', 'trying_backup')}"
    )
    assert problem.message == (
        "prompt 'trying_backup' says \"press 1\", but key 1 does nothing while the call is put "
        "through to the hotline"
    )
    assert problem.fix == "change the words: no key does anything there"


@pytest.mark.parametrize(
    "edits",
    [
        [],
        [("menu.yaml", '"3": reach_advocate', '"4": reach_advocate')],
        [
            ("menu.yaml", "  then: transfer ", "  then: goodbye "),
            ("menu.yaml", "  tries: 3 ", "  tries: 2 "),
        ],
        [
            (
                "menu.yaml",
                "  # backups:",
                '  backups:\n    - number: "+15555550100"\n      say: trying_backup\n  # backups:',
            ),
            (
                "en.yaml",
                "  goodbye: >-",
                "  trying_backup: Trying another line. Press 1.\n  goodbye: >-",
            ),
            ("es.yaml", "  goodbye: >-", "  trying_backup: Otra línea.\n  goodbye: >-"),
        ],
    ],
    ids=["shipped", "a key moved", "goodbye after two tries", "a backup number"],
)
def test_following_each_call_once_finds_what_following_every_call_finds(prompts_copy, edits):
    """The check follows calls that differ only in their pace, the privacy tip or where a
    transfer began once; following every one of them finds the same problems."""
    for file, old, new in edits:
        edit(prompts_copy / file, old, new)
    line = load_line(prompts_copy)
    assert key_problems(line) == key_problems(line, exhaustive=True)

    def heard(moment: Moment) -> tuple:
        """What a caller hears and can press; where a transfer began, and whether the privacy
        tip is still to come before goodbye, are what the quicker way leaves out."""
        said = tuple(
            s for s in moment.said if not (moment.kind == "hangup" and s.prompt == "privacy")
        )
        node = moment.node if moment.kind == "ask" else ""
        return moment.kind, moment.language, moment.retry, node, said, moment.works

    quick = {heard(m) for m in call_moments(line)}
    assert quick == {heard(m) for m in call_moments(line, exhaustive=True)}
