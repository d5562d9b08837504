"""The one base of the errors tapwatch reports to its user.

Every module raises its own subclass with a message that is a whole sentence
naming the fix; the command line catches :class:`TapwatchError` once and turns
it into one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations


class TapwatchError(Exception):
    """A problem the user can act on; ``str()`` is the one line to show."""
