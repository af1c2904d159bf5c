"""``mockpanel state``: state file tools."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # pragma: no cover
    from ._panel.panel import Panel
    from ._persistence.records import Identity


def replaying_panel(identity: Identity) -> Panel:
    """The panel an old line log replays into: as the server built it, in-band triggers installed."""
    from ._server.app import build_panel, create_app

    panel = build_panel(identity.dialect, catalog=identity.catalog, seed=identity.seed, speed=0)
    create_app(panel, identity.dialect)  # installs the in-band triggers the old server replayed with
    return panel


@click.group()
def state() -> None:
    """Tools for the files of `mockpanel serve --state`."""


@state.command()
@click.argument("old", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(dir_okay=False, path_type=Path))
def convert(old: Path, new: Path) -> None:
    """Convert OLD, a state file of the old line-log format, into NEW (the SQLite format).

    OLD is only read. Start the server with the same --seed, --dialect and --catalog as before."""
    from ._persistence.errors import StateFileError
    from ._persistence.legacy import convert as run

    try:
        count, identity = run(old, new, replaying_panel)
    except StateFileError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"{new}: {count} changes converted (seed {identity.seed}, dialect {identity.dialect}, "
        f"catalog {identity.catalog}). Start with: mockpanel serve --state {new}"
    )
