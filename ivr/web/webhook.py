"""What every Twilio webhook shares, in the line and in the fallback app alike."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from flask import Request, abort
from werkzeug.datastructures import MultiDict

from ivr.web.body_limit import form_of
from ivr.web.refusals import refused
from ivr.web.settings import Settings
from ivr.web.signature import SignatureCheck

log = logging.getLogger("ivr")

MAX_BODY = 32 * 1024  # Twilio's webhooks are a few kilobytes
# Each answer is for one moment of one call: no proxy may keep or replay it.
WEBHOOK_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
TWIML_HEADERS = [("Content-Type", "text/xml; charset=utf-8"), *WEBHOOK_HEADERS.items()]
NO_TOKEN_WARNING = (
    "TWILIO_AUTH_TOKEN is not set: webhooks are NOT checked for Twilio's signature. "
    "Anyone can drive this line. Set it before taking real calls."
)
# Twilio's test numbers, never a real caller or line: for calls placed without a phone.
TEST_CALLER = "+15005550006"
TEST_LINE = "+15005550001"


def caller_id_for(form: Mapping[str, str], setting: str) -> str | None:
    """The caller ID the hotline sees: the line's number, the caller's, or a fixed one."""
    if setting == "to":
        return form.get("To") or None
    if setting == "from":
        return form.get("From") or None
    return setting


def params(req: Request) -> MultiDict[str, str]:
    """A webhook's parameters: in the body, or, with the webhook set to HTTP GET, in its URL."""
    return form_of(req) if req.method == "POST" else req.args


class Gate:
    """Refuses a webhook Twilio did not sign, and says once to switch GET webhooks to POST."""

    def __init__(self, settings: Settings) -> None:
        self.check = SignatureCheck.from_settings(settings)
        self.told_to_post = False
        if self.check is None:
            log.warning(NO_TOKEN_WARNING)

    def admit(self, req: Request, name: str) -> None:
        refusal = self.check.refusal(req) if self.check is not None else None
        if refusal is not None:
            refused.count(refusal)  # summed up in the log, never a line each
            abort(403)
        if req.method == "GET" and not self.told_to_post:
            self.told_to_post = True
            log.warning(
                "Twilio calls /%s with HTTP GET, which puts each caller's number in the URL, "
                "where proxies and logs keep it: set the number's webhooks to HTTP POST",
                name,
            )
