"""Building telephone-ready recordings of every prompt (`ivr audio build`).

Only the build command and the tests import this package: it needs pydub and ffmpeg, which the
web server does without. The server reads what it writes: audio/manifest.json and audio/<lang>/.
"""
