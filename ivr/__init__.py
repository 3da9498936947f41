"""A Twilio phone line that reads the safety guide "Calling the Police" by keypad menu."""

from .app import create_app

__all__ = ["create_app"]
