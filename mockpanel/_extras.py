"""The extras: a command whose libraries are not installed says, in one line, which extra brings them."""

from __future__ import annotations

from importlib.util import find_spec

import click

__all__ = ["MissingExtra", "require"]


class MissingExtra(click.ClickException):
    """``COMMAND needs the 'EXTRA' extra (LIBRARY): pip install 'mockpanel[EXTRA]'``; exit 2, no usage banner."""

    exit_code = 2  # could not run, as a usage error; 1 stays "ran and found something"

    def __init__(self, command: str, extra: str, library: str) -> None:
        super().__init__(f"{command} needs the {extra!r} extra ({library}): pip install 'mockpanel[{extra}]'")


def require(library: str, command: str, extra: str) -> None:
    """Raise MissingExtra unless ``library`` can be imported; looks it up without importing it."""
    if find_spec(library) is None:
        raise MissingExtra(command, extra, library)
