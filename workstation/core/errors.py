"""Errors meant for the analyst: each message is a sentence naming the file or field and what to do."""


class UserError(Exception):
    """Something the user can fix (a bad file, a wrong field); shown as a message, never as a traceback."""
