"""Which Twilio <Say> voice speaks which language, and which voices are neural or generative.

The names are Twilio's own (ivr/menu/twilio_say.py, from its TwiML definitions). A Google voice
names its language; an Amazon Polly voice does not, so POLLY gives each one's languages, as
Twilio's text-to-speech voice list and Amazon Polly's give them. <Say language> must be one of
the voice's languages: Twilio may refuse, or mispronounce, any other pairing.
"""

from __future__ import annotations

import difflib
from typing import Literal

from ivr.menu.twilio_say import SAY_LANGUAGES, SAY_VOICES

Engine = Literal["standard", "neural", "generative"]
SAY_VOICE_SET = frozenset(SAY_VOICES)
_LANGUAGE_CASE = {code.lower(): code for code in SAY_LANGUAGES}

# Each Amazon Polly voice, without its -Neural or -Generative ending: its languages.
POLLY: dict[str, tuple[str, ...]] = {
    "Aditi": ("en-IN", "hi-IN"),
    "Adriano": ("it-IT",),
    "Amy": ("en-GB",),
    "Andres": ("es-MX",),
    "Aria": ("en-NZ",),
    "Arlet": ("ca-ES",),
    "Arthur": ("en-GB",),
    "Astrid": ("sv-SE",),
    "Ayanda": ("en-ZA",),
    "Bianca": ("it-IT",),
    "Brian": ("en-GB",),
    "Burcu": ("tr-TR",),
    "Camila": ("pt-BR",),
    "Carla": ("it-IT",),
    "Carmen": ("ro-RO",),
    "Celine": ("fr-FR",),
    "Chantal": ("fr-CA",),
    "Conchita": ("es-ES",),
    "Cristiano": ("pt-PT",),
    "Daniel": ("de-DE",),
    "Danielle": ("en-US",),
    "Dora": ("is-IS",),
    "Elin": ("sv-SE",),
    "Emma": ("en-GB",),
    "Enrique": ("es-ES",),
    "Ewa": ("pl-PL",),
    "Filiz": ("tr-TR",),
    "Gabrielle": ("fr-CA",),
    "Geraint": ("en-GB-WLS",),
    "Giorgio": ("it-IT",),
    "Gregory": ("en-US",),
    "Gwyneth": ("cy-GB",),
    "Hala": ("ar-AE",),
    "Hannah": ("de-AT",),
    "Hans": ("de-DE",),
    "Hiujin": ("yue-CN",),
    "Ida": ("nb-NO",),
    "Ines": ("pt-PT",),
    "Isabelle": ("fr-BE",),
    "Ivy": ("en-US",),
    "Jacek": ("pl-PL",),
    "Jan": ("pl-PL",),
    "Joanna": ("en-US",),
    "Joey": ("en-US",),
    "Justin": ("en-US",),
    "Kajal": ("en-IN", "hi-IN"),
    "Karl": ("is-IS",),
    "Kazuha": ("ja-JP",),
    "Kendra": ("en-US",),
    "Kevin": ("en-US",),
    "Kimberly": ("en-US",),
    "Laura": ("nl-NL",),
    "Lea": ("fr-FR",),
    "Liam": ("fr-CA",),
    "Lisa": ("nl-BE",),
    "Liv": ("nb-NO",),
    "Lotte": ("nl-NL",),
    "Lucia": ("es-ES",),
    "Lupe": ("es-US",),
    "Mads": ("da-DK",),
    "Maja": ("pl-PL",),
    "Marlene": ("de-DE",),
    "Mathieu": ("fr-FR",),
    "Matthew": ("en-US",),
    "Maxim": ("ru-RU",),
    "Mia": ("es-MX",),
    "Mía": ("es-MX",),
    "Miguel": ("es-US",),
    "Mizuki": ("ja-JP",),
    "Naja": ("da-DK",),
    "Niamh": ("en-IE",),
    "Nicole": ("en-AU",),
    "Ola": ("pl-PL",),
    "Olivia": ("en-AU",),
    "Pedro": ("es-US",),
    "Penelope": ("es-US",),
    "Raveena": ("en-IN",),
    "Remi": ("fr-FR",),
    "Rémi": ("fr-FR",),
    "Ricardo": ("pt-BR",),
    "Ruben": ("nl-NL",),
    "Russell": ("en-AU",),
    "Ruth": ("en-US",),
    "Salli": ("en-US",),
    "Seoyeon": ("ko-KR",),
    "Sergio": ("es-ES",),
    "Sofie": ("da-DK",),
    "Stephen": ("en-US",),
    "Suvi": ("fi-FI",),
    "Takumi": ("ja-JP",),
    "Tatyana": ("ru-RU",),
    "Thiago": ("pt-BR",),
    "Tomoko": ("ja-JP",),
    "Vicki": ("de-DE",),
    "Vitoria": ("pt-BR",),
    "Zayd": ("ar-AE",),
    "Zeina": ("arb",),
    "Zhiyu": ("cmn-CN",),
}
# A Google voice's model, the last but one part of its name: what kind of voice it is.
GOOGLE_MODELS: dict[str, Engine] = {
    "Standard": "standard",
    "Wavenet": "neural",
    "Neural2": "neural",
    "HD": "generative",  # Chirp3-HD
}


def languages_of(voice: str) -> tuple[str, ...]:
    """The languages Twilio speaks `voice` in; empty if it lists no such voice for <Say>."""
    if voice not in SAY_VOICE_SET:
        return ()
    provider, _, name = voice.partition(".")
    if provider == "Google":
        return ("-".join(name.split("-")[:2]),)  # "en-US-Neural2-A": en-US
    return POLLY.get(name.removesuffix("-Neural").removesuffix("-Generative"), ())


def engine_of(voice: str) -> Engine:
    if voice.startswith("Google."):
        return GOOGLE_MODELS.get(voice.split("-")[-2], "standard")
    if voice.endswith("-Generative"):
        return "generative"
    return "neural" if voice.endswith("-Neural") else "standard"


def voices_for(language: str, engines: tuple[Engine, ...] = ("neural", "generative")) -> list[str]:
    """Twilio's voices for `language` of these kinds: Amazon Polly's first, as Twilio lists."""
    found = [
        v
        for v in SAY_VOICES
        if language.lower() in (code.lower() for code in languages_of(v))
        and engine_of(v) in engines
    ]
    return sorted(found, key=lambda v: not v.startswith("Polly."))


def voice_problem(voice: str, language: str) -> str | None:
    """Why `voice` cannot speak <Say language=`language`>, with what to write; None if it can."""
    if language_problem(language):
        return None  # the language is refused on its own, where it is written
    spoken = languages_of(voice)
    if language.lower() in (code.lower() for code in spoken):
        return None
    choices = _named(voices_for(language))
    if not voice.startswith(("Polly.", "Google.")):
        return (
            f"{voice!r}: the line takes Twilio's Amazon Polly and Google voices, whose languages "
            f"Twilio lists; for {language} use one of {choices}"
        )
    if not spoken:
        close = difflib.get_close_matches(voice, SAY_VOICES, n=1, cutoff=0.8)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return (
            f"{voice!r} is not a voice Twilio lists for <Say>; {hint}"
            f"for {language} use one of {choices}"
        )
    return (
        f"{voice!r} speaks {' and '.join(spoken)}, not {language} (language: above); "
        f"for {language} use one of {choices}"
    )


def language_problem(language: str) -> str | None:
    """Why Twilio's <Say> would refuse `language`, or None."""
    if language in SAY_LANGUAGES:
        return None
    close = [_LANGUAGE_CASE[language.lower()]] if language.lower() in _LANGUAGE_CASE else []
    close = close or difflib.get_close_matches(language, SAY_LANGUAGES, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(close)}?" if close else ", like en-US or es-US"
    return f"{language!r} is not a language code Twilio's <Say> takes{hint}"


def _named(voices: list[str]) -> str:
    polly = [v for v in voices if v.startswith("Polly.")]
    google = len(voices) - len(polly)
    shown = ", ".join(polly) if polly else ", ".join(voices[:6])
    more = f", or one of {google} Google voices" if polly and google else ""
    return f"{shown}{more}" if voices else "none: Twilio lists no neural voice for it"
