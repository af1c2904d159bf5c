"""``mockpanel record``, ``mockpanel proxy`` and what ``serve --from DIR`` reads (docs/record-and-proxy.md)."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import click

from conformance.cli import amount_option
from conformance.terminal import InputError
from ._extras import require


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


def _hide(text: str, *keys: str | None) -> str:
    """``text`` with each of ``keys`` redacted (a panel's answer or error may quote what it was sent)."""
    from conformance.redaction import Redactor

    redactor = Redactor()
    for key in keys:
        if key:
            redactor.add(key)
    return redactor(text)


def from_recording(folder: str) -> tuple[str, str]:
    """``serve --from DIR``: the recording's dialect and catalogue files, or a clear error."""
    root = Path(folder)
    dialect, catalog = root / "dialect.json", root / "catalog.json"
    missing = [p.name for p in (dialect, catalog) if not p.is_file()]
    if missing:
        raise InputError(f"--from {folder}: {' and '.join(missing)} not found there; "
                               "give a folder written by 'mockpanel record URL --key KEY --out DIR'")
    return str(dialect), str(catalog)


def serves(dialect: Path, catalog: Path) -> None:
    """Load a recording as ``serve --from`` does (a ValueError saying why it would refuse it)."""
    from ._server.app import build_panel, create_app

    create_app(build_panel(str(dialect), catalog=str(catalog), speed=0), str(dialect))


@click.command()
@click.argument("url", required=False)
@click.option("--key", required=True, envvar="MOCKPANEL_KEY", show_envvar=True, help="The panel API key. Never written.")
@click.option("--out", "out", default=None, metavar="DIR", help="Write DIR/catalog.json, DIR/dialect.json and DIR/report.txt.")
@click.option("--tier", type=click.Choice(["read-only", "orders"]), default="read-only", show_default=True,
              help="read-only spends nothing; orders also places the cheapest orders to --link, capped by --max-spend, "
                   "to learn what orders show.")
@click.option("--max-spend", callback=amount_option, default=None, metavar="AMOUNT",
              help="Hard cap for --tier orders, in the panel's currency: no add is sent that could pass it.")
@click.option("--link", default=None, help="Where --tier orders' orders go (a page you own).")
@click.option("--watch", type=click.FloatRange(min=0, max=3600), default=0.0, show_default=True, metavar="SECONDS",
              help="With --tier orders: read the placed orders' statuses again over SECONDS, for their lifecycle's words.")
@click.option("--compare", nargs=2, default=None, metavar="ORIGINAL_URL COPY_URL",
              help="Instead of recording: replay one client session against both panels and print how many answers "
                   "agree, and each difference (exit 1 if any differs).")
@click.option("--copy-key", default=None, help="With --compare: the copy's key (default: --key).")
@click.option("--rate", type=click.FloatRange(min=0), default=None, metavar="PER_SECOND",
              help="Requests per second (default 2; no limit on a loopback address).")
@click.option("--max-requests", type=click.IntRange(min=10), default=200, show_default=True, help="Request budget.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=20.0, show_default=True, help="Seconds per answer.")
@click.option("--max-answer-bytes", type=click.IntRange(min=1024), default=10 * 1024 * 1024, show_default=True,
              help="Bytes of an answer read whole; a longer services list is read again one service at a time.")
def record(url: str | None, key: str, out: str | None, tier: str, max_spend: Decimal | None, link: str | None,
           compare: tuple[str, str] | None, copy_key: str | None, rate: float | None, max_requests: int,
           timeout: float, max_answer_bytes: int, watch: float = 0.0) -> None:
    """Record a live panel, read-only (no add, refill or cancel): its catalogue, and its dialect
    as a profile that extends the closest built-in one. `mockpanel serve --from DIR` serves it.
    With --tier orders, also the cheapest orders, within --max-spend, and what they show.
    With --compare ORIGINAL_URL COPY_URL, how closely a copy answers a client session as the original does."""
    require("hypothesis", "mockpanel record", "conformance")  # it reads answers with the suite's judge
    from conformance.runner import is_loopback

    if tier == "orders" and (max_spend is None or link is None):
        missing = " and ".join(n for n, v in (("--link", link), ("--max-spend", max_spend)) if v is None)
        raise click.UsageError(f"--tier orders needs {missing}: where the orders go, and the most it may spend")
    if compare is not None:
        if url is not None or out is not None:
            raise click.UsageError("--compare ORIGINAL_URL COPY_URL takes no URL argument and no --out")
        pace = rate if rate is not None else (0.0 if all(is_loopback(u) for u in compare) else 2.0)
        _compare(compare, key, copy_key, tier, max_spend, link, pace, timeout, max_requests)
        return
    if url is None or out is None:
        raise click.UsageError("give the panel's URL and --out DIR (or --compare ORIGINAL_URL COPY_URL)")
    from conformance.record import RecordError, write
    from conformance.record import record as run

    pace = rate if rate is not None else (0.0 if is_loopback(url) else 2.0)
    try:
        recording = run(url, key, rate=pace, max_requests=max_requests, timeout=timeout,
                        max_answer_bytes=max_answer_bytes, tier=tier, max_spend=max_spend or Decimal(0),
                        link=link or "", watch=watch)
        catalog, dialect = write(recording, out, check=serves)
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
    for line in recording.learned:
        click.echo(f"  {line}")
    writes = (f"{recording.adds} adds, spending at most {recording.committed} (--max-spend {max_spend})"
              if tier == "orders" else "none of them add, refill or cancel")
    click.echo(f"wrote {catalog} ({len(recording.catalog['services'])} services) and {dialect} "
               f"(extends {recording.profile['extends']}); {recording.requests} requests, {writes}")
    click.echo(f"serve it: mockpanel serve --from {out}")


def _compare(urls: tuple[str, str], key: str, copy_key: str | None, tier: str, max_spend: Decimal | None,
             link: str | None, rate: float, timeout: float, max_requests: int) -> None:
    from conformance.fingerprint import fingerprint
    from conformance.profile import load_dialect
    from conformance.record import run_fidelity

    for url in urls:
        problem = upstream_error(url)
        if problem is not None:
            raise click.UsageError(problem)
    try:
        dialect = load_dialect(fingerprint(urls[0], key).best) if tier == "orders" else load_dialect("standard")
        result = run_fidelity(urls[0], urls[1], key, copy_key=copy_key, tier=tier, max_spend=max_spend or Decimal(0),
                              link=link or "", dialect=dialect, rate=rate, timeout=timeout, max_requests=max_requests)
    except Exception as exc:  # whatever the panels answered: a line, never a traceback (nor the key)
        raise click.ClickException(f"the comparison stopped: {type(exc).__name__}: {_hide(str(exc), key, copy_key)[:300]}") \
            from None
    for line in result.lines():
        click.echo(_hide(line, key, copy_key))
    agree, total = result.figure()
    if agree < total:
        sys.exit(1)


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
        raise InputError(f"mockpanel proxy: {problem}")

    if dialect != "auto":
        try:
            load_dialect(dialect)
        except DialectError as exc:
            raise InputError(str(exc)) from None
    for path in (report_path, har_path):
        if path is not None and not Path(path).resolve().parent.is_dir():
            raise click.UsageError(f"cannot write {path}: its folder does not exist")
    try:
        sock = listen(host, port)
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --port") from None
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
