"""Modal dialogs, one a module: help, confirm, go to, find, sort, write a file, inject.

Each dialog reports problems inside itself or through a notification; none of
them lets an exception reach the user as a traceback. A dialog returns what
the user asked for (``dismiss``); the screen that opened it acts on it.
"""

from __future__ import annotations


def action_errors() -> tuple[type[Exception], ...]:
    """The exception types an action may raise with a message meant for the user."""
    from tapwatch import peer

    return (peer.PeerError,)
