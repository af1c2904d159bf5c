"""Orders and their state, computed from the plan and the clock when read.

An order's trajectory is: Pending until ``start_at``; In progress, delivering at
``per_second`` from ``delivered_from``, until ``done_at``; then ``outcome`` with
``delivered_to`` units delivered. Reading a state is O(1) and changes nothing;
a cancel or a forced status rewrites the trajectory from "now" on, never before.

An ``Order`` is a view of one row of an ``OrderBook`` (orderbook.py), where the
numbers live in columns; built on its own, it gets a book of one row.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from .catalog import Service
from .lifecycle import Status
from .money import ZERO
from .order_columns import Field, column, extra, pack, unpack
from .order_rows import OrderState as OrderState  # re-exported: readers of a state import it from here
from .order_rows import delivered_of, refund_of
from .order_rows import state_of as state_of
from .orderbook import OUTCOME_INDEX, OUTCOMES, OrderBook

INF = math.inf
_CANCELED = Status.CANCELED  # read once: an Enum member read from its class costs a lookup of its own (Python 3.11)


def finish_time_of(
    start_at: float, per_second: float, quantity: int, delivered_from: int, delivered_to: int, outcome: Status,
    runs: int | None, interval: int | None, expires_at: float | None,
) -> float:
    """When delivery reaches ``delivered_to``: the moment the outcome shows (an order's ``done_at``)."""
    if start_at == INF:
        return INF
    need = delivered_to - delivered_from
    if outcome is _CANCELED and delivered_from == 0:
        return start_at
    if quantity == 0:  # unlimited subscription: ends only at its expiry
        return INF if expires_at is None else max(expires_at, start_at)
    if need <= 0:
        return start_at
    if runs and interval and runs > 1:
        per_run = quantity // runs
        run = (delivered_to - 1) // per_run
        within = delivered_to - per_run * run
        return start_at + run * interval * 60.0 + within / per_second
    return start_at + need / per_second


class Order:
    """One order: a view of its row in the book."""

    __slots__ = ("_book", "_row")

    # The fields, for code that walks them (snapshots, tests).
    FIELDS = (
        "id", "key", "service", "link", "quantity", "charge", "created", "start_count", "start_at",
        "per_second", "delivered_from", "delivered_to", "done_at", "outcome", "runs", "interval",
        "details", "refunded", "version", "stuck_reason", "expires_at",
    )

    created: Field[float] = column("created", "virtual time the order was placed")
    start_at: Field[float] = column("start_at", "end of Pending (inf: held in Pending)")
    per_second: Field[float] = column("per_second", "delivery speed while In progress")
    done_at: Field[float] = column("done_at", "when the outcome shows (derived from the others)")
    quantity: Field[int] = column("quantity", "units to deliver in all")
    start_count: Field[int] = column("start_count", "the link's counter when delivery began")
    delivered_from: Field[int] = column("delivered_from", "units already delivered at start_at")
    delivered_to: Field[int] = column("delivered_to", "units delivered at the end")
    version: Field[int] = column("version", "bumped whenever the trajectory is rewritten")
    runs: Field[int | None] = extra("runs", None, "drip-feed runs")
    interval: Field[int | None] = extra("interval", None, "drip-feed minutes between runs")
    _packed_details: Field[dict[str, Any] | None] = extra("details", None, "the type's own fields, lists packed")
    stuck_reason: Field[str | None] = extra("stuck_reason", None, "why the order is held in Pending")
    expires_at: Field[float | None] = extra("expires_at", None, "when an unlimited subscription ends")

    def __init__(
        self,
        *,
        id: int,
        key: str,
        service: Service,
        link: str,
        quantity: int,
        charge: Decimal,
        created: float,
        start_count: int,
        start_at: float,
        per_second: float,
        outcome: Status,
        delivered_to: int,
        runs: int | None = None,
        interval: int | None = None,
        details: dict[str, Any] | None = None,
        book: OrderBook[Order] | None = None,
    ) -> None:
        book = book if book is not None else OrderBook(first_id=id, view=Order.of)
        if book.next_id != id:
            raise ValueError(f"order ids are issued in sequence: the next id is {book.next_id}, not {id}")
        self._book = book
        rare = runs is not None or interval is not None or details  # fields kept beside the row
        mark = book.mark() if rare else None
        self._row = book.append_row(
            key=key, service=service, link=link, quantity=quantity, charge=charge, created=created,
            start_count=start_count, start_at=start_at, per_second=per_second, outcome=outcome,
            delivered_to=delivered_to,
            done_at=finish_time_of(start_at, per_second, quantity, 0, delivered_to, outcome, runs, interval, None),
        )
        if mark is None:
            return
        try:
            if runs is not None:
                self.runs = runs
            if interval is not None:
                self.interval = interval
            if details:
                self.details = details
        except BaseException:  # the row goes whole or not at all
            book.rollback(mark)
            raise

    @property
    def details(self) -> dict[str, Any] | None:
        """The type's own fields (comments, username, ...): a copy, lists as lists."""
        return unpack(self._packed_details)

    @details.setter
    def details(self, value: dict[str, Any] | None) -> None:
        self._packed_details = pack(value)

    @classmethod
    def of(cls, book: OrderBook[Order], row: int) -> Order:
        """The order of one row of ``book`` (the book's ``view``)."""
        order = object.__new__(cls)
        order._book = book
        order._row = row
        return order

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Order):
            return NotImplemented
        return self._book is other._book and self._row == other._row

    def __hash__(self) -> int:
        return hash((id(self._book), self._row))

    def __repr__(self) -> str:
        return f"<Order {self.id} {self.service.type.name} x{self.quantity}>"

    @property
    def id(self) -> int:
        """The order id."""
        return self._book.first_id + self._row

    @property
    def key(self) -> str:
        """The account's key id (a digest, never the key itself)."""
        return self._book.accounts.values[self._book.account_ix[self._row]]  # type: ignore[no-any-return]

    @property
    def service(self) -> Service:
        """The service ordered (as it was when the order was placed)."""
        return self._book.services.values[self._book.service_ix[self._row]]  # type: ignore[no-any-return]

    @property
    def link(self) -> str:
        """The link the order delivers to."""
        return self._book.links[self._row]

    @property
    def charge(self) -> Decimal:
        """The price at creation."""
        return self._book.charges.values[self._book.charge_ix[self._row]]  # type: ignore[no-any-return]

    @property
    def refunded(self) -> Decimal:
        """The refund already credited: none, or all the outcome's refund (it never changes once final)."""
        return self.refund_due() if self._book.refunded[self._row] else ZERO

    @refunded.setter
    def refunded(self, value: Decimal) -> None:
        if value and value != self.refund_due():
            raise ValueError("an order's refund is credited whole, once its outcome is final")
        self._book.refunded[self._row] = 1 if value else 0
        self._book.changes += 1

    @property
    def outcome(self) -> Status:
        """How the order ends: Completed, Partial or Canceled."""
        return OUTCOMES[self._book.outcome[self._row]]

    @outcome.setter
    def outcome(self, value: Status) -> None:
        self._book.outcome[self._row] = OUTCOME_INDEX[value]
        self._book.changes += 1

    # --- reading -----------------------------------------------------------------

    @property
    def is_subscription(self) -> bool:
        """True for a Subscriptions order (no link, charged nothing at creation)."""
        return self.service.type.quantity_from == "subscription"

    def state(self, now: float) -> OrderState:
        """What a status request shows at virtual time ``now``."""
        return state_of(self._book, self._row, now)

    def delivered_at(self, now: float) -> int:
        """Units delivered by ``now`` while In progress (capped by the outcome)."""
        return delivered_of(self._book, self._row, now)

    def status_at(self, now: float) -> Status:
        """The order's status at virtual time ``now``."""
        if now >= self.done_at:
            return self.outcome
        return Status.PENDING if now < self.start_at else Status.IN_PROGRESS

    def refund_due(self) -> Decimal:
        """What the outcome refunds: all if Canceled, the undelivered share if Partial."""
        return refund_of(self._book, self._row)

    # --- rewriting the trajectory from ``now`` on -----------------------------------

    def finish_time(self) -> float:
        """When delivery reaches ``delivered_to``: the moment the outcome shows."""
        return finish_time_of(self.start_at, self.per_second, self.quantity, self.delivered_from, self.delivered_to,
                              self.outcome, self.runs, self.interval, self.expires_at)

    def _touch(self) -> None:
        self.done_at = self.finish_time()
        self.version += 1

    def stop(self, now: float, outcome: Status | None = None) -> None:
        """End the order at ``now`` with what was delivered so far (a cancel)."""
        delivered = self.delivered_at(now)
        if outcome is None:
            if delivered == 0:
                outcome = Status.CANCELED
            elif delivered >= self.quantity:
                outcome = Status.COMPLETED
            else:
                outcome = Status.PARTIAL
        self.outcome = outcome
        self.delivered_from = self.delivered_to = delivered
        self.start_at = min(self.start_at, now)
        self.done_at = now
        self.version += 1

    def hold(self, reason: str = "forced") -> None:
        """Keep the order Pending until told otherwise (an order stuck in Pending)."""
        self.start_at = INF
        self.stuck_reason = reason
        self._touch()

    def resume(self, now: float, delivered: int | None = None) -> None:
        """Put the order In progress at ``now``, optionally with ``delivered`` units done."""
        current = self.delivered_at(now)
        self.delivered_from = current if delivered is None else delivered
        if self.outcome is not Status.PARTIAL or self.delivered_to <= self.delivered_from:
            self.delivered_to = max(self.delivered_to, self.delivered_from)
        if self.outcome is Status.CANCELED:
            self.outcome, self.delivered_to = Status.COMPLETED, self.quantity
        if self.outcome is Status.PARTIAL and self.delivered_to >= self.quantity:
            self.outcome = Status.COMPLETED  # nothing left undelivered: not Partial with remains 0
        self.start_at = now
        self.stuck_reason = None
        self._touch()

    def finish(self, now: float, outcome: Status, remains: int | None = None) -> None:
        """End the order at ``now`` with ``outcome`` (a forced final status)."""
        if outcome is Status.COMPLETED:
            delivered = self.quantity
        elif outcome is Status.CANCELED:
            delivered = self.quantity - (self.quantity if remains is None else remains)
        else:
            delivered = self.quantity - (remains if remains is not None else self.quantity - self.delivered_at(now))
        self.outcome = outcome
        self.delivered_from = self.delivered_to = delivered
        self.start_at = min(self.start_at, now)
        self.done_at = now
        self.version += 1

    def plan_outcome(self, outcome: Status, remains: int | None = None) -> None:
        """Choose how the order will end, without changing where it is now."""
        if outcome is Status.COMPLETED:
            self.delivered_to = self.quantity
        elif outcome is Status.CANCELED:
            self.delivered_to = self.delivered_from
        else:
            self.delivered_to = self.quantity - (remains if remains is not None else max(1, self.quantity // 2))
        self.outcome = outcome
        self._touch()
