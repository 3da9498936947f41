"""Recordings in calls: <Play> when fresh, <Say> of the current text otherwise; served well."""

from __future__ import annotations

import shutil
import urllib.request
from email.utils import format_datetime

import pytest

from ivr.web.app import create_app
from ivr.web.settings import Settings
from tests.audio_files import mulaw_wav, write_audio_dir
from tests.helpers import ROOT


@pytest.fixture(scope="module")
def audio_server(run_server, tmp_path_factory, en):
    audio = tmp_path_factory.mktemp("audio")
    recordings = write_audio_dir(
        audio,
        {
            "en/greeting": (en["greeting"].text, mulaw_wav(2.0)),
            "en/main_menu": (en["main_menu"].text, mulaw_wav(3.0, 0x70)),
            "en/not_an_option": ("Sorry, you cannot press that.", mulaw_wav(1.0)),  # stale
            "en/no_input": (en["no_input"].text, None),  # file lost
        },
    )
    with run_server({"AUDIO_DIR": str(audio)}) as server:
        yield server, recordings, audio


def test_a_fresh_recording_is_played_from_a_versioned_url(audio_server, en):
    server, recordings, _ = audio_server
    call = server.call().start()
    danger, offer, greeting, menu = call.transcript[:4]
    assert (danger.kind, danger.text) == ("say", en["danger"].text)  # no recording here
    assert (offer.kind, offer.language) == ("say", "es-US")  # Spanish has none yet
    sha = recordings["en/greeting"]["sha256"]
    assert greeting.kind == "play"
    assert greeting.url == f"{server.url}/audio/en/greeting.wav?v={sha[:16]}"
    assert greeting.text == en["greeting"].text and greeting.seconds == 2.0
    assert menu.kind == "play" and menu.text == en["main_menu"].text


def test_a_stale_recording_falls_back_to_saying_the_current_text(audio_server, en):
    server, _, _ = audio_server
    call = server.call().start()
    call.transcript.clear()
    call.press("7")
    stale = call.transcript[1]
    assert (stale.kind, stale.text) == ("say", en["not_an_option"].text)
    assert "cannot press" not in call.heard()


def test_a_recording_missing_on_disk_is_spoken(audio_server, en):
    server, _, _ = audio_server
    call = server.call().start().press("#")  # the caller has chosen: silence asks again
    call.transcript.clear()
    call.press(None)
    assert (call.transcript[1].kind, call.transcript[1].text) == ("say", en["no_input"].text)


def test_the_server_says_once_at_start_up_what_it_will_speak(audio_server):
    """One short line per kind of problem; what changes what callers hear comes first."""
    server, _, _ = audio_server
    lines = [line for line in server.log().splitlines() if "Twilio's voice" in line]
    assert len(lines) == 4, lines
    stale, missing, unmade, waiting = lines
    assert "WARNING ivr: 1 recording(s) say words their prompt no longer says" in stale
    assert stale.endswith("callers hear Twilio's voice instead: en/not_an_option")
    assert "WARNING ivr: 1 recording file(s) are missing" in missing
    assert missing.endswith(": en/no_input")
    assert "WARNING ivr: " in unmade and "prompt(s) have no recording" in unmade
    assert "INFO ivr: 41 prompt(s) are spoken by Twilio's voice until someone records" in waiting
    assert waiting.endswith("es/danger, es/language_offer, es/greeting and 38 more")
    assert all(len(line) < 250 for line in lines)
    assert "en/greeting" not in " ".join(lines)


def _get(url: str, method: str = "GET", headers: dict[str, str] | None = None):
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_audio_is_served_with_type_strong_etag_and_long_cache(audio_server):
    server, recordings, audio = audio_server
    sha = recordings["en/greeting"]["sha256"]
    status, headers, body = _get(f"{server.url}/audio/en/greeting.wav?v={sha[:16]}")
    assert status == 200
    assert body == (audio / "en/greeting.wav").read_bytes()
    assert headers["Content-Type"] == "audio/wav"
    assert headers["ETag"] == f'"{sha}"', "a strong ETag, not W/"
    assert headers["Last-Modified"]
    cache = {d.strip() for d in headers["Cache-Control"].split(",")}
    assert {"public", "immutable", "max-age=31536000"} <= cache
    assert int(headers["Content-Length"]) == len(body)


def test_head_gives_the_headers_without_the_body(audio_server):
    server, recordings, _ = audio_server
    status, headers, body = _get(f"{server.url}/audio/en/greeting.wav", "HEAD")
    assert status == 200 and body == b""
    assert headers["ETag"] == f'"{recordings["en/greeting"]["sha256"]}"'
    assert int(headers["Content-Length"]) == recordings["en/greeting"]["bytes"]


def test_conditional_gets_are_answered_304(audio_server):
    server, recordings, audio = audio_server
    url = f"{server.url}/audio/en/greeting.wav"
    etag = f'"{recordings["en/greeting"]["sha256"]}"'
    status, _, body = _get(url, headers={"If-None-Match": etag})
    assert (status, body) == (304, b"")
    _, headers, _ = _get(url)
    status, _, _ = _get(url, headers={"If-Modified-Since": headers["Last-Modified"]})
    assert status == 304
    status, _, _ = _get(url, headers={"If-None-Match": '"something-else"'})
    assert status == 200
    mtime = (audio / "en/greeting.wav").stat().st_mtime
    from datetime import UTC, datetime

    before = format_datetime(datetime.fromtimestamp(mtime - 3600, tz=UTC), usegmt=True)
    assert _get(url, headers={"If-Modified-Since": before})[0] == 200


def test_only_fresh_recordings_are_served(audio_server):
    server, _, _ = audio_server
    assert _get(f"{server.url}/audio/en/not_an_option.wav")[0] == 404
    assert _get(f"{server.url}/audio/en/../manifest.json")[0] == 404
    assert _get(f"{server.url}/audio/en/nothing.wav")[0] == 404


def test_recordings_can_come_from_a_configured_base_url(run_server, audio_server):
    _, recordings, audio = audio_server
    with run_server(
        {"AUDIO_DIR": str(audio), "AUDIO_BASE_URL": "https://cdn.example.org/line"}
    ) as s:
        call = s.call().start()
    sha = recordings["en/greeting"]["sha256"][:16]
    (greeting,) = call.events("play")[:1]
    assert greeting.url == f"https://cdn.example.org/line/en/greeting.wav?v={sha}"


def test_a_broken_manifest_stops_start_up_with_its_line(tmp_path):
    from ivr.audio.manifest import read_manifest
    from ivr.errors import ConfigError

    (tmp_path / "manifest.json").write_text('{\n  "recordings": {\n    "en/x": ,\n  }\n}\n')
    with pytest.raises(ConfigError) as caught:
        read_manifest(tmp_path)
    assert caught.value.line == 3


def test_a_deleted_recording_is_the_first_line_of_the_start_up_log(tmp_path, capfd):
    """The greeting's recording deleted: a line of its own, above the Spanish prompts that wait
    for a person, and not one line of everything together."""
    audio = tmp_path / "audio"
    shutil.copytree(ROOT / "audio", audio)
    (audio / "en/greeting.wav").unlink()
    settings = Settings(
        prompts_dir=ROOT / "prompts", audio_dir=audio, usage_db=tmp_path / "usage.sqlite3"
    )
    capfd.readouterr()
    create_app(settings)
    said = [line for line in capfd.readouterr().err.splitlines() if "Twilio's voice" in line]
    assert len(said) == 2, said
    assert said[0].endswith(
        "WARNING ivr: 1 recording file(s) are missing from the audio folder (rebuild them); "
        "callers hear Twilio's voice instead: en/greeting"
    )
    assert " INFO ivr: 41 prompt(s) are spoken by Twilio's voice until someone records" in said[1]
