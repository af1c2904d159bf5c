"""The command line: ``mockpanel serve``, ``mockpanel dialects``, ``mockpanel catalog``, ``mockpanel conformance``."""

from __future__ import annotations

import socket
import sys
from importlib.util import find_spec
from typing import Any

import click

from . import __version__
from .accounts_cli import DEFAULT_BALANCE, DEFAULT_KEY
from .catalog_cli import catalog as catalog_group
from .catalog_cli import resolve_catalog


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mockpanel")
def main() -> None:
    """mockpanel: a stateful mock SMM panel (API v2), its pytest plugin and conformance suite."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port to bind (0: any free port).")
@click.option("--dialect", default="standard", show_default=True, help="Dialect name or profile .json path.")
@click.option("--catalog", default=None, help="Catalogue name, .json path, or generate:N[:SEED] (N realistic services; default: the dialect's own).")
@click.option("--speed", default=1.0, show_default=True, type=float, help="Virtual seconds per real second (60: an hour a minute; 0: frozen).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed for ids, plans and outcomes.")
@click.option("--key", "keys", multiple=True, help=f"API key to create (repeatable). Default: {DEFAULT_KEY!r}.")
@click.option("--balance", default=DEFAULT_BALANCE, show_default=True, help="Opening balance of each --key.")
@click.option("--currency", default="USD", show_default=True, help="Currency of each --key.")
@click.option("--loop", default="auto", show_default=True, type=click.Choice(["auto", "asyncio", "uvloop"]), help="Event loop (uvloop is faster; asyncio has shorter tails under overload).")
@click.option("--log-level", default="warning", show_default=True, type=click.Choice(["critical", "error", "warning", "info", "debug"]))
@click.option("--state", "state_path", default=None, metavar="FILE", help="Keep the panel's state in FILE: load it at start, record every change (at most about a second behind; a kill -9 loses nothing answered).")
@click.option("--admin-token", default=None, envvar="MOCKPANEL_ADMIN_TOKEN", metavar="TOKEN", help="Let the control API (/_mock/) answer any client that sends this token (Authorization: Bearer TOKEN or X-Mock-Token), and only those. Without it, only loopback clients. Env: MOCKPANEL_ADMIN_TOKEN.")
def serve(
    host: str, port: int, dialect: str, catalog: str | None, speed: float, seed: int, keys: tuple[str, ...],
    balance: str, currency: str, loop: str, log_level: str, admin_token: str | None, state_path: str | None,
) -> None:
    """Run a mock panel on HOST:PORT until interrupted."""
    import uvicorn

    from .accounts_cli import open_accounts
    from .server.app import build_panel, create_app

    try:
        panel = build_panel(dialect, catalog=resolve_catalog(catalog), seed=seed, speed=speed, currency=currency)
        app = create_app(panel, dialect, admin_token=admin_token or None)
        state = _open_state(state_path, panel, seed, dialect, catalog) if state_path else None
        shown = open_accounts(panel, keys or (DEFAULT_KEY,), balance, currency)
        app.state.control.remember_opening()  # POST /_mock/reset brings these keys back
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    sock = _listen(host, port)  # bound before the banner, so --port 0 shows the port it got
    port = sock.getsockname()[1]
    d = app.state.dialect
    url = f"http://{host if ':' not in host else f'[{host}]'}:{port}{d.endpoints[0]}"
    click.echo(f"mockpanel {__version__}: dialect {d.name}, {len(panel.catalog)} services, clock speed {speed:g}x, seed {seed}")
    click.echo(f"API: {url}")
    control_url = url[: -len(d.endpoints[0])] + "/_mock/"
    click.echo(f"Control API: {control_url} ({'admin token required' if admin_token else 'loopback clients only'})")
    for line in shown:
        click.echo(f"  key {line}")
    if state is not None:
        click.echo(f"State: {state.path} ({state.replayed} changes replayed)")
    click.echo("Press Ctrl+C to stop.")
    sys.stdout.flush()
    config = uvicorn.Config(
        app, host=host, port=port, loop=loop, http="httptools", access_log=False,
        log_level=log_level, server_header=False, date_header=False,
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl+C after its graceful shutdown
        pass
    finally:
        if state is not None:
            state.close()


def _open_state(path: str, panel: Any, seed: int, dialect: str, catalog: str | None) -> Any:
    from .persistence import Identity, StateFile, StateFileError

    identity = Identity(seed=seed, dialect=dialect, catalog=catalog or panel_catalog_name(dialect))
    state = StateFile(path, identity)
    try:
        state.load(panel)
        state.attach(panel)
    except StateFileError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot use the state file {path}: {exc.strerror or exc}") from None
    return state


def panel_catalog_name(dialect: str) -> str:
    from .dialects import load_dialect

    return load_dialect(dialect).catalog


def _listen(host: str, port: int) -> socket.socket:
    # IPPROTO_TCP, so asyncio sets TCP_NODELAY (else ~40 ms per response: Nagle + delayed ACK).
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --port") from None
    return sock


@main.command()
def dialects() -> None:
    """List the built-in dialect profiles."""
    from .dialects import available_dialects

    entries = available_dialects()
    width = max(len(n) for n in entries)
    for name, description in entries.items():
        click.echo(f"{name.ljust(width)}  {description}")


def _conformance() -> click.Command:
    import functools

    from .conformance.cli import conformance

    run = conformance.callback
    assert run is not None

    @functools.wraps(run)
    def checked(**options: Any) -> Any:  # hypothesis is the conformance extra, not a base dependency
        if find_spec("hypothesis") is None:
            missing = click.ClickException("the conformance suite needs hypothesis: pip install 'mockpanel[conformance]'")
            missing.exit_code = 2  # the suite's "could not judge the panel", not 1 ("a requirement failed")
            raise missing
        return run(**options)

    conformance.callback = checked
    return conformance


main.add_command(_conformance())
main.add_command(catalog_group)


if __name__ == "__main__":  # pragma: no cover
    main()
