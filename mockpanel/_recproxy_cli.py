"""``mockpanel record``, ``mockpanel proxy`` and what ``serve --from DIR`` reads (docs/record-and-proxy.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlsplit

import click

from ._extras import require


class _CannotStart(click.ClickException):
    exit_code = 2  # the proxy did not start (1: it ran and saw a deviation); one line, no usage banner


def upstream_error(url: str) -> str | None:
    """Why ``url`` cannot be the panel ``mockpanel proxy`` forwards to, or None when it can."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # read for its check: a ValueError for a port that is not a number, or out of range
    except ValueError as exc:
        return f"the panel URL {url[:200]!r} is not a URL ({exc})"
    if parts.scheme not in ("http", "https"):
        shown = f"its scheme is {parts.scheme!r}" if parts.scheme else "it has no scheme"
        return f"the panel URL {url[:200]!r} is not an http(s) URL ({shown}); give the panel's API URL, e.g. https://panel.example/api/v2"
    if not parts.hostname:
        return f"the panel URL {url[:200]!r} names no host; give the panel's API URL, e.g. https://panel.example/api/v2"
    return None


def _hide(text: str, key: str) -> str:
    from conformance.redaction import Redactor

    redactor = Redactor()
    redactor.add(key)
    return redactor(text)


def from_recording(folder: str) -> tuple[str, str]:
    """``serve --from DIR``: the recording's dialect and catalogue files, or a clear error."""
    root = Path(folder)
    dialect, catalog = root / "dialect.json", root / "catalog.json"
    missing = [p.name for p in (dialect, catalog) if not p.is_file()]
    if missing:
        raise click.UsageError(f"--from {folder}: {' and '.join(missing)} not found there; "
                               "give a folder written by 'mockpanel record URL --key KEY --out DIR'")
    return str(dialect), str(catalog)


@click.command()
@click.argument("url")
@click.option("--key", required=True, envvar="MOCKPANEL_KEY", help="The panel API key (env: MOCKPANEL_KEY). Never written.")
@click.option("--out", "out", required=True, metavar="DIR", help="Write DIR/catalog.json and DIR/dialect.json.")
@click.option("--rate", type=click.FloatRange(min=0), default=None, metavar="PER_SECOND",
              help="Requests per second (default 2; no limit on a loopback address).")
@click.option("--max-requests", type=click.IntRange(min=10), default=100, show_default=True, help="Request budget.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=20.0, show_default=True, help="Seconds per answer.")
def record(url: str, key: str, out: str, rate: float | None, max_requests: int, timeout: float) -> None:
    """Record a live panel, read-only (no add, refill or cancel): its catalogue, and its dialect
    as a profile that extends the closest built-in one. `mockpanel serve --from DIR` serves it."""
    require("hypothesis", "mockpanel record", "conformance")  # it reads answers with the suite's judge
    from conformance.record import RecordError, write
    from conformance.record import record as run
    from conformance.runner import is_loopback
    from ._dialects import load_dialect

    pace = rate if rate is not None else (0.0 if is_loopback(url) else 2.0)
    try:
        recording = run(url, key, rate=pace, max_requests=max_requests, timeout=timeout)
        catalog, dialect = write(recording, out)
        load_dialect(str(dialect))  # the mock can speak it
    except RecordError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc.strerror or exc}") from None
    except Exception as exc:  # whatever the panel answered: a line, never a traceback (nor the key)
        raise click.ClickException(
            f"recording {url} stopped: {type(exc).__name__}: {_hide(str(exc), key)[:300]}; the panel's answers were "
            "not what a panel sends (run 'mockpanel conformance' against it to see which)"
        ) from None
    click.echo(recording.fingerprint.summary())
    click.echo(f"wrote {catalog} ({len(recording.catalog['services'])} services) and {dialect} "
               f"(extends {recording.profile['extends']}); {recording.requests} requests, none of them add, "
               "refill or cancel")
    click.echo(f"serve it: mockpanel serve --from {out}")


@click.command()
@click.argument("url")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8081, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on (0: any free port).")
@click.option("--dialect", default="standard", show_default=True,
              help="Judge the answers against this profile (name or .json path), or 'auto': name it from the client's own traffic.")
@click.option("--report", "report_path", default=None, metavar="FILE", help="At exit, write the deviations here (.html or .json).")
@click.option("--har", "har_path", default=None, metavar="FILE", help="At exit, write the journal here as HAR 1.2 (keys redacted).")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=60.0, show_default=True, help="Seconds the panel has to answer.")
@click.option("--journal-limit", type=click.IntRange(min=1), default=10_000, show_default=True,
              help="Exchanges kept (the oldest go first).")
def proxy(url: str, host: str, port: int, dialect: str, report_path: str | None, har_path: str | None,
          timeout: float, journal_limit: int) -> None:
    """A spy between a client and the panel at URL: forwards each request unchanged, returns each
    answer unchanged, sends nothing of its own, and judges every answer (the report at exit).
    Exits 1 if it saw a deviation, 0 if not (2: it could not start)."""
    from conformance.profile import DialectError, load_dialect
    from ._proxy.run import listen, serve_proxy

    problem = upstream_error(url)
    if problem is not None:
        raise _CannotStart(f"mockpanel proxy: {problem}")

    if dialect != "auto":
        try:
            load_dialect(dialect)
        except DialectError as exc:
            raise click.UsageError(str(exc)) from None
    for path in (report_path, har_path):
        if path is not None and not Path(path).resolve().parent.is_dir():
            raise click.UsageError(f"cannot write {path}: its folder does not exist")
    try:
        sock = listen(host, port)
    except OSError as exc:
        raise _CannotStart(f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --port") from None
    shown = f"[{host}]" if ":" in host else host
    path = url.split("://", 1)[-1].partition("/")[2]

    def ready() -> None:
        click.echo(f"mockpanel proxy: http://{shown}:{sock.getsockname()[1]}/{path} -> {url}")
        click.echo(f"judging as {dialect}; Ctrl+C stops it and writes the report")
        click.echo(f"report: {_where(report_path, '--report FILE.html or FILE.json')}; HAR: {_where(har_path, '--har FILE')}")
        sys.stdout.flush()  # the URL line, at once, for whoever waits for it on a pipe

    try:
        result = serve_proxy(url, sock, dialect=dialect, report=report_path, har=har_path, timeout=timeout,
                             journal_limit=journal_limit, on_ready=ready)
        deviations = result.deviations()
    except OSError as exc:
        raise click.ClickException(f"mockpanel proxy: cannot write the report: {exc.strerror or exc}") from None
    except Exception as exc:  # whatever the panel answered: a line, never a traceback
        raise click.ClickException(f"mockpanel proxy: the report could not be made ({type(exc).__name__}: "
                                   f"{str(exc)[:300]})") from None
    click.echo(f"{len(result.entries)} exchanges, {len(deviations)} deviation(s) (judged as {result.dialect.name})")
    for d in deviations[:20]:
        click.echo(f"  #{d['exchange']} {d['requirement']}: {d['message'][:160]}")
    for what, written in (("report", report_path), ("HAR", har_path)):
        if written is not None:
            click.echo(f"{what} written to {Path(written).resolve()}")
    if deviations:  # so that a CI step running a client through the proxy fails on a deviation
        sys.exit(1)


def _where(path: str | None, option: str) -> str:
    return f"{Path(path).resolve()} (written at exit)" if path is not None else f"none ({option} keeps one)"
