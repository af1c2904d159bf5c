"""The gauntlet's matrix: the user's command run once per cell (a dialect and a scenario), each time
against a fresh mock panel of its own, then judged by its exit code and the money-safety verdicts.

The command finds its panel in the environment: ``MOCKPANEL_URL`` (the API URL), ``MOCKPANEL_KEY``,
``MOCKPANEL_CONTROL_URL``, ``MOCKPANEL_DIALECT``, ``MOCKPANEL_SCENARIO``. Cells run ``jobs`` at a time,
each on its own server; the result does not depend on ``jobs``.
"""

from __future__ import annotations

import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Sequence

from .._dialects.profile import Dialect, available_dialects, load_dialect
from .._powers.control import Control
from .._powers.scenarios import Scenario, prepare
from .._server.app import build_panel, create_app
from .._server.thread import ServerThread
from .verdicts import Finding, judge

KEY = "gauntlet-key-0123456789"
BALANCE = "1000"
SPEED = 600.0  # the panel's clock: ten minutes a second, so orders end while a client waits
OUTPUT_TAIL = 4000  # characters of the command's output kept per cell


@dataclass
class Cell:
    dialect: str
    scenario: str
    exit_code: int | None = None  # None: it ran past the timeout (killed) or could not start
    seconds: float = 0.0
    output: str = ""  # the tail of stdout and stderr
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None  # why the command could not run, or ran out of time

    @property
    def passed(self) -> bool:
        return self.exit_code == 0 and not self.findings and self.error is None

    @property
    def reason(self) -> str:
        """The first reason the cell failed ("" when it passed)."""
        if self.error:
            return self.error
        if self.exit_code not in (0, None):
            last = next((line.strip() for line in reversed(self.output.splitlines()) if line.strip()), "")
            return f"the command exited {self.exit_code}" + (f": {last[:200]}" if last else "")
        if self.findings:
            return f"{self.findings[0].verdict}: {self.findings[0].message}"
        return ""

    @property
    def at_stake(self) -> Decimal:
        return sum((f.at_stake for f in self.findings), Decimal(0))

    def to_json(self) -> dict[str, Any]:
        return {"dialect": self.dialect, "scenario": self.scenario, "passed": self.passed, "reason": self.reason,
                "exit_code": self.exit_code, "seconds": round(self.seconds, 3), "at_stake": str(self.at_stake),
                "findings": [f.to_json() for f in self.findings], "output": self.output}


def dialect_names(spec: str) -> list[str]:
    """``all`` or ``NAME,NAME`` (names or profile paths), each once, as given; ValueError for none."""
    names = list(available_dialects()) if spec.strip() == "all" else [n.strip() for n in spec.split(",") if n.strip()]
    if not names:
        raise ValueError("name at least one dialect, or all")
    return list(dict.fromkeys(names))


def choose_dialects(spec: str) -> list[Dialect]:
    """The dialects of ``spec`` loaded; a DialectError (a ValueError) names a wrong one."""
    return [load_dialect(n) for n in dialect_names(spec)]


def run_cell(dialect: Dialect, scenario: Scenario, command: Sequence[str], *, timeout: float, seed: int = 0,
             speed: float = SPEED, env: dict[str, str] | None = None) -> Cell:
    """One run of ``command`` against a fresh panel speaking ``dialect`` under ``scenario``."""
    cell = Cell(dialect.name, scenario.name)
    panel = build_panel(dialect, seed=seed, speed=speed, lifecycle=scenario.lifecycle_settings())
    panel.create_account(KEY, balance=BALANCE)
    app = create_app(panel, dialect)
    control: Control = app.state.control
    prepare(control, scenario)
    control.remember_opening()  # a client's POST /_mock/reset keeps the cell's key and the scenario's faults
    with ServerThread(app) as server:
        api = server.url + dialect.endpoints[0].rstrip("/")
        environment = {**os.environ, **(env or {}), "MOCKPANEL_URL": api, "MOCKPANEL_KEY": KEY,
                       "MOCKPANEL_CONTROL_URL": server.url + "/_mock", "MOCKPANEL_DIALECT": dialect.name,
                       "MOCKPANEL_SCENARIO": scenario.name, "PYTHONUNBUFFERED": "1"}
        started = time.monotonic()
        try:
            done = subprocess.run(list(command), env=environment, stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=timeout, check=False)
            cell.exit_code = done.returncode
            output = done.stdout + done.stderr
        except subprocess.TimeoutExpired as exc:
            cell.error = f"the command ran past --timeout {timeout:g} s and was stopped"
            output = (exc.stdout or b"") + (exc.stderr or b"")
        except OSError as exc:
            cell.error = f"the command could not start: {exc.strerror or exc}"
            output = b""
        cell.seconds = time.monotonic() - started
        cell.output = output.decode("utf-8", "replace")[-OUTPUT_TAIL:]
        cell.findings = judge(control)
    return cell


def run_matrix(dialects: Sequence[Dialect], scenarios: Sequence[Scenario], command: Sequence[str], *,
               timeout: float, jobs: int = 1, seed: int = 0, speed: float = SPEED,
               progress: Callable[[Cell], None] | None = None) -> list[Cell]:
    """Every cell, rows by dialect and columns by scenario, in that order whatever ``jobs`` is."""
    pairs = [(d, s) for d in dialects for s in scenarios]

    def one(pair: tuple[Dialect, Scenario]) -> Cell:
        cell = run_cell(pair[0], pair[1], command, timeout=timeout, seed=seed, speed=speed)
        if progress is not None:
            progress(cell)
        return cell

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, pairs))
