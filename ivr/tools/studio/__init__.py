"""`ivr studio`: staff record the line's prompts in their own voices, in the browser.

A local page lists every prompt with the state of its recording; a take is checked and heard
as a caller will hear it, then kept as a human recording in audio/sources/ and built with the
same code as `ivr audio build`. It needs the audio tools: .venv/bin/pip install -e '.[audio]'.
"""
