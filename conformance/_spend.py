"""The money the panel has taken, against what the plan said it would take.

The session reads each account's balance before its first add and after every add
(the read-only ``balance`` action), and keeps the charges the panel reports for the
orders the run placed. ``taken`` is the larger of the two readings (balance lost,
charges reported); ``planned`` is the sum of every sent add's worst case at the
listed price. Before an add, the committed total is the larger of ``taken`` and
``planned``, plus this add's worst case: it never counts less than the panel took
nor less than the plan. Once the panel has taken more than the plan said, the
ledger holds an ``Overcharge`` and no further add is sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any


def amount(value: Any) -> Decimal | None:
    """A money value as a panel writes it (number or numeric string); None if it is not one."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        out = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return out if out.is_finite() else None


def valid_cost(cost: Any) -> bool:
    """A worst case the cap can count: a positive, finite Decimal."""
    return isinstance(cost, Decimal) and cost.is_finite() and cost > 0


@dataclass
class Overcharge:
    over: Decimal  # how much more than the plan the panel took
    order: str  # the order it showed on ("?" when the add answered no id)
    taken: Decimal
    planned: Decimal
    how: str  # what showed it: the balance, or the charge the panel reported

    def message(self, currency: str = "") -> str:
        cur = f" {currency}" if currency else ""
        return (f"the panel took {self.over}{cur} more than its price list said ({self.how}; order {self.order}): "
                f"{self.taken}{cur} taken against {self.planned}{cur} planned at the listed prices; "
                "no further add was sent")


@dataclass
class SpendLedger:
    unit: Decimal = Decimal("0.01")  # one unit of the balance's last decimal: its rounding
    charge_unit: Decimal = Decimal("0.01")  # one unit of a charge's last decimal, per add
    planned: Decimal = Decimal(0)
    adds: int = 0
    opening: dict[str, Decimal] = field(default_factory=dict)  # per key: balance before its first add
    current: dict[str, Decimal] = field(default_factory=dict)
    worst: dict[str, Decimal] = field(default_factory=dict)  # order id -> its add's worst case
    charges: dict[str, Decimal] = field(default_factory=dict)  # order id -> highest charge reported
    overcharge: Overcharge | None = None
    last_order: str = "?"

    @property
    def lost(self) -> Decimal:
        """What the balances lost since their first add (refunds count back)."""
        return sum((self.opening[k] - self.current.get(k, self.opening[k]) for k in self.opening), Decimal(0))

    @property
    def taken(self) -> Decimal:
        return max(self.lost, sum(self.charges.values(), Decimal(0)), Decimal(0))

    @property
    def committed(self) -> Decimal:
        return max(self.taken, self.planned)

    def tolerance(self) -> Decimal:
        return self.unit + self.charge_unit * max(self.adds, 1)

    def sent(self, cost: Decimal) -> None:
        self.planned += cost
        self.adds += 1
        self.last_order = "?"

    def placed(self, order: Any, cost: Decimal) -> None:
        if isinstance(order, (str, int)) and not isinstance(order, bool):
            self.worst[str(order)] = cost
            self.last_order = str(order)

    def open(self, key: str, value: Decimal) -> None:
        """The balance of ``key`` read just before its first add."""
        self.opening.setdefault(key, value)
        self.current.setdefault(key, value)

    def balance(self, key: str, value: Decimal) -> None:
        """Any later reading of a followed key's balance."""
        if key in self.opening:
            self.current[key] = value
            self.check()

    def check(self) -> Overcharge | None:
        if self.overcharge is None and self.adds and self.taken > self.planned + self.tolerance():
            self.overcharge = Overcharge(self.taken - self.planned, self.last_order, self.taken, self.planned,
                                         "the balance dropped by more than the worst cases of the adds sent")
        return self.overcharge

    def charge(self, order: str, value: Decimal) -> None:
        if order not in self.worst:
            return
        self.charges[order] = max(value, self.charges.get(order, value))
        worst = self.worst[order]
        if self.overcharge is None and value > worst + self.charge_unit:
            self.overcharge = Overcharge(value - worst, order, self.taken, self.planned,
                                         f"its charge {value} is above its worst case {worst}")

    def status_answer(self, params: dict[str, str], data: Any) -> None:
        """Read the charges out of a status answer (one order or a batch)."""
        if not isinstance(data, dict):
            return
        if "order" in params and "charge" in data:
            value = amount(data.get("charge"))
            if value is not None:
                self.charge(str(params["order"]).strip(), value)
        elif "orders" in params:
            for oid, item in data.items():
                if isinstance(item, dict):
                    value = amount(item.get("charge"))
                    if value is not None:
                        self.charge(str(oid), value)
