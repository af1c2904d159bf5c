"""What can go wrong with a state file."""

from __future__ import annotations


class StateFileError(Exception):
    """A state file that cannot be used; the message says what is wrong and what to do."""


class StateUnavailable(Exception):
    """The state file cannot be written now (disk full, read-only, I/O error).

    Raised before an answer leaves; the panel is as it was before the request.
    Servers answer it as JSON 503.
    """
