"""``mockpanel conformance URL --key KEY``: judge a panel, print progress and a summary, write reports."""

from __future__ import annotations

import os
import sys
import tempfile
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .terminal import NO_COLOR_HELP, wants_colour

if TYPE_CHECKING:
    from .report import Report


def amount_option(ctx: click.Context, param: click.Parameter, value: str | None) -> Decimal | None:
    """A ``--max-spend``-style option: a positive, finite amount in the panel's currency (None when not given)."""
    if value is None:
        return None
    try:
        amount = Decimal(value.strip())
    except InvalidOperation:
        raise click.BadParameter(f"{value!r} is not an amount; write it like 0.50") from None
    if not amount.is_finite() or amount <= 0:
        raise click.BadParameter("must be a positive amount, in the panel's currency")
    return amount


def _hypothesis_home() -> None:
    """Hypothesis keeps its files in a cache directory, never in the working directory.

    Not inside a pytest process (a test invoking the CLI): there the storage is pytest's business.
    """
    if os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY") or "_pytest" in sys.modules:
        return
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    for root in (Path(base) / "mockpanel" / "hypothesis", Path(tempfile.gettempdir()) / "mockpanel-hypothesis"):
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = str(root)
        try:
            from hypothesis import configuration

            configuration.set_hypothesis_home_dir(str(root))
        except (ImportError, AttributeError):
            pass
        return


@click.command("conformance")
@click.argument("url")
@click.option("--key", required=True, envvar="MOCKPANEL_KEY", show_envvar=True, help="The panel API key. Shown only redacted.")
@click.option("--second-key", envvar="MOCKPANEL_SECOND_KEY", show_envvar=True, default=None,
              help="A second key on the same panel, for the isolation checks.")
@click.option("--tier", type=click.Choice(["read-only", "orders"]), default="read-only", show_default=True,
              help="read-only spends nothing; orders places the cheapest orders to --link, capped by --max-spend.")
@click.option("--max-spend", callback=amount_option, default=None, metavar="AMOUNT",
              help="Hard cap for the orders tier, in the panel's currency: no add is sent that could pass it.")
@click.option("--link", default=None, help="Where the orders tier's orders go (a page you own).")
@click.option("--dialect", default="standard", show_default=True, help="Dialect profile to judge against (name or .json path), or 'auto': fingerprint the panel (read-only) and judge it against the closest profile, listing each deviation.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed for the generated requests.")
@click.option("--json", "json_path", default=None, metavar="FILE", help="Write the JSON report here.")
@click.option("--junit", "junit_path", default=None, metavar="FILE", help="Write a JUnit XML report here (one test case per requirement).")
@click.option("--html", "html_path", default=None, metavar="FILE", help="Write the HTML report here.")
@click.option("--trace", "trace_path", default=None, metavar="FILE", help="Write every request and response (keys redacted) as JSON.")
@click.option("--rate", type=float, default=None, metavar="PER_SECOND",
              help="Requests per second at most (default 2; no limit on a loopback address; 0: no limit).")
@click.option("--max-requests", type=click.IntRange(min=10), default=2000, show_default=True, help="Request budget of the run.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=20.0, show_default=True,
              help="Seconds for one whole answer, connect to last byte (a panel that trickles is cut).")
@click.option("--max-answer-bytes", type=click.IntRange(min=1024), default=10 * 1024 * 1024, show_default=True,
              help="Largest answer read; past it the answer is cut and reported (memory stays bounded).")
@click.option("--examples", type=click.IntRange(min=1), default=20, show_default=True, help="Examples per read-only property.")
@click.option("--programs", type=click.IntRange(min=1), default=None, help="Stateful programs in the orders tier (default 5 on a mock, 2 live).")
@click.option("--steps", type=click.IntRange(min=1), default=None, help="Steps per program (default 30 on a mock, 15 live).")
@click.option("--time-budget", type=click.FloatRange(min=0), default=600.0, show_default=True,
              help="Seconds to wait for placed orders to end when the panel's clock cannot be driven.")
@click.option("--no-control-api", is_flag=True, help="Do not use a mock's /_mock/ control API even if it answers.")
@click.option("-q", "--quiet", is_flag=True, help="Only the summary.")
@click.option("--no-color", "no_color", is_flag=True, help=NO_COLOR_HELP)
def conformance(
    url: str, key: str, second_key: str | None, tier: str, max_spend: Decimal | None, link: str | None, dialect: str,
    seed: int, json_path: str | None, junit_path: str | None, html_path: str | None, trace_path: str | None,
    rate: float | None, max_requests: int, timeout: float, max_answer_bytes: int, examples: int,
    programs: int | None, steps: int | None,
    time_budget: float, no_control_api: bool, quiet: bool, no_color: bool = False,
) -> None:
    """Check the panel API at URL (…/api/v2) requirement by requirement.

    Exit code 0: everything exercised passed; 1: a requirement failed; 2: could
    not run (unreachable, not a panel, a key refused, bad arguments).
    """
    _hypothesis_home()
    from .context import Progress, RunConfig
    from ._reports import to_json, to_junit, unwritable, write
    from ._report_html import to_html
    from .runner import run

    if not url.startswith(("http://", "https://")):
        raise click.UsageError(f"URL must start with http:// or https://, got {url!r}")
    if tier == "orders":
        missing = [name for name, value in (("--link", link), ("--max-spend", max_spend)) if value is None]
        if missing:
            raise click.UsageError(f"--tier orders needs {' and '.join(missing)}: where the orders go, and the most "
                                   "the run may spend")
    elif max_spend is not None or link is not None:
        given = " and ".join(n for n, v in (("--max-spend", max_spend), ("--link", link)) if v is not None)
        click.echo(f"warning: {given} given without --tier orders: they apply to the orders tier only; this "
                   "read-only run spends nothing and places no order", err=True)
    if second_key is not None and second_key == key:
        raise click.UsageError("--second-key must differ from --key")
    reports = [(flag, path) for flag, path in (("--json", json_path), ("--junit", junit_path), ("--html", html_path),
                                               ("--trace", trace_path)) if path]
    for flag, target in reports:  # before the first request: a report that cannot be written must not cost an order
        problem = unwritable(target)
        if problem:
            click.echo(f"cannot write {flag} {target}: {problem}; choose a writable path (no request was sent)",
                       err=True)
            sys.exit(2)
    config = RunConfig(
        url=url, key=key, second_key=second_key, tier=tier, dialect=dialect, max_spend=max_spend or Decimal(0),
        link=link, seed=seed, rate=rate, max_requests=max_requests, timeout=timeout, examples=examples,
        max_answer_bytes=max_answer_bytes,
        programs=programs, steps=steps, time_budget=time_budget, use_control_api=not no_control_api,
    )
    progress = Progress(sys.stdout, quiet=quiet, colour=wants_colour(sys.stdout, no_color))
    report = run(config, progress=progress)
    redact = report.redactor or (lambda text: text)
    if quiet:
        c = report.counts
        click.echo(f"{c['passed']} passed, {c['failed']} failed, {c['warning']} warnings, "
                   f"{c['not exercised']} not exercised; exit {report.exit_code}")
        if report.exit_code == 2:
            click.echo(f"could not judge: {redact(cause(report))}")
        elif report.overcharge:
            click.echo(f"overcharge: {redact(report.overcharge)}")
    code = report.exit_code
    for path, render in ((json_path, to_json), (junit_path, to_junit), (html_path, to_html),
                         (trace_path, lambda r: to_json(r, with_trace=True))):
        if path:
            try:
                write(report, path, render, redact)
            except Exception as exc:  # noqa: BLE001 - a report that cannot be written is said, not a traceback
                click.echo(f"cannot write {path}: {getattr(exc, 'strerror', None) or exc}; choose a writable path",
                           err=True)
                code = 2
                continue
            click.echo(f"wrote {path}")
    sys.exit(code)


def cause(report: Report) -> str:
    """Why a run could not judge (exit 2), in one line."""
    if report.error:
        return report.error
    internal = [n for n in report.notes if n.startswith("internal error")]
    if internal:
        return internal[0]
    stopped = [n for n in report.notes if n.startswith("the run stopped early")]
    if report.counts.get("passed", 0) == 0:
        return "no requirement was exercised and passed" + (f" ({stopped[0]})" if stopped else "")
    return stopped[0] if stopped else "see the report"
