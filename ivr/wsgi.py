"""The WSGI entry point for gunicorn (see Procfile). A broken menu stops start-up here.

It reads the real environment only, never `.env`: a platform sets the variables.
"""

from __future__ import annotations

import sys

from ivr.errors import ConfigError
from ivr.web.app import create_app
from ivr.web.settings import SettingsError

try:
    app = create_app()
except (ConfigError, SettingsError) as error:
    sys.exit(f"ivr: the line cannot start: {error}")
