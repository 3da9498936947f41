"""Turning a Reply of the call flow into TwiML, with twilio's voice_response builder."""

from __future__ import annotations

from twilio.twiml import TwiML
from twilio.twiml.voice_response import VoiceResponse

from ivr.audio.recordings import Recordings
from ivr.call.flow import Ask, Hangup, Reply, Said, Transfer, Which
from ivr.call.speech_match import hints
from ivr.menu.model import Language, PhoneLine

# Action URLs are relative, so the line works under any host and path prefix.
KEY_URL = "key"
DIAL_URL = "dial"
# Seconds of pause that end what a caller says. A number, not "auto": Twilio refuses "auto"
# with some speech models, and a refused <Gather> must never reach a caller.
SPEECH_PAUSE_SECONDS = 2


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
        self.say(parent, self.language.prompts[prompt_id].text)

    def say(self, parent: TwiML, text: str) -> None:
        parent.say(text, voice=self.language.voice, language=self.language.code)

    def ask_which(self, parent: TwiML, which: Which) -> None:
        """ "Did you mean what the police can do, or to talk with an advocate? Press 1 or 0." """
        self.say(parent, which.words(self.language))


class Renderer:
    """TwiML for the replies of one line, in each of its languages."""

    def __init__(self, line: PhoneLine, recordings: Recordings) -> None:
        self.line = line
        self.speakers = {code: Speaker(lang, recordings) for code, lang in line.languages.items()}
        self.hints = {code: hints(line, code) for code in line.languages}

    def render(self, reply: Reply, *, caller_id: str | None, audio_base: str) -> str:
        """The TwiML for `reply`; recordings are played from `audio_base` (an absolute URL)."""
        code = reply.state.lang or self.line.default_language

        def speak(parent: TwiML, item: Said) -> None:
            if isinstance(item, Which):
                self.speakers[code].ask_which(parent, item)
                return
            # "es/language_offer" is a prompt of another language, in that language's voice.
            other, _, prompt_id = item.rpartition("/")
            self.speakers[other or code].speak(parent, prompt_id, audio_base)

        response = VoiceResponse()
        if isinstance(reply, Ask):
            action = f"{KEY_URL}?{reply.state.query()}"
            # One key acts at once; no finish key, so "#" can be a menu key. Speech works too,
            # until a noisy room has turned it off.
            listening = (
                {"input": "dtmf"}
                if reply.state.keys_only
                else {
                    "input": "dtmf speech",
                    "speech_timeout": SPEECH_PAUSE_SECONDS,
                    "language": self.line.languages[code].code,
                    "hints": self.hints[code],
                }
            )
            gather = response.gather(
                action=action,
                method="POST",
                num_digits=1,
                finish_on_key="",
                timeout=reply.wait,
                **listening,
            )
            for item in reply.say:
                speak(gather, item)
            # Silence falls through the Gather to here: the same URL, with no Digits.
            response.redirect(action, method="POST")
        elif isinstance(reply, Transfer):
            for item in reply.say:
                speak(response, item)
            number, ring_seconds = self.line.hotline.dialled(reply.state.attempt)
            dial = response.dial(
                action=f"{DIAL_URL}?{reply.state.query()}",
                method="POST",
                timeout=ring_seconds,
                caller_id=caller_id,
            )
            dial.number(number)
        else:
            assert isinstance(reply, Hangup)
            for item in reply.say:
                speak(response, item)
            response.hangup()
        return str(response.to_xml())
