"""The menu YAML, the language files and the document of record, read into a validated model.

Rule: nothing here imports Flask or touches the network; errors name the file and the line.
"""
