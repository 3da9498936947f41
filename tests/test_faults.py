"""Whatever breaks, a caller hears an apology and reaches the hotline: faults planted on purpose."""

from __future__ import annotations

import json
import shutil
import urllib.request
import xml.etree.ElementTree as ET

import pytest

from ivr.tools.simulated_call import http_post
from ivr.web.fallback import APOLOGY, HOTLINE, last_resort_twiml
from tests.helpers import ROOT, failed_start, sign, signed_post

SAID_HOTLINE = "one. eight, six, six. three, three, one. nine, four, seven, four"
FAULT_APP = "tests.fault_app:app"


@pytest.fixture(scope="module")
def faulty_server(run_server):
    with run_server(app=FAULT_APP) as server:
        yield server


def test_an_exception_in_a_webhook_gives_an_apology_and_the_hotline(faulty_server):
    call = faulty_server.call(caller="+14155550142").start()
    call.transcript.clear()
    call.press("9")  # the planted fault
    assert not call.events("error"), "no application error"
    assert call.heard().startswith(APOLOGY)
    (dial,) = call.events("dial")
    assert dial.text.startswith(HOTLINE) and "+14155550142" not in dial.text
    call.dial_outcome("no-answer")
    assert SAID_HOTLINE in call.heard()
    assert call.ended
    log = faulty_server.log()
    assert "webhook /key failed; the caller is sent to the hotline" in log
    assert "Traceback" in log and "RuntimeError: a planted fault" in log
    assert "+14155550142" not in log


def test_the_fallback_app_answers_even_when_the_menu_cannot_load(run_server, prompts_copy):
    (prompts_copy / "menu.yaml").write_text("menus: [broken\n")
    with run_server(
        {"PROMPTS_DIR": str(prompts_copy)}, app="ivr.web.fallback:create_fallback_app()"
    ) as s:
        call = s.call(caller="+14155550143", called="+18005550100")
        call.voice_url = f"{s.url}/fallback"
        call.start()
        assert call.heard().startswith(APOLOGY)
        assert call.events("dial")[0].text == f"{HOTLINE} (caller ID +18005550100)"
        assert signed_post(f"{s.url}/fallback", {"CallSid": "CA1"}, "wrong-token").status == 403
        assert "+14155550143" not in s.log()


def test_the_last_resort_twiml_bin_file_is_current_and_valid():
    committed = (ROOT / "docs/last-resort.twiml.xml").read_text().strip()
    assert committed == last_resort_twiml().strip(), (
        "run `ivr twiml-bin > docs/last-resort.twiml.xml`"
    )
    root = ET.fromstring(committed)
    assert [verb.tag for verb in root] == ["Say", "Say", "Dial", "Say", "Say", "Hangup"]
    assert [say.get("language") for say in root.iter("Say")] == ["en-US", "es-US"] * 2
    assert root.find("Dial").get("callerId") == "{{To}}"  # Twilio fills in the number called
    assert root.find("Dial/Number").text == HOTLINE


def test_a_recording_lost_from_disk_after_start_up_is_still_heard(run_server, tmp_path, en):
    audio = tmp_path / "audio"
    shutil.copytree(ROOT / "audio", audio)
    with run_server({"AUDIO_DIR": str(audio)}) as server:
        (audio / "en/greeting.wav").unlink()  # the disk loses it while the line runs
        call = server.call().start()
        greeting = call.transcript[2]  # after the 911 advice and the Spanish offer
        assert greeting.kind == "play" and greeting.text == en["greeting"].text
        reply = http_post(greeting.url, {}, {})  # Twilio fetches it (POST is refused: GET only)
        assert reply.status == 405
        with urllib.request.urlopen(greeting.url, timeout=5) as response:
            assert response.status == 200
            assert response.read() == (ROOT / "audio/en/greeting.wav").read_bytes()


def test_a_recording_missing_at_start_up_is_spoken(run_server, tmp_path, en):
    audio = tmp_path / "audio"
    shutil.copytree(ROOT / "audio", audio)
    (audio / "en/greeting.wav").unlink()
    with run_server({"AUDIO_DIR": str(audio)}) as server:
        call = server.call().start()
    danger, _, greeting, menu = call.transcript[:4]
    assert (greeting.kind, greeting.text) == ("say", en["greeting"].text)
    assert danger.kind == menu.kind == "play"


@pytest.mark.parametrize(
    "manifest",
    ['{"recordings": {', '{"recordings": {"en/greeting": {"file": 3}}}', "[]"],
    ids=["bad-json", "bad-entry", "not-a-mapping"],
)
def test_a_broken_manifest_stops_start_up(tmp_path, manifest):
    audio = tmp_path / "audio"
    audio.mkdir()
    (audio / "manifest.json").write_text(manifest)
    code, log = failed_start(tmp_path / "log", {"AUDIO_DIR": str(audio)})
    assert code != 0
    assert "ivr: the line cannot start:" in log and "manifest.json" in log


def test_an_oversized_body_is_refused_early(server):
    params = {"CallSid": "CA1", "Digits": "1", "Padding": "x" * 100_000}
    reply = signed_post(f"{server.url}/key?n=main&p=0&m=0", params)
    assert reply.status == 413


def test_webhook_answers_cannot_be_cached(server):
    reply = signed_post(f"{server.url}/voice", {"CallSid": "CA1", "To": "+18005550100"})
    assert reply.status == 200
    request = urllib.request.Request(
        f"{server.url}/voice",
        data=b"CallSid=CA1",
        headers={"X-Twilio-Signature": sign(f"{server.url}/voice", {"CallSid": "CA1"})},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_phone_page_has_security_headers(run_server):
    with (
        run_server({"TWILIO_AUTH_TOKEN": ""}) as server,
        urllib.request.urlopen(f"{server.url}/phone", timeout=5) as response,
    ):
        headers = response.headers
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_the_manifest_the_line_ships_is_valid_json():
    assert "recordings" in json.loads((ROOT / "audio/manifest.json").read_text())
