"""The check that listens: recordings heard by machine, with offline recognition.

The committed recordings are heard the same way by `ivr listen` in CI; here the listener is
shown to catch what it is for, on recordings that really have the faults.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.audio_files import write_audio_dir
from tests.helpers import ROOT, ivr

pytest.importorskip("pocketsphinx", reason="the recognizer comes with the dev extra")

DATA = Path(__file__).parent / "data"
# What tests/data/greeting-reads-dash.wav was made from: the greeting as it was, with "9-1-1".
OLD_GREETING = (
    "If you are in immediate danger, hang up and call 9-1-1. This is Calling the Police, a "
    "safety guide from love is respect. To talk with a peer advocate at any time, press 0. "
    "You can press keys or speak."
)


def ivr_listen(audio: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return ivr(
        "listen", *args, timeout=300, AUDIO_DIR=str(audio), PROMPTS_DIR=str(ROOT / "prompts")
    )


def committed(audio: Path, *keys: str) -> None:
    """Copy some of the committed recordings, with their manifest entries, into `audio`."""
    manifest = json.loads((ROOT / "audio/manifest.json").read_text())
    kept = {key: manifest["recordings"][key] for key in keys}
    for entry in kept.values():
        (audio / entry["file"]).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "audio" / entry["file"], audio / entry["file"])
    (audio / "manifest.json").write_text(json.dumps({**manifest, "recordings": kept}))


def test_a_greeting_that_reads_the_hyphens_of_9_1_1_fails_naming_what_was_heard(tmp_path):
    write_audio_dir(
        tmp_path, {"en/greeting": (OLD_GREETING, (DATA / "greeting-reads-dash.wav").read_bytes())}
    )
    result = ivr_listen(tmp_path)
    assert result.returncode == 1, result.stdout
    (error,) = [line for line in result.stdout.splitlines() if ": error: " in line]
    assert error.startswith(f"{tmp_path}/en/greeting.wav: error: reads a symbol aloud: heard ")
    times = [float(t) for t in error.split('"dash" at ')[1:] for t in [t.split(" s")[0]]]
    assert len(times) == 2 and all(2.4 < t < 3.5 for t in times), error
    assert "1 error(s)" in result.stderr


def test_a_number_read_whole_fails(tmp_path):
    text = "Text the word love is to two two five two two."
    write_audio_dir(
        tmp_path, {"en/reach.text": (text, (DATA / "22522-read-whole.wav").read_bytes())}
    )
    result = ivr_listen(tmp_path)
    assert result.returncode == 1
    assert 'reads a number whole, not digit by digit: heard "twenty"' in result.stdout
    assert '"thousand"' in result.stdout


def test_the_recordings_with_numbers_say_them_digit_by_digit_where_a_caller_hears_them(tmp_path):
    committed(tmp_path, "en/danger", "en/goodbye", "en/reach.text", "en/reach.call")
    result = ivr_listen(tmp_path, "--verbose")
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    heard = {line.split(": ")[0].rsplit("/", 1)[1]: line for line in lines if ".wav: " in line}
    assert " 911 at " in heard["danger.wav"]
    assert heard["goodbye.wav"].count("18663319474 at") == 2 and "911 at" in heard["goodbye.wav"]
    assert heard["reach.call.wav"].count("18663319474 at") == 2
    assert heard["reach.text.wav"].count("22522 at") == 2
    assert lines[-1] == "ivr listen: 4 recording(s), 8 number(s) heard; clean"


def test_only_english_recordings_are_listened_to(tmp_path):
    write_audio_dir(
        tmp_path, {"es/greeting": ("Hola.", (DATA / "22522-read-whole.wav").read_bytes())}
    )
    result = ivr_listen(tmp_path)
    assert result.returncode == 0
    assert "es/greeting.wav: the recognizer knows English only" in result.stdout
