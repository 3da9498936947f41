"""Callers who need Spanish, cannot press keys, or need more time: whole calls, signed."""

from __future__ import annotations

import re
import urllib.parse

import pytest

from ivr.call.speech_match import SpeechKeys
from ivr.call.state import CallState
from ivr.errors import ConfigError
from ivr.menu.load import load_line
from ivr.menu.model import PhoneLine
from ivr.menu.words import words_of
from tests.helpers import ROOT, edit


def spoken(call, *kinds: str) -> list:
    return [e for e in call.transcript if e.kind in (kinds or ("say", "play"))]


def test_the_greeting_offers_spanish_in_spanish_on_one_key(server, en):
    call = server.call().start()
    danger, offer, greeting, menu = spoken(call)
    assert danger.text == en["danger"].text and greeting.text == en["greeting"].text
    assert menu.text == en["main_menu"].text
    assert (offer.kind, offer.text, offer.language) == (
        "say",
        "Si estás en peligro, cuelga y llama al nueve uno uno. Para español, oprime 9.",
        "es-US",
    )
    assert call.waiting_on.get("language") == "en-US"


def test_a_whole_call_in_spanish(server, es, line):
    call = server.call().start()
    call.transcript.clear()
    call.press("9")
    first, menu = spoken(call)
    # The 911 advice was in the offer the caller just heard: who the line is, then the menu.
    assert first.text == es["greeting"].text and "No es la policía" in first.text
    assert menu.text == es["main_menu"].text
    assert all(e.language == "es-US" for e in spoken(call, "say"))
    assert call.waiting_on.get("language") == "es-US"

    # Every section, point by point, in Spanish.
    for key, section_id in [("1", "police"), ("2", "what_you_can_do"), ("3", "reach_advocate")]:
        points = [es[p].text for p in line.sections[section_id].points]
        call.transcript.clear()
        call.press(key)
        heard = []
        while spoken(call)[-1].text != es["end_of_section"].text:
            heard += [e.text for e in spoken(call) if e.text != es["section_keys"].text]
            call.transcript.clear()
            call.press("1")
        heard += [e.text for e in spoken(call)[:-1]]
        assert heard == points
        call.press("*")
    assert "Detener el abuso el tiempo suficiente" in es["police.stop_abuse"].text
    assert es["you.call"].text.startswith("Cuando llames al nueve uno uno")

    call.transcript.clear()
    call.press("7")
    assert spoken(call)[0].text == "Lo siento, esa no es una opción."
    call.transcript.clear()
    call.press("0")
    (connecting,) = spoken(call)
    assert "Puedes pedir atención en español" in connecting.text
    call.transcript.clear()
    call.dial_outcome("busy")
    failed = ["transfer_failed", "danger", "other_ways", "try_again"]
    assert [e.text for e in spoken(call)] == [es[p].text for p in failed]
    call.press("")
    assert spoken(call)[-1].text == es["main_menu"].text
    call.press("").press("").press("").dial_outcome("no-answer").press("")
    assert spoken(call)[-1].text == es["goodbye"].text and call.ended


def test_a_call_by_speech_alone(server, en, line):
    call = server.call().start()
    assert call.waiting_on.get("input") == "dtmf speech"
    assert "what can the police do" in call.waiting_on.get("hints")
    police = [en[p].text for p in line.sections["police"].points]
    steps = [
        ("Police, please.", police[0]),
        ("Next", police[1]),  # "Police may:", straight into its first item
        ("um, next one", police[3]),
        ("GO BACK!", police[1]),  # back to the introduction and its first item, as one
        ("repeat", police[1]),
        ("main menu", en["main_menu"].text),
        ("What can I do?", en["you.intro"].text),
        ("start over", en["main_menu"].text),
    ]
    for words, heard in steps:
        call.transcript.clear()
        call.say(words)
        assert spoken(call)[0].text == heard, words
    call.transcript.clear()
    call.say("police help")  # two options at once: the line never guesses, it asks
    assert [e.text for e in spoken(call)] == [
        "Did you mean what the police can do, or to talk with an advocate? Press 1 or 0.",
        en["main_menu"].text,
    ]
    call.transcript.clear()
    call.say("bananas")
    assert spoken(call)[0].text == en["not_understood"].text
    call.transcript.clear()
    call.say("I need an advocate")
    assert call.waiting_for == "dial"


def test_spanish_by_speech(server, es):
    call = server.call().start()
    call.transcript.clear()
    call.say("Español")
    assert spoken(call)[0].text == es["greeting"].text
    call.transcript.clear()
    call.say("¿Qué puede hacer la policía?")
    assert spoken(call)[0].text == es["police.why"].text
    call.transcript.clear()
    call.say("siguiente")
    assert spoken(call)[0].text == es["police.intro"].text
    call.transcript.clear()
    call.say("next")  # English words do not count in a Spanish call: the point again
    assert spoken(call)[0].text == es["police.intro"].text


def test_a_silent_caller_with_more_time(server, en):
    call = server.call().start()
    assert call.waiting_on.get("timeout") == "7"
    call.transcript.clear()
    call.press("#")
    assert spoken(call)[0].text == en["more_time_on"].text
    assert call.waiting_on.get("timeout") == "14", "the menu's wait doubled"
    call.press("1")
    assert call.waiting_on.get("timeout") == "6", "a point's wait doubled too"
    call.press("*")
    for _ in range(3):
        assert call.waiting_for == "key" and call.waiting_on.get("timeout") == "14"
        call.press(None)
    assert call.waiting_for == "dial", "silence still ends the loop"
    call.dial_outcome("busy").press(None)
    assert call.ended


def test_more_time_and_language_travel_in_the_url(server, es):
    call = server.call().start().press("9").press("#")
    call.transcript.clear()
    call.press("2")
    action = urllib.parse.parse_qs(urllib.parse.urlsplit(call.waiting_on.get("action")).query)
    assert action["l"] == ["es"] and "t" in action["f"][0]
    assert spoken(call)[0].text == es["you.intro"].text
    assert call.waiting_on.get("timeout") == "6"


def test_speech_is_never_logged(run_server):
    secret = "my name is Maria Lopez and I live at 12 Oak Street"
    with run_server({"LOG_LEVEL": "DEBUG"}) as server:  # the most the line ever logs
        server.call(call_sid="CA" + "8" * 32).start().say(secret)
        log = server.log()
    assert "Maria" not in log and "Oak Street" not in log
    assert re.search(r"call=[0-9a-f]{10} key by speech at=main#0/m0 pressed=noise ->", log)
    assert "888888" not in log


def test_every_gather_listens_for_speech_in_the_calls_language(server):
    for keys, language in [([], "en-US"), (["9"], "es-US"), (["9", "2"], "es-US")]:
        call = server.call().start()
        for key in keys:
            call.press(key)
        gather = call.waiting_on
        assert gather.get("input") == "dtmf speech"
        assert gather.get("speechTimeout") == "2"
        assert gather.get("language") == language
        assert gather.get("numDigits") == "1"


# --- matching, without a server ------------------------------------------------------------


@pytest.fixture(scope="module")
def keys(line: PhoneLine) -> SpeechKeys:
    return SpeechKeys(line)


def heard(keys: SpeechKeys, state: CallState, words: str) -> object:
    """The key the words stand for, "noise", or the options they fit."""
    result = keys.hear(state, words)
    if result.key is not None:
        return result.key
    return "noise" if result.noise else tuple(option for option, _ in result.options)


@pytest.mark.parametrize(
    "words,key",
    [
        ("POLICE", "1"),
        ("the police!", "1"),
        ("um... what can the police do?", "1"),
        ("What can I do", "2"),
        ("chat", "3"),
        ("help", "0"),
        ("more time", "#"),
        ("spanish", "9"),
        ("police and chat", ("police", "reach_advocate")),
        ("", "noise"),
        ("purple", "noise"),
    ],
)
def test_what_words_choose_in_the_main_menu(keys, words, key):
    assert heard(keys, CallState("main"), words) == key


@pytest.mark.parametrize(
    "words,key",
    [
        ("Siguiente", "1"),
        ("atrás", "3"),
        ("atras", "3"),
        ("otra vez, por favor", "2"),
        ("el menú principal", "*"),
        ("necesito ayuda", "0"),
        ("siguiente o atrás", ("next", "previous")),
    ],
)
def test_what_words_choose_in_a_spanish_section(keys, words, key):
    assert heard(keys, CallState("police", 2, lang="es"), words) == key


def test_words_forgive_case_accents_punctuation_and_fillers(line):
    fillers = line.languages["en"].fillers
    assert words_of("Um, NEXT... please!", fillers) == ("next",)
    assert words_of("¿Qué puede hacer la Policía?") == ("que", "puede", "hacer", "la", "policia")


def test_the_language_files_share_one_structure(prompts_copy):
    edit(
        prompts_copy / "menu.yaml",
        "      - police.arrest\n",
        "      - police.arrest\n      - police.new\n",
    )
    edit(
        prompts_copy / "en.yaml",
        "  police.arrest:\n",
        "  police.new: A new point.\n  police.arrest:\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_line(prompts_copy)
    assert caught.value.path.name == "es.yaml"
    assert "prompt 'police.new' is missing" in str(caught.value)


def test_an_option_without_words_is_reported(prompts_copy):
    edit(prompts_copy / "es.yaml", "  more_time: [más tiempo, más despacio]\n", "")
    with pytest.raises(ConfigError) as caught:
        load_line(prompts_copy)
    assert "say which words choose 'more_time'" in str(caught.value)
    assert caught.value.path.name == "es.yaml" and caught.value.line


def test_the_spanish_document_is_marked_as_awaiting_review():
    head = (ROOT / "prompts/calling-the-police.es.txt").read_text().splitlines()[0]
    assert head.startswith("# TRADUCCIÓN PENDIENTE DE REVISIÓN")
