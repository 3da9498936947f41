"""The line's recordings: the manifest, and the runtime view the server plays from.

`ivr.audio.build` makes the recordings and needs the audio extra; the server never imports it.
"""
