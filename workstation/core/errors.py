"""Errors meant for the analyst: each message is a sentence naming the file or field and what to do."""


class UserError(Exception):
    """Something the user can fix (a bad file, a wrong field); shown as a message, never as a traceback."""


class Cancelled(UserError):
    """The analyst cancelled a long job and nothing was changed or written. Every cancel type (ImportCancelled,
    DemoCancelled, ExportCancelled, ...) subclasses this one, so a caller tells a cancel from a failure with
    ``isinstance(exc, Cancelled)``, never by the class's name."""


def stop_if(should_stop, cancelled: type[Cancelled] = Cancelled, message: str = "Cancelled; nothing was changed.") \
        -> None:
    """Raise ``cancelled(message)`` when the job's cancel check says so (``should_stop`` may be None)."""
    if should_stop is not None and should_stop():
        raise cancelled(message)
