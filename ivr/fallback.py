"""The fallback app's WSGI entry point, served with the line's own gunicorn configuration:

    gunicorn -c python:ivr.web.gunicorn_config "ivr.fallback:create_fallback_app()"

It loads no menu, so it answers even when the line's YAML is broken (see docs/operators.md,
"When something fails"). Like the line's, it reads the real environment only, never `.env`.
"""

from ivr.web.fallback import create_fallback_app

__all__ = ["create_fallback_app"]
