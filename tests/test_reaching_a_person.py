"""Reaching a person: a silent caller, a noisy room, spoken keys, a question, a failed transfer.

Every test places calls against the real server, signed as Twilio signs them.
"""

from __future__ import annotations

import pytest

from ivr.call.speech_match import MAX_HINT_LENGTH, MAX_HINTS
from ivr.tools.timeline import timeline
from tests.helpers import edit

HOTLINE = "+18663319474"


def spoken(call) -> list[str]:
    return [e.text for e in call.transcript if e.kind in ("say", "play")]


# --- a silent caller ---------------------------------------------------------------------------


def test_a_silent_caller_is_ringing_the_hotline_within_60_seconds(server, en, es, line):
    call = server.call().start()
    while call.waiting_for == "key":
        call.press(None)
    assert call.waiting_for == "dial"
    timed = timeline(call.transcript)
    (dial,) = [t for t in timed if t.event.kind == "dial"]
    assert dial.event.text.startswith(HOTLINE)
    assert dial.start <= 60, f"the hotline rings {dial.start:.1f} s after answer"
    # Worked out from the real recordings and the Gather's timeout, not assumed:
    waits = [t.event.seconds for t in timed if t.event.kind == "silence"]
    assert waits == [line.wait.menu]
    # Announced in both languages: the caller has not chosen one. No apology first: only that a
    # person is coming, seconds sooner.
    assert spoken(call)[-3:] == [en["main_menu"].text, en["connecting"].text, es["connecting"].text]


def test_silence_in_a_section_still_moves_on_point_by_point(server, en):
    call = server.call().start().press("2")
    call.transcript.clear()
    call.press(None)
    assert spoken(call)[0] == en["you.tell_order"].text


def test_when_the_silent_callers_transfer_fails_the_call_ends_cleanly(server, en, es):
    call = server.call().start().press(None).dial_outcome("no-answer")
    assert call.waiting_for == "key"
    call.transcript.clear()
    call.press(None)
    assert call.ended and call.transcript[-1].kind == "hangup"
    assert spoken(call)[-2:] == [en["goodbye"].text, es["goodbye"].text]


# --- a noisy room --------------------------------------------------------------------------------


def test_three_stray_utterances_in_a_section_never_move_the_caller(server, en):
    call = server.call().start().press("1").press("1")  # "What Can the Police Do? ... may:"
    unit = [en["police.intro"].text, en["police.stop_abuse"].text]
    call.transcript.clear()
    call.say("come here you")
    assert spoken(call) == unit, "the point it cut short, from its start, with no apology"
    call.transcript.clear()
    call.say("turn that off")
    assert spoken(call) == [en["keys_only"].text, *unit]
    assert call.waiting_on.get("input") == "dtmf", "speech is off for the rest of the call"
    call.transcript.clear()
    call.say("the news at six")  # not heard: the Gather listens for keys only
    assert spoken(call) == [en["police.restraining_order"].text], "silence: the next point"
    call.press("*")
    assert call.waiting_on.get("input") == "dtmf" and "hints" not in call.waiting_on.attrib
    assert en["not_an_option"].text not in call.heard()
    assert not call.events("dial")


def test_three_stray_utterances_in_a_menu_never_count_toward_a_transfer(server, en):
    call = server.call().start().press("#")  # chosen: the usual three tries apply
    for words in ["come here you", "what's for dinner", "turn it up"]:
        call.say(words)
        assert call.waiting_for == "key"
    heard = spoken(call)
    assert heard.count(en["not_understood"].text) == 1
    assert heard.count(en["keys_only"].text) == 1
    assert en["not_an_option"].text not in heard
    # Speech never counted. The third was not even heard: with speech off, Twilio waited it
    # out as silence. Silence rules from then on: two more silences, and the hotline.
    assert [e.kind for e in call.transcript[-5:-2]] == ["speech", "silence", "play"]
    assert spoken(call)[-2:] == [en["no_input"].text, en["main_menu"].text]
    call.press(None)
    assert call.waiting_for == "key"
    call.press(None)
    assert call.waiting_for == "dial"


def test_noise_then_a_real_choice_starts_the_count_again(server):
    call = server.call().start().press("1")
    call.say("bla bla").say("next")
    call.transcript.clear()
    call.say("ugh")
    assert call.waiting_on.get("input") == "dtmf speech", "one stray utterance, not two in a row"


# --- keys said by name ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "heard"),
    [
        ("one", "police.why"),
        ("One.", "police.why"),
        ("press one", "police.why"),
        ("number two", "you.intro"),
        ("option three", "reach.intro"),
        ("press 3", "reach.intro"),
        ("star", "main_menu"),
        ("pound", "more_time_on"),
        ("hash", "more_time_on"),
        ("nine", "Esta es una guía de seguridad grabada de love is respect."),  # now in Spanish
        ("oh", "not_understood"),  # a lone "oh" is an exclamation, not a zero
        ("five", "not_an_option"),  # a key said by name is a key, even a wrong one
    ],
)
def test_keys_said_by_name_in_english(server, en, words, heard):
    call = server.call().start()
    call.transcript.clear()
    call.say(words)
    assert spoken(call)[0].startswith(en[heard].text if heard in en else heard), words


@pytest.mark.parametrize("words", ["zero", "press zero", "press oh", "dial oh"])
def test_zero_said_by_name_reaches_the_hotline(server, words):
    call = server.call().start().say(words)
    assert call.waiting_for == "dial", words


@pytest.mark.parametrize(
    ("words", "heard"),
    [
        ("uno", "police.why"),
        ("oprimo uno", "police.why"),
        ("marcar uno", "police.why"),
        ("número dos", "you.intro"),
        ("asterisco", "main_menu"),
        ("numeral", "more_time_on"),
        ("gato", "more_time_on"),
        ("one", "not_understood"),  # English names do not count in a Spanish call
    ],
)
def test_keys_said_by_name_in_spanish(server, es, words, heard):
    call = server.call().start().press("9")
    call.transcript.clear()
    call.say(words)
    assert spoken(call)[0] == es[heard].text, words


@pytest.mark.parametrize("words", ["cero", "oprimo cero"])
def test_zero_said_by_name_in_spanish(server, words):
    assert server.call().start().press("9").say(words).waiting_for == "dial"


def test_a_section_takes_keys_by_name_too(server, en):
    call = server.call().start().press("1")
    call.transcript.clear()
    call.say("press one")
    assert spoken(call)[0] == en["police.intro"].text


def test_the_hints_carry_the_keys_names_within_twilios_limits(server):
    for keys in ([], ["9"]):
        call = server.call().start()
        for key in keys:
            call.press(key)
        hints = call.waiting_on.get("hints").split(", ")
        assert len(hints) <= MAX_HINTS and all(len(h) <= MAX_HINT_LENGTH for h in hints)
        expected = ["one", "press one", "star"] if not keys else ["uno", "oprimo uno", "cero"]
        assert set(expected) <= set(hints)
        # Only the first three verbs with each key: every verb would crowd a larger menu out.
        assert ("key one" if not keys else "tecla uno") not in hints


# --- words that fit two options ----------------------------------------------------------------


def test_words_that_fit_two_options_are_a_question_not_a_refusal(server, en):
    call = server.call().start()
    call.transcript.clear()
    call.say("I need help with the police")
    question, *rest = spoken(call)
    assert question == (
        "Did you mean what the police can do, or to talk with an advocate? Press 1 or 0."
    )
    assert rest[-1] == en["main_menu"].text and en["not_an_option"].text not in rest
    call.transcript.clear()
    call.press("1")
    assert spoken(call)[0] == en["police.why"].text


def test_the_question_in_a_spanish_section(server, es):
    call = server.call().start().press("9").press("1")
    call.transcript.clear()
    call.say("siguiente o atrás")
    assert spoken(call)[0] == (
        "¿Quisiste decir el siguiente punto, o el punto anterior? Oprime 1 o 3."
    )
    assert spoken(call)[1] == es["police.why"].text, "then the point, from its start"


# --- a failed transfer -----------------------------------------------------------------------


def test_a_busy_hotline_gives_its_number_the_911_advice_other_ways_and_0_to_try_again(
    server, en, line
):
    call = server.call().start().press("2").press("0")
    call.transcript.clear()
    call.dial_outcome("busy")
    failed, danger, other_ways, try_again = spoken(call)
    assert failed.count("one. eight, six, six. three, three, one. nine, four, seven, four") == 2
    assert danger == en["danger"].text
    assert "two two five, two two" in other_ways and "love is respect dot org" in other_ways
    assert try_again == "To try the advocate line again, press 0."
    assert call.waiting_on.get("timeout") == str(line.wait.retry)
    call.press("0")
    assert call.waiting_for == "dial", "0 dials again"
    assert call.events("dial")[-1].text.startswith(HOTLINE)
    call.dial_outcome("no-answer").press(None)
    assert spoken(call)[-1] == en["main_menu"].text, "then the main menu, not a loop"


def test_before_a_language_is_chosen_a_failed_transfer_is_told_in_both(server, en, es):
    call = server.call().start().press("0")
    call.transcript.clear()
    call.dial_outcome("failed")
    heard = spoken(call)
    assert heard[:4] == [
        en["transfer_failed"].text,
        en["danger"].text,
        en["other_ways"].text,
        en["try_again"].text,
    ]
    assert heard[4:] == [
        es["transfer_failed"].text,
        es["danger"].text,
        es["other_ways"].text,
        es["try_again"].text,
    ]


def test_a_backup_number_is_tried_after_busy(run_server, prompts_copy, en):
    edit(
        prompts_copy / "menu.yaml",
        "  ring_seconds: 30     # how long it may ring",
        '  backups:\n    - number: "+15555550100"\n      ring_seconds: 20\n'
        "      say: trying_backup\n"
        "  ring_seconds: 30     # how long it may ring",
    )
    for code, words in [("en", "Trying another line."), ("es", "Probamos otra línea.")]:
        edit(
            prompts_copy / f"{code}.yaml", "\nprompts:\n", f"\nprompts:\n  trying_backup: {words}\n"
        )
    with run_server({"PROMPTS_DIR": str(prompts_copy)}) as server:
        call = server.call().start().press("1").press("0")
        (first,) = call.events("dial")
        assert first.text.startswith(HOTLINE) and call.waiting_on.get("timeout") == "30"
        call.transcript.clear()
        call.dial_outcome("busy")
        assert spoken(call) == ["Trying another line."]
        assert call.events("dial")[0].text.startswith("+15555550100")
        assert call.waiting_on.get("timeout") == "20"
        call.transcript.clear()
        call.dial_outcome("no-answer")
        assert spoken(call)[0] == en["transfer_failed"].text, "every number tried, then the rest"
        call.press("0")
        assert call.events("dial")[-1].text.startswith(HOTLINE), "trying again starts over"
