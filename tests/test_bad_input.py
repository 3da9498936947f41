"""Arbitrary webhook input: always valid TwiML (or 403 unsigned), never a 5xx, never a crash."""

from __future__ import annotations

import urllib.parse
import xml.etree.ElementTree as ET

from flask import Flask
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from ivr.menu.model import PhoneLine, Section
from ivr.web.fallback import APOLOGY
from tests.helpers import sign

# The menus and sections of the shipped line, so that real positions are drawn too.
NODES = ("main", "police", "what_you_can_do", "reach_advocate")

anything = st.one_of(
    st.text(max_size=50),
    st.text(max_size=3000),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(
        ["", "0", "-1", "999", "1e9", "\u0663", "\uff11", "\x00", "main", "police", "../x"]
    ),
    st.sampled_from(NODES),
)
maybe = st.one_of(st.none(), anything)
keys = st.one_of(st.none(), st.sampled_from([*"0123456789*#", ""]), anything)
statuses = st.one_of(
    st.none(),
    st.sampled_from(["completed", "answered", "busy", "no-answer", "failed", "canceled"]),
    anything,
)


def post(
    app: Flask,
    route: str,
    query: dict[str, str | None],
    form: dict[str, str | None],
    signed: bool,
) -> TestResponse:
    pairs = [(k, v) for k, v in query.items() if v is not None]
    path = f"/{route}" + (f"?{urllib.parse.urlencode(pairs)}" if pairs else "")
    data = {"CallSid": "CA" + "5" * 32, "From": "+14155550199", "To": "+18005550100"}
    data.update({k: v for k, v in form.items() if v is not None})
    headers = {"X-Twilio-Signature": sign(f"http://localhost{path}", data)} if signed else {}
    return app.test_client().post(path, data=data, headers=headers)


def test_the_positions_drawn_are_the_lines(line):
    assert set(NODES) == {*line.menus, *line.sections}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    route=st.sampled_from(["voice", "key", "dial", "fallback", "status"]),
    n=maybe,
    p=maybe,
    m=maybe,
    digits=keys,
    speech=maybe,
    call_status=statuses,
    dial_status=statuses,
    signed=st.booleans(),
)
def test_any_webhook_input_gets_valid_twiml_or_403(
    app, route, n, p, m, digits, speech, call_status, dial_status, signed
):
    form = {
        "Digits": digits,
        "SpeechResult": speech,
        "CallStatus": call_status,
        "DialCallStatus": dial_status,
    }
    response = post(app, route, {"n": n, "p": p, "m": m}, form, signed)
    assert response.status_code < 500
    if not signed:
        assert response.status_code == 403
        return
    if route == "status":
        assert response.status_code == 204
        return
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    root = ET.fromstring(response.get_data())
    assert root.tag == "Response" and len(root) > 0
    body = response.get_data(as_text=True)
    if route != "fallback":
        assert APOLOGY not in body, "the input made a webhook raise"


def read_as(line: PhoneLine, n: str, p: str, m: str | None) -> str:
    """The position the line must take from these arguments: the one they name if it exists,
    else the main menu."""
    node = line.node(n)
    misses = "0" if m is None else m
    small = [x.isascii() and x.isdigit() and 0 < len(x) <= 3 for x in (p, misses)]
    limit = len(node.points) if isinstance(node, Section) else 1
    if node is None or not all(small) or int(p) >= limit:
        return f"n={line.start}&p=0&m=0"
    return f"n={node.id}&p={int(p)}&m={int(misses)}"


@settings(max_examples=300, deadline=None)
@given(n=anything, p=anything, m=maybe, digits=st.sampled_from([*"0123456789*#", ""]))
@example(n="police", p="999", m="0", digits="2")  # past the last point
@example(n="police", p="3", m="x", digits="2")  # misses that are no number
@example(n="nowhere", p="0", m="0", digits="1")
@example(n="police", p="003", m="0", digits="2")  # a real position, written oddly
def test_a_tampered_position_is_answered_as_the_main_menu(app, line, n, p, m, digits):
    """A key pressed at a position that does not exist is answered as if pressed at the main
    menu; at one that does, as there."""
    form = {"Digits": digits or None}
    tampered = post(app, "key", {"n": n, "p": p, "m": m}, form, signed=True)
    where = dict(urllib.parse.parse_qsl(read_as(line, n, p, m)))
    reference = post(app, "key", where, form, signed=True)
    assert tampered.status_code == reference.status_code == 200
    assert tampered.get_data(as_text=True) == reference.get_data(as_text=True)
