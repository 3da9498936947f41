"""A Twilio phone line that reads the safety guide "Calling the Police" by keypad menu.

Layers, each importing only those above it:

- `ivr.menu`: the YAML menu and the document, read into a validated model (no Flask);
- `ivr.call`: what the line says next, as TwiML (no I/O);
- `ivr.audio`: the recordings the line plays, and `ivr.audio.build` to make them;
- `ivr.web`: the Flask app Twilio calls;
- `ivr.tools`: the `ivr` command for staff.
"""
