"""What every phase of a run shares: the session, the expectations, the verdicts, progress."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, TextIO

from .profile import Dialect
from .terminal import Terminal, Ticker, duration

from .catalogue import Catalogue
from .expect import Expect, ServiceInfo
from ._properties import PropertyRunner
from .session import Session
from .verdicts import Verdicts

ClockDriver = Callable[[float], None]  # advance the panel's clock by seconds
HEARTBEAT = 5.0  # seconds between heartbeat lines while a run waits (the promise: at most 10 s)


@dataclass
class RunConfig:
    url: str
    key: str
    second_key: str | None = None
    tier: str = "read-only"
    dialect: str | Dialect = "standard"
    max_spend: Decimal = Decimal(0)
    link: str | None = None
    seed: int = 0
    rate: float | None = None  # None: 2/s, or no limit on a loopback address
    max_requests: int = 2000
    timeout: float = 20.0
    examples: int = 20  # per read-only property
    programs: int | None = None  # stateful programs in the orders tier (None: 5 on a mock, 2 live)
    steps: int | None = None  # steps per program (None: 30 on a mock, 15 live)
    time_budget: float = 600.0  # seconds to wait for placed orders to end (live panels)
    poll_interval: float = 10.0  # seconds between polls when the clock cannot be driven
    patience: float = 300.0  # seconds with no tracked order moving before the run stops waiting for them
    use_control_api: bool = True  # drive the mock's clock through /_mock/ when reachable
    max_answer_bytes: int = 10 * 1024 * 1024  # an answer past this is cut and reported


@dataclass
class Target:
    """What the preflight learned about the panel."""

    services: list[ServiceInfo] = field(default_factory=list)
    balance: Decimal | None = None
    currency: str = ""
    second_balance: Decimal | None = None
    control_root: str | None = None  # the mock's control API, when reachable


class Progress:
    """Progress on the terminal while the run goes: lines, coloured outcomes, and while the run waits a
    live status line (a heartbeat line off a terminal; ``terminal.py``)."""

    def __init__(self, stream: TextIO | None = None, quiet: bool = False, colour: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.quiet = quiet
        self.started = time.monotonic()
        self.terminal = Terminal(self.stream, colour=colour, heartbeat=HEARTBEAT)
        # How often a wait redraws its line: every second on a terminal, a heartbeat's interval elsewhere.
        self.tick = 1.0 if self.terminal.live else HEARTBEAT
        self.section = "starting"
        self._waiting, self._waited = "", float("-inf")

    def line(self, text: str = "") -> None:
        if text and not text.startswith(" "):
            self.section = text  # "read-only checks", "orders checks": what the live line says the run is at
        if not self.quiet:
            self.terminal.line(text)

    def running(self, sent: Callable[[], int], budget: int) -> Ticker:
        """While the run goes, on a terminal: a live line with the section, the requests sent of the budget and
        the time (a wait's own line while it waits). Off a terminal, or with -q, nothing."""
        def render() -> str:
            if time.monotonic() - self._waited < 2 * self.tick:
                return self._waiting
            return (f"  {self.section}: {sent():,} requests sent (budget {budget:,}), "
                    f"{duration(time.monotonic() - self.started)} into the run")
        return Ticker(self.terminal if not self.quiet else Terminal(self.stream, colour=False, live=False), render)

    def paint(self, text: str, style: str) -> str:
        """``text`` coloured (``pass``, ``fail``, ``warn``) when the terminal takes colour."""
        return self.terminal.paint(text, style)

    def check(self, label: str, outcome: str) -> None:
        self.line(f"  {label:<58} {self.terminal.outcome(outcome)}")

    def heartbeat(self, text: str) -> None:
        """What the run waits for: the live line on a terminal, else a line at most every HEARTBEAT seconds."""
        if not self.quiet:
            self._waiting = f"  waiting: {text} ({time.monotonic() - self.started:.0f} s into the run)"
            self._waited = time.monotonic()
            self.terminal.status(self._waiting)


@dataclass
class Context:
    config: RunConfig
    dialect: Dialect
    catalogue: Catalogue
    session: Session
    expect: Expect
    verdicts: Verdicts
    props: PropertyRunner
    progress: Progress
    target: Target = field(default_factory=Target)
    clock: ClockDriver | None = None
    notes: list[str] = field(default_factory=list)
    internal_errors: list[str] = field(default_factory=list)  # tracebacks of bugs in the suite
    stopped: str | None = None  # why the run stopped early
    changes: Any = None  # runner.MockChanges: what the run changed on a mock

    def __post_init__(self) -> None:
        if self.changes is None:
            from .control import MockChanges

            self.changes = MockChanges()

    def pause(self, seconds: float, status: Callable[[], str]) -> None:
        """Wait ``seconds``, with a heartbeat (``status()``: what is awaited) at least every 10 s."""
        end = time.monotonic() + max(0.0, seconds)
        while True:
            self.progress.heartbeat(status())
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, self.progress.tick))

    def supports(self, action: str) -> bool:
        """The dialect has the action and the panel has not answered it as an unknown action: once it
        has, the action is never sent again (what needs it is "not supported")."""
        return action in self.dialect.actions and self.verdicts.supports(action)

    def note(self, text: str) -> None:
        """A note of the report, said once, and printed as the run goes."""
        if text not in self.notes:
            self.notes.append(text)
            self.progress.line(f"  {text}")

    def stop(self, reason: str) -> None:
        if self.stopped is None:
            self.stopped = reason
            self.progress.line(f"  stopping: {reason}")
