"""The `ivr` command for the staff who keep the line: check, listen, graph, and calls without a
phone (simulated, in the terminal).
"""
