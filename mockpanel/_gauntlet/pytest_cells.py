"""The gauntlet inside pytest: ``pytest --mockpanel-dialects=all|NAME,... --mockpanel-scenarios=all|NAME,...``
runs every test that uses the ``mockpanel`` fixture once per cell (ids like ``test_x[standard-lost-answer]``),
fails a test whose panel's journal shows a money-safety finding, and prints the matrix at the end;
``--mockpanel-report FILE`` (``.html`` or ``.json``) writes it. Registered by the plugin only when one of
these options is given: without them nothing changes.

Works under pytest-xdist: each cell's outcome travels with its test's report (``user_properties``), and
the matrix is drawn where the reports arrive.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Generator

import pytest

from .._powers.scenarios import choose
from .matrix import Cell, choose_dialects, dialect_names
from .report import table, to_html, to_json
from .verdicts import judge

CELL = "mockpanel_cell"  # the fixture the cells parametrize (the plugin defines it)
PROPERTY = "mockpanel_gauntlet"


class GauntletCells:
    """The pytest plugin object of one session's matrix."""

    def __init__(self, dialects: str | None, scenarios: str | None, report: str | None,
                 panels: pytest.StashKey[Any]) -> None:  # a test's MockPanels (the fixture sits above this layer)
        try:
            choose_dialects(dialects or "standard")  # every one loads, or a usage error now
            self.dialects = dialect_names(dialects or "standard")  # as given: a path stays a path
        except ValueError as exc:
            raise pytest.UsageError(f"--mockpanel-dialects: {exc}") from None
        try:
            self.scenarios = [s.name for s in choose(scenarios or "none")]
        except ValueError as exc:
            raise pytest.UsageError(f"--mockpanel-scenarios: {exc}") from None
        self.report = Path(report) if report else None
        if self.report is not None and self.report.suffix.lower() not in (".html", ".json"):
            raise pytest.UsageError(f"--mockpanel-report {report}: give a file ending in .html or .json")
        self.panels = panels
        self.outcomes: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "mockpanel" in metafunc.fixturenames:
            cells = [(d, s) for d in self.dialects for s in self.scenarios]
            metafunc.parametrize(CELL, cells, ids=[f"{d}-{s}" for d, s in cells], indirect=True)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
        report = yield
        cell = getattr(getattr(item, "callspec", None), "params", {}).get(CELL)
        if cell is None or report.when != "call":
            return report
        findings = [f for panel in item.stash.get(self.panels, []) for f in judge(panel.control)]
        if findings and report.passed:
            report.outcome = "failed"
            report.longrepr = "money-safety verdicts (docs/gauntlet.md):\n" + "\n".join(
                f"  {f.verdict}: {f.message}" for f in findings)
        reason = "" if report.passed else (report.longreprtext.strip().splitlines() or ["failed"])[-1][:300]
        if findings:
            reason = f"{findings[0].verdict}: {findings[0].message}"
        report.user_properties.append((PROPERTY, json.dumps({
            "dialect": cell[0], "scenario": cell[1], "test": item.nodeid, "passed": report.passed, "reason": reason,
            "findings": [f.to_json() for f in findings]})))
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties:
            if name == PROPERTY:
                outcome = json.loads(str(value))
                self.outcomes.setdefault((outcome["dialect"], outcome["scenario"]), []).append(outcome)

    def cells(self) -> list[Cell]:
        out = []
        for d in self.dialects:
            for s in self.scenarios:
                runs = self.outcomes.get((d, s), [])
                failed = [r for r in runs if not r["passed"]]
                cell = Cell(d, s, exit_code=1 if failed else 0)
                if failed:
                    cell.output = f"{failed[0]['test']}: {failed[0]['reason']}"
                    cell.error = f"{len(failed)} of {len(runs)} test(s) failed, first {failed[0]['test']}: " \
                                 f"{failed[0]['reason']}"
                elif not runs:
                    cell.error = "no test ran in this cell"
                out.append(cell)
        return out

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if hasattr(terminalreporter.config, "workerinput"):
            return  # an xdist worker: the matrix is drawn where the reports arrive
        cells = self.cells()
        terminalreporter.write_sep("=", "mockpanel gauntlet")
        terminalreporter.write_line(table(cells))
        if self.report is not None:
            command = ["pytest", *terminalreporter.config.invocation_params.args]
            text = to_html(cells, command) if self.report.suffix.lower() == ".html" else to_json(cells, command)
            self.report.write_text(text, encoding="utf-8")
            terminalreporter.write_line(f"gauntlet report: {self.report}")
