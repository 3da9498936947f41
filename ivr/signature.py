"""Checking X-Twilio-Signature against the public URL Twilio called."""

from __future__ import annotations

from flask import Request
from twilio.request_validator import RequestValidator, get_signature_algorithm


class SignatureCheck:
    """Validates webhooks with twilio's RequestValidator.

    Behind a TLS-terminating proxy the app sees http and an internal host, while Twilio
    signed the public https URL: either `public_base_url` names that URL, or ProxyFix
    (PROXY_HOPS) has already restored scheme and host from X-Forwarded-* headers.
    """

    def __init__(self, auth_token: str, public_base_url: str | None = None) -> None:
        self.validator = RequestValidator(auth_token)
        self.public_base_url = public_base_url

    def url_of(self, request: Request) -> str:
        base = self.public_base_url or (request.host_url.rstrip("/") + request.script_root)
        query = request.query_string.decode("latin-1")
        return f"{base}{request.path}?{query}" if query else f"{base}{request.path}"

    def is_valid(self, request: Request) -> bool:
        signature = request.headers.get("X-Twilio-Signature")
        if not signature:
            return False
        algorithm = get_signature_algorithm(
            request.headers.get("X-Twilio-Webhooks-Signature-Settings")
        )
        return self.validator.validate(self.url_of(request), request.form, signature, algorithm)
