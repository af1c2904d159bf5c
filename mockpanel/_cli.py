"""The command line: ``mockpanel serve``, ``mockpanel dialects``, ``mockpanel openapi``, ``mockpanel catalog``, ``mockpanel conformance``,
``mockpanel record``, ``mockpanel proxy``."""

from __future__ import annotations

import errno
import io
import os
import re
import signal
import socket
import sys
from typing import Any

import click

from conformance.terminal import InputError, Terminal, wants_colour

from ._version import __version__
from ._accounts_cli import DEFAULT_BALANCE, DEFAULT_KEY
from ._catalog_cli import catalog as catalog_group
from ._catalog_cli import resolve_catalog
from ._extras import require
from ._recproxy_cli import from_recording, proxy, record

READ_TIMEOUT = 15.0  # _server/protocol.py's default; not imported here, so --help stays quick


class _Commands(click.Group):
    """The command group, its errors shown as click shows them but with ``Error:`` coloured on a terminal
    (not with NO_COLOR, nor when ``--no-color`` is among the arguments)."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        given = list(args) if args is not None else sys.argv[1:]
        try:
            result = super().main(given, prog_name, complete_var, False, **extra)
        except click.ClickException as exc:
            _show(exc, no_color="--no-color" in given)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(result if type(result) is int else 0)  # as click's standalone mode: an Exit's code, else 0


def _show(exc: click.ClickException, no_color: bool) -> None:
    shown = io.StringIO()
    exc.show(file=shown)
    text = shown.getvalue()
    terminal = Terminal(sys.stderr, colour=wants_colour(sys.stderr, no_color))
    if terminal.colour:
        text = re.sub(r"^Error:", terminal.paint("Error:", "error"), text, count=1, flags=re.MULTILINE)
    sys.stderr.write(text)
    sys.stderr.flush()


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mockpanel")
def main() -> None:
    """mockpanel: a stateful mock SMM panel (API v2), its pytest plugin and conformance suite."""


@main.command()
@click.option("--host", envvar="MOCKPANEL_HOST", show_envvar=True, default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", envvar="MOCKPANEL_PORT", show_envvar=True, default=8080, show_default=True, type=click.IntRange(0, 65535), help="Port to bind (0: any free port).")
@click.option("--dialect", envvar="MOCKPANEL_DIALECT", show_envvar=True, default="standard", show_default=True, help="Dialect name or profile .json path.")
@click.option("--catalog", envvar="MOCKPANEL_CATALOG", show_envvar=True, default=None, help="Catalogue name, .json path, or generate:N[:SEED] (N realistic services; default: the dialect's own).")
@click.option("--speed", envvar="MOCKPANEL_SPEED", show_envvar=True, default=1.0, show_default=True, type=click.FloatRange(0, 1e9), help="Virtual seconds per real second (60: an hour a minute; 0: frozen).")
@click.option("--seed", envvar="MOCKPANEL_SEED", show_envvar=True, default=0, show_default=True, type=int, help="Seed for ids, plans and outcomes.")
@click.option("--key", "keys", multiple=True, help=f"API key to create (repeatable). Default: MOCKPANEL_KEYS (comma-separated), else {DEFAULT_KEY!r}.")
@click.option("--balance", envvar="MOCKPANEL_BALANCE", show_envvar=True, default=DEFAULT_BALANCE, show_default=True, help="Opening balance of each --key.")
@click.option("--currency", envvar="MOCKPANEL_CURRENCY", show_envvar=True, default="USD", show_default=True, callback=lambda ctx, param, value: currency_code(value), help="Currency of each --key: an ISO 4217 code, three letters (usd is read as USD).")
@click.option("--loop", envvar="MOCKPANEL_LOOP", show_envvar=True, default="auto", show_default=True, type=click.Choice(["auto", "asyncio", "uvloop"]), help="Event loop (uvloop is faster; asyncio has shorter tails under overload).")
@click.option("--log-level", envvar="MOCKPANEL_LOG_LEVEL", show_envvar=True, default="warning", show_default=True, type=click.Choice(["critical", "error", "warning", "info", "debug"]))
@click.option("--state", "state_path", envvar="MOCKPANEL_STATE", show_envvar=True, default=None, metavar="FILE", help="Keep the panel's state in FILE (SQLite): load it at start, commit every change before answering (a kill -9 loses nothing answered). One server per file.")
@click.option("--read-timeout", envvar="MOCKPANEL_READ_TIMEOUT", show_envvar=True, default=READ_TIMEOUT, show_default=True, type=click.FloatRange(0.1, 3600), help="Seconds a client has to send a whole request, from its first byte (slower ones get a 408).")
@click.option("--access-log", envvar="MOCKPANEL_ACCESS_LOG", show_envvar=True, is_flag=True, help="Log each API request (action, key redacted, status, time), faults fired and state replayed to stderr (logger 'mockpanel'; with --log-level debug, the fields too).")
@click.option("--journal-bytes", envvar="MOCKPANEL_JOURNAL_BYTES", show_envvar=True, default=None, type=click.IntRange(min=1024), metavar="BYTES", help="Bound the request journal to about BYTES (default 32 MiB; the oldest entries go first).")
@click.option("--from", "from_dir", envvar="MOCKPANEL_FROM", show_envvar=True, default=None, metavar="DIR", help="Serve a recording made by 'mockpanel record': DIR/dialect.json and DIR/catalog.json (instead of --dialect and --catalog).")
@click.option("--admin-token", envvar="MOCKPANEL_ADMIN_TOKEN", show_envvar=True, default=None, metavar="TOKEN", help="Let the control API (/_mock/) answer any client that sends this token (Authorization: Bearer TOKEN or X-Mock-Token), and only those. Without it, only loopback clients.")
@click.option("--allow-host", "allow_hosts", envvar="MOCKPANEL_ALLOW_HOSTS", show_envvar=True, multiple=True, metavar="NAME", help="Also answer requests whose Host header names NAME (repeatable; '*': any name; the environment variable: space-separated). By default only localhost, loopback addresses and the address bound are answered: a web page reaching this server through a name of its own (DNS rebinding) is refused.")
@click.option("--book-bytes", envvar="MOCKPANEL_BOOK_BYTES", show_envvar=True, default=None, type=click.IntRange(min=1 << 20), metavar="BYTES", help="Bound the order book to about BYTES of orders (default 512 MiB); past it an add is answered 507 and changes nothing.")
@click.option("--cors", "cors", envvar="MOCKPANEL_CORS", show_envvar=True, multiple=True, metavar="ORIGIN", help="Let web pages of ORIGIN (scheme://host[:port]; repeatable; '*': any) call the API from a browser: CORS headers and preflights on the API only, never on the control API (/_mock/). Origins not listed get no CORS headers. The environment variable: space-separated.")
@click.option("--log-format", envvar="MOCKPANEL_LOG_FORMAT", show_envvar=True, default="text", show_default=True, type=click.Choice(["text", "json"]), help="How the 'mockpanel' logger's lines are written to stderr: text, or one JSON object a line (time, level, logger, message; keys redacted).")
@click.option("--allow-unsafe-fault-content", "unsafe_faults", envvar="MOCKPANEL_ALLOW_UNSAFE_FAULT_CONTENT", show_envvar=True, is_flag=True, help="Let a fault's content_type be any type (SVG, XML, JavaScript ...). By default it is application/json, text/plain or text/html, and every answer that is not JSON is sandboxed: a page the mock sends runs no script as its origin.")
def serve(
    host: str, port: int, dialect: str, catalog: str | None, speed: float, seed: int, keys: tuple[str, ...],
    balance: str, currency: str, loop: str, log_level: str, admin_token: str | None, state_path: str | None,
    read_timeout: float = READ_TIMEOUT,
    access_log: bool = False, journal_bytes: int | None = None, from_dir: str | None = None,
    allow_hosts: tuple[str, ...] = (), unsafe_faults: bool = False, book_bytes: int | None = None,
    cors: tuple[str, ...] = (), log_format: str = "text",
) -> None:
    """Run a mock panel on HOST:PORT until interrupted."""
    import uvicorn

    from ._accounts_cli import open_accounts
    from ._persistence.errors import StateUnavailable
    from ._control_api.access import is_loopback
    from ._server.app import build_panel, create_app
    from ._server.collector import freeze_startup
    from ._server.serving import server, server_options

    if from_dir is not None:
        _alone_with_from(click.get_current_context())
        dialect, catalog = from_recording(from_dir)
    keys = keys or env_keys()
    try:
        panel = build_panel(dialect, catalog=resolve_catalog(catalog), seed=seed, speed=speed, currency=currency)
        if book_bytes is not None:
            panel.max_book_bytes = book_bytes  # before a state file's orders are replayed
        app = create_app(panel, dialect, admin_token=admin_token or None, cors=cors)
        state = _open_state(state_path, panel, seed, dialect, catalog) if state_path else None
        shown = open_accounts(panel, keys or (DEFAULT_KEY,), balance, currency, app.state.dialect.balance_decimals)
        app.state.control.remember_opening()  # POST /_mock/reset brings these keys back
        app.state.control.faults.unsafe_content = unsafe_faults
        _logs(log_level, access_log, app, journal_bytes, state, log_format)
    except ValueError as exc:  # a file's content or a value the panel refuses: one line, no usage banner
        raise InputError(str(exc)) from None
    except StateUnavailable as exc:  # the --key accounts could not be recorded
        raise click.ClickException(str(exc)) from None
    sock = _listen(host, port)  # bound before the banner, so --port 0 shows the port it got
    if not admin_token and not is_loopback(host):
        click.echo(
            f"Warning: {host} is reachable from other machines and no admin token is set: the API answers "
            "anyone who can reach it and the control API answers only this machine. Set MOCKPANEL_ADMIN_TOKEN "
            "(or --admin-token) to reach the control API from elsewhere, or bind 127.0.0.1. Clients that reach it "
            "by a name (a container's service name, a LAN host name) need --allow-host NAME.",
            err=True,
        )
    port = sock.getsockname()[1]
    d = app.state.dialect
    url = f"http://{host if ':' not in host else f'[{host}]'}:{port}{d.endpoints[0]}"
    click.echo(f"mockpanel {__version__}: dialect {d.name}, {len(panel.catalog)} services, clock speed {speed:g}x, seed {seed}")
    click.echo(f"API: {url}")
    control_url = url[: -len(d.endpoints[0])] + "/_mock/"
    click.echo(f"Control API: {control_url} ({'admin token required' if admin_token else 'loopback clients only'})")
    click.echo(f"Dashboard: {control_url}ui")
    for line in shown:
        click.echo(f"  key {line}")
    if state is not None:
        click.echo(f"State: {state.path} ({state.replayed} changes replayed)")
    click.echo("Press Ctrl+C to stop.")
    sys.stdout.flush()
    config = uvicorn.Config(app, **server_options(
        host=host, port=port, loop=loop, log_level=log_level, read_timeout=read_timeout, allow_hosts=allow_hosts,
    ))
    if state is not None:  # uvicorn re-raises SIGTERM after its shutdown: end through `finally`, closing the file
        signal.signal(signal.SIGTERM, _interrupt)
    freeze_startup()  # what start-up built lives as long as the server: out of the collector's scans
    try:
        server(config).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl+C after its graceful shutdown
        pass
    finally:
        if state is not None:
            state.close()


def currency_code(value: str) -> str:
    """``--currency``: three letters, as ISO 4217 codes are (``usd`` read as ``USD``); else a usage error."""
    code = value.strip().upper()
    if len(code) != 3 or not (code.isascii() and code.isalpha()):
        raise click.BadParameter(f"{value[:40]!r} is not a currency code; give three letters as ISO 4217 writes "
                                 "them, e.g. USD, EUR, RUB")
    return code


def _alone_with_from(ctx: click.Context) -> None:
    """``--from DIR`` brings its own dialect and catalogue: --dialect or --catalog beside it is a mistake."""
    given = [f"--{name}" for name in ("dialect", "catalog")
             if ctx.get_parameter_source(name) not in (None, click.core.ParameterSource.DEFAULT)]
    if given:
        raise click.UsageError(f"--from DIR serves the recording's own dialect.json and catalog.json: drop "
                               f"{' and '.join(given)} (or drop --from)")


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _logs(level: str, access_log: bool, app: Any, journal_bytes: int | None, state: Any, fmt: str = "text") -> None:
    from ._powers import logs

    logs.configure(level, access_log, fmt)
    if journal_bytes is not None:
        app.state.control.journal.set_limits(max_bytes=journal_bytes)
    if state is not None:
        logs.replayed(str(state.path), state.replayed)


def _open_state(path: str, panel: Any, seed: int, dialect: str, catalog: str | None) -> Any:
    from ._persistence import Identity, StateFile, StateFileError, StateUnavailable

    identity = Identity(seed=seed, dialect=dialect, catalog=catalog or panel_catalog_name(dialect))
    state = StateFile(path, identity)
    try:
        state.load(panel)
        state.attach(panel)
    except (StateFileError, StateUnavailable) as exc:
        state.close()
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        state.close()
        raise click.ClickException(f"cannot use the state file {path}: {exc.strerror or exc}") from None
    return state


def panel_catalog_name(dialect: str) -> str:
    from ._dialects import load_dialect

    return load_dialect(dialect).catalog


def env_keys() -> tuple[str, ...]:
    """The keys in MOCKPANEL_KEYS (comma-separated): out of the process list, unlike --key."""
    return tuple(k.strip() for k in os.environ.get("MOCKPANEL_KEYS", "").split(",") if k.strip())


def _listen(host: str, port: int) -> socket.socket:
    # IPPROTO_TCP, so asyncio sets TCP_NODELAY (else ~40 ms per response: Nagle + delayed ACK).
    sock = None
    try:
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except (OSError, ValueError, UnicodeError, OverflowError) as exc:
        if sock is not None:
            sock.close()
        reason = getattr(exc, "strerror", None) or str(exc)
        hint = "choose another --port" if getattr(exc, "errno", None) == errno.EADDRINUSE else (
            "give an address of this machine, e.g. 127.0.0.1, 0.0.0.0 or ::1"
        )
        raise click.ClickException(f"cannot listen on {host}:{port}: {reason}; {hint}") from None
    return sock


@main.command()
def dialects() -> None:
    """List the built-in dialect profiles."""
    from ._dialects import available_dialects

    entries = available_dialects()
    width = max(len(n) for n in entries)
    for name, description in entries.items():
        click.echo(f"{name.ljust(width)}  {description}")


@main.command()
@click.option("--dialect", envvar="MOCKPANEL_DIALECT", show_envvar=True, default="standard", show_default=True, help="Dialect name or profile .json path.")
def openapi(dialect: str) -> None:
    """Print the panel API (API v2) as DIALECT speaks it, as an OpenAPI 3.1 document (JSON)."""
    import json

    from ._dialects.profile import DialectError, load_dialect
    from ._endpoint.openapi import panel_openapi

    try:
        document = panel_openapi(load_dialect(dialect))
    except DialectError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(document, indent=2))


def _gauntlet_command() -> click.Command:
    from ._gauntlet.cli import gauntlet

    return gauntlet


def _state_command() -> click.Command:
    from ._state_cli import state

    return state


def _conformance() -> click.Command:
    import functools

    from conformance.cli import conformance

    run = conformance.callback
    assert run is not None

    @functools.wraps(run)
    def checked(**options: Any) -> Any:  # hypothesis is the conformance extra, not a base dependency
        require("hypothesis", "mockpanel conformance", "conformance")
        return run(**options)

    conformance.callback = checked
    return conformance


main.add_command(_conformance())
main.add_command(_state_command())
main.add_command(_gauntlet_command())
main.add_command(catalog_group)
main.add_command(record)
main.add_command(proxy)


if __name__ == "__main__":  # pragma: no cover
    main()
