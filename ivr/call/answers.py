"""Webhook answers, worked out once and kept.

What the line answers depends only on where the call is, the key pressed (or the transfer's
outcome, or what the caller's words came to), all of them few. So each decision of the call
flow is kept, keyed on those alone: never on a raw query string, a header or a caller's number.
Its TwiML is kept too when nothing of the request goes into it; a transfer, which shows the
caller ID, is rendered afresh for each request and never kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl

from ivr.call.counts import counted
from ivr.call.flow import CONNECTED, NOT_CONNECTED, Ask, Flow, Hangup, Reply, Transfer, Which
from ivr.call.speech_match import Heard, SpeechKeys
from ivr.call.state import CallState
from ivr.call.twiml import Renderer
from ivr.menu.model import KEYS, PhoneLine

# Far more than the decisions a real call makes, and few enough to stay a few megabytes.
CACHE_SIZE = 1024

Given = str | Heard | None


@dataclass(frozen=True)
class Decided:
    """The call flow's decision for one question, with what is kept of its answer."""

    reply: Reply
    log: str  # where the call was, what the caller did and what the line did
    body: bytes | None  # the TwiML, when it depends on nothing in the request
    counts: tuple[str, ...] = ()  # the day's usage counters this answer adds to


@dataclass(frozen=True)
class Answer:
    body: bytes  # the TwiML
    log: str
    counts: tuple[str, ...] = ()


def pressed_key(digits: str | None) -> str | None:
    """A single phone key, "?" for anything else pressed, None for silence."""
    if not digits:
        return None
    return digits if len(digits) == 1 and digits in KEYS else "?"


def dial_status(status: str | None) -> str:
    return status if status in CONNECTED or status in NOT_CONNECTED else "other"


class Answers:
    def __init__(self, line: PhoneLine, renderer: Renderer, audio_base: str | None) -> None:
        """`audio_base`: where recordings are served from, when it is fixed by configuration;
        None when it comes from each request's own address."""
        self.line = line
        self.flow = Flow(line)
        self.renderer = renderer
        self.speech = SpeechKeys(line)
        self.audio_base = audio_base
        self.decide = lru_cache(CACHE_SIZE)(self._decide)

    def webhook(
        self, route: str, query: bytes, given: Given, caller_id: str | None, audio_base: str
    ) -> Answer:
        """The answer to `route` ("voice", "key" or "dial") at the state in `query`.

        `given` is what Twilio reports: the Digits pressed, the DialCallStatus, or what the
        caller's words came to. `caller_id` and `audio_base` come from this request.
        """
        state = None if route == "voice" else self.state(query)
        if route == "dial":
            given = dial_status(given if isinstance(given, str) else None)
        elif not isinstance(given, Heard):
            given = pressed_key(given)
        decided = self.decide(route, state, given)
        body = decided.body
        if body is None:
            caller = caller_id if isinstance(decided.reply, Transfer) else None
            body = self._render(decided.reply, caller, audio_base)
        return Answer(body, decided.log, decided.counts)

    def hear(self, query: bytes, utterance: str) -> Heard:
        """What a caller's words come to where the call is (the words are never kept)."""
        return self.speech.hear(self.state(query), utterance)

    def state(self, query: bytes) -> CallState:
        return CallState.parse(query_fields(query), self.line)

    def _decide(self, route: str, state: CallState | None, given: Given) -> Decided:
        if route == "voice" or state is None:
            reply: Reply = self.flow.greet()
        elif route == "dial":
            assert isinstance(given, str)
            reply = self.flow.dial_ended(state, given)
        elif isinstance(given, Heard):
            reply = self.flow.hear(state, given)
        else:
            reply = self.flow.answer(state, given)
        pressed = "-" if route == "voice" else describe_given(given)
        how = " by speech" if isinstance(given, Heard) else ""
        at = describe_state(state)
        log = f"{route}{how} at={at} pressed={pressed} -> {describe_reply(reply)}"
        body = None
        if self.audio_base is not None and not isinstance(reply, Transfer):
            body = self._render(reply, None, self.audio_base)
        return Decided(reply, log, body, counted(self.line, route, state, given, reply))

    def _render(self, reply: Reply, caller_id: str | None, audio_base: str) -> bytes:
        return self.renderer.render(reply, caller_id=caller_id, audio_base=audio_base).encode()


def query_fields(query: bytes) -> dict[str, str]:
    """The fields of a query string. The line's own have no escapes: those are split at once."""
    text = query.decode("latin-1")
    if "%" in text or "+" in text:
        return dict(parse_qsl(text))
    return {name: value for name, _, value in (field.partition("=") for field in text.split("&"))}


def describe_state(state: CallState | None) -> str:
    return "start" if state is None else f"{state.node}#{state.point}/m{state.misses}"


def describe_given(given: Given) -> str:
    if isinstance(given, Heard):
        if given.key is not None:
            return given.key
        return "noise" if given.noise else "which:" + "|".join(o for o, _ in given.options)
    return given or "silence"


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
