"""Arbitrary webhook input: always valid TwiML (or 403 unsigned), never a 5xx, never a crash."""

from __future__ import annotations

import urllib.parse
import xml.etree.ElementTree as ET

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from ivr.web.app import create_app
from ivr.web.fallback import APOLOGY
from ivr.web.settings import Settings
from tests.conftest import ROOT, TOKEN

APP = create_app(
    Settings(
        auth_token=TOKEN, prompts_dir=ROOT / "prompts", audio_dir=ROOT / "audio", log_level="ERROR"
    )
)
CLIENT = APP.test_client()
LINE = APP.config["IVR_LINE"]

anything = st.one_of(
    st.text(max_size=50),
    st.text(max_size=3000),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(
        ["", "0", "-1", "999", "1e9", "\u0663", "\uff11", "\x00", "main", "police", "../x"]
    ),
    st.sampled_from([*LINE.menus, *LINE.sections]),
)
maybe = st.one_of(st.none(), anything)
keys = st.one_of(st.none(), st.sampled_from([*"0123456789*#", ""]), anything)
statuses = st.one_of(
    st.none(),
    st.sampled_from(["completed", "answered", "busy", "no-answer", "failed", "canceled"]),
    anything,
)


def post(route: str, query: dict[str, str | None], form: dict[str, str | None], signed: bool):
    pairs = [(k, v) for k, v in query.items() if v is not None]
    path = f"/{route}" + (f"?{urllib.parse.urlencode(pairs)}" if pairs else "")
    data = {"CallSid": "CA" + "5" * 32, "From": "+14155550199", "To": "+18005550100"}
    data.update({k: v for k, v in form.items() if v is not None})
    headers = {}
    if signed:
        url = f"http://localhost{path}"
        headers["X-Twilio-Signature"] = RequestValidator(TOKEN).compute_signature(url, data)
    return CLIENT.post(path, data=data, headers=headers)


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
    route, n, p, m, digits, speech, call_status, dial_status, signed
):
    form = {
        "Digits": digits,
        "SpeechResult": speech,
        "CallStatus": call_status,
        "DialCallStatus": dial_status,
    }
    response = post(route, {"n": n, "p": p, "m": m}, form, signed)
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


def _gather_state(body: bytes) -> dict[str, str]:
    gather = ET.fromstring(body).find("Gather")
    assert gather is not None
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(gather.get("action")).query))


@settings(max_examples=300, deadline=None)
@given(n=anything, p=anything, m=maybe)
def test_a_tampered_position_falls_back_to_the_main_menu(n, p, m):
    node = LINE.node(n)
    valid_point = p.isascii() and p.isdigit() and len(p) <= 3
    if node is not None and valid_point:
        limit = len(node.points) if n in LINE.sections else 1
        valid_point = int(p) < limit
    response = post("key", {"n": n, "p": p, "m": m}, {"Digits": "*"}, signed=True)
    assert response.status_code == 200
    state = _gather_state(response.get_data())
    if node is None or not valid_point:
        # "*" at the main menu repeats it: a tampered position lands on the main menu.
        assert state["n"] == LINE.start and state["p"] == "0"
