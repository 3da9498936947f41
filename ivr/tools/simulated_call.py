"""A call placed the way Twilio places it: signed webhooks, following the TwiML that comes back.

It drives the real app, in-process or over HTTP, so what it hears is what a caller would hear.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from twilio.request_validator import RequestValidator

from ivr.web.webhook import TEST_CALLER, TEST_LINE

DIAL_OUTCOMES = ("completed", "busy", "no-answer", "failed", "canceled")


@dataclass(frozen=True)
class HttpReply:
    status: int
    content_type: str
    body: str


Post = Callable[[str, dict[str, str], dict[str, str]], HttpReply]


def http_post(url: str, params: dict[str, str], headers: dict[str, str]) -> HttpReply:
    """POST a form over HTTP, as Twilio does."""
    data = urllib.parse.urlencode(params).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return HttpReply(
                response.status, response.headers.get("Content-Type", ""), response.read().decode()
            )
    except urllib.error.HTTPError as error:
        return HttpReply(error.code, error.headers.get("Content-Type", ""), error.read().decode())


def flask_post(app: Any) -> Post:
    """POST to a Flask app in-process, through its test client."""
    client = app.test_client()

    def post(url: str, params: dict[str, str], headers: dict[str, str]) -> HttpReply:
        parts = urllib.parse.urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        response = client.post(
            path,
            data=params,
            headers=headers,
            base_url=f"{parts.scheme}://{parts.netloc}",
        )
        return HttpReply(response.status_code, response.content_type or "", response.get_data(True))

    return post


@dataclass
class Event:
    kind: str  # say, play, wait, key, speech, silence, dial, outcome, hangup, error
    text: str
    url: str | None = None  # for play: the recording's URL
    seconds: float | None = None  # for play: the recording's duration; for silence: its wait
    language: str | None = None  # for say: the language it is spoken in


@dataclass
class SimulatedCall:
    """One call. `start()`, then `press()` or `dial_outcome()` while it waits."""

    post: Post
    voice_url: str
    auth_token: str | None = None
    caller: str = TEST_CALLER
    called: str = TEST_LINE
    call_sid: str = "CA00000000000000000000000000000001"
    recordings: dict[str, dict[str, Any]] = field(default_factory=dict)  # manifest entries by file
    transcript: list[Event] = field(default_factory=list)
    waiting_for: str | None = None  # "key", "dial" or None when the call has ended
    url: str = ""  # the TwiML document being followed
    after_wait: list[ET.Element] = field(default_factory=list)  # verbs after the wait
    waiting_on: ET.Element | None = None  # the Gather or Dial being waited on
    requests: int = 0
    status: int = 0  # the HTTP status of the last webhook's answer
    _hops: int = 0  # fetches since the caller last acted: a guard against redirect loops

    @property
    def ended(self) -> bool:
        return self.waiting_for is None

    def start(self) -> SimulatedCall:
        self._fetch(self.voice_url, {})
        return self

    def press(self, key: str | None) -> SimulatedCall:
        """Press `key` at a Gather; None or "" is silence until it times out."""
        if self.waiting_for != "key" or self.waiting_on is None:
            raise RuntimeError(f"the call is not waiting for a key ({self.waiting_for})")
        gather = self.waiting_on
        if key:
            self.transcript.append(Event("key", key))
            self._fetch(self._resolve(gather.get("action", self.url)), {"Digits": key})
        else:
            timeout = gather.get("timeout", "5")
            self.transcript.append(Event("silence", f"{timeout} s", seconds=float(timeout)))
            if gather.get("actionOnEmptyResult") == "true":
                self._fetch(self._resolve(gather.get("action", self.url)), {})
            else:
                self._run(self.after_wait)
        return self

    def say(self, words: str) -> SimulatedCall:
        """Speak at a Gather, as Twilio reports it: SpeechResult. A Gather that listens for
        keys only does not hear it, and times out as if the caller were silent."""
        if self.waiting_for != "key" or self.waiting_on is None:
            raise RuntimeError(f"the call is not listening ({self.waiting_for})")
        if "speech" not in self.waiting_on.get("input", "dtmf"):
            self.transcript.append(Event("speech", f"{words} (not heard: keys only)"))
            return self.press(None)
        self.transcript.append(Event("speech", words))
        action = self._resolve(self.waiting_on.get("action", self.url))
        self._fetch(action, {"SpeechResult": words, "Confidence": "0.9"})
        return self

    def dial_outcome(self, status: str) -> SimulatedCall:
        """End the transfer with a DialCallStatus, as Twilio reports it to the Dial action."""
        if self.waiting_for != "dial" or self.waiting_on is None:
            raise RuntimeError(f"the call is not in a transfer ({self.waiting_for})")
        dial = self.waiting_on
        self.transcript.append(Event("outcome", status))
        if dial.get("action"):
            self._fetch(self._resolve(dial.get("action", "")), {"DialCallStatus": status})
        else:
            self._run(self.after_wait)
        return self

    def fork(self) -> SimulatedCall:
        """Another call at this same position, with an empty transcript."""
        return replace(self, transcript=[])

    def heard(self) -> str:
        """Everything said or played so far, as one text."""
        return " ".join(e.text for e in self.transcript if e.kind in ("say", "play"))

    def events(self, *kinds: str) -> list[Event]:
        return [e for e in self.transcript if e.kind in kinds]

    def _resolve(self, url: str) -> str:
        return urllib.parse.urljoin(self.url, url)

    def _params(self, extra: dict[str, str]) -> dict[str, str]:
        return {
            "CallSid": self.call_sid,
            "AccountSid": "AC00000000000000000000000000000000",
            "From": self.caller,
            "To": self.called,
            "Caller": self.caller,
            "Called": self.called,
            "CallStatus": "in-progress",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
            **extra,
        }

    def _fetch(self, url: str, extra: dict[str, str]) -> None:
        self._hops = 0 if extra else self._hops + 1
        if self._hops > 20:
            self._end(Event("error", f"endless redirect loop at {url}"))
            return
        params = self._params(extra)
        headers = {}
        if self.auth_token:
            signature = RequestValidator(self.auth_token).compute_signature(url, params)
            headers["X-Twilio-Signature"] = signature
        self.requests += 1
        reply = self.post(url, params, headers)
        self.url, self.status = url, reply.status
        if reply.status != 200 or "xml" not in reply.content_type:
            self._end(Event("error", f"application error: HTTP {reply.status} from {url}"))
            return
        try:
            root = ET.fromstring(reply.body)
        except ET.ParseError as error:
            self._end(Event("error", f"application error: invalid TwiML from {url}: {error}"))
            return
        if root.tag != "Response":
            self._end(Event("error", f"application error: <{root.tag}> is not <Response>"))
            return
        self._run(list(root))

    def _end(self, event: Event) -> None:
        self.transcript.append(event)
        self.waiting_for = None
        self.waiting_on = None

    def _hear(self, verb: ET.Element) -> None:
        if verb.tag == "Say":
            text = (verb.text or "").strip()
            self.transcript.append(Event("say", text, language=verb.get("language")))
        elif verb.tag == "Play":
            url = (verb.text or "").strip()
            path = urllib.parse.urlsplit(url).path
            entry = next((e for f, e in self.recordings.items() if path.endswith(f"/{f}")), None)
            if entry is None:
                self.transcript.append(Event("play", url, url))
            else:
                self.transcript.append(Event("play", entry["text"], url, entry["duration"]))

    def _run(self, verbs: list[ET.Element]) -> None:
        for index, verb in enumerate(verbs):
            rest = verbs[index + 1 :]
            if verb.tag in ("Say", "Play"):
                self._hear(verb)
            elif verb.tag == "Pause":
                continue
            elif verb.tag == "Gather":
                for nested in verb:
                    self._hear(nested)
                self.transcript.append(Event("wait", f"a key, {verb.get('timeout', '5')} s"))
                self.waiting_for, self.waiting_on, self.after_wait = "key", verb, rest
                return
            elif verb.tag == "Redirect":
                self._fetch(self._resolve((verb.text or "").strip()), {})
                return
            elif verb.tag == "Dial":
                number = (verb.findtext("Number") or verb.text or "").strip()
                caller_id = verb.get("callerId", "the caller's own number")
                self.transcript.append(Event("dial", f"{number} (caller ID {caller_id})"))
                self.waiting_for, self.waiting_on, self.after_wait = "dial", verb, rest
                return
            elif verb.tag == "Hangup":
                self._end(Event("hangup", "the line hangs up"))
                return
            else:
                self._end(Event("error", f"unexpected verb <{verb.tag}>"))
                return
        self._end(Event("hangup", "the TwiML ended, so Twilio hangs up"))
