"""Webhook answers, worked out once and kept.

What the line answers depends only on where the call is, the key pressed (or the transfer's
outcome), the caller ID shown to the hotline and where recordings are served from. All are
few, so each answer is computed the first time it is asked for and reused after that.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl

from .flow import CONNECTED, NOT_CONNECTED, Ask, Flow, Hangup, Reply, Transfer, Which
from .model import KEYS, Line
from .speech import Heard, SpeechKeys
from .state import CallState
from .twiml import Renderer

_CACHE_SIZE = 4096  # far more than the distinct answers of a real menu


@dataclass(frozen=True)
class Answer:
    body: bytes  # the TwiML
    log: str  # where the call was, what the caller did and what the line did


def pressed_key(digits: str | None) -> str | None:
    """A single phone key, "?" for anything else pressed, None for silence."""
    if not digits:
        return None
    return digits if len(digits) == 1 and digits in KEYS else "?"


def dial_status(status: str | None) -> str:
    return status if status in CONNECTED or status in NOT_CONNECTED else "other"


class Answers:
    def __init__(self, line: Line, renderer: Renderer) -> None:
        self.line = line
        self.flow = Flow(line)
        self.renderer = renderer
        self.speech = SpeechKeys(line)
        # Keyed on the request's own inputs, so a repeated question costs one lookup.
        self.webhook = lru_cache(_CACHE_SIZE)(self._webhook)

    def _webhook(
        self,
        route: str,
        query: bytes,
        given: str | Heard | None,
        caller_id: str | None,
        audio_base: str,
    ) -> Answer:
        """The answer to `route` ("voice", "key" or "dial") at the state in `query`.

        `given` is what Twilio reports: the Digits pressed, the DialCallStatus, or what the
        caller's words came to.
        """
        if route == "voice":
            return self._answer(self.flow.greet(), None, "-", caller_id, audio_base)
        state = self._state(query)
        if route == "dial":
            status = dial_status(given if isinstance(given, str) else None)
            reply = self.flow.dial_ended(state, status)
            return self._answer(reply, state, status, caller_id, audio_base)
        if isinstance(given, Heard):
            reply = self.flow.hear(state, given)
            return self._answer(reply, state, describe_heard(given), caller_id, audio_base)
        key = pressed_key(given)
        reply = self.flow.answer(state, key)
        return self._answer(reply, state, key or "silence", caller_id, audio_base)

    def hear(self, query: bytes, utterance: str) -> Heard:
        """What a caller's words come to where the call is (the words are never kept)."""
        return self.speech.hear(self._state(query), utterance)

    def _state(self, query: bytes) -> CallState:
        return CallState.parse(dict(parse_qsl(query.decode("latin-1"))), self.line)

    def _answer(
        self,
        reply: Reply,
        state: CallState | None,
        pressed: str,
        caller_id: str | None,
        audio_base: str,
    ) -> Answer:
        body = self.renderer.render(
            reply,
            caller_id=caller_id if isinstance(reply, Transfer) else None,
            audio_base=audio_base,
        )
        log = f"at={describe_state(state)} pressed={pressed} -> {describe_reply(reply)}"
        return Answer(body.encode(), log)


def describe_state(state: CallState | None) -> str:
    return "start" if state is None else f"{state.node}#{state.point}/m{state.misses}"


def describe_heard(heard: Heard) -> str:
    if heard.key is not None:
        return heard.key
    return "noise" if heard.noise else "which:" + "|".join(o for o, _ in heard.options)


def describe_reply(reply: Reply) -> str:
    said = ",".join(
        f"which:{'|'.join(item.options)}" if isinstance(item, Which) else item for item in reply.say
    )
    if isinstance(reply, Ask):
        return f"ask {describe_state(reply.state)} say={said}"
    if isinstance(reply, Transfer):
        return f"transfer#{reply.state.attempt} say={said}"
    assert isinstance(reply, Hangup)
    return f"hangup say={said}"
