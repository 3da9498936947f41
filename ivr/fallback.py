"""What a caller hears when the line itself fails: an apology and the hotline.

Built from constants alone, so it works even when the menu could not be loaded.
"""

from __future__ import annotations

from twilio.twiml.voice_response import VoiceResponse

HOTLINE = "+18663319474"
VOICE = "Polly.Joanna"
LANGUAGE = "en-US"
APOLOGY = (
    "Sorry, this line is having trouble. "
    "If you are in immediate danger, hang up and call 9-1-1. "
    "Connecting you to a peer advocate at love is respect."
)
AFTER = (
    "If you could not reach an advocate, call 1, 8 6 6, 3 3 1, 9 4 7 4, "
    "or text the word love is to 2 2 5 2 2. Goodbye."
)


def fallback_twiml(caller_id: str | None) -> str:
    response = VoiceResponse()
    response.say(APOLOGY, voice=VOICE, language=LANGUAGE)
    # No action URL: if the app is failing, the call must not depend on it again.
    dial = response.dial(timeout=30, caller_id=caller_id)
    dial.number(HOTLINE)
    response.say(AFTER, voice=VOICE, language=LANGUAGE)
    response.hangup()
    return str(response.to_xml())
