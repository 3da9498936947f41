"""Whole calls against the real server, driven the way Twilio drives it."""

from __future__ import annotations

import re
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping

import pytest

from ivr.menu.model import Prompt
from ivr.tools.simulated_call import DIAL_OUTCOMES, SimulatedCall, http_post
from tests.helpers import edit, sign, signed_post

HOTLINE = "+18663319474"
SAID_HOTLINE = "one. eight, six, six. three, three, one. nine, four, seven, four"
Said = Callable[[str], str]


@pytest.fixture(scope="module")
def said(en: Mapping[str, Prompt]) -> Said:
    """What the English prompt of an id says."""
    return lambda prompt_id: en[prompt_id].text


def test_greeting_says_911_first_in_both_languages_then_what_the_line_is_then_key_0(server, said):
    call = server.call().start()
    danger, offer, greeting, menu, wait = call.transcript
    assert danger.kind == "play" and danger.text == said("danger")
    assert danger.text == "If you are in immediate danger, hang up and call nine one one."
    assert (offer.kind, offer.language) == ("say", "es-US")
    assert offer.text.startswith("Si estás en peligro") and "nueve uno uno" in offer.text
    assert offer.text.endswith("Para español, oprime 9.")
    assert greeting.text.endswith("It is not the police, and it calls no one.")
    assert menu.text == said("main_menu")
    # The advocate's key comes first in the menu, every time it is heard.
    assert menu.text.startswith("To talk with a peer advocate at any time, press 0.")
    # Everything is inside the Gather: a key cuts it off.
    assert wait.kind == "wait" and call.waiting_for == "key"


def test_0_during_the_greeting_transfers_at_once_without_passing_on_the_callers_number(server):
    call = server.call(caller="+14155550123", called="+18005550100").start().press("0")
    assert call.waiting_for == "dial"
    (dial,) = call.events("dial")
    assert dial.text.startswith(HOTLINE)
    assert "caller ID +18005550100" in dial.text
    assert "+14155550123" not in dial.text


def leads_on(said: Said, prompt_id: str) -> bool:
    """A list's introduction ("Police may:") runs straight into its first item."""
    return said(prompt_id).endswith(":")


def test_every_section_reads_every_point_once_with_next_previous_and_repeat(
    server, section_id, said, line
):
    menu_key = next(k for k, t in line.menus["main"].keys.items() if t == section_id)
    points = line.sections[section_id].points
    call = server.call().start()
    call.transcript.clear()
    call.press(menu_key)
    first = [e.text for e in call.transcript if e.kind in ("say", "play")]
    # The first point, and the item a list's introduction leads into, then the keys, once.
    expected = [said(points[0])]
    while leads_on(said, points[len(expected) - 1]):
        expected.append(said(points[len(expected)]))
    assert first[: len(expected) + 1] == [*expected, said("section_keys")]
    heard = list(expected)
    while not call.heard().endswith(said("end_of_section")):
        call.transcript.clear()
        call.press("1")  # next
        heard += [e.text for e in call.transcript if e.kind in ("say", "play")]
    heard.remove(said("end_of_section"))
    assert heard == [said(p) for p in points], "every point once, in order"

    call.transcript.clear()
    call.press("2")  # repeat the last point
    assert call.heard() == f"{said(points[-1])} {said('end_of_section')}"
    call.transcript.clear()
    call.press("3")  # previous
    assert call.heard().startswith(said(points[-2]))
    call.press("1")
    call.transcript.clear()
    call.press("1")  # next, past the last point: back to the main menu
    assert call.heard() == said("main_menu")


def test_a_list_introduction_runs_straight_into_its_first_item(server, said, line):
    police = line.sections["police"].points
    assert said("police.intro").endswith("Police may:")
    call = server.call().start().press("1")
    call.transcript.clear()
    call.press("1")
    _, intro, item, wait = call.transcript
    assert (intro.text, item.text) == (
        said("police.intro"),
        said(police[police.index("police.intro") + 1]),
    )
    assert wait.kind == "wait", "no pause between them"


def test_the_section_keys_name_0_and_no_prompt_ends_on_a_colon_before_another_kind(server, said):
    assert "0 to talk with an advocate" in said("section_keys")
    call = server.call().start().press("2")  # "What can I do? ... remember these important tips:"
    texts = [e.text for e in call.transcript if e.kind in ("say", "play")]
    intro = texts.index(said("you.intro"))
    assert texts[intro + 1] == said("you.call"), "the tips follow their introduction"
    assert texts[intro + 2] == said("section_keys")


def test_silence_in_a_section_moves_on_and_ends_at_the_main_menu(server, said, line):
    call = server.call().start().press("1")
    section = line.sections["police"]
    for _ in range(len(section.points)):
        call.press(None)
    assert call.heard().endswith(said("main_menu"))
    assert call.waiting_for == "key"


def test_star_in_a_section_returns_to_the_main_menu(server, said):
    call = server.call().start().press("2").press("1")
    call.transcript.clear()
    call.press("*")
    assert call.heard() == said("main_menu")


def test_a_wrong_key_says_so_and_repeats_the_same_menu(server, said, line):
    call = server.call().start()
    call.transcript.clear()
    call.press("7")
    sorry, offer, menu = (e.text for e in call.transcript if e.kind in ("say", "play"))
    assert (sorry, menu) == ("Sorry, that is not an option.", said("main_menu"))
    assert offer.endswith("Para español, oprime 9."), "offered until the caller chooses"
    call.press("1").press("1")
    call.transcript.clear()
    call.press("8")
    police = line.sections["police"].points
    # The introduction and the item it runs into are one: both again, from the start.
    assert call.heard() == f"Sorry, that is not an option. {said(police[1])} {said(police[2])}"


def test_star_repeats_the_main_menu(server, said):
    call = server.call().start()
    call.transcript.clear()
    call.press("*")
    assert call.heard() == said("main_menu")


def test_silence_asks_again_then_transfers_after_three_tries(server, said):
    call = server.call().start().press("#")  # a caller who has chosen something
    call.press(None)
    assert call.heard().endswith(f"Sorry, I did not hear a key. {said('main_menu')}")
    call.press(None)
    assert call.waiting_for == "key"
    call.transcript.clear()
    call.press(None)
    assert call.waiting_for == "dial", "the third silence ends the loop with a transfer"
    assert call.heard() == f"Sorry, I did not hear a key. {said('connecting')}"
    # If the hotline does not answer, the line ends politely instead of asking again forever.
    call.transcript.clear()
    call.dial_outcome("no-answer").press(None)
    assert call.ended and call.transcript[-1].kind == "hangup"
    assert call.heard().endswith(f"{said('privacy')} {said('goodbye')}")


def test_until_a_language_is_chosen_a_wrong_key_offers_spanish_and_the_end_is_in_both(
    server, said, es
):
    call = server.call().start()
    call.transcript.clear()
    call.press("5")
    sorry, offer, menu = (e.text for e in call.transcript if e.kind in ("say", "play"))
    assert (sorry, offer, menu) == (
        said("not_an_option"),
        es["language_offer"].text,
        said("main_menu"),
    )
    call.press(None).press(None)
    assert call.waiting_for == "dial"
    assert [e.text for e in call.transcript[-3:-1]] == [said("connecting"), es["connecting"].text]
    call.transcript.clear()
    call.dial_outcome("busy").press(None)
    assert call.ended
    assert call.heard().endswith(f"{said('goodbye')} {es['goodbye'].text}")


def test_silence_ends_with_a_goodbye_giving_the_hotline_when_the_yaml_says_so(
    run_server, prompts_copy, said
):
    edit(prompts_copy / "menu.yaml", "then: transfer", "then: goodbye")
    with run_server({"PROMPTS_DIR": str(prompts_copy)}) as server:
        call = server.call().start().press("#").press(None).press(None).press(None)
    assert call.ended and call.transcript[-1].kind == "hangup"
    assert call.heard().endswith(f"{said('privacy')} {said('goodbye')}")
    assert SAID_HOTLINE in said("goodbye")


@pytest.mark.parametrize("status", DIAL_OUTCOMES)
def test_the_transfer_callback_for_each_dial_status(server, status, said):
    call = server.call().start().press("1").press("0")
    assert call.waiting_for == "dial"
    call.transcript.clear()
    call.dial_outcome(status)
    if status == "completed":
        assert call.heard() == f"{said('privacy')} {said('transfer_completed')}"
        assert call.ended and call.transcript[-1].kind == "hangup"
        return
    failed = ["transfer_failed", "danger", "other_ways", "try_again"]
    assert call.heard() == " ".join(said(p) for p in failed)
    assert said("transfer_failed").count(SAID_HOTLINE) == 2
    assert call.waiting_on.get("timeout") == "5", "a short wait, then the main menu"
    call.transcript.clear()
    call.press(None)
    assert call.heard() == said("main_menu")


def test_0_transfers_from_every_menu_and_every_point(server, line):
    for section_id, section in line.sections.items():
        key = next(k for k, t in line.menus["main"].keys.items() if t == section_id)
        call = server.call().start().press(key)
        for index in range(len(section.points)):
            if index:
                call.press("1")
            probe = call.fork().press("0")
            assert probe.waiting_for == "dial", (section_id, index)
            assert probe.events("dial")[0].text.startswith(HOTLINE)


def waiting_at(call: SimulatedCall) -> tuple[str, int, int]:
    """The position a call waits at, from its Gather's action: node, point and misses."""
    assert call.waiting_on is not None
    state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(call.waiting_on.get("action")).query))
    return state["n"], int(state["p"]), int(state["m"])


def test_silence_never_falls_off_the_end_and_a_silent_caller_always_reaches_an_end(
    server, line, said, es
):
    """From the greeting and from each main-menu key, silence alone: a section's points in
    order, each waited at once, then the main menu until its tries run out, then the hotline."""
    tries = line.no_input.tries
    for start_key, target in [("", None), *line.menus["main"].keys.items()]:
        call = server.call().start()
        if start_key:
            call.press(start_key)
        waited = []
        while call.waiting_for == "key" and len(waited) < 60:
            waited.append(waiting_at(call))
            call.press(None)
            assert not call.events("error")
        points = line.sections[target].points if target in line.sections else ()
        # A list's introduction runs on into its first item: the line waits after the item.
        expected = [(target, i, 0) for i, p in enumerate(points) if not leads_on(said, p)]
        # At the greeting the caller has chosen nothing yet, and gets fewer tries.
        main_tries = tries if start_key else line.no_input.silent_caller or tries
        expected += [(line.start, 0, misses) for misses in range(main_tries)]
        where = f"from {start_key or 'the greeting'}"
        assert waited == expected, where
        heard = [e.text for e in call.transcript if e.kind in ("say", "play")]
        point_texts = {said(p) for p in points}
        assert [t for t in heard if t in point_texts] == [said(p) for p in points], where
        assert call.waiting_for == "dial", where
        # Until the caller has chosen something, the line speaks both languages.
        told = [said("connecting")] if start_key else [said("connecting"), es["connecting"].text]
        assert heard[-len(told) :] == told, where


def test_webhooks_answer_text_xml(server):
    params = {"CallSid": "CA1", "From": "+15550001111", "To": "+15550002222"}
    url = f"{server.url}/voice"
    reply = signed_post(url, params)
    assert reply.status == 200
    assert reply.content_type.startswith("text/xml")
    assert ET.fromstring(reply.body).tag == "Response"


def test_every_gather_has_a_fallback_and_takes_one_key_at_once(server):
    for key in ["", "1", "2", "3"]:
        call = server.call().start()
        if key:
            call.press(key)
        gather = call.waiting_on
        assert gather is not None and gather.tag == "Gather"
        assert gather.get("numDigits") == "1" and gather.get("finishOnKey") == ""
        action = urllib.parse.urljoin(call.url, gather.get("action"))
        assert call.after_wait and call.after_wait[0].tag == "Redirect"
        assert urllib.parse.urljoin(call.url, call.after_wait[0].text) == action


@pytest.mark.parametrize(
    "signature",
    [None, "", "forged-signature=", "L/OH5YylLD5NRKLltdqwSvS0BnU="],
    ids=["unsigned", "empty", "forged", "signature-of-another-request"],
)
def test_unsigned_and_forged_requests_get_403(server, signature):
    headers = {} if signature is None else {"X-Twilio-Signature": signature}
    reply = http_post(f"{server.url}/voice", {"CallSid": "CA1", "From": "+1555"}, headers)
    assert reply.status == 403
    assert "<Say" not in reply.body


def test_a_tampered_signed_request_gets_403(server):
    url = f"{server.url}/key?n=main&p=0&m=0"
    params = {"CallSid": "CA1", "Digits": "1"}
    signature = sign(url, params)
    assert http_post(url, params, {"X-Twilio-Signature": signature}).status == 200
    assert (
        http_post(url, {**params, "Digits": "0"}, {"X-Twilio-Signature": signature}).status == 403
    )
    moved = url.replace("n=main", "n=police")
    assert http_post(moved, params, {"X-Twilio-Signature": signature}).status == 403


def test_at_debug_one_log_line_per_webhook_with_state_and_outcome(run_server):
    with run_server({"LOG_LEVEL": "DEBUG"}) as server:
        call = server.call(call_sid="CA0000000000000000000000000000beef").start().press("2")
        call.press("0").dial_outcome("busy")
        lines = [line for line in server.log().splitlines() if " DEBUG ivr: call=" in line]
    assert len(lines) == 4 and len({line.split()[3] for line in lines}) == 1, "one pseudonym"
    assert "beef" not in server.log()
    assert re.search(r"key at=main#0/m0 pressed=2 -> ask what_you_can_do#1/m0", lines[1])
    assert "dial at=what_you_can_do#1/m0 pressed=busy -> ask main#0/m0" in lines[3]


def test_the_fallback_url_apologises_and_transfers_without_the_callers_number(server):
    call = server.call(caller="+14155550199", called="+18005550100")
    call.voice_url = f"{server.url}/fallback"
    call.start()
    assert call.heard().startswith("Sorry, this line is having trouble.")
    assert "call nine one one" in call.heard()
    (dial,) = call.events("dial")
    assert dial.text == f"{HOTLINE} (caller ID +18005550100)"
    call.dial_outcome("busy")
    assert call.heard().count(SAID_HOTLINE) == 2
    assert call.ended and call.transcript[-1].kind == "hangup"


def test_the_fallback_dials_the_hotline_of_the_menu(line):
    from ivr.web.fallback import HOTLINE as FALLBACK_HOTLINE

    assert FALLBACK_HOTLINE == line.hotline.number == HOTLINE
