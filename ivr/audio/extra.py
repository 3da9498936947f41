"""How a person installs the optional audio tools into the Python running now."""

from __future__ import annotations

import sys
from pathlib import Path


def install_audio() -> str:
    """`.venv/bin/pip install -e '.[audio]'`: the pip beside this Python, as a path a person
    can paste in the project's folder (a bare `pip` is often the system's, or none)."""
    pip = Path(sys.executable).with_name("pip")
    try:
        shown = pip.relative_to(Path.cwd())
    except ValueError:
        shown = pip
    return f"{shown} install -e '.[audio]'"
