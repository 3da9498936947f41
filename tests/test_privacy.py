"""A caller's number is never logged, stored or passed on; nothing is recorded or texted."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET

import pytest

from ivr.menu.model import PhoneLine
from ivr.tools.simulated_call import DIAL_OUTCOMES, http_post
from tests.helpers import ROOT, Server, signed_post

NUMBERS = ["+14155550171", "+442071838750", "+5215512345678", "+18665550172"]


@pytest.fixture(scope="module")
def watched(run_server, tmp_path_factory):
    """The real server (with a planted fault on key 9), its temp folder watched for files."""
    scratch = tmp_path_factory.mktemp("scratch")
    before = _repo_state()
    # At DEBUG, the most the line ever writes.
    env = {"TMPDIR": str(scratch), "LOG_LEVEL": "DEBUG"}
    with run_server(env, app="tests.fault_app:app") as server:
        yield server, scratch, before


def _repo_state() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def _walk_every_path(server: Server, line: PhoneLine, number: str) -> None:
    for section_key in line.menus["main"].keys:
        call = server.call(caller=number).start().press(section_key)
        for key in ["1", "3", "2", "7", "", "*"]:
            call.press(key)
    for status in DIAL_OUTCOMES:
        server.call(caller=number).start().press("0").dial_outcome(status)
    server.call(caller=number).start().press("").dial_outcome("busy").press("")  # silent caller
    server.call(caller=number).start().press("#").press("").press("").press("")
    server.call(caller=number).start().press("0").dial_outcome("busy").press("0")  # again
    server.call(caller=number).start().press("9")  # an error in the webhook
    fallback = server.call(caller=number)
    fallback.voice_url = f"{server.url}/fallback"
    fallback.start()
    params = {"CallSid": "CA" + "7" * 32, "CallStatus": "completed", "From": number, "To": "+1"}
    assert signed_post(f"{server.url}/status", params).status == 204
    # Refused requests are logged too: still without the number.
    assert http_post(f"{server.url}/voice", {"From": number}, {}).status == 403


def test_callers_numbers_appear_nowhere_in_the_logs(watched, line):
    server, _, _ = watched
    for number in NUMBERS:
        _walk_every_path(server, line, number)
    log = server.log()
    assert log.count(" ivr: call=") > 100, "the walk went through the logged webhooks"
    assert "webhook /key failed" in log and "Fallback URL" in log and "status completed" in log
    for number in NUMBERS:
        assert number not in log
        assert number.lstrip("+") not in log
        assert number[-10:] not in log


def test_nothing_about_a_call_is_written_to_disk(watched, line):
    server, scratch, before = watched
    _walk_every_path(server, line, NUMBERS[0])
    assert list(scratch.iterdir()) == [], "the server wrote temporary files"
    assert _repo_state() == before, "the server changed files in the project"


def _every_answer(server: Server, line: PhoneLine) -> list[str]:
    """The TwiML of every position of the menu, for every key and for silence."""
    answers = []
    for state in ["n=main&p=0&m=0"] + [
        f"n={sid}&p={p}&m=0" for sid, s in line.sections.items() for p in range(len(s.points))
    ]:
        for digits in [*"0123456789*#", ""]:
            url = f"{server.url}/key?{state}"
            params = {"CallSid": "CA1", "From": NUMBERS[0], "To": "+18005550100"}
            if digits:
                params["Digits"] = digits
            reply = signed_post(url, params)
            assert reply.status == 200
            answers.append(reply.body)
    return answers


def test_no_call_is_recorded_no_sms_is_sent_and_the_number_is_not_passed_on(server, line):
    answers = _every_answer(server, line)
    assert len(answers) == 13 * (1 + sum(len(s.points) for s in line.sections.values()))
    for body in answers:
        root = ET.fromstring(body)
        tags = {element.tag for element in root.iter()}
        assert not tags & {"Record", "Sms", "Message", "Stream", "Start"}
        for dial in root.iter("Dial"):
            assert dial.get("record") in (None, "do-not-record")
            assert dial.get("callerId") == "+18005550100", "the line's number, not the caller's"
        assert NUMBERS[0] not in body


def test_the_app_does_not_send_messages():
    sources = "\n".join(p.read_text() for p in (ROOT / "ivr").rglob("*.py"))
    assert "messages.create" not in sources and ".messages" not in sources
