"""Property tests: any sequence of adds, cancels, refills, forced statuses and clock moves,
on two keys, keeps the money exact and the lifecycle forward-only.

After every step, for each key:
  balance == sum(ledger, signed) == deposits - withdrawals - charges + refunds, and >= 0;
  balance == deposits - withdrawals - the charges the orders show now (refunds all credited);
and for each order: its status rank never drops, a final order never changes again, remains
stays in [0, quantity], the charge shown is in [0, price at creation] (the price less the
undelivered share if Partial, 0 if Canceled), and the other key cannot see it.
Every refused request leaves the balance and the order as they were.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, multiple, rule

from mockpanel._catalogs import load_catalog
from mockpanel._domain.clock import VirtualClock
from mockpanel._domain.errors import ErrorCode, PanelError
from mockpanel._domain.lifecycle import RefillStatus, Status
from mockpanel._domain.orders import OrderState
from mockpanel._panel.panel import Panel
from mockpanel._domain.servicetypes import OLD_POSTS_FOUND

# Expected money, computed here and not with the mock's price functions: the documents' rule
# (a rate is the price of 1000 units; a package costs its rate; a Partial order is refunded
# charge / quantity x remains), to the mock's documented stored precision of 7 places: a
# charge rounded half up, a refund rounded down (it never exceeds what was charged).
ZERO = Decimal(0)
STORED = Decimal("0.0000001")


def cost_of(rate: Decimal, units: int) -> Decimal:
    return (rate * Decimal(units) / Decimal(1000)).quantize(STORED, rounding=ROUND_HALF_UP)


def refund_of(charge: Decimal, remains: int, quantity: int) -> Decimal:
    # charge x remains / quantity: the same share, multiplied first so that no digit is lost before rounding
    return (charge * Decimal(remains) / Decimal(quantity)).quantize(STORED, rounding=ROUND_DOWN)


CATALOG = load_catalog()
KEYS = ("prop-key-A", "prop-key-B")
LINKS = ("https://a.test/1", "https://a.test/2", "https://a.test/3")
# What an order request may fairly be refused for; anything else is a bug.
ADD_ERRORS = {
    ErrorCode.NOT_ENOUGH_FUNDS, ErrorCode.QUANTITY_BELOW_MIN, ErrorCode.QUANTITY_ABOVE_MAX,
    ErrorCode.ACTIVE_ORDER_WITH_LINK,
}

# What is ordered: services with and without cancel/refill, every way of pricing. Services
# 1 and 20 refill (1 also cancels); they are weighted up so that refills happen often enough.
KINDS = st.sampled_from(["1", "20", "1", "dripfeed", "3", "4", "comments", "package", "subscription", "20"])
# Mostly the owner asks; sometimes the other key tries its luck.
OWN = st.sampled_from([True, True, True, False])


class PanelMachine(RuleBasedStateMachine):
    orders = Bundle("orders")
    refills = Bundle("refills")

    def __init__(self) -> None:
        super().__init__()
        self.panel: Panel | None = None

    @initialize(
        seed=st.integers(min_value=0, max_value=2**32),
        funds=st.tuples(*[st.sampled_from(["0", "0.05", "1", "7.5", "100", "100", "1000"])] * 2),
    )
    def setup(self, seed: int, funds: tuple[str, str]) -> None:
        self.panel = Panel(catalog=CATALOG, clock=VirtualClock(speed=0, start=1_700_000_000), seed=seed)
        self.deposits = {k: Decimal(f) for k, f in zip(KEYS, funds)}
        self.withdrawn = {k: ZERO for k in KEYS}
        for key in KEYS:
            self.panel.create_account(key, balance=self.deposits[key])
        self.owner: dict[int, str] = {}
        self.quantity: dict[int, int] = {}
        self.price: dict[int, Decimal] = {}
        self.rank: dict[int, int] = {}
        self.final: dict[int, OrderState] = {}
        self.refill_owner: dict[int, str] = {}
        self.refill_rank: dict[int, int] = {}
        self.refill_final: dict[int, RefillStatus] = {}

    # --- helpers ----------------------------------------------------------------------------

    def balance(self, key: str) -> Decimal:
        return self.panel.balance(key)[0]

    def snapshot(self, order_id: int) -> tuple[OrderState, Decimal]:
        key = self.owner[order_id]
        return self.panel.status(key, order_id), self.balance(key)

    # --- rules ------------------------------------------------------------------------------

    @rule(
        target=orders,
        key=st.sampled_from(KEYS),
        kind=KINDS,
        # Mostly valid quantities; sometimes at or past a service's limits.
        quantity=st.one_of(st.integers(min_value=50, max_value=3000), st.sampled_from([1, 49, 99, 10_001, 10**6 + 1])),
        lines=st.integers(min_value=1, max_value=14),
        runs=st.integers(min_value=2, max_value=5),
        interval=st.integers(min_value=1, max_value=120),
        link=st.sampled_from(LINKS),
        posts=st.one_of(st.none(), st.integers(min_value=0, max_value=6)),
    )
    def add(self, key: str, kind: str, quantity: int, lines: int, runs: int, interval: int,
            link: str, posts: int | None) -> Any:
        params = {"link": link, "quantity": str(quantity)}
        service, units = kind, quantity
        if kind == "comments":
            service, units = "2", lines
            params = {"link": link, "comments": "\r\n".join(f"c{i}" for i in range(lines)) + "\n\n"}
        elif kind == "package":
            service, units, params = "5", 1, {"link": link}
        elif kind == "subscription":
            # No posts: unlimited (0); posts=0 alone: "old posts only", the posts the panel finds.
            service, units = "18", (OLD_POSTS_FOUND if posts == 0 else posts or 0)
            params = {"username": link, "min": "100", "max": "200", "delay": "5"}
            if posts is not None:
                params["posts"] = str(posts)
        elif kind == "dripfeed":
            service, units = "1", quantity * runs
            params.update(runs=str(runs), interval=str(interval))
        before, count = self.balance(key), len(self.panel.orders)
        try:
            order_id = self.panel.add(key, service, params)
        except PanelError as exc:
            assert exc.code in ADD_ERRORS, exc
            assert self.balance(key) == before and len(self.panel.orders) == count
            return multiple()
        svc = CATALOG.get(int(service))
        expected = (
            ZERO if kind == "subscription" else svc.rate if kind == "package" else cost_of(svc.rate, units)
        )
        state = self.panel.status(key, order_id)
        assert state.charge == expected
        assert state.remains == units and state.status is Status.PENDING
        assert self.balance(key) == before - expected
        self.owner[order_id], self.quantity[order_id], self.price[order_id] = key, units, expected
        self.rank[order_id] = state.status.rank
        return order_id

    def asker(self, order_id: int, own: bool) -> str:
        owner = self.owner[order_id]
        return owner if own else KEYS[1 - KEYS.index(owner)]

    @rule(own=OWN, order_id=orders)
    def cancel(self, own: bool, order_id: int) -> None:
        key = self.asker(order_id, own)
        state, bal = self.snapshot(order_id)
        service = self.panel.find_order(order_id).service
        try:
            self.panel.cancel(key, order_id)
        except PanelError as exc:
            if key != self.owner[order_id]:
                assert exc.code is ErrorCode.INCORRECT_ORDER_ID
            elif not service.cancel:
                assert exc.code is ErrorCode.CANCEL_DISABLED
            else:
                assert exc.code is ErrorCode.CANCEL_NOT_ALLOWED and state.status.final
            assert self.snapshot(order_id) == (state, bal)
            return
        assert key == self.owner[order_id] and service.cancel and not state.status.final
        after = self.panel.status(key, order_id)
        assert after.status.final
        if state.status is Status.PENDING:
            assert (after.status, after.charge, after.remains) == (Status.CANCELED, ZERO, after.remains)

    @rule(own=OWN, order_id=orders, target=refills)
    def refill(self, own: bool, order_id: int) -> Any:
        key = self.asker(order_id, own)
        state, bal = self.snapshot(order_id)
        service = self.panel.find_order(order_id).service
        try:
            refill_id = self.panel.refill(key, order_id)
        except PanelError as exc:
            if key != self.owner[order_id]:
                assert exc.code is ErrorCode.INCORRECT_ORDER_ID
            elif not service.refill:
                assert exc.code is ErrorCode.REFILL_DISABLED
            elif state.status is not Status.COMPLETED:
                assert exc.code is ErrorCode.REFILL_NOT_ALLOWED
            else:
                assert exc.code is ErrorCode.REFILL_ALREADY_ACTIVE
            assert self.snapshot(order_id) == (state, bal)
            return multiple()
        assert key == self.owner[order_id] and service.refill and state.status is Status.COMPLETED
        assert self.snapshot(order_id) == (state, bal)  # a refill is free and changes no order
        self.refill_owner[refill_id] = key
        self.refill_rank[refill_id] = self.panel.refill_status(key, refill_id).rank
        return refill_id

    @rule(
        order_id=orders,
        status=st.sampled_from([None, "Pending", "In progress", "Completed", "Partial", "Canceled"]),
        remains=st.one_of(st.none(), st.integers(min_value=-1, max_value=3001)),
    )
    def force_status(self, order_id: int, status: str | None, remains: int | None) -> None:
        state, bal = self.snapshot(order_id)
        try:
            self.panel.set_order(order_id, status=status, remains=remains)
        except ValueError:
            assert self.snapshot(order_id) == (state, bal)

    @rule(
        order_id=orders,
        status=st.sampled_from(["Completed", "Partial", "Canceled"]),
        remains=st.one_of(st.none(), st.integers(min_value=0, max_value=3000)),
    )
    def plan_outcome(self, order_id: int, status: str, remains: int | None) -> None:
        state, bal = self.snapshot(order_id)
        try:
            self.panel.set_outcome(order_id, status, remains)
        except ValueError:
            pass
        assert self.snapshot(order_id) == (state, bal)  # the present never changes, only the end

    @rule(refill_id=refills, status=st.sampled_from(["Pending", "In progress", "Completed", "Rejected"]))
    def force_refill(self, refill_id: int, status: str) -> None:
        key = self.refill_owner[refill_id]
        before = self.panel.refill_status(key, refill_id)
        try:
            self.panel.set_refill(refill_id, status)
        except ValueError:
            assert self.panel.refill_status(key, refill_id) is before

    @rule(key=st.sampled_from(KEYS), amount=st.sampled_from(["0.01", "0.5", "3", "1000"]))
    def withdraw(self, key: str, amount: str) -> None:
        before = self.balance(key)
        after = self.panel.withdraw(key, amount)
        assert after == max(ZERO, before - Decimal(amount))
        self.withdrawn[key] += before - after

    @rule(order_id=orders, target=refills)
    def refill_when_done(self, order_id: int) -> Any:
        """Move the clock to the moment an order shows its outcome, then ask its refill."""
        done_at = self.panel.find_order(order_id).done_at
        if done_at != float("inf"):
            self.panel.clock.set_time(max(self.panel.clock.now(), done_at))
        return self.refill(True, order_id)

    @rule(seconds=st.sampled_from([0, 1, 15, 60, 120, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400]))
    def advance(self, seconds: int) -> None:
        self.panel.clock.advance(seconds=seconds)

    # --- invariants ---------------------------------------------------------------------------

    @invariant()
    def money_is_exact(self) -> None:
        if self.panel is None:
            return
        for key in KEYS:
            bal = self.balance(key)
            ledger = self.panel.ledger(key)
            by_kind = {kind: sum((e.amount for e in ledger if e.kind == kind), ZERO)
                       for kind in ("deposit", "withdrawal", "charge", "refund")}
            assert bal >= 0
            assert bal == sum((e.signed for e in ledger), ZERO)
            assert bal == by_kind["deposit"] - by_kind["withdrawal"] - by_kind["charge"] + by_kind["refund"]
            assert by_kind["deposit"] == self.deposits[key]
            assert by_kind["withdrawal"] == self.withdrawn[key]
            mine = [o for o, k in self.owner.items() if k == key]
            assert by_kind["charge"] == sum((self.price[o] for o in mine), ZERO)
            shown = sum((self.panel.status(key, o).charge for o in mine), ZERO)
            assert bal == self.deposits[key] - self.withdrawn[key] - shown

    @invariant()
    def orders_only_move_forward(self) -> None:
        if self.panel is None:
            return
        for order_id, key in self.owner.items():
            state = self.panel.status(key, order_id)
            assert 0 <= state.remains <= self.quantity[order_id]
            assert ZERO <= state.charge <= self.price[order_id]
            assert state.status.rank >= self.rank[order_id], (order_id, state)
            self.rank[order_id] = state.status.rank
            if order_id in self.final:
                assert state == self.final[order_id]
            elif state.status.final:
                self.final[order_id] = state
            if state.status is Status.PENDING:
                assert state.start_count == 0 and state.remains == self.quantity[order_id]
            # What the order costs: all of it, less the undelivered share if Partial, nothing if Canceled.
            paid = self.price[order_id]
            if state.status is Status.CANCELED:
                paid = ZERO
            elif state.status is Status.PARTIAL:
                assert 0 < state.remains < self.quantity[order_id]
                paid -= refund_of(paid, state.remains, self.quantity[order_id])
            assert state.charge == paid, (order_id, state)

    @invariant()
    def refills_only_move_forward(self) -> None:
        if self.panel is None:
            return
        for refill_id, key in self.refill_owner.items():
            status = self.panel.refill_status(key, refill_id)
            assert status.rank >= self.refill_rank[refill_id]
            self.refill_rank[refill_id] = status.rank
            if refill_id in self.refill_final:
                assert status is self.refill_final[refill_id]
            elif status.final:
                self.refill_final[refill_id] = status

    @invariant()
    def keys_are_isolated(self) -> None:
        if self.panel is None or not self.owner:
            return
        for key in KEYS:
            theirs = [o for o, k in self.owner.items() if k != key]
            if theirs:
                results = self.panel.statuses(key, theirs[:100])
                assert all(isinstance(r, PanelError) and r.code is ErrorCode.INCORRECT_ORDER_ID for r in results)
            assert {o.id for o in self.panel.keys_orders(key)} == {o for o, k in self.owner.items() if k == key}
            foreign_refills = [r for r, k in self.refill_owner.items() if k != key]
            for refill_id in foreign_refills[:5]:
                try:
                    self.panel.refill_status(key, refill_id)
                except PanelError as exc:
                    assert exc.code is ErrorCode.INCORRECT_REFILL_ID
                else:
                    raise AssertionError(f"key {KEYS.index(key)} saw another key's refill {refill_id}")


PanelMachine.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestPanelProperties = PanelMachine.TestCase
