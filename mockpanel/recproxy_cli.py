"""``mockpanel record``, ``mockpanel proxy`` and what ``serve --from DIR`` reads (docs/record-and-proxy.md)."""

from __future__ import annotations

from pathlib import Path

import click


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
    from .conformance.record import RecordError, record as run, write
    from .conformance.runner import is_loopback
    from .dialects import load_dialect

    pace = rate if rate is not None else (0.0 if is_loopback(url) else 2.0)
    try:
        recording = run(url, key, rate=pace, max_requests=max_requests, timeout=timeout)
        catalog, dialect = write(recording, out)
        load_dialect(str(dialect))  # the mock can speak it
    except RecordError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc.strerror or exc}") from None
    click.echo(recording.fingerprint.summary())
    click.echo(f"wrote {catalog} ({len(recording.catalog['services'])} services) and {dialect} "
               f"(extends {recording.profile['extends']}); {recording.requests} requests, none of them add, "
               "refill or cancel")
    click.echo(f"serve it: mockpanel serve --from {out}")
