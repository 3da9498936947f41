"""The phone page in real headless Chromium: call, keys, transcript, recordings, transfer."""

from __future__ import annotations

import urllib.request

import pytest

from tests.helpers import chromium_or_skip

CHROMIUM, sync_api = chromium_or_skip("the browser phone")

ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="module")
def local_server(run_server):
    """The line as on a staff member's machine: no auth token, so /phone is on."""
    with run_server({"TWILIO_AUTH_TOKEN": ""}) as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone's screen
    page = context.new_page()
    yield page
    context.close()


def transcript(page) -> str:
    return page.locator("#transcript").inner_text()


def wait_for_text(page, text: str, timeout: float = 15_000) -> None:
    page.wait_for_function(
        "t => document.querySelector('#transcript').innerText.includes(t)",
        arg=text,
        timeout=timeout,
    )


def test_a_call_plays_recordings_takes_keys_and_transfers(local_server, page, tmp_path, en):
    page.goto(f"{local_server.url}/phone")
    page.get_by_role("button", name="Call").click()
    wait_for_text(page, "If you are in immediate danger")
    # A real recording is playing: its clock moves.
    page.wait_for_function(
        "() => [...document.querySelectorAll('audio')].some(a => a.currentTime > 0.5)",
        timeout=15_000,
    )
    assert (
        page.locator("audio")
        .first.get_attribute("src")
        .split("?")[0]
        .endswith("/audio/en/danger.wav")
    )
    page.keyboard.press("1")  # barge in with the keyboard
    wait_for_text(page, "You pressed 1")
    wait_for_text(page, en["police.why"].text[:60])
    page.get_by_role("button", name="key 1").click()  # next point, with the mouse
    wait_for_text(page, "What Can the Police Do?")
    page.keyboard.press("0")
    transfer = page.locator("#transfer")
    transfer.wait_for(state="visible")
    assert "+18663319474" in transfer.inner_text()
    page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
    page.get_by_role("button", name="Busy").click()
    wait_for_text(page, "The transfer ended: busy")
    wait_for_text(page, en["transfer_failed"].text[:40])
    assert page.locator("#transfer").is_hidden()
    assert "blocked" not in transcript(page) and "could not be played" not in transcript(page)


def test_silence_really_times_out(local_server, page, en):
    page.goto(f"{local_server.url}/phone?rate=8")
    page.get_by_role("button", name="Call").click()
    wait_for_text(page, "(silence for 7 s)", timeout=30_000)
    wait_for_text(page, en["connecting"].text)  # silent since answer: put through at once


def test_the_transfer_answered_ends_the_call_politely(local_server, page, en):
    page.goto(f"{local_server.url}/phone?rate=8")
    page.get_by_role("button", name="Call").click()
    wait_for_text(page, "If you are in immediate danger")
    page.keyboard.press("0")
    page.locator("#transfer").wait_for(state="visible")
    page.get_by_role("button", name="Answered").click()
    wait_for_text(page, en["transfer_completed"].text, timeout=30_000)
    wait_for_text(page, "The line hung up.", timeout=30_000)
    assert page.get_by_role("button", name="Call").is_enabled()


def test_the_page_is_off_in_production_unless_enabled(run_server):
    with run_server() as server:  # an auth token is set
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(f"{server.url}/phone", timeout=5)
        assert caught.value.code == 404
    with (
        run_server({"PHONE_PAGE": "on"}) as server,
        urllib.request.urlopen(f"{server.url}/phone", timeout=5) as response,
    ):
        assert b'id="call"' in response.read()


def test_with_a_token_the_page_still_drives_the_signed_webhooks(run_server, browser, en):
    with run_server({"PHONE_PAGE": "on"}) as server:
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{server.url}/phone?rate=8")
        page.get_by_role("button", name="Call").click()
        wait_for_text(page, "If you are in immediate danger")
        page.keyboard.press("3")
        wait_for_text(page, en["reach.intro"].text[:40])
        assert "application error" not in transcript(page)
        context.close()


def test_in_production_one_place_gets_a_few_calls_a_minute_and_is_told_so(run_server, browser):
    # One server process: each keeps its own count.
    with run_server({"PHONE_PAGE": "on", "WEB_CONCURRENCY": "1"}) as server:
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{server.url}/phone?rate=8")
        for _ in range(5):
            page.get_by_role("button", name="Call").click()
            wait_for_text(page, "If you are in immediate danger")
            page.get_by_role("button", name="Hang up").click()
        page.get_by_role("button", name="Call").click()
        wait_for_text(page, "Too many calls from here: try again in a minute.")
        assert "error" not in transcript(page)
        assert page.get_by_role("button", name="Call").is_enabled()
        context.close()


def test_spanish_and_typed_speech(local_server, page):
    page.goto(f"{local_server.url}/phone?rate=8")
    page.get_by_role("button", name="Call").click()
    wait_for_text(page, "Para español, oprime 9.")
    page.keyboard.press("9")
    wait_for_text(page, "No es la policía")
    page.get_by_label("Or say something").fill("la policía, por favor")
    page.get_by_role("button", name="Say").click()
    wait_for_text(page, 'You said: "la policía, por favor"')
    wait_for_text(page, "A veces, la mejor manera de protegerte")
    page.get_by_label("Or say something").fill("siguiente")
    page.get_by_label("Or say something").press("Enter")
    wait_for_text(page, "¿Qué puede hacer la policía?")
    # Digits typed into the words box are words, not keys.
    assert "You pressed" not in transcript(page).split("You pressed 9")[1]


def test_a_noisy_room_turns_speech_off_and_the_page_shows_it(local_server, page, en):
    page.goto(f"{local_server.url}/phone?rate=8")
    page.get_by_role("button", name="Call").click()
    wait_for_text(page, "If you are in immediate danger")
    words = page.get_by_label("Or say something")
    for noise in ("come here you", "turn that off"):
        words.fill(noise)
        words.press("Enter")
        wait_for_text(page, f'You said: "{noise}"')
    wait_for_text(page, en["keys_only"].text)
    page.wait_for_function("() => document.querySelector('#words').disabled")
    assert page.get_by_role("button", name="Say").is_disabled()
    assert en["not_an_option"].text not in transcript(page)
    page.keyboard.press("1")  # keys still work
    wait_for_text(page, en["police.why"].text[:60])


def test_the_relay_refuses_what_is_not_a_webhook(local_server):
    import json

    for body in (b"[1, 2]", b"not json", json.dumps({"url": "/audio/x"}).encode()):
        request = urllib.request.Request(
            f"{local_server.url}/phone/twiml",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=5)
        assert caught.value.code == 400
