"""Checking X-Twilio-Signature against the public URL Twilio called.

Twilio signs a webhook with the account's auth token, or, where a webhook setting names a shared
key, with that key's secret and the algorithm the setting names; it then says so in
X-Twilio-Webhooks-Signature-Settings (`key=ID,algorithm=HMAC_SHA256`). During a token rotation
the token being retired passes too, until it is removed.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterable, Mapping
from urllib.parse import urlparse

from flask import Request
from twilio.request_validator import (
    HMAC_SHA1,
    HMAC_SHA256,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    add_port,
    get_signature_algorithm,
    remove_port,
)

from ivr.web.body_limit import form_of
from ivr.web.public_url import public_url
from ivr.web.refusals import SIGNATURE, UNKNOWN_KEY
from ivr.web.settings import Settings

log = logging.getLogger("ivr")

ALGORITHMS = frozenset({HMAC_SHA1, HMAC_SHA256})


def signature_settings(header: str) -> tuple[str | None, str]:
    """The shared key a settings header names (None: the auth token), and the algorithm."""
    key = None
    for part in header.split(","):
        name, separator, value = part.partition("=")
        if separator and name.strip() == "key" and value.strip():
            key = value.strip()
            break
    return key, get_signature_algorithm(header)


class SignatureCheck:
    """Validates webhooks with twilio's RequestValidator, against each secret that may apply.

    Behind a TLS-terminating proxy the app sees http and an internal host, while Twilio
    signed the public https URL: either `public_base_url` names that URL, or ProxyFix
    (PROXY_HOPS) has already restored scheme and host from X-Forwarded-* headers.
    """

    def __init__(
        self,
        auth_token: str | None,
        public_base_url: str | None = None,
        *,
        previous_token: str | None = None,
        webhook_keys: Mapping[str, str] | None = None,
    ) -> None:
        # The current token first: the previous one costs its HMACs only when that fails.
        tokens = [token for token in (auth_token, previous_token) if token]
        self.token_validators = tuple(RequestValidator(token) for token in tokens)
        self.key_validators = {
            key_id: RequestValidator(secret) for key_id, secret in (webhook_keys or {}).items()
        }
        self.public_base_url = public_base_url

    @classmethod
    def from_settings(cls, settings: Settings) -> SignatureCheck | None:
        """The check for these settings; None when no secret is set (no check at all)."""
        if not (settings.auth_token or settings.webhook_keys):
            return None
        return cls(
            settings.auth_token,
            settings.public_base_url,
            previous_token=settings.auth_token_previous,
            webhook_keys=dict(settings.webhook_keys),
        )

    def is_valid(self, request: Request) -> bool:
        return self.refusal(request) is None

    def refusal(self, request: Request) -> str | None:
        """Why `request` is refused, as the log's summary of refusals names it; None: signed."""
        signature = request.headers.get("X-Twilio-Signature")
        if not signature:
            return SIGNATURE
        header = request.headers.get(SIGNATURE_SETTINGS_HEADER)
        key_id, algorithm = signature_settings(header) if header else (None, HMAC_SHA1)
        if algorithm.upper() not in ALGORITHMS:
            return SIGNATURE  # refused here, so that no request text reaches a log
        if key_id is None:
            validators = self.token_validators
        elif key_id in self.key_validators:
            validators = (self.key_validators[key_id],)
        else:
            return UNKNOWN_KEY  # its id is the sender's text: it is never logged
        # A GET webhook is signed over its URL alone: its parameters are in the query.
        params = _Params(form_of(request).lists() if request.method == "POST" else ())
        parsed = urlparse(public_url(request, self.public_base_url))
        urls = (remove_port(parsed), add_port(parsed))
        expected = signature.encode()
        if any(_signed(v, urls, params, expected, algorithm) for v in validators):
            return None
        return SIGNATURE


class _Params(dict[str, list[str]]):
    """A form as RequestValidator.compute_signature reads it, each name's values by `getall`:
    werkzeug's MultiDict has none, and the library's fallbacks cost an exception a field."""

    def getall(self, name: str) -> list[str]:
        return self[name]


def _signed(
    validator: RequestValidator,
    urls: Iterable[str],
    params: _Params,
    expected: bytes,
    algorithm: str,
) -> bool:
    """What `validator.validate` decides for a form, for half its work: it computes the HMAC
    for the URL without its port and with it, and accepts either; Twilio signs the URL as the
    number's settings give it, most often without a port, so the second HMAC is computed only
    when the first does not match."""
    return any(
        hmac.compare_digest(validator.compute_signature(url, params, algorithm).encode(), expected)
        for url in urls
    )
