"""One configuration the bench measures: a server, a kind of request, and the runs it took."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .load import Workload, median


@dataclass
class Config:
    name: str
    server: str
    kind: str  # bare, balance, add, status, multi, running, services, bare-services, peer
    workload: Workload | None = None
    runs: list[dict[str, Any]] = field(default_factory=list)
    connections: int | None = None  # None: --connections

    def results(self) -> list[dict[str, Any]]:
        """The timed runs, without warm-ups and runs set aside because bare drifted across them."""
        return [r for r in self.runs if not r["warmup"] and not r.get("drifted")]

    def med(self, key: str) -> float:
        return median([r[key] for r in self.results()])
