"""The first minute of a call, held by `ivr check` to what a caller needs: Spanish within 10 s
of answer, and the hotline ringing within 60 s for a caller who presses and says nothing. Timed
from the recordings' real lengths, by placing a call in-process; staff's edits are made to
copies."""

from __future__ import annotations

from pathlib import Path

from ivr.tools.check import Problem, run_check
from ivr.tools.opening import place_call, silent_caller_rings, spanish_starts
from tests.helpers import ROOT, edit


def errors(prompts: Path, audio: Path) -> list[Problem]:
    return [p for p in run_check(prompts, audio) if p.severity == "error"]


def test_the_shipped_line_fits_its_opening():
    call = place_call(ROOT / "prompts", ROOT / "audio")
    spanish = spanish_starts(call)
    assert spanish is not None and spanish <= 10
    rings = silent_caller_rings(call)
    assert rings is not None and rings <= 60


def test_a_longer_wait_after_the_menu_is_refused_for_the_silent_caller(prompts_copy):
    menu = prompts_copy / "menu.yaml"
    edit(menu, "  menu: 7 ", "  menu: 12 ")
    (problem,) = errors(prompts_copy, ROOT / "audio")
    assert problem.message.startswith(
        "the hotline rings for a caller who presses and says nothing 63.1 s after answer"
    )
    main = next(n for n, line in enumerate(menu.read_text().splitlines(), 1) if "  main:" in line)
    assert problem.where == f"{menu}:{main}"
    assert "wait_seconds: menu" in problem.fix


def test_more_words_as_the_call_is_put_through_are_refused_in_spanish_too(prompts_copy):
    edit(
        prompts_copy / "es.yaml",
        "    Te comunicamos con una persona consejera. Puedes",
        "    Espera un momento, por favor, mientras buscamos a una persona que te pueda ayudar "
        "ahora mismo. Te comunicamos con una persona consejera. Puedes",
    )
    (problem,) = errors(prompts_copy, ROOT / "audio")
    assert "the hotline rings for a caller who presses and says nothing" in problem.message


def test_a_longer_911_advice_before_the_spanish_offer_is_refused(prompts_copy, tmp_path):
    """Spoken by Twilio's voice here (no recordings), timed at a normal pace."""
    en = prompts_copy / "en.yaml"
    edit(en, "placeholder_tts: piper ", "placeholder_tts: none ")
    advice = "If you are in immediate danger, hang up and call 911."
    line = edit(en, f"  danger: {advice}", f"  danger: {advice} {advice} {advice}")
    audio = tmp_path / "audio"
    audio.mkdir()
    spanish = [p for p in errors(prompts_copy, audio) if "Spanish" in p.message]
    (problem,) = spanish
    assert problem.message.startswith("a caller first hears Spanish 15.6 s after answer")
    assert problem.where == f"{en}:{line}"
