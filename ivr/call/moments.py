"""Every moment of a call: what the caller hears, and which keys then do something.

Found by running the call flow itself from the greeting through every state a call can reach,
pressing every key, staying silent, speaking, and ending each transfer every way. So what it
lists is what the line does, not a second account of it that could drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ivr.call.flow import CONNECTED, NOT_CONNECTED, Ask, Flow, Reply, Transfer, Which
from ivr.call.speech_match import NOISE, Heard, SpeechKeys
from ivr.call.state import CallState, replace
from ivr.menu.model import KEYS, PhoneLine

NOT_A_KEY = "?"  # what the webhook makes of anything pressed that is no phone key
Kind = Literal["ask", "transfer", "hangup"]


@dataclass(frozen=True)
class Spoken:
    """One thing said: a prompt of a language, or (`prompt` None) a question naming options."""

    language: str
    prompt: str | None
    text: str


@dataclass(frozen=True)
class Moment:
    node: str  # the menu or section the call is at
    language: str  # the call's language
    kind: Kind  # an ask waits for a key; a transfer dials; a hangup ends the call
    retry: bool  # just after a failed transfer
    said: tuple[Spoken, ...]
    works: frozenset[str]  # keys that do something while it is said and just after


def call_moments(line: PhoneLine, exhaustive: bool = False) -> frozenset[Moment]:
    """Each distinct moment of every call the line can have.

    Calls that differ only in what cannot change what is heard, nor which keys work, are
    followed once (see _visited); `exhaustive` follows each, for the tests that show it finds
    the same.
    """
    flow = Flow(line)
    speech = SpeechKeys(line)

    def visited(reply: Reply) -> Reply:
        return _visited(line, reply) if not exhaustive else _as_read(line, reply)

    first = visited(flow.greet())
    replies = {first}  # every reply, each once
    todo: list[Reply] = [first]  # one reply for each state, whose next replies are to find
    expanded = {(type(first), first.state)}
    works: dict[CallState, frozenset[str]] = {}
    while todo:
        reply = todo.pop()
        state = reply.state
        after: list[Reply] = []
        if isinstance(reply, Ask):
            answers = {key: flow.answer(state, key) for key in (*KEYS, None, NOT_A_KEY)}
            works[state] = frozenset(key for key in KEYS if answers[key] != answers[NOT_A_KEY])
            after = [answers[key] for key in (*KEYS, None)]
            after.append(flow.hear(state, NOISE))
            options = speech.options_at(state.node)
            if not state.keys_only and len(options) > 1:
                after.append(flow.hear(state, Heard(options=tuple(options.items()))))
        elif isinstance(reply, Transfer):
            after = [flow.dial_ended(state, status) for status in sorted(CONNECTED | NOT_CONNECTED)]
        for following in after:
            following = visited(following)
            replies.add(following)
            if (type(following), following.state) not in expanded:
                expanded.add((type(following), following.state))
                todo.append(following)
    nothing: frozenset[str] = frozenset()
    return frozenset(
        _moment(line, r, works[r.state] if isinstance(r, Ask) else nothing) for r in replies
    )


def _as_read(line: PhoneLine, reply: Reply) -> Reply:
    """`reply` as the next webhook reads its state: misses count no higher than the tries."""
    state = reply.state
    if state.misses <= line.no_input.tries:
        return reply
    return replace(reply, state=replace(state, misses=line.no_input.tries))


def _visited(line: PhoneLine, reply: Reply) -> Reply:
    """`reply`, with only what can change what is heard and which keys work: the pace changes
    only how long the line waits; a caller not yet told the privacy tip hears all a caller
    told it hears, and the tip; and what follows a transfer does not depend on where the call
    was when it began."""
    reply = _as_read(line, reply)
    state = reply.state
    moved = isinstance(reply, Transfer) and (state.node, state.point) != (line.start, 0)
    if not (state.slow or state.told_privacy or moved):
        return reply
    where = {"node": line.start, "point": 0} if moved else {}
    return replace(reply, state=replace(state, slow=False, told_privacy=False, **where))


def _moment(line: PhoneLine, reply: Reply, works: frozenset[str]) -> Moment:
    language = reply.state.lang or line.default_language
    said = []
    for item in reply.say:
        if isinstance(item, Which):
            said.append(Spoken(language, None, item.words(line.languages[language])))
            continue
        other, _, prompt_id = item.rpartition("/")
        code = other or language
        said.append(Spoken(code, prompt_id, line.languages[code].prompts[prompt_id].text))
    kind: Kind = (
        "ask" if isinstance(reply, Ask) else "transfer" if isinstance(reply, Transfer) else "hangup"
    )
    return Moment(reply.state.node, language, kind, reply.state.retry, tuple(said), works)
