"""What the orders tier tracks: the items of its plan, the invalid adds it probes, the orders
placed, a snapshot of them, and the requirement each exercises."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from . import _strategies as S
from .catalogue import load_catalogue
from .expect import ServiceInfo, StatusInfo
from .rules import Status
from .session import Exchange

DRIPFEED_RID = "V2-TYP-02"


def type_rid(type_name: str, dripfeed: bool = False) -> str:
    """The V2-TYP requirement of a service type (drip-feed has its own)."""
    if dripfeed:
        return DRIPFEED_RID
    for r in load_catalogue():
        if r.service_type == type_name and not r.dripfeed:
            return str(r.id)
    raise KeyError(f"no V2-TYP requirement for the service type {type_name!r}")


def rank(status: Status | None) -> int:
    return -1 if status is None else status.rank


@dataclass
class PlanItem:
    service: ServiceInfo
    purposes: set[str]  # "type", "dripfeed", "refill", "cancel"
    dripfeed: bool = False
    placed: bool = False
    cost: Decimal = Decimal(0)
    busy: str | None = None  # the panel's words, when it last refused the add for its link being busy

    @property
    def label(self) -> str:
        kind = "drip-feed" if self.dripfeed else (self.service.type or "?")
        return f"{kind} on service {self.service.id} ({self.service.name[:40]})"


@dataclass
class Probe:
    """An add a correct panel refuses, differing from a valid one in exactly one thing."""

    kind: str  # below_min, above_max, malformed, invalid, unknown_service, wrong_key, no_funds, missing
    service: ServiceInfo | None
    cost: Decimal  # the worst case if the panel accepts it
    done: bool = False
    value: str | None = None  # the malformed or invalid value sent
    field: str | None = None  # the field it changes (malformed, invalid) or leaves out (missing)
    what: str = ""  # how the value is wrong: "a fraction", "zero runs"…
    dripfeed: bool = False  # on a drip-feed order

    @property
    def label(self) -> str:
        where = f" on service {self.service.id} ({self.service.type}{', drip-feed' if self.dripfeed else ''})" \
            if self.service else ""
        if self.kind == "missing":
            return f"without {self.field!r}{where}"
        if self.value is not None:
            return f"{self.kind} {self.field or 'quantity'} {self.value!r} ({self.what}){where}"
        return f"{self.kind.replace('_', ' ')}{where}"

    @property
    def uses_service(self) -> bool:
        """An add on the service with the main key (a wrong key, another service or key touch nothing of it)."""
        return self.kind not in ("wrong_key", "unknown_service", "no_funds")

    @property
    def exact(self) -> bool:
        """What the panel makes of it is known (its quantity): an accepted one is priced and checked as sent."""
        return self.kind not in ("malformed", "invalid", "missing")


@dataclass
class Tracked:
    id: str
    spec: S.OrderSpec
    price: Decimal | None  # None where the charge rule is not checked (subscriptions)
    item: PlanItem | None
    last: StatusInfo | None = None
    history: list[str] = field(default_factory=list)
    cancel_requested: bool = False
    refill_id: str | None = None
    refill_last: Any = None  # RefillStatus
    refill_done: bool = False
    last_ex: Exchange | None = None  # the answer ``last`` came from
    placed_ex: Exchange | None = None  # the add that answered its id
    lost: bool = False  # status does not know the id add answered: nothing more to follow

    @property
    def final(self) -> bool:
        return self.lost or (self.last is not None and self.last.status is not None and self.last.status.final)

    @property
    def status(self) -> Status | None:
        return self.last.status if self.last else None

    def label(self) -> str:
        return f"order {self.id} ({self.spec.type}, service {self.spec.service.id})"


@dataclass
class Snapshot:
    balance: Decimal
    states: dict[str, StatusInfo]
    exchanges: list[Exchange]


def item_rids(item: PlanItem) -> list[str]:
    """The requirement ids an item of the plan exercises."""
    out = []
    if "refill" in item.purposes:
        out += ["V2-REF-01", "V2-REF-02", "V2-REF-03"]
    if "cancel" in item.purposes:
        out += ["V2-CAN-01", "V2-CAN-02"]
    if "type" in item.purposes or "dripfeed" in item.purposes:
        out.append(type_rid(item.service.type or "Default", item.dripfeed))
    return out


def probe_rid(p: Probe) -> str:
    """The requirement id an invalid add exercises: a malformed number, ADD-07 (a malformed service id, ADD-04);
    a documented value ruled out or a required field left out, its type's (drip-feed's own for runs and
    interval)."""
    if p.kind == "malformed" and p.field == "service":  # an id no service has, however a panel might read it
        return "V2-ADD-04"
    return {
        "below_min": "V2-ADD-02", "above_max": "V2-ADD-03", "malformed": "V2-ADD-07", "unknown_service": "V2-ADD-04",
        "wrong_key": "V2-ADD-05", "no_funds": "V2-ADD-06",
    }.get(p.kind) or type_rid(p.service.type if p.service and p.service.type else "Default", p.dripfeed)
