"""``mockpanel gauntlet [OPTIONS] -- COMMAND...``: does your client survive every panel family and
every failure, without losing money? (docs/gauntlet.md)"""

from __future__ import annotations

import re
import sys
import threading
from pathlib import Path

import click

from conformance.terminal import NO_COLOR_HELP, InputError, Meter, Terminal, Ticker, wants_colour

from .matrix import SPEED, Cell, choose_dialects, run_matrix
from .report import table, to_html, to_json, to_junit
from .._powers.scenarios import SCENARIOS, choose

EPILOG = ("The command finds its panel in MOCKPANEL_URL, MOCKPANEL_KEY, MOCKPANEL_CONTROL_URL, MOCKPANEL_DIALECT and "
          "MOCKPANEL_SCENARIO. Scenarios: " + ", ".join(SCENARIOS) + ". Exit 0 only if every cell passes: the "
          "command exited 0 and no money-safety verdict failed.")


def _writable(path: str | None, option: str, suffixes: tuple[str, ...]) -> Path | None:
    """Checked before any cell runs: a report nobody can write is said at once, not after the matrix."""
    if path is None:
        return None
    target = Path(path)
    if suffixes and target.suffix.lower() not in suffixes:
        raise click.BadParameter(f"{path}: give a file ending in {' or '.join(suffixes)}", param_hint=option)
    if not target.parent.is_dir():
        raise click.BadParameter(f"{path}: the folder {target.parent} does not exist", param_hint=option)
    return target


@click.command(context_settings={"ignore_unknown_options": True}, epilog=EPILOG)
@click.option("--dialects", "dialects_spec", default="standard", show_default=True, metavar="all|NAME,...", help="The dialects to run against.")
@click.option("--scenarios", "scenarios_spec", default="none", show_default=True, metavar="all|NAME,...", help="The scenarios to run in.")
@click.option("--report", "report_path", metavar="FILE", help="Also write the matrix as HTML (.html) or JSON (.json).")
@click.option("--junit", "junit_path", metavar="FILE", help="Also write JUnit XML, one test case per cell.")
@click.option("--timeout", type=click.FloatRange(min=1), default=120.0, show_default=True, help="Seconds one run of the command may take.")
@click.option("--jobs", type=click.IntRange(min=1, max=32), default=1, show_default=True, help="Cells run at once, each on its own panel.")
@click.option("--seed", type=int, default=0, show_default=True, help="The panels' seed (their plans, their dice).")
@click.option("--speed", type=click.FloatRange(min=0), default=SPEED, show_default=True, help="The panels' clock speed (600: ten minutes a second).")
@click.option("--no-color", "no_color", is_flag=True, help=NO_COLOR_HELP)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def gauntlet(dialects_spec: str, scenarios_spec: str, report_path: str | None, junit_path: str | None, timeout: float,
             jobs: int, seed: int, speed: float, command: tuple[str, ...], no_color: bool = False) -> None:
    """Run COMMAND (your tests, a script) once per dialect and scenario, each time against a fresh mock
    panel, and judge each run by its exit code and by what it did with the money."""
    try:
        dialects = choose_dialects(dialects_spec)
    except ValueError as exc:  # a name no dialect has, or a profile file it cannot read
        raise InputError(f"--dialects: {exc}") from None
    try:
        scenarios = choose(scenarios_spec)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--scenarios") from None
    report = _writable(report_path, "--report", (".html", ".json"))
    junit = _writable(junit_path, "--junit", ())
    total = len(dialects) * len(scenarios)
    click.echo(f"mockpanel gauntlet: {len(dialects)} dialect(s) x {len(scenarios)} scenario(s) = {total} run(s) of "
               f"{' '.join(command)}", err=True)

    err = Terminal(sys.stderr, colour=wants_colour(sys.stderr, no_color))
    meter = Meter("cells", total)
    failed = 0
    lock = threading.Lock()

    def progress(cell: Cell) -> None:
        nonlocal failed
        with lock:
            meter.done += 1
            failed += not cell.passed
        word = err.paint("pass", "pass") if cell.passed else err.paint("FAIL", "fail")
        err.line(f"  {cell.dialect} x {cell.scenario}: {word} ({cell.seconds:.1f} s)")

    def status() -> str:  # the live line on a terminal: counts, ETA
        return meter.text(f"{failed} failed" if failed else "")

    with Ticker(err, status):
        cells = run_matrix(dialects, scenarios, command, timeout=timeout, jobs=jobs, seed=seed, speed=speed,
                           progress=progress)
    out = Terminal(sys.stdout, colour=wants_colour(sys.stdout, no_color))
    click.echo(_painted(table(cells), out))
    try:
        if report is not None:
            text = to_html(cells, command) if report.suffix.lower() == ".html" else to_json(cells, command)
            report.write_text(text, encoding="utf-8")
            click.echo(f"report: {report}", err=True)
        if junit is not None:
            junit.write_text(to_junit(cells), encoding="utf-8")
            click.echo(f"JUnit: {junit}", err=True)
    except OSError as exc:
        raise click.ClickException(f"cannot write the report: {exc}") from None
    sys.exit(0 if all(c.passed for c in cells) else 1)


def _painted(text: str, terminal: Terminal) -> str:
    """The matrix's pass and FAIL words coloured (only the grid: the reasons below it stay as written)."""
    if not terminal.colour:
        return text
    grid, blank, rest = text.partition("\n\n")
    head, _, rows = grid.partition("\n")
    rows = re.sub(r"(?<!\S)(pass|FAIL)(?!\S)", lambda m: terminal.paint(m[1], "pass" if m[1] == "pass" else "fail"), rows)
    return head + "\n" + rows + blank + rest
