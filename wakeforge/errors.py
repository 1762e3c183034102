"""One exception type for mistakes a user can make (bad config value, unreadable file, missing asset).

Its message names the config key or file and says what to do; ``scripts/`` print it as one line.
"""


class WakeforgeError(Exception):
    """A user-facing error: the message alone (no traceback) tells the user what to fix."""
