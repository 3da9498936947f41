"""What a caller hears and when: timed from the real recordings and the Gather timeouts."""

from __future__ import annotations

import pytest

from ivr.audio.pace import MAX_911_WPM, words_a_minute
from ivr.menu.words import WORDS_PER_SECOND
from ivr.tools.timeline import first, timeline


def spoken(call):
    return [t for t in timeline(call.transcript) if t.event.kind in ("say", "play")]


def test_a_spanish_speaker_hears_the_911_advice_in_spanish_within_10_seconds(server, en, es):
    danger, offer, greeting, menu = spoken(server.call().start())
    # The English advice first, at a pace every caller can follow: 150 words a minute at most.
    assert danger.event.text == en["danger"].text
    assert words_a_minute(danger.event.text, danger.end - danger.start) <= MAX_911_WPM
    assert menu.event.text == en["main_menu"].text
    assert offer.event.language == "es-US" and offer.event.text == es["language_offer"].text
    assert offer.start == danger.end < 6, "Spanish is heard 6 s after answer at the latest"
    assert offer.event.text.startswith("Si estás en peligro, cuelga y llama al nueve uno uno.")
    assert offer.event.text.endswith("Para español, oprime 9.")
    advice_said = offer.at("Para español")
    assert advice_said <= 10, f"the Spanish 911 advice ends at {advice_said:.1f} s"
    assert offer.end <= 12, f"the key for Spanish ends at {offer.end:.1f} s"
    # The line says what it is, then the menu opens with the advocate's key.
    call = spoken(server.call().start())
    assert greeting.end == menu.start < first(call, "press 0") < first(call, "press 1")


def test_the_line_says_it_is_a_recording_and_not_the_police_before_anything_else(server, es):
    _, _, greeting, _ = spoken(server.call().start())
    assert greeting.event.text.startswith(
        "This is a recorded safety guide from love is respect. It is not the police, "
        "and it calls no one."
    )
    assert "No es la policía y no llama a nadie." in es["greeting"].text


def test_say_is_timed_at_the_stated_pace(server):
    _, offer, _, _ = spoken(server.call().start())
    words = len(offer.event.text.split())
    assert offer.end - offer.start == pytest.approx(words / WORDS_PER_SECOND)


def test_the_privacy_tip_ends_the_reach_section_and_is_not_said_again(server, en):
    call = server.call().start().press("3")
    while en["privacy"].text not in call.heard():
        call.press("1")
    assert call.heard().endswith(f"{en['privacy'].text} {en['end_of_section'].text}")
    assert "recent calls" in en["privacy"].text and "no record" in en["privacy"].text
    call.press("*").press("0")
    call.transcript.clear()
    call.dial_outcome("completed")
    assert call.heard() == en["transfer_completed"].text, "heard once in the call is enough"


def test_a_caller_who_never_heard_the_privacy_tip_hears_it_before_goodbye(server, en):
    call = server.call().start().press("0")
    call.transcript.clear()
    call.dial_outcome("completed")
    assert call.heard().startswith(en["privacy"].text)
    assert call.heard().count(en["privacy"].text) == 1
