"""Twilio's voices: every <Say> on the line is a neural or generative voice Twilio lists for the
language it speaks, and a voice Twilio does not list for a language file's language is refused."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from ivr.errors import ConfigError
from ivr.menu.load import load_line
from ivr.menu.say_voices import POLLY, engine_of, languages_of, voice_problem
from ivr.menu.twilio_say import SAY_LANGUAGES, SAY_VOICES
from ivr.tools.simulated_call import HttpReply, SimulatedCall, flask_post
from ivr.tools.twilio_say import render
from ivr.web.app import create_app
from ivr.web.fallback import SPOKEN, fallback_twiml, last_resort_twiml
from ivr.web.settings import Settings
from tests.helpers import ROOT, edit, ivr

BETTER = ("neural", "generative")


def says(twiml: str) -> list[tuple[str, str]]:
    """(voice, language) of every <Say> in a TwiML document."""
    return [(s.get("voice", ""), s.get("language", "")) for s in ET.fromstring(twiml).iter("Say")]


def test_each_language_file_names_a_neural_voice_twilio_lists_for_its_language(line):
    assert {code: (lang.voice, lang.code) for code, lang in line.languages.items()} == {
        "en": ("Polly.Joanna-Neural", "en-US"),
        "es": ("Polly.Lupe-Neural", "es-US"),
    }
    for language in line.languages.values():
        assert language.voice in SAY_VOICES and language.code in SAY_LANGUAGES
        assert language.code in languages_of(language.voice)
        assert engine_of(language.voice) in BETTER


def test_every_say_of_a_whole_call_is_a_neural_voice_in_its_own_language(tmp_path):
    """With no recordings at all, every prompt of every path is spoken with <Say>."""
    app = create_app(
        replace(
            Settings.from_env(), prompts_dir=ROOT / "prompts", audio_dir=tmp_path, log_level="ERROR"
        )
    )
    post = flask_post(app)
    bodies: list[str] = []

    def keeping(url: str, params: dict[str, str], headers: dict[str, str]) -> HttpReply:
        reply = post(url, params, headers)
        bodies.append(reply.body)
        return reply

    def call() -> SimulatedCall:
        return SimulatedCall(keeping, "http://localhost/voice").start()

    call().press("1").press("2").press("3").press("*").press("7").press("0").dial_outcome("busy")
    call().press(None)  # silent: put through, in both languages
    call().press("9").press("2").press("#").say("policía").press("0").dial_outcome("completed")
    call().say("help me please the police").press("3")  # a question names options with <Say>
    heard = {pair for body in bodies for pair in says(body)}
    assert {language for _, language in heard} == {"en-US", "es-US"}
    for voice, language in heard:
        assert language in languages_of(voice) and engine_of(voice) in BETTER, voice


def test_the_fallback_and_the_last_resort_speak_with_neural_voices():
    for twiml in (fallback_twiml("+18005550100"), last_resort_twiml()):
        assert says(twiml) == list(SPOKEN) * 2
    for voice, language in SPOKEN:
        assert voice_problem(voice, language) is None and engine_of(voice) in BETTER


@pytest.mark.parametrize(
    ("voice", "language", "said"),
    [
        (
            "Polly.Joana-Neural",
            "en-US",
            "'Polly.Joana-Neural' is not a voice Twilio lists for <Say>; did you mean "
            "'Polly.Joanna-Neural'? for en-US use one of Polly.Danielle-Neural,",
        ),
        (
            "Polly.Lupe-Neural",
            "es-MX",
            "'Polly.Lupe-Neural' speaks es-US, not es-MX (language: above); for es-MX use one "
            "of Polly.Andres-Neural, Polly.Mia-Neural, Polly.Andres-Generative, "
            "Polly.Mía-Generative",
        ),
        ("Polly.Lucia-Neural", "es-US", "'Polly.Lucia-Neural' speaks es-ES, not es-US"),
        ("alice", "es-US", "'alice': the line takes Twilio's Amazon Polly and Google voices"),
    ],
)
def test_a_voice_twilio_does_not_list_for_the_language_stops_the_line(
    prompts_copy, voice, language, said
):
    es = prompts_copy / "es.yaml"
    edit(es, "language: es-US", f"language: {language}")
    line = edit(es, "voice: Polly.Lupe-Neural", f"voice: {voice}")
    with pytest.raises(ConfigError) as refused:
        load_line(prompts_copy)
    assert (refused.value.path, refused.value.line) == (es, line)
    assert refused.value.message.startswith(said)


def test_a_language_code_twilio_does_not_take_is_named(prompts_copy):
    line = edit(prompts_copy / "en.yaml", "language: en-US", "language: en-us")
    with pytest.raises(ConfigError) as refused:
        load_line(prompts_copy)
    assert refused.value.line == line
    assert refused.value.message == (
        "'en-us' is not a language code Twilio's <Say> takes; did you mean en-US?"
    )


def test_a_standard_voice_is_a_warning_of_ivr_check(prompts_copy):
    edit(prompts_copy / "en.yaml", "voice: Polly.Joanna-Neural", "voice: Polly.Joanna")
    load_line(prompts_copy)  # Twilio lists it: the line starts
    done = ivr("check", PROMPTS_DIR=str(prompts_copy), AUDIO_DIR=str(ROOT / "audio"))
    assert (
        f"{prompts_copy / 'en.yaml'}:15: warning: voice Polly.Joanna is one of Twilio's standard "
        "voices, the most robotic\n  fix: use a neural or generative voice for en-US, like "
        "Polly.Danielle-Neural, Polly.Gregory-Neural, Polly.Ivy-Neural, Polly.Joanna-Neural"
    ) in done.stdout


def test_every_voice_twilio_lists_has_a_language_twilio_speaks():
    for voice in SAY_VOICES:
        assert languages_of(voice), f"{voice}: add its languages to POLLY in say_voices.py"
    assert all(
        voice.removeprefix("Polly.").split("-")[0] in POLLY
        for voice in SAY_VOICES
        if voice.startswith("Polly.")
    )


def test_the_voice_list_is_written_from_twilios_definitions(tmp_path: Path):
    namespace: dict[str, object] = {}
    exec(
        render("9.9.9", ["en-US", "es-US"], ["Polly.Lupe-Neural", "Google.es-US-Neural2-A"]),
        namespace,
    )
    assert namespace["TWILIO_PACKAGE"] == "twilio 9.9.9"
    assert namespace["SAY_LANGUAGES"] == ("en-US", "es-US")
    assert namespace["SAY_VOICES"] == ("Polly.Lupe-Neural", "Google.es-US-Neural2-A")
