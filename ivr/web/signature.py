"""Checking X-Twilio-Signature against the public URL Twilio called."""

from __future__ import annotations

from flask import Request
from twilio.request_validator import (
    HMAC_SHA1,
    HMAC_SHA256,
    RequestValidator,
    get_signature_algorithm,
)

from ivr.web.public_url import public_url

ALGORITHMS = frozenset({HMAC_SHA1, HMAC_SHA256})


class SignatureCheck:
    """Validates webhooks with twilio's RequestValidator.

    Behind a TLS-terminating proxy the app sees http and an internal host, while Twilio
    signed the public https URL: either `public_base_url` names that URL, or ProxyFix
    (PROXY_HOPS) has already restored scheme and host from X-Forwarded-* headers.
    """

    def __init__(self, auth_token: str, public_base_url: str | None = None) -> None:
        self.validator = RequestValidator(auth_token)
        self.public_base_url = public_base_url

    def is_valid(self, request: Request) -> bool:
        signature = request.headers.get("X-Twilio-Signature")
        if not signature:
            return False
        algorithm = get_signature_algorithm(
            request.headers.get("X-Twilio-Webhooks-Signature-Settings")
        )
        if algorithm.upper() not in ALGORITHMS:
            return False  # refused here, so that no request text reaches a log
        # A GET webhook is signed over its URL alone: its parameters are in the query.
        params = request.form if request.method == "POST" else {}
        valid: bool = self.validator.validate(
            public_url(request, self.public_base_url), params, signature, algorithm
        )
        return valid
