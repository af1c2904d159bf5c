"""``mockpanel state``: state file tools."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def state() -> None:
    """Tools for the files of `mockpanel serve --state`."""


@state.command()
@click.argument("old", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(dir_okay=False, path_type=Path))
def convert(old: Path, new: Path) -> None:
    """Convert OLD, a state file of the old line-log format, into NEW (the SQLite format).

    OLD is only read. Start the server with the same --seed, --dialect and --catalog as before."""
    from .errors import StateFileError
    from .legacy import convert as run

    try:
        count, identity = run(old, new)
    except StateFileError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"{new}: {count} changes converted (seed {identity.seed}, dialect {identity.dialect}, "
        f"catalog {identity.catalog}). Start with: mockpanel serve --state {new}"
    )
