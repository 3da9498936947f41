"""`ivr connect`: point a Twilio number at the line through Twilio's REST API.

Only `apply` talks to Twilio; what to set is worked out before it, from the line's address.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# As the Twilio Console names each of the number's voice settings.
LABELS = {
    "voice_url": "Voice URL (a call comes in)",
    "voice_method": "  its method",
    "voice_fallback_url": "Fallback URL (primary handler fails)",
    "voice_fallback_method": "  its method",
    "status_callback": "Status callback (call status changes)",
    "status_callback_method": "  its method",
    "voice_application_sid": "TwiML App (overrides the Voice URL)",
}


class NumberProblem(Exception):
    """The number cannot be connected as it is; the message says what to do."""


@dataclass(frozen=True)
class Change:
    label: str
    before: str
    after: str

    def render(self) -> str:
        before, after = self.before or "(none)", self.after or "(none)"
        if before == after:
            return f"  {self.label:<38} {after} (unchanged)"
        return f"  {self.label:<38} {before} -> {after}"


def wanted(base_url: str, fallback_url: str | None, status_callback: bool) -> dict[str, str]:
    """The number's voice settings for a line at `base_url`, every webhook with HTTP POST."""
    settings = {
        "voice_url": f"{base_url}/voice",
        "voice_method": "POST",
        "voice_fallback_url": fallback_url or f"{base_url}/fallback",
        "voice_fallback_method": "POST",
    }
    if status_callback:
        settings |= {"status_callback": f"{base_url}/status", "status_callback_method": "POST"}
    return settings


def apply(client: Any, number: str, settings: dict[str, str]) -> tuple[str, list[Change]]:
    """Set `settings` on the account's `number`; its SID and each setting before and after.

    `client` is twilio-python's REST client. Nothing is sent when nothing would change.
    """
    found = client.incoming_phone_numbers.list(phone_number=number, limit=20)
    record = next((n for n in found if n.phone_number == number), None)
    if record is None:
        raise NumberProblem(
            f"{number} is not a number of this Twilio account (TWILIO_ACCOUNT_SID): check the "
            "number, with its country code, and the account"
        )
    if record.trunk_sid:
        raise NumberProblem(
            f"{number} belongs to a SIP trunk, which overrides its Voice URL: take it off the "
            "trunk in the Twilio Console first"
        )
    if record.voice_application_sid:
        settings = {**settings, "voice_application_sid": ""}  # else it overrides the URLs
    before = {name: getattr(record, name) or "" for name in settings}
    after = before
    if any(before[name] != value for name, value in settings.items()):
        updated = client.incoming_phone_numbers(record.sid).update(**settings)
        after = {name: getattr(updated, name) or "" for name in settings}
    return record.sid, [Change(LABELS[name], before[name], after[name]) for name in settings]
