"""``mockpanel catalog generate`` and what ``serve --catalog`` accepts (a name, a file, generate:N)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import click

from conformance.data import packaged
from conformance.terminal import NO_COLOR_HELP, InputError, Meter, Terminal, Ticker, wants_colour
from ._extras import MissingExtra

if TYPE_CHECKING:  # pragma: no cover
    from ._domain.catalog import Catalog


def builtin_catalogs() -> list[str]:
    """The names of the catalogues shipped in fixtures/catalogs (``default``, ...)."""
    return [path.stem for path in packaged("catalogs")]


def resolve_catalog(spec: str | None) -> str | Catalog | None:
    """``--catalog`` as given -> what build_panel takes; a clear error for a name or file that is not there."""
    from ._catalog_generate import parse_generate

    if spec is None:
        return None
    generate = parse_generate(spec)
    if generate is not None:
        from ._domain.catalog import Catalog

        return Catalog.from_json(_generate(*generate), where=f"--catalog {spec}")
    if spec in builtin_catalogs():
        return spec
    names = ", ".join(builtin_catalogs())
    if Path(spec).exists() and not Path(spec).is_file():  # a FIFO would be read for ever
        raise ValueError(f"--catalog {spec!r} is not a regular file: give the path of a .json catalogue")
    if not Path(spec).is_file():
        raise ValueError(
            f"--catalog {spec!r}: no such file and no built-in catalogue of that name; "
            f"built-in: {names}; or generate:N (N realistic services), or the path of a .json catalogue"
        )
    if Path(spec).suffix != ".json":
        raise ValueError(f"--catalog {spec!r}: a catalogue file is JSON and its name ends in .json")
    return spec


def _generate(services: int, seed: int, progress: Callable[[int], None] | None = None) -> dict[str, object]:
    from ._catalog_generate import generate_catalog

    try:
        return generate_catalog(services, seed=seed, progress=progress)
    except ModuleNotFoundError as exc:
        if exc.name != "faker":
            raise
        raise MissingExtra("catalogue generation", "catalog", "faker") from None


@click.group()
def catalog() -> None:
    """Catalogues: the services a mock panel sells."""


@catalog.command()
@click.option("--services", "count", required=True, type=int, metavar="N", help="How many services (1 to 100000).")
@click.option("--seed", default=0, show_default=True, type=int, help="The same seed gives the same catalogue.")
@click.option("-o", "--output", default=None, metavar="FILE", help="Write it here (default: standard output).")
@click.option("--no-color", "no_color", is_flag=True, help=NO_COLOR_HELP)
def generate(count: int, seed: int, output: str | None, no_color: bool = False) -> None:
    """A realistic catalogue of N services (for --catalog FILE): the platforms people buy for,
    every service type, providers' names, categories, rates, limits and flags."""
    if output is not None and not Path(output).resolve().parent.is_dir():  # said before a minute of work, not after
        raise InputError(f"cannot write {output}: the folder {Path(output).resolve().parent} does not exist")
    err = Terminal(sys.stderr, colour=wants_colour(sys.stderr, no_color))
    meter = Meter("generating services", count)

    def made(n: int) -> None:
        meter.done = n

    try:
        with Ticker(err, meter.text, every=0.25):  # on a terminal: the count and an ETA; elsewhere silent
            data = _generate(count, seed, made)
            meter.label = "writing services"  # json.dumps of 100,000 services takes a second
            text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if output is None:
        sys.stdout.write(text)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from None
    click.echo(f"wrote {output}: {count} services, seed {seed}", err=True)
