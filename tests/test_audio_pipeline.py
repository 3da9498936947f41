"""`ivr audio build` on short tones made here, in every source format; no TTS needed."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.audio.build import builder as build_module
from ivr.audio.build import ffmpeg
from ivr.audio.build.builder import BuildReport, build_all
from ivr.audio.build.ffmpeg import AudioSegment
from ivr.audio.build.loudness import measure
from ivr.audio.build.process import encode, resample
from ivr.errors import ConfigError
from ivr.menu.document import fingerprint
from ivr.menu.load import load_line
from ivr.menu.model import PhoneLine
from tests.audio_files import check_telephone_wav, mulaw_samples, parse_wav
from tests.helpers import ROOT, edit

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # as ivr.audio.build.ffmpeg does: pydub's import-time noise
    from pydub import audio_segment
    from pydub.generators import Sine

RATE = 44100
TONE_MS = 600
PAD = 0.150
# Source format -> (pydub format, encoder) to make a file of it.
ENCODERS = {
    "wav": ("wav", None),
    "mp3": ("mp3", "libmp3lame"),
    "ogg": ("ogg", "libvorbis"),
    "m4a": ("mp4", "aac"),
    "flac": ("flac", "flac"),
}
# One prompt per format; police.arrest gets a click loud enough to need the limiter.
SOURCES = {
    "greeting": "wav",
    "goodbye": "mp3",
    "no_input": "ogg",
    "connecting": "m4a",
    "not_an_option": "flac",
}
LOUD = "police.arrest"
MANIFEST_FIELDS = {
    "file",
    "sha256",
    "bytes",
    "duration",
    "text",
    "text_fingerprint",
    "source",
    "source_file",
    "source_fingerprint",
    "engine",
    "voice",
    "loudness_lufs",
    "peak_dbfs",
}


def silence(ms: int) -> AudioSegment:
    return AudioSegment.silent(ms, frame_rate=RATE)


def tone(freq: int = 440, volume: float = -12.0, ms: int = TONE_MS) -> AudioSegment:
    """A tone between silences that are no whole number of trim chunks long."""
    burst = Sine(freq, sample_rate=RATE).to_audio_segment(ms, volume)
    return silence(333) + burst + silence(517)


def loud_click() -> AudioSegment:
    """Quiet speech-like level with a full-scale click: normalizing it must not clip."""
    quiet = Sine(300, sample_rate=RATE).to_audio_segment(500, -30.0)
    click = Sine(1000, sample_rate=RATE).to_audio_segment(4, 0.0)
    return silence(250) + quiet + click + quiet + silence(250)


def write_source(audio: Path, prompt_id: str, ext: str, segment: AudioSegment) -> Path:
    path = audio / "sources" / "en" / f"{prompt_id}.{ext}"
    path.parent.mkdir(parents=True, exist_ok=True)
    format_, codec = ENCODERS[ext]
    ffmpeg.executable()
    segment.export(path, format=format_, codec=codec).close()
    return path


def set_placeholder(prompts: Path, engine: str) -> None:
    path = prompts / "en.yaml"
    old = re.compile(r"^placeholder_tts:\s*\S+", re.MULTILINE)
    text = old.sub(f"placeholder_tts: {engine}", path.read_text(), count=1)
    path.write_text(text)


def build(prompts: Path, audio: Path, force: bool = False) -> BuildReport:
    return build_all(prompts, audio, force=force, progress=False)


def manifest(audio: Path) -> dict:
    return json.loads((audio / "manifest.json").read_text())


def snapshot(audio: Path) -> dict[str, str]:
    """sha256 of every file the build writes."""
    files = [*audio.glob("en/*"), audio / "manifest.json"]
    return {
        p.relative_to(audio).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files
    }


@pytest.fixture(autouse=True)
def no_ffprobe(monkeypatch: pytest.MonkeyPatch) -> None:
    """imageio-ffmpeg has no ffprobe: pydub must never need it."""
    monkeypatch.setattr(audio_segment, "mediainfo_json", _no_ffprobe)


def _no_ffprobe(*args: object, **kwargs: object) -> dict:
    raise AssertionError("pydub tried to run ffprobe: give from_file a format and a codec")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, BuildReport]]:
    """A project whose en prompts have no placeholder, with a human recording in each format."""
    root = tmp_path_factory.mktemp("project")
    prompts, audio = root / "prompts", root / "audio"
    shutil.copytree(ROOT / "prompts", prompts)
    set_placeholder(prompts, "none")
    for prompt_id, ext in SOURCES.items():
        write_source(audio, prompt_id, ext, tone())
    write_source(audio, LOUD, "wav", loud_click())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(audio_segment, "mediainfo_json", _no_ffprobe)
        report = build(prompts, audio)
    yield prompts, audio, report


@pytest.fixture
def project(built: tuple[Path, Path, BuildReport], tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the built project that a test may change."""
    prompts, audio, _ = built
    shutil.copytree(prompts, tmp_path / "prompts")
    shutil.copytree(audio, tmp_path / "audio")
    return tmp_path / "prompts", tmp_path / "audio"


@pytest.fixture(scope="module")
def all_prompts(line: PhoneLine) -> int:
    """Every prompt of every language: the pipeline handles each language alike."""
    return sum(len(language.prompts) for language in line.languages.values())


def test_the_first_build_builds_every_recording(
    built: tuple[Path, Path, BuildReport], all_prompts: int
) -> None:
    _, audio, report = built
    assert sorted(report.built) == sorted(f"en/{p}" for p in [*SOURCES, LOUD])
    assert report.unchanged == []
    assert len(report.no_recording) == all_prompts - len(SOURCES) - 1
    assert any("placeholder_tts is none" in warning for warning in report.warnings)
    assert report.recordings == len(SOURCES) + 1
    assert report.total_bytes == sum(e["bytes"] for e in manifest(audio)["recordings"].values())


@pytest.mark.parametrize("prompt_id", sorted(SOURCES), ids=[SOURCES[p] for p in sorted(SOURCES)])
def test_each_format_becomes_telephone_audio(
    built: tuple[Path, Path, BuildReport], prompt_id: str
) -> None:
    _, audio, _ = built
    wav = check_telephone_wav((audio / "en" / f"{prompt_id}.wav").read_bytes())
    samples = [abs(s) for s in mulaw_samples(wav.data)]
    threshold = max(samples) / 100  # 40 dB under the peak
    loud = [i for i, s in enumerate(samples) if s > threshold]
    lead, trail = loud[0] / 8000, (len(samples) - 1 - loud[-1]) / 8000
    assert abs(lead - PAD) <= 0.02, f"leading silence {lead:.3f} s"
    assert abs(trail - PAD) <= 0.02, f"trailing silence {trail:.3f} s"
    assert abs(wav.duration - (TONE_MS / 1000 + 2 * PAD)) <= 0.03
    measured = measure(audio / "en" / f"{prompt_id}.wav")
    assert abs(measured.lufs - -20.0) <= 1.0
    assert measured.clipped == 0


def test_a_loud_peak_is_limited_not_clipped(built: tuple[Path, Path, BuildReport]) -> None:
    _, audio, _ = built
    check_telephone_wav((audio / "en" / f"{LOUD}.wav").read_bytes())
    measured = measure(audio / "en" / f"{LOUD}.wav")
    assert abs(measured.lufs - -20.0) <= 0.5
    assert measured.peak_dbfs <= -0.5


def test_manifest_entries(built: tuple[Path, Path, BuildReport]) -> None:
    prompts, audio, _ = built
    data = manifest(audio)
    assert (audio / "manifest.json").read_text() == json.dumps(
        data, indent=2, sort_keys=True
    ) + "\n"
    assert data["version"] == 1
    assert data["format"] == {"codec": "pcm_mulaw", "sample_rate": 8000, "channels": 1}
    assert data["target_lufs"] == -20.0
    language = load_line(prompts).languages["en"]
    for prompt_id, ext in [*SOURCES.items(), (LOUD, "wav")]:
        entry = data["recordings"][f"en/{prompt_id}"]
        raw = (audio / entry["file"]).read_bytes()
        text = language.prompts[prompt_id].text
        assert set(entry) == MANIFEST_FIELDS
        assert entry["file"] == f"en/{prompt_id}.wav"
        assert entry["sha256"] == hashlib.sha256(raw).hexdigest()
        assert entry["bytes"] == len(raw)
        assert entry["duration"] == round(parse_wav(raw).duration, 2)
        assert (entry["text"], entry["text_fingerprint"]) == (text, fingerprint(text))
        assert entry["source"] == "human"
        assert entry["source_file"] == f"sources/en/{prompt_id}.{ext}"
        assert (entry["engine"], entry["voice"]) == ("human", None)
        assert re.fullmatch(r"[0-9a-f]{64}", entry["source_fingerprint"])
        measured = measure(audio / entry["file"])
        assert entry["loudness_lufs"] == round(measured.lufs, 2)
        assert entry["peak_dbfs"] == round(measured.peak_dbfs, 2)


def test_only_what_changed_is_rebuilt(project: tuple[Path, Path]) -> None:
    prompts, audio = project
    before = snapshot(audio)
    report = build(prompts, audio)
    assert report.built == []
    assert len(report.unchanged) == len(SOURCES) + 1
    assert snapshot(audio) == before

    write_source(audio, "no_input", "ogg", tone(freq=660))
    report = build(prompts, audio)
    assert report.built == ["en/no_input"]
    after = snapshot(audio)
    assert {f for f in before if before[f] != after[f]} == {"en/no_input.wav", "manifest.json"}

    report = build(prompts, audio, force=True)
    assert len(report.built) == len(SOURCES) + 1
    assert snapshot(audio) == after, "a forced rebuild gave different bytes"


def test_a_recording_of_old_words_is_not_passed_off_as_new(project: tuple[Path, Path]) -> None:
    prompts, audio = project
    edit(prompts / "en.yaml", "and it calls no one.", "and it never calls anyone.")
    for _ in range(2):  # and the next build still knows the recording says the old words
        report = build(prompts, audio)
        assert [w for w in report.warnings if w.startswith("re-record ")] == [
            f"re-record {audio / 'sources/en/greeting.wav'}: the prompt's text changed "
            "(until then it gets a placeholder, if its language has one)"
        ]
        assert "en/greeting" in report.no_recording
        assert "en/greeting" not in manifest(audio)["recordings"]
        assert not (audio / "en/greeting.wav").exists()

    write_source(audio, "greeting", "wav", tone(freq=550))  # re-recorded: it says the new words
    report = build(prompts, audio)
    assert report.built == ["en/greeting"]
    entry = manifest(audio)["recordings"]["en/greeting"]
    assert "it never calls anyone" in entry["text"]
    assert entry["source"] == "human"


def test_removed_prompts_are_pruned(project: tuple[Path, Path]) -> None:
    prompts, audio = project
    edit(prompts / "menu.yaml", "      - police.arrest\n", "")
    edit(prompts / "en.yaml", '  police.arrest:\n    passage: "Arrest your abusive partner"\n', "")
    edit(prompts / "es.yaml", '  police.arrest:\n    passage: "Arrestar a tu pareja abusiva"\n', "")
    report = build(prompts, audio)
    assert report.removed == ["en/police.arrest"]
    assert "en/police.arrest" not in manifest(audio)["recordings"]
    assert not (audio / "en/police.arrest.wav").exists()
    assert (audio / "sources/en/police.arrest.wav").exists(), "a human recording was deleted"
    assert any("no prompt is called 'police.arrest'" in w for w in report.warnings)


def test_an_unreadable_source_names_the_file(tmp_path: Path) -> None:
    prompts, audio = tmp_path / "prompts", tmp_path / "audio"
    shutil.copytree(ROOT / "prompts", prompts)
    set_placeholder(prompts, "none")
    for name, junk in [("greeting.mp3", b"ID3 not really"), ("goodbye.wav", b"RIFF....")]:
        source = audio / "sources/en" / name
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_bytes(junk)
        with pytest.raises(ConfigError) as error:
            build(prompts, audio)
        assert error.value.path == source
        assert "export it again" in error.value.message
        source.unlink()
    assert sorted(p.name for p in audio.rglob("*") if p.is_file()) == []


class ToneVoice:
    """A stand-in for piper: a tone for every text, so the placeholder path runs in CI."""

    name = "piper"
    label = "tone-tts 1.0"
    voice = "a440"
    identity = "tone-tts 1.0; a440"

    def __init__(self, installed: bool = True) -> None:
        self.installed = installed

    def unavailable(self, language_code: str) -> str | None:
        return None if self.installed else "tone-tts is not installed"

    def synthesize(self, text: str, max_wpm: float) -> AudioSegment:
        return Sine(440, sample_rate=16000).to_audio_segment(450, -15.0)


def test_placeholders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, all_prompts: int) -> None:
    prompts, audio = tmp_path / "prompts", tmp_path / "audio"
    shutil.copytree(ROOT / "prompts", prompts)
    write_source(audio, "greeting", "wav", tone())
    monkeypatch.setattr(build_module, "engine_for", lambda name: ToneVoice())
    report = build(prompts, audio)
    assert len(report.built) == all_prompts
    recordings = manifest(audio)["recordings"]
    entry = recordings["en/no_input"]
    assert (entry["source"], entry["source_file"]) == ("synthetic", None)
    assert (entry["engine"], entry["voice"]) == ("tone-tts 1.0", "a440")
    check_telephone_wav((audio / entry["file"]).read_bytes())
    assert recordings["en/greeting"]["source"] == "human"

    # The greeting's text changes: its human recording gives way to a placeholder.
    edit(prompts / "en.yaml", "and it calls no one.", "and it never calls anyone.")
    report = build(prompts, audio)
    assert report.built == ["en/greeting"]
    assert any(w.startswith("re-record ") for w in report.warnings)
    greeting = manifest(audio)["recordings"]["en/greeting"]
    assert (greeting["source"], greeting["engine"]) == ("synthetic", "tone-tts 1.0")
    assert "it never calls anyone" in greeting["text"]

    # Without the engine, placeholders whose text holds are kept.
    monkeypatch.setattr(build_module, "engine_for", lambda name: ToneVoice(installed=False))
    report = build(prompts, audio)
    assert report.built == [] and report.removed == [] and report.no_recording == []
    assert len(report.unchanged) == all_prompts

    # A changed one cannot be made again: the build stops, and nothing is lost.
    before = snapshot(audio)
    line = edit(prompts / "en.yaml", "Sorry, I did not hear a key.", "Sorry, I heard no key.")
    with pytest.raises(ConfigError) as stopped:
        build(prompts, audio)
    assert (stopped.value.path, stopped.value.line) == (prompts / "en.yaml", line)
    assert "tone-tts is not installed: en/no_input (its words changed)" in stopped.value.message
    assert "Nothing was changed" in stopped.value.message
    assert snapshot(audio) == before
    assert (audio / "en/no_input.wav").exists()


def built_with_a_voice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A copy of the shipped prompts, every recording built by a stand-in voice."""
    prompts, audio = tmp_path / "prompts", tmp_path / "audio"
    shutil.copytree(ROOT / "prompts", prompts)
    monkeypatch.setattr(build_module, "engine_for", lambda name: ToneVoice())
    build(prompts, audio)
    return prompts, audio


def test_without_its_voice_the_build_stops_before_losing_a_recording(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts, audio = built_with_a_voice(tmp_path, monkeypatch)
    monkeypatch.setattr(build_module, "engine_for", lambda name: ToneVoice(installed=False))
    (audio / "en/greeting.wav").unlink()  # deleted, or lost in a checkout
    edit(
        prompts / "menu.yaml", "      - police.arrest\n", "      - police.arrest\n      - zz.new\n"
    )
    for code in ("en", "es"):
        edit(prompts / f"{code}.yaml", "prompts:\n", "prompts:\n  zz.new: Something new.\n")
    before = snapshot(audio)
    with pytest.raises(ConfigError) as stopped:
        build(prompts, audio)
    message = stopped.value.message
    assert "recording(s) need the placeholder voice, and tone-tts is not installed" in message
    assert "en/greeting (en/greeting.wav is missing)" in message
    assert "en/zz.new (no recording yet)" in message
    assert snapshot(audio) == before
    assert "en/greeting" in manifest(audio)["recordings"]


def test_a_person_s_recording_is_never_replaced_by_a_placeholder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its source gone (not committed, or deleted), the recording built from it is kept."""
    prompts, audio = tmp_path / "prompts", tmp_path / "audio"
    shutil.copytree(ROOT / "prompts", prompts)
    source = write_source(audio, "greeting", "wav", tone())
    monkeypatch.setattr(build_module, "engine_for", lambda name: ToneVoice())
    build(prompts, audio)
    kept = (audio / "en/greeting.wav").read_bytes()
    source.unlink()
    for installed in (True, False):
        monkeypatch.setattr(build_module, "engine_for", lambda name, i=installed: ToneVoice(i))
        report = build(prompts, audio)
        assert "en/greeting" in report.unchanged
        assert any(
            "sources/en/greeting.wav of en/greeting is missing" in w for w in report.warnings
        )
        assert (audio / "en/greeting.wav").read_bytes() == kept
        assert manifest(audio)["recordings"]["en/greeting"]["source"] == "human"


@pytest.mark.parametrize("voice", [True, False], ids=["with a voice", "without"])
def test_a_person_s_recording_gone_with_its_source_is_let_go_only_when_staff_say_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, voice: bool
) -> None:
    """Both files deleted: the build neither drops the entry nor puts a placeholder in the
    person's place, until staff let it go by name."""
    prompts, audio = tmp_path / "prompts", tmp_path / "audio"
    shutil.copytree(ROOT / "prompts", prompts)
    source = write_source(audio, "greeting", "wav", tone())
    monkeypatch.setattr(build_module, "engine_for", lambda name: ToneVoice())
    build(prompts, audio)
    source.unlink()
    (audio / "en/greeting.wav").unlink()
    monkeypatch.setattr(build_module, "engine_for", lambda name: ToneVoice(installed=voice))
    before = snapshot(audio)
    with pytest.raises(ConfigError) as stopped:
        build(prompts, audio)
    message = stopped.value.message
    assert "1 recording(s) of a person are missing, and their source files too: en/greeting" in (
        message
    )
    assert "ivr audio build --let-go en/greeting" in message
    greeting = next(
        n
        for n, line in enumerate((prompts / "en.yaml").read_text().splitlines(), 1)
        if line.startswith("  greeting:")
    )
    assert stopped.value.line == greeting
    assert snapshot(audio) == before
    assert manifest(audio)["recordings"]["en/greeting"]["source"] == "human"
    if voice:
        build_all(prompts, audio, progress=False, let_go=frozenset({"en/greeting"}))
        assert manifest(audio)["recordings"]["en/greeting"]["source"] != "human"


def test_placeholders_are_kept_when_placeholder_tts_is_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts, audio = built_with_a_voice(tmp_path, monkeypatch)
    before = snapshot(audio)
    set_placeholder(prompts, "none")
    monkeypatch.undo()
    report = build(prompts, audio)
    assert report.removed == [] and report.built == []
    assert snapshot(audio) == before


def test_the_meter_reads_a_reference_tone(tmp_path: Path) -> None:
    # BS.1770: a 997 Hz sine peaking at -20 dBFS measures -23.0 LUFS.
    sine = Sine(997, sample_rate=48000).to_audio_segment(3000, -20.0)
    sine.export(tmp_path / "sine.wav", format="wav").close()
    measured = measure(tmp_path / "sine.wav")
    assert abs(measured.lufs - -23.0) <= 0.1
    assert abs(measured.peak_dbfs - -20.0) <= 0.05
    assert (measured.sample_rate, measured.channels, measured.clipped) == (48000, 1, 0)
    assert abs(measured.duration - 3.0) < 0.001

    telephone = measure(encode(resample(sine)))  # the same, as 8 kHz mu-law
    assert abs(telephone.lufs - -23.0) <= 0.2
    assert telephone.sample_rate == 8000
