"""A call's logic: its state, what the caller meant, and the TwiML that answers.

Rule: no I/O. Everything here is a pure function of the loaded line and one request's fields,
so it can be tested, cached and timed without a server.
"""
