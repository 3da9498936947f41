"""Building telephone-ready recordings of every prompt (`ivr audio build`), and listening to them.

Only the build and listen commands and the tests import this package: it needs pydub and ffmpeg
(and pocketsphinx to listen), which the web server does without. The server reads what it
writes: audio/manifest.json and audio/<lang>/.
"""
