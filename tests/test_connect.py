"""`ivr connect`: a Twilio number pointed at the line through Twilio's REST API (a stand-in the
test serves), then one signed test call to the real server the Procfile starts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers import TOKEN, free_port, ivr
from tests.twilio_standin import TwilioStandIn, phone_number

ACCOUNT = "AC" + "a1" * 16
LINE_NUMBER, LINE_SID = "+15005550006", "PN" + "b2" * 16
OTHER_NUMBER, OTHER_SID = "+15005550007", "PN" + "c3" * 16
TRUNKED_NUMBER, TRUNKED_SID = "+15005550008", "PN" + "d4" * 16


@pytest.fixture
def twilio(tmp_path) -> Iterator[TwilioStandIn]:
    numbers = [
        # Set by hand with a typo and GET, and with a TwiML App that would override it.
        phone_number(
            LINE_SID,
            LINE_NUMBER,
            voice_url="https://line.example.org/vocie",
            voice_method="GET",
            voice_application_sid="AP" + "e5" * 16,
        ),
        phone_number(OTHER_SID, OTHER_NUMBER),
        phone_number(TRUNKED_SID, TRUNKED_NUMBER, trunk_sid="TK" + "f6" * 16),
    ]
    standin = TwilioStandIn(tmp_path, ACCOUNT, TOKEN, numbers)
    yield standin
    standin.close()


def connect(twilio: TwilioStandIn, *args: str, **env: str):
    return ivr(
        "connect",
        *args,
        **{
            "TWILIO_ACCOUNT_SID": ACCOUNT,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "DELETE_CALL_LOGS": "on",
            **twilio.env(),
            **env,
        },
    )


def updates(twilio: TwilioStandIn) -> list[dict[str, str]]:
    return [form for method, _, form in twilio.requests if method == "POST"]


def test_connect_sets_the_numbers_webhooks_and_the_line_answers_a_test_call(twilio, server):
    result = connect(twilio, LINE_NUMBER, "--url", server.url)
    assert result.returncode == 0, result.stderr
    number = twilio.numbers[LINE_SID]
    assert (number["voice_url"], number["voice_method"]) == (f"{server.url}/voice", "POST")
    assert number["voice_fallback_url"] == f"{server.url}/fallback"
    assert number["status_callback"] == f"{server.url}/status"
    assert number["voice_application_sid"] is None  # else it overrides the Voice URL
    assert twilio.numbers[OTHER_SID]["voice_url"] is None  # no other number touched
    # What changed, before -> after.
    out = result.stdout
    assert f"https://line.example.org/vocie -> {server.url}/voice" in out
    assert "GET -> POST" in out
    assert f"(none) -> {server.url}/fallback" in out
    assert f"(none) -> {server.url}/status" in out
    assert f"AP{'e5' * 16} -> (none)" in out
    # Then a signed call to the public URL, and what the caller hears first.
    assert f"Test call to {server.url}/voice: answered. The caller hears: " in out
    assert "immediate danger" in out
    assert "is not https" in result.stderr  # a loopback test line: said, not refused

    again = connect(twilio, LINE_NUMBER, "--url", f"{server.url}/")
    assert again.returncode == 0 and "->" not in again.stdout
    assert again.stdout.count("(unchanged)") == 6  # the TwiML App, gone, is not listed
    assert len(updates(twilio)) == 1  # nothing to change: nothing sent


def test_connect_with_the_fallback_apps_url_and_call_logs_kept(twilio, server):
    fallback = "https://fallback.example.org/fallback"
    result = connect(
        twilio, LINE_NUMBER, "--url", server.url, "--fallback-url", fallback, DELETE_CALL_LOGS=""
    )
    assert result.returncode == 0, result.stderr
    (sent,) = updates(twilio)
    assert sent["VoiceFallbackUrl"] == fallback
    assert "StatusCallback" not in sent  # DELETE_CALL_LOGS off: left as it is
    assert twilio.numbers[LINE_SID]["status_callback"] is None


def test_dry_run_names_the_three_urls_and_touches_nothing(twilio):
    # Without --dry-run, the same command reaches Twilio (here refused: a wrong token).
    assert connect(twilio, LINE_NUMBER, "--url", "https://line.example.org", TWILIO_AUTH_TOKEN="x")
    assert twilio.requests
    twilio.requests.clear()
    no_secrets = {"TWILIO_ACCOUNT_SID": "", "TWILIO_AUTH_TOKEN": "", "DELETE_CALL_LOGS": ""}
    for env in ({}, no_secrets):
        result = connect(
            twilio, LINE_NUMBER, "--url", "https://line.example.org", "--dry-run", **env
        )
        assert result.returncode == 0, result.stderr
        for url in ("/voice", "/fallback", "/status"):
            assert f"https://line.example.org{url}" in result.stdout
        assert "Nothing was changed" in result.stdout
    assert "DELETE_CALL_LOGS is off" in result.stdout
    assert twilio.requests == []


def test_a_line_that_refuses_the_test_call_is_reported(twilio, run_server):
    with run_server({"TWILIO_AUTH_TOKEN": "the-lines-own-token"}) as line:
        result = connect(twilio, LINE_NUMBER, "--url", line.url)
    assert result.returncode == 1
    assert "application error: HTTP 403" in result.stderr
    assert "TWILIO_AUTH_TOKEN here is not the line's" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_line_that_is_down_is_reported(twilio):
    url = f"http://127.0.0.1:{free_port()}"
    result = connect(twilio, LINE_NUMBER, "--url", url)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"cannot reach {url}/voice" in result.stderr
    assert twilio.numbers[LINE_SID]["voice_url"] == f"{url}/voice"  # set, then found down


@pytest.mark.parametrize(
    "number,env,says",
    [
        ("+15005550009", {}, "is not a number of this Twilio account"),
        ("+1500555000", {}, "is not a number of this Twilio account"),  # a part of one
        (TRUNKED_NUMBER, {}, "belongs to a SIP trunk"),
        (LINE_NUMBER, {"TWILIO_AUTH_TOKEN": "wrong"}, "check TWILIO_ACCOUNT_SID and TWILIO_AUTH"),
        (LINE_NUMBER, {"HTTPS_PROXY": f"http://127.0.0.1:{free_port()}"}, "cannot reach Twilio"),
        ("15005550006", {}, "NUMBER should be the Twilio number as +E.164"),
    ],
)
def test_what_cannot_be_connected_is_said_in_words(twilio, number, env, says):
    env.setdefault("https_proxy", env.get("HTTPS_PROXY", twilio.env()["https_proxy"]))
    result = connect(twilio, number, "--url", "https://line.example.org", **env)
    assert result.returncode == 2
    assert says in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2
    assert updates(twilio) == []


def test_delete_call_logs_refused_by_twilio_says_what_to_check(twilio):
    result = ivr(
        "delete-call-logs",
        **{"TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": "wrong", **twilio.env()},
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        "ivr: Twilio's API refused: HTTP 401: check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
    )
