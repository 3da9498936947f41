"""The public address of the app, as Twilio sees it, even behind a proxy."""

from __future__ import annotations

from flask import Flask, Request
from werkzeug.middleware.proxy_fix import ProxyFix


def public_root(request: Request, configured: str | None) -> str:
    """The app's public root URL: PUBLIC_BASE_URL if set, else the (proxy-fixed) request's."""
    if configured:
        return configured
    # Asked for twice a request (signature, recordings' address): worked out once.
    root = request.environ.get("ivr.public_root")
    if root is None:
        root = request.environ["ivr.public_root"] = (
            request.host_url.rstrip("/") + request.script_root
        )
    return root


def public_url(request: Request, configured: str | None) -> str:
    """The full public URL of this request, query string as sent."""
    query = request.query_string.decode("latin-1")
    base = f"{public_root(request, configured)}{request.path}"
    return f"{base}?{query}" if query else base


def trust_proxies(app: Flask, hops: int) -> None:
    """Take scheme, host and port from X-Forwarded-* set by `hops` proxies in front."""
    if hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )
