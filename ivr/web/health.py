"""/healthz, for the platform's checks: the line is loaded and how big it is."""

from __future__ import annotations

from flask import Blueprint

from ivr.menu.model import PhoneLine


def health(line: PhoneLine | None = None) -> Blueprint:
    """Without a line (the fallback app), only that the process answers."""
    blueprint = Blueprint("health", __name__)
    status: dict[str, object] = {"status": "ok"}
    if line is not None:
        status |= {"menus": len(line.menus), "sections": len(line.sections)}

    @blueprint.get("/healthz")
    def healthz() -> dict[str, object]:
        return status

    return blueprint
