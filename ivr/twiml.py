"""Turning a Reply of the call flow into TwiML, with twilio's voice_response builder."""

from __future__ import annotations

from twilio.twiml import TwiML
from twilio.twiml.voice_response import VoiceResponse

from .flow import Ask, Hangup, Reply, Transfer
from .model import Language, Line
from .recordings import Recordings

# Action URLs are relative, so the line works under any host and path prefix.
KEY_URL = "key"
DIAL_URL = "dial"


class Speaker:
    """Adds what one prompt says to a TwiML verb: its fresh recording, or else <Say>."""

    def __init__(self, language: Language, recordings: Recordings) -> None:
        self.language = language
        self._recorded = {
            prompt_id: recording.url_path
            for prompt_id in language.prompts
            if (recording := recordings.fresh(language.id, prompt_id)) is not None
        }

    def speak(self, parent: TwiML, prompt_id: str, audio_base: str) -> None:
        path = self._recorded.get(prompt_id)
        if path is not None:
            parent.play(f"{audio_base}/{path}")
            return
        prompt = self.language.prompts[prompt_id]
        parent.say(prompt.text, voice=self.language.voice, language=self.language.code)


def render(
    reply: Reply, line: Line, speaker: Speaker, *, caller_id: str | None, audio_base: str
) -> str:
    """The TwiML for `reply`; recordings are played from `audio_base` (an absolute URL)."""
    response = VoiceResponse()
    if isinstance(reply, Ask):
        action = f"{KEY_URL}?{reply.state.query()}"
        # One key acts at once; no finish key, so "#" can be a menu key.
        gather = response.gather(
            action=action, method="POST", num_digits=1, finish_on_key="", timeout=reply.wait
        )
        for prompt_id in reply.say:
            speaker.speak(gather, prompt_id, audio_base)
        # Silence falls through the Gather to here: the same URL, with no Digits.
        response.redirect(action, method="POST")
    elif isinstance(reply, Transfer):
        for prompt_id in reply.say:
            speaker.speak(response, prompt_id, audio_base)
        dial = response.dial(
            action=f"{DIAL_URL}?{reply.state.query()}",
            method="POST",
            timeout=line.hotline.ring_seconds,
            caller_id=caller_id,
        )
        dial.number(line.hotline.number)
    else:
        assert isinstance(reply, Hangup)
        for prompt_id in reply.say:
            speaker.speak(response, prompt_id, audio_base)
        response.hangup()
    return str(response.to_xml())
