"""`ivr studio` in headless Chromium with a fake microphone, on copies of prompts/ and audio/."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import shutil
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
import wave
from collections.abc import Iterator
from pathlib import Path

import imageio_ffmpeg
import pytest

from ivr.menu.load import load_line
from ivr.tools.studio.take_length import container_seconds
from ivr.tools.studio.takes import TakeError, take_from_upload
from tests.helpers import ROOT, chromium_or_skip, free_port, ivr

CHROMIUM, sync_api = chromium_or_skip("the studio")

IVR = str(Path(sys.executable).parent / "ivr")
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]
# Prompts recorded by a person, then reworded in the copy of en.yaml: each becomes stale.
HUMAN_THEN_REWORDED = {
    "no_input": (
        "no_input: Sorry, I did not hear a key.",
        "no_input: Sorry, I did not hear any key.",
    ),
    "not_understood": (
        "not_understood: Sorry, I did not catch that.",
        "not_understood: Sorry, I missed that.",
    ),
}


def voice_wav(path: Path, peak_dbfs: float, seconds: float = 3.0, rate: int = 48000) -> Path:
    """A voice-like sound: a buzz at 140 Hz with its overtones, rising and falling 4 times a
    second like syllables; 16-bit PCM, as Chromium's fake microphone plays it, over and over."""
    peak = 10 ** (peak_dbfs / 20) * 32767
    shape = [
        sum(math.sin(2 * math.pi * 140 * k * i / rate) / k for k in range(1, 8))
        * (0.55 + 0.45 * math.sin(2 * math.pi * 4 * i / rate))
        for i in range(int(seconds * rate))
    ]
    top = max(abs(s) for s in shape)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(struct.pack("<h", round(s / top * peak)) for s in shape))
    return path


class Studio:
    def __init__(self, root: Path) -> None:
        self.prompts = root / "prompts"
        self.audio = root / "audio"
        self.env = {**os.environ, "PROMPTS_DIR": str(self.prompts), "AUDIO_DIR": str(self.audio)}
        self.url = ""

    def manifest(self) -> dict:
        return json.loads((self.audio / "manifest.json").read_text())

    def check(self) -> list[dict]:
        """`ivr check --json`'s problems."""
        done = ivr("check", "--json", timeout=120, **self.env)
        return json.loads(done.stdout)["problems"]

    def text(self, language: str, prompt_id: str) -> str:
        return load_line(self.prompts).languages[language].prompts[prompt_id].text


def about(problems: list[dict], yaml: str, prompt_id: str) -> list[str]:
    return [
        p["message"]
        for p in problems
        if p["where"].split(":")[0].endswith(yaml) and f"prompt {prompt_id!r}" in p["message"]
    ]


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    """`ivr studio --port N` on copies of prompts/ and audio/, where two English prompts have
    human recordings (built by `ivr audio build`) whose words have changed since."""
    root = tmp_path_factory.mktemp("studio")
    shutil.copytree(ROOT / "prompts", root / "prompts")
    shutil.copytree(ROOT / "audio", root / "audio")
    studio = Studio(root)
    (studio.audio / "sources/en").mkdir(parents=True)
    for prompt_id in HUMAN_THEN_REWORDED:
        voice_wav(studio.audio / "sources/en" / f"{prompt_id}.wav", -10, seconds=2.5)
    built = ivr("audio", "build", timeout=120, **studio.env)
    assert built.returncode == 0, built.stderr
    en = studio.prompts / "en.yaml"
    text = en.read_text()
    for old, new in HUMAN_THEN_REWORDED.values():
        assert old in text
        text = text.replace(old, new)
    en.write_text(text)
    port = free_port()
    log = (root / "studio.log").open("wb")
    process = subprocess.Popen(
        [IVR, "studio", "--port", str(port)],
        cwd=root,
        env=studio.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    studio.url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (root / "studio.log").read_text()
            try:
                with urllib.request.urlopen(f"{studio.url}/studio", timeout=5) as reply:
                    assert reply.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, "the studio did not answer within 30 s"
                time.sleep(0.1)
        yield studio
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def playwright():
    with sync_api.sync_playwright() as running:
        yield running


def microphone(playwright, wav: Path):
    """Chromium whose microphone plays `wav`."""
    args = [*ARGS, f"--use-file-for-fake-audio-capture={wav}"]
    return playwright.chromium.launch(executable_path=CHROMIUM, args=args)


@pytest.fixture(scope="module")
def voice(playwright, tmp_path_factory):
    browser = microphone(playwright, voice_wav(tmp_path_factory.mktemp("mic") / "v.wav", -10))
    yield browser
    browser.close()


@pytest.fixture
def page(voice):
    context = voice.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def open_studio(page, studio: Studio) -> None:
    page.goto(f"{studio.url}/studio")
    page.locator("li.prompt").first.wait_for()  # the list has come


def item(page, key: str):
    return page.locator(f'li.prompt[data-key="{key}"]')


def button(page, name: str):
    return page.get_by_role("button", name=name, exact=True)


def record(page, seconds: float, keyboard: bool = False, level: float = 0.1) -> None:
    """Record a take of the selected prompt for `seconds`, and wait for its verdict."""
    if keyboard:
        page.keyboard.press(" ")
    else:
        button(page, "Record").click()
    # The level meter moves with the voice while it records.
    page.wait_for_function("l => document.querySelector('#level').value > l", arg=level)
    page.wait_for_function(
        "s => parseFloat(document.querySelector('#take-time').textContent) >= s", arg=seconds
    )
    if keyboard:
        page.keyboard.press(" ")
    else:
        button(page, "Stop").click()
    page.wait_for_function(
        "() => /No problems|record it again|Keep it as it is/.test("
        "document.querySelector('#message').textContent)",
        timeout=30_000,
    )


def keep(page) -> str:
    button(page, "Keep").click()
    page.wait_for_function(
        "() => document.querySelector('#message').textContent.startsWith('Kept')"
        " || !document.querySelector('#error').hidden",
        timeout=60_000,
    )
    assert page.locator("#error").is_hidden(), page.locator("#error").inner_text()
    return page.locator("#message").inner_text()


def test_record_stop_play_and_keep_a_stale_prompt(studio, page):
    key = "en/no_input"
    assert about(studio.check(), "en.yaml", "no_input") == [
        f"the recording of prompt 'no_input', {studio.audio / 'en/no_input.wav'}, is stale: "
        "it says words the prompt no longer says"
    ]
    open_studio(page, studio)
    item(page, key).click()
    assert page.locator("#current-script").inner_text() == "Sorry, I did not hear any key."
    assert "stale" in item(page, key).inner_text()

    record(page, 3.0)
    assert page.locator("#message").inner_text().startswith("No problems found")
    assert page.locator("#warnings li").count() == 0
    assert float(page.locator("#take-time").inner_text().removesuffix(" s")) >= 3.0
    # Play gives the take as a caller hears it: the build's 8 kHz mu-law WAV.
    button(page, "Play").click()
    page.wait_for_function("() => document.querySelector('#preview').currentTime > 0.3")
    heard = page.locator("#measurements").inner_text()
    assert heard.endswith(", -20 LUFS, 8000 Hz mono mu-law."), heard
    assert re.search(r"as a caller hears it: [\d.]+ s, \d+ words a minute \(at most 170\)", heard)

    said = keep(page)
    assert said.startswith("Kept: audio/sources/en/no_input.ogg, built into audio/en/no_input.wav")
    assert "human recording" in item(page, key).inner_text()
    assert "stale" not in item(page, key).inner_text()
    assert page.locator("#current-status").inner_text() == "human recording"

    source = studio.audio / "sources/en/no_input.ogg"
    assert source.read_bytes()[:4] == b"OggS" and b"OpusHead" in source.read_bytes()[:512]
    manifest = studio.manifest()
    entry = manifest["recordings"][key]
    assert (entry["source"], entry["source_file"]) == ("human", "sources/en/no_input.ogg")
    assert entry["text"] == manifest["sources"]["sources/en/no_input.ogg"]["text"]
    assert entry["text"] == "Sorry, I did not hear any key."
    assert 2.5 < entry["duration"] < 6
    assert f"{entry['duration']:.1f} s" in item(page, key).inner_text()
    assert about(studio.check(), "en.yaml", "no_input") == []  # fresh

    # The person's earlier recording stays beside it until the next keep, and is not built.
    backup = studio.audio / "sources/en/no_input.previous.wav"
    assert backup.read_bytes()[:4] == b"RIFF"
    assert not (studio.audio / "sources/en/no_input.wav").exists()
    assert "sources/en/no_input.previous.wav" not in manifest["sources"]
    build = ivr("audio", "build", timeout=120, **studio.env)
    assert "previous" not in build.stderr + build.stdout, build.stderr
    if importlib.util.find_spec("piper") is None:
        # not_understood's words changed since its person recorded it, and there is no voice
        # to make a placeholder: the build keeps everything and says so.
        assert build.returncode != 0
        assert "1 recording(s) need the placeholder voice" in build.stderr
        assert "en/not_understood (its words changed)" in build.stderr
    else:
        assert build.returncode == 0, build.stderr


def test_a_stale_prompt_shows_the_words_that_changed(studio, page):
    open_studio(page, studio)
    page.locator("#status-filter").select_option("stale")
    stale = item(page, "en/not_understood")
    assert stale.is_visible()
    assert "stale" in stale.inner_text()
    # The words the person recorded, against the words now.
    assert stale.locator("del").all_inner_texts() == ["did not catch"]
    assert stale.locator("ins").all_inner_texts() == ["missed"]
    assert stale.locator(".script").inner_text() == "Sorry, I missed that."
    assert item(page, "en/greeting").is_hidden()  # a placeholder, filtered out
    stale.click()
    assert page.locator("#current-changed del").all_inner_texts() == ["did not catch"]


def test_a_failed_build_is_said_in_words_and_loses_no_take(studio, page):
    built = studio.audio / "en/try_again.wav"
    aside = built.with_name("try_again.wav.aside")
    built.replace(aside)
    built.mkdir()  # where the recording goes, a folder: the build cannot write it
    try:
        open_studio(page, studio)
        item(page, "en/try_again").click()
        record(page, 3.0)
        button(page, "Keep").click()
        page.locator("#error").wait_for(timeout=60_000)
        error = page.locator("#error").inner_text()
        assert error.startswith("audio/en/try_again.wav: cannot write it"), error
        assert "The take is saved as " in error and "press Keep again" in error
        assert button(page, "Keep").is_enabled()
    finally:
        built.rmdir()
        aside.replace(built)
    keep(page)  # the same take, still in the page
    assert item(page, "en/try_again").get_attribute("data-status") == "human"
    assert studio.manifest()["recordings"]["en/try_again"]["source"] == "human"


def test_a_microphone_refused_is_said_in_words(studio, playwright):
    # Without the flag that grants it, headless Chromium refuses the microphone.
    args = [a for a in ARGS if a != "--use-fake-ui-for-media-stream"]
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
    try:
        page = browser.new_page()
        open_studio(page, studio)
        button(page, "Record").click()
        page.locator("#error").wait_for()
        assert (
            page.locator("#error")
            .inner_text()
            .startswith("The browser was not allowed to use the microphone.")
        )
        assert button(page, "Record").is_enabled() and button(page, "Stop").is_disabled()
    finally:
        browser.close()


def test_a_too_quiet_take_is_warned_about_and_not_kept(studio, playwright, tmp_path):
    browser = microphone(playwright, voice_wav(tmp_path / "quiet.wav", -45))
    try:
        page = browser.new_page()
        open_studio(page, studio)
        item(page, "en/not_an_option").click()
        record(page, 2.0, level=0.001)
        warnings = page.locator("#warnings li").all_inner_texts()
        assert len(warnings) == 1 and warnings[0].startswith("Too quiet: ")
        assert "Move closer to the microphone" in warnings[0]
        assert "synthetic placeholder" in item(page, "en/not_an_option").inner_text()
    finally:
        browser.close()
    assert not list((studio.audio / "sources").glob("*/not_an_option.*"))


def test_a_take_too_fast_to_follow_is_warned_about_with_its_pace(studio, page):
    open_studio(page, studio)
    item(page, "en/danger").click()  # 13 words, the 911 advice: at most 150 a minute
    record(page, 2.0)
    heard = page.locator("#measurements").inner_text()
    seconds, pace = re.search(r"caller hears it: ([\d.]+) s, (\d+) words a minute", heard).groups()
    assert int(pace) == pytest.approx(13 * 60 / float(seconds), rel=0.03)  # seconds rounded
    assert int(pace) > 150
    warnings = page.locator("#warnings li").all_inner_texts()
    assert (
        f"Fast: {pace} words a minute, where a caller can follow at most 150. Record it "
        "again more slowly, with a short pause after each sentence." in warnings
    )
    assert button(page, "Keep").is_enabled(), "a warning, not a refusal"


def test_a_spanish_prompt_is_recorded_the_same_way(studio, page):
    key = "es/danger"
    text = studio.text("es", "danger")
    assert about(studio.check(), "es.yaml", "danger") == [
        "prompt 'danger' has no recording; Twilio's voice speaks it"
    ]
    open_studio(page, studio)
    page.locator("#language-filter").select_option("es")
    page.locator("#status-filter").select_option("missing")
    assert item(page, "en/danger").is_hidden()
    assert "missing" in item(page, key).inner_text()
    button(page, "Next to record").click()  # the next one after the first
    assert page.locator("#current-title").inner_text() == "es · language_offer"
    page.keyboard.press("ArrowUp")
    assert page.locator("#current-script").inner_text() == text

    record(page, 5.0, keyboard=True)  # Space starts and stops; 11 words at a calm pace
    assert page.locator("#warnings li").all_inner_texts() == []
    keep(page)
    assert item(page, key).get_attribute("data-status") == "human"
    assert page.locator("#current-status").inner_text() == "human recording"
    entry = studio.manifest()["recordings"][key]
    assert (entry["source"], entry["file"], entry["text"]) == ("human", "es/danger.wav", text)
    assert (studio.audio / "es/danger.wav").is_file()
    assert about(studio.check(), "es.yaml", "danger") == []


def test_the_studio_answers_only_its_own_page(studio):
    request = urllib.request.Request(f"{studio.url}/studio", headers={"Host": "evil.example"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403
    # A form on another site cannot send a take: only audio, from the page's own origin.
    for headers, code in (
        ({"Content-Type": "application/x-www-form-urlencoded"}, 415),
        ({"Content-Type": "audio/webm", "Origin": "https://evil.example"}, 403),
    ):
        request = urllib.request.Request(
            f"{studio.url}/studio/keep/en/greeting", data=b"x", headers=headers, method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == code
    assert not list((studio.audio / "sources").glob("*/greeting.*"))


def test_the_production_app_has_no_studio(server):
    for path in ("/studio", "/studio/prompts"):
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{server.url}{path}", timeout=10)
        assert missing.value.code == 404


def test_another_address_than_loopback_is_warned_about(tmp_path):
    # 192.0.2.1 is reserved for documentation: no machine has it, so nothing is ever served.
    done = ivr("studio", "--host", "192.0.2.1", "--port", str(free_port()))
    assert done.returncode != 0
    assert done.stderr.startswith(
        "warning: the studio listens on 192.0.2.1, not only on this computer: anyone who can "
        "reach 192.0.2.1:"
    )


def test_without_the_audio_tools_it_says_what_to_install():
    code = "import sys; sys.modules['pydub'] = None; from ivr.tools.cli import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", code, "studio"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    said = re.fullmatch(
        r"ivr: pydub is missing; the studio needs the audio tools: "
        r"(\S+) install -e '\.\[audio\]'\n",
        done.stderr,
    )
    assert said is not None, done.stderr
    # The pip beside the Python that ran it, as a path that works from here: not the system's.
    assert Path(said.group(1)).resolve() == Path(sys.executable).with_name("pip").resolve()


# --- a flagged take, undoing a keep, the line's own recording, and takes too long ----------------


def prompt_json(studio: Studio, key: str) -> dict:
    with urllib.request.urlopen(f"{studio.url}/studio/prompts", timeout=30) as reply:
        groups = json.loads(reply.read())["groups"]
    return next(p for g in groups for p in g["prompts"] if p["key"] == key)


def post(studio: Studio, path: str, data: bytes, content_type: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{studio.url}{path}", data=data, headers={"Content-Type": content_type}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_flagged_take_is_kept_only_on_a_second_deliberate_press(studio, playwright, tmp_path):
    key = "en/privacy"
    built = studio.audio / "en/privacy.wav"
    before = built.read_bytes()
    browser = microphone(playwright, voice_wav(tmp_path / "loud.wav", 0.0))  # full scale: clips
    try:
        page = browser.new_page()
        open_studio(page, studio)
        item(page, key).click()
        record(page, 1.0)  # and far too short for the words
        warnings = page.locator("#warnings li").all_inner_texts()
        assert [w.split(":")[0] for w in warnings] == [
            "Clipped",
            "Much shorter than the words need",
            "Fast",  # the prompt's words in a second: far over the pace a caller can follow
        ]
        button(page, "Keep").click()
        # Nothing is kept: the page asks for a second, deliberate press.
        assert button(page, "Keep anyway").is_enabled()
        assert page.locator("#message").inner_text().startswith("This take was flagged")
        assert not list((studio.audio / "sources/en").glob("privacy.*"))
        assert built.read_bytes() == before
        button(page, "Keep anyway").click()
        page.wait_for_function(
            "() => document.querySelector('#message').textContent.startsWith('Kept')",
            timeout=60_000,
        )
        assert item(page, key).get_attribute("data-status") == "human"
        assert button(page, "Keep").is_disabled()  # the page holds no take for it any more
    finally:
        browser.close()
    assert studio.manifest()["recordings"][key]["source"] == "human"


def test_the_studio_itself_keeps_a_flagged_take_only_when_told_twice(studio, tmp_path):
    """The same rule without the page: a flagged take sent to Keep is refused until the
    request says it was meant."""
    key = "en/transfer_failed"
    fingerprint = prompt_json(studio, key)["fingerprint"]
    clipped = voice_wav(tmp_path / "clipped.wav", 0.0, seconds=13.0).read_bytes()
    path = f"/studio/keep/{key}?fingerprint={fingerprint}"
    code, body = post(studio, path, clipped, "audio/wav")
    assert (code, body["flagged"]) == (409, True)
    assert body["error"].startswith("This take was flagged: Clipped: ")
    assert not list((studio.audio / "sources/en").glob("transfer_failed.*"))
    code, body = post(studio, f"{path}&flagged=keep", clipped, "audio/wav")
    assert code == 200, body
    assert body["kept"] == "audio/sources/en/transfer_failed.wav"


def test_the_last_keep_can_be_undone_from_the_page_and_done_again(studio, page):
    key = "en/goodbye"  # a synthetic placeholder, which no voice here could make again
    built = studio.audio / "en/goodbye.wav"
    placeholder, entry = built.read_bytes(), studio.manifest()["recordings"][key]
    open_studio(page, studio)
    item(page, key).click()
    assert button(page, "Undo the last keep").is_disabled()
    record(page, 15.0)
    keep(page)
    kept = built.read_bytes()
    assert studio.manifest()["recordings"][key]["source"] == "human"

    button(page, "Undo the last keep").click()
    page.wait_for_function(
        "() => document.querySelector('#message').textContent.startsWith('Undone')",
        timeout=60_000,
    )
    assert page.locator("#error").is_hidden(), page.locator("#error").inner_text()
    assert item(page, key).get_attribute("data-status") == "synthetic"
    assert built.read_bytes() == placeholder
    assert studio.manifest()["recordings"][key] == entry
    assert not (studio.audio / "sources/en/goodbye.ogg").exists()
    assert (studio.audio / "sources/en/goodbye.previous.ogg").is_file()

    button(page, "Undo the last keep").click()  # and back to the take kept
    page.wait_for_function(
        "() => document.querySelector('#message').textContent.startsWith('Undone:')"
        " && document.querySelector('#current-status').textContent === 'human recording'",
        timeout=60_000,
    )
    assert built.read_bytes() == kept
    assert (studio.audio / "sources/en/goodbye.ogg").is_file()
    assert about(studio.check(), "en.yaml", "goodbye") == []


def test_the_line_s_recording_plays_from_the_page(studio, page):
    key = "en/connecting"
    open_studio(page, studio)
    item(page, "en/not_understood").click()  # stale: the line does not play it
    assert button(page, "Play the line's recording").is_disabled()
    item(page, key).click()
    button(page, "Play the line's recording").click()
    page.wait_for_function("() => document.querySelector('#kept-audio').currentTime > 0.3")
    source = page.evaluate("() => document.querySelector('#kept-audio').src")
    with urllib.request.urlopen(source, timeout=10) as reply:
        assert reply.headers["Content-Type"] == "audio/wav"
        assert reply.read() == (studio.audio / "en/connecting.wav").read_bytes()


def test_a_take_of_minutes_is_refused_before_it_is_opened(studio, tmp_path):
    long_take = tmp_path / "long.webm"
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            *("-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=200:duration=200"),
            *("-ac", "1", "-c:a", "libopus", "-b:a", "6k", "-f", "webm", str(long_take)),
        ],
        check=True,
        timeout=120,
    )
    fingerprint = prompt_json(studio, "en/keys_only")["fingerprint"]
    code, body = post(
        studio,
        f"/studio/takes/en/keys_only?fingerprint={fingerprint}",
        long_take.read_bytes(),
        "audio/webm",
    )
    assert code == 422
    assert body["error"] == (
        "This take cannot be used: it is 3 min 20 s long, and a take over 3 minutes is not "
        "opened: a prompt takes seconds. Was Stop missed? Record it again"
    )


def test_a_browser_take_s_length_is_read_from_its_webm_container(studio, page):
    open_studio(page, studio)
    item(page, "en/more_time_on").click()
    record(page, 3.0)
    data = bytes(
        page.evaluate(
            "async () => Array.from(new Uint8Array(await takes.get(selected).blob.arrayBuffer()))"
        )
    )
    assert data[:4] == b"\x1a\x45\xdf\xa3"  # Chromium records WebM
    seconds = container_seconds("webm", data)
    assert seconds is not None
    said = float(page.locator("#measurements").inner_text().split("Take ")[1].split(" s")[0])
    assert abs(seconds - said) < 0.1


def test_a_take_s_length_is_read_before_it_is_decoded(tmp_path):
    """A two-second Opus file whose last page says it ends an hour in: refused on its word,
    before a decoder reads it (which would find two seconds)."""
    short = tmp_path / "short.ogg"
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            *("-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=200:duration=2"),
            *("-ac", "1", "-c:a", "libopus", "-f", "ogg", str(short)),
        ],
        check=True,
        timeout=60,
    )
    data = bytearray(short.read_bytes())
    assert 1.9 < container_seconds("ogg", bytes(data)) < 2.1
    last = data.rfind(b"OggS")
    data[last + 6 : last + 14] = struct.pack("<q", 3600 * 48000 + 312)
    with pytest.raises(TakeError) as refused:
        take_from_upload("audio/ogg", bytes(data))
    assert str(refused.value).startswith("it is 60 min 0 s long")


def test_undoing_a_second_keep_gives_back_the_first_take(studio, page):
    key = "en/reach.chat"
    source = studio.audio / "sources/en/reach.chat.ogg"
    open_studio(page, studio)
    item(page, key).click()
    takes = []
    for seconds in (2.5, 3.5):  # the fake microphone plays the same sound from its start
        record(page, seconds)
        keep(page)
        takes.append((source.read_bytes(), (studio.audio / "en/reach.chat.wav").read_bytes()))
    assert takes[0][0] != takes[1][0]
    button(page, "Undo the last keep").click()
    page.wait_for_function(
        "() => document.querySelector('#message').textContent.startsWith('Undone:')",
        timeout=60_000,
    )
    assert (
        page.locator("#message")
        .inner_text()
        .startswith("Undone: audio/sources/en/reach.chat.ogg is back")
    )
    assert (source.read_bytes(), (studio.audio / "en/reach.chat.wav").read_bytes()) == takes[0]
    assert (studio.audio / "sources/en/reach.chat.previous.ogg").read_bytes() == takes[1][0]
    entry = studio.manifest()["recordings"][key]
    assert (entry["source"], entry["source_file"]) == ("human", "sources/en/reach.chat.ogg")
    assert about(studio.check(), "en.yaml", "reach.chat") == []
