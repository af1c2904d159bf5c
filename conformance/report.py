"""A run's outcome as data: what every report (JSON, JUnit, HTML, pytest) is written from."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable

from . import __version__

from ._exchange import Exchange
from .verdicts import FAILED, WARNING, Result, counts


@dataclass
class Report:
    url: str
    dialect: str
    tier: str
    seed: int
    started: str
    duration: float
    requests: int
    results: list[Result]
    exit_code: int
    error: str | None = None
    committed: Decimal = Decimal(0)  # the larger of the worst cases of the adds sent and the money taken
    spent: Decimal | None = None  # what the run's own orders were charged, net of refunds (the balance cross-checks)
    taken: Decimal = Decimal(0)  # what the panel took, as the spend check read it
    overcharge: str | None = None  # the panel took more than its price list said
    max_spend: Decimal = Decimal(0)
    currency: str = ""
    key: str = ""  # redacted
    second_key: str | None = None  # redacted
    notes: list[str] = field(default_factory=list)
    interrupted: str | None = None  # the signal that stopped the run (SIGINT, SIGTERM): what was found so far
    trace: list[Exchange] = field(default_factory=list)
    version: str = __version__
    redactor: Callable[[str], str] | None = field(default=None, repr=False, compare=False)

    @property
    def counts(self) -> dict[str, int]:
        return counts(self.results)

    def result(self, rid: str) -> Result:
        for r in self.results:
            if r.requirement.id == rid:
                return r
        raise KeyError(rid)

    def flagged(self) -> dict[str, str]:
        """Requirement id -> outcome, for the failed and warned ones."""
        return {r.requirement.id: r.outcome for r in self.results if r.outcome in (FAILED, WARNING)}

    def to_dict(self, with_trace: bool = False) -> dict[str, Any]:
        out = {
            "tool": f"mockpanel conformance {self.version}",
            "url": self.url,
            "dialect": self.dialect,
            "tier": self.tier,
            "seed": self.seed,
            "started": self.started,
            "duration_s": round(self.duration, 3),
            "requests": self.requests,
            "key": self.key,
            "second_key": self.second_key,
            "spend": {
                "max_spend": str(self.max_spend),
                "committed_worst_case": str(self.committed),
                "spent": None if self.spent is None else str(self.spent),
                "taken": str(self.taken),
                "overcharge": self.overcharge,
                "currency": self.currency,
            },
            "exit_code": self.exit_code,
            "interrupted": self.interrupted is not None,
            "interrupted_by": self.interrupted,
            "error": self.error,
            "counts": self.counts,
            "notes": self.notes,
            "requirements": [r.to_dict() for r in self.results],
        }
        if with_trace:
            out["trace"] = [e.to_dict() for e in self.trace]
        return out
