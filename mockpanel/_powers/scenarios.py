"""Scenarios: each a named plan of what a panel does to a client on a bad day, built from the mock's
faults and lifecycle odds (docs/gauntlet.md says what each one means). The gauntlet runs a client
through them; ``@pytest.mark.mockpanel(scenario=...)`` puts one test's panel in one.

A scenario is data: the faults to add to a fresh panel, and the lifecycle odds its orders are drawn
from (given when the panel is built). ``none`` is the panel on a good day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Mapping

from .._domain.plans import LifecycleSettings

if TYPE_CHECKING:  # pragma: no cover
    from .control import Control

# Above the timeout clients commonly set: httpx's default is 5 s, and the panels' example clients set none to 5.
SLOW_SECONDS = 6.0


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str  # one line: what the panel does
    faults: tuple[Mapping[str, Any], ...] = ()
    lifecycle: Mapping[str, Any] = field(default_factory=dict)  # LifecycleSettings fields that differ
    reprice: float | None = None  # every service's rate times this, after the first `services` call

    def lifecycle_settings(self) -> LifecycleSettings:
        return LifecycleSettings(**self.lifecycle)


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("none", "a good day: every answer on time, orders end as their seeded plans say"),
    Scenario("lost-answer", "the first add is placed and charged, then its connection drops with no answer",
             faults=({"kind": "drop", "action": "add", "processed": True, "count": 1},)),
    Scenario("server-error", "the first add and the first status get a 502 page; nothing was done",
             faults=({"kind": "http", "status": 502, "action": "add", "count": 1},
                     {"kind": "http", "status": 502, "action": "status", "count": 1})),
    Scenario("slow", f"the first add is answered {SLOW_SECONDS:g} s late (after it was placed): longer than "
                     "common client timeouts",
             faults=({"kind": "latency", "seconds": SLOW_SECONDS, "action": "add", "count": 1},)),
    Scenario("rate-limited", "the first three requests get 429 with Retry-After: 1",
             faults=({"kind": "http", "status": 429, "retry_after": 1, "count": 3},)),
    Scenario("overcharge", "after the first services call every service costs 1.5 times its listed rate",
             reprice=1.5),
    Scenario("partial-and-refund", "orders end Partial or Canceled by the panel, with refunds",
             lifecycle={"completed_weight": 0.0, "partial_weight": 0.5, "canceled_weight": 0.5}),
    Scenario("refill-rejected", "every refill ends Rejected", lifecycle={"refill_rejected_weight": 1.0}),
    Scenario("status-drift", "orders show every status word the dialect has on their way (Pending, In progress, "
                             "then Completed, Partial or Canceled: the rare ends as often as the common one)",
             lifecycle={"completed_weight": 0.34, "partial_weight": 0.33, "canceled_weight": 0.33}),
)}


def choose(spec: str) -> list[Scenario]:
    """``all`` or ``NAME,NAME``: the scenarios, in the table's order; a clear error for an unknown name."""
    if spec.strip() == "all":
        return list(SCENARIOS.values())
    names = [n.strip() for n in spec.split(",") if n.strip()]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown or not names:
        raise ValueError(f"unknown scenario {', '.join(unknown) or repr(spec)}: choose from all, "
                         + ", ".join(SCENARIOS))
    return [SCENARIOS[n] for n in dict.fromkeys(names)]


def scenario(name: str) -> Scenario:
    """The scenario called ``name``; a clear error naming the others for an unknown one."""
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ValueError(f"unknown scenario {name!r}: choose from {', '.join(SCENARIOS)}") from None


def prepare(control: Control, chosen: Scenario) -> None:
    """Give a fresh panel the scenario's faults, kept through a reset (its lifecycle odds are given when the
    panel is built)."""
    specs: list[Mapping[str, Any]] = list(chosen.faults)
    if chosen.reprice is not None:
        factor = Decimal(str(chosen.reprice))
        specs += [{"kind": "reprice", "service": service.id,
                   "rate": str((service.rate * factor).quantize(Decimal("0.0001")))} for service in control.panel.catalog]
    control.open_with_faults(specs)
