"""The command line: ``mockpanel serve``, ``mockpanel dialects``."""

from __future__ import annotations

import sys

import click

from . import __version__
from .accounts_cli import DEFAULT_BALANCE, DEFAULT_KEY


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mockpanel")
def main() -> None:
    """mockpanel: a stateful mock SMM panel (API v2), its pytest plugin and conformance suite."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port to bind (0: any free port).")
@click.option("--dialect", default="standard", show_default=True, help="Dialect name or profile .json path.")
@click.option("--catalog", default=None, help="Catalogue name or .json path (default: the dialect's own).")
@click.option("--speed", default=1.0, show_default=True, type=float, help="Virtual seconds per real second (60: an hour a minute; 0: frozen).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed for ids, plans and outcomes.")
@click.option("--key", "keys", multiple=True, help=f"API key to create (repeatable). Default: {DEFAULT_KEY!r}.")
@click.option("--balance", default=DEFAULT_BALANCE, show_default=True, help="Opening balance of each --key.")
@click.option("--currency", default="USD", show_default=True, help="Currency of each --key.")
@click.option("--loop", default="auto", show_default=True, type=click.Choice(["auto", "asyncio", "uvloop"]), help="Event loop (uvloop is faster; asyncio has shorter tails under overload).")
@click.option("--log-level", default="warning", show_default=True, type=click.Choice(["critical", "error", "warning", "info", "debug"]))
def serve(
    host: str, port: int, dialect: str, catalog: str | None, speed: float, seed: int, keys: tuple[str, ...],
    balance: str, currency: str, loop: str, log_level: str,
) -> None:
    """Run a mock panel on HOST:PORT until interrupted."""
    import uvicorn

    from .accounts_cli import open_accounts
    from .server.app import build_panel, create_app

    try:
        panel = build_panel(dialect, catalog=catalog, seed=seed, speed=speed, currency=currency)
        app = create_app(panel, dialect)
        shown = open_accounts(panel, keys or (DEFAULT_KEY,), balance, currency)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    d = app.state.dialect
    url = f"http://{host if ':' not in host else f'[{host}]'}:{port}{d.endpoints[0]}"
    click.echo(f"mockpanel {__version__}: dialect {d.name}, {len(panel.catalog)} services, clock speed {speed:g}x, seed {seed}")
    click.echo(f"API: {url}")
    for line in shown:
        click.echo(f"  key {line}")
    click.echo("Press Ctrl+C to stop.")
    sys.stdout.flush()
    uvicorn.run(
        app, host=host, port=port, loop=loop, http="httptools", access_log=False,
        log_level=log_level, server_header=False, date_header=False,
    )


@main.command()
def dialects() -> None:
    """List the built-in dialect profiles."""
    from .dialects import available_dialects

    entries = available_dialects()
    width = max(len(n) for n in entries)
    for name, description in entries.items():
        click.echo(f"{name.ljust(width)}  {description}")


if __name__ == "__main__":  # pragma: no cover
    main()
