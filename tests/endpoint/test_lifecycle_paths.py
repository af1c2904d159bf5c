"""Orders walked through each path of the lifecycle, over HTTP, by a frozen clock.

At every step the test reads status, remains, charge and start_count through the API and
the balance through ``balance``, and checks the balance identity (deposits - charges +
refunds, from the panel's ledger, equals the balance the API reports). Outcomes are chosen
with ``panel.set_outcome``/``set_refill``; every wait is derived from the lifecycle
settings' bounds (the longest Pending, the slowest delivery), so no wait depends on the
seeded draw.
"""

from __future__ import annotations

import json
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from mockpanel import LifecycleSettings, Panel, VirtualClock, build_panel, create_app
from mockpanel._server.inprocess import inprocess_client
from tests.helpers.common import KEY

CATALOG = Path(__file__).resolve().parents[2] / "fixtures" / "catalogs" / "default.json"
SERVICES = {s["service"]: s for s in json.loads(CATALOG.read_text("utf-8"))["services"]}
ERRORS = json.loads((CATALOG.parent.parent / "dialects" / "standard.json").read_text("utf-8"))["errors"]
OPENING = Decimal(100)  # conftest funds KEY with 100 USD
FOLLOWERS = 1  # Default, refill and cancel allowed, drip-feed allowed
SUBSCRIPTION = 18
NO_REFILL = 3


def money(amount: Decimal) -> str:
    """How the standard dialect shows an amount: a string with 5 decimals."""
    return str(amount.quantize(Decimal("0.00001"), rounding=ROUND_HALF_UP))


def price(service: int, quantity: int) -> Decimal:
    return Decimal(SERVICES[service]["rate"]) * quantity / 1000


def refund_share(charge: Decimal, remains: int, quantity: int) -> Decimal:
    """The undelivered share of a charge, rounded down (a refund never exceeds the charge)."""
    return (charge * remains / quantity).quantize(Decimal("0.0000001"), rounding=ROUND_DOWN)


class Api:
    """The API as a client sees it, plus the checks every step makes."""

    def __init__(self, client: httpx.Client, panel: Panel, clock: VirtualClock) -> None:
        self.client, self.panel, self.clock = client, panel, clock
        self.life = panel.settings.lifecycle
        self.links = 0

    def call(self, **fields: Any) -> Any:
        response = self.client.post("/api/v2", data={"key": KEY, **{k: str(v) for k, v in fields.items()}})
        assert response.status_code == 200
        return response.json()

    def add(self, service: int = FOLLOWERS, **fields: Any) -> int:
        """Place an order; a fresh link unless ``link=None`` (subscriptions take none)."""
        self.links += 1
        fields.setdefault("link", f"https://instagram.com/p/life{self.links}")
        if fields["link"] is None:
            del fields["link"]
        answer = self.call(action="add", service=service, **fields)
        assert isinstance(answer.get("order"), int), answer
        return answer["order"]

    def status(self, order: int) -> dict[str, str]:
        return self.call(action="status", order=order)

    def balance(self) -> Decimal:
        answer = self.call(action="balance")
        assert answer["currency"] == "USD"
        ledger = self.panel.ledger(KEY)
        identity = sum((e.amount for e in ledger if e.kind == "deposit"), Decimal(0)) - sum(
            (e.amount for e in ledger if e.kind == "charge"), Decimal(0)
        ) + sum((e.amount for e in ledger if e.kind == "refund"), Decimal(0))
        assert answer["balance"] == money(identity), "balance != deposits - charges + refunds"
        return Decimal(answer["balance"])

    def expect(self, order: int, *, status: str, remains: int, charge: Decimal, balance: Decimal) -> dict[str, str]:
        shown = self.status(order)
        assert (shown["status"], shown["remains"], shown["charge"]) == (status, str(remains), money(charge)), shown
        assert shown["currency"] == "USD" and shown["start_count"].isdigit()
        assert self.balance() == Decimal(money(balance))
        return shown

    # Waits derived from the settings' bounds, never from the seeded draw.
    def past_pending(self) -> None:
        self.clock.advance(seconds=self.life.pending_seconds[1] + 1)

    def delivery_time(self, quantity: int) -> float:
        return quantity / (self.life.units_per_hour[0] / 3600.0) + 1


@pytest.fixture
def api(client: httpx.Client, panel: Panel, clock: VirtualClock) -> Api:
    return Api(client, panel, clock)


# --- orders ------------------------------------------------------------------------------


def test_completed(api: Api) -> None:
    quantity = 1000
    charge = price(FOLLOWERS, quantity)
    order = api.add(quantity=quantity)
    api.panel.set_outcome(order, "Completed")
    shown = api.expect(order, status="Pending", remains=quantity, charge=charge, balance=OPENING - charge)
    assert shown["start_count"] == "0"
    api.past_pending()
    # Delivery is under way (it takes longer than any Pending): remains falls step by step.
    shown = api.status(order)
    api.expect(order, status="In progress", remains=int(shown["remains"]), charge=charge, balance=OPENING - charge)
    remains = [int(shown["remains"])]
    step = api.delivery_time(quantity) / 4
    for _ in range(4):
        api.clock.advance(seconds=step)
        shown = api.status(order)
        assert shown["status"] in ("In progress", "Completed")
        remains.append(int(shown["remains"]))
    assert remains == sorted(remains, reverse=True) and remains[0] > remains[-1]
    api.expect(order, status="Completed", remains=0, charge=charge, balance=OPENING - charge)
    api.clock.advance(days=30)  # a final status stays
    api.expect(order, status="Completed", remains=0, charge=charge, balance=OPENING - charge)


def test_partial_refunds_the_undelivered_share(api: Api) -> None:
    quantity, left = 1000, 300
    charge = price(FOLLOWERS, quantity)
    refund = refund_share(charge, left, quantity)
    order = api.add(quantity=quantity)
    api.panel.set_outcome(order, "Partial", remains=left)
    api.expect(order, status="Pending", remains=quantity, charge=charge, balance=OPENING - charge)
    api.past_pending()
    api.clock.advance(seconds=60)
    shown = api.expect(order, status="In progress", remains=int(api.status(order)["remains"]),
                       charge=charge, balance=OPENING - charge)  # no refund before the end
    assert left < int(shown["remains"]) < quantity
    api.clock.advance(seconds=api.delivery_time(quantity))
    shown = api.expect(order, status="Partial", remains=left, charge=charge - refund, balance=OPENING - charge + refund)
    assert shown["charge"] == "0.63000"  # 0.90 for 1000, 300 undelivered: 0.27 back
    refunds = [e for e in api.panel.ledger(KEY) if e.kind == "refund"]
    assert [(e.order, e.amount) for e in refunds] == [(order, refund)]
    api.clock.advance(days=1)  # refunded once, not again
    api.expect(order, status="Partial", remains=left, charge=charge - refund, balance=OPENING - charge + refund)


def test_canceled_by_the_panel_refunds_all(api: Api) -> None:
    quantity = 500
    charge = price(FOLLOWERS, quantity)
    order = api.add(quantity=quantity)
    api.panel.set_outcome(order, "Canceled")
    api.expect(order, status="Pending", remains=quantity, charge=charge, balance=OPENING - charge)
    api.past_pending()
    shown = api.expect(order, status="Canceled", remains=quantity, charge=Decimal(0), balance=OPENING)
    assert shown["start_count"] == "0"
    api.clock.advance(days=1)
    api.expect(order, status="Canceled", remains=quantity, charge=Decimal(0), balance=OPENING)


def test_canceled_by_the_client_while_pending(api: Api) -> None:
    quantity = 400
    charge = price(FOLLOWERS, quantity)
    order = api.add(quantity=quantity)
    api.expect(order, status="Pending", remains=quantity, charge=charge, balance=OPENING - charge)
    assert api.call(action="cancel", orders=order) == [{"order": order, "cancel": 1}]
    api.expect(order, status="Canceled", remains=quantity, charge=Decimal(0), balance=OPENING)
    api.clock.advance(days=1)  # the plan's own end never comes back
    api.expect(order, status="Canceled", remains=quantity, charge=Decimal(0), balance=OPENING)
    assert api.call(action="cancel", orders=order) == [{"order": order, "cancel": {"error": ERRORS["cancel_not_allowed"]}}]


def test_canceled_by_the_client_while_in_progress_ends_partial(api: Api) -> None:
    quantity = 1000
    charge = price(FOLLOWERS, quantity)
    order = api.add(quantity=quantity)
    api.panel.set_outcome(order, "Completed")
    api.past_pending()
    api.clock.advance(seconds=120)  # at least 120 s of delivery at the slowest speed: some delivered
    left = int(api.status(order)["remains"])
    assert 0 < left < quantity
    assert api.call(action="cancel", orders=order) == [{"order": order, "cancel": 1}]
    refund = refund_share(charge, left, quantity)
    api.expect(order, status="Partial", remains=left, charge=charge - refund, balance=OPENING - charge + refund)
    api.clock.advance(days=1)  # delivery stopped at the cancel
    api.expect(order, status="Partial", remains=left, charge=charge - refund, balance=OPENING - charge + refund)


def test_cancel_is_refused_where_the_service_has_none(api: Api) -> None:
    order = api.add(service=NO_REFILL, quantity=100)  # service 3: no cancel
    charge = price(NO_REFILL, 100)
    assert api.call(action="cancel", orders=order) == [{"order": order, "cancel": {"error": ERRORS["cancel_disabled"]}}]
    api.expect(order, status="Pending", remains=100, charge=charge, balance=OPENING - charge)


# --- refills -----------------------------------------------------------------------------


def completed_order(api: Api, quantity: int = 200) -> int:
    order = api.add(quantity=quantity)
    api.panel.set_outcome(order, "Completed")
    api.past_pending()
    api.clock.advance(seconds=api.delivery_time(quantity))
    assert api.status(order)["status"] == "Completed"
    return order


def walk_refill(api: Api, order: int, end: str) -> int:
    """Pending -> In progress by the clock, then ``end`` (set by the control method)."""
    balance = api.balance()
    answer = api.call(action="refill", order=order)
    refill = int(answer["refill"])  # a string id for a single refill
    assert answer == {"refill": str(refill)}
    assert api.call(action="refill_status", refill=refill) == {"status": "Pending"}
    assert api.call(action="refill", order=order) == {"error": ERRORS["refill_already_active"]}
    api.clock.advance(seconds=api.life.refill_pending_seconds[1] + 1)
    assert api.call(action="refill_status", refill=refill) == {"status": "In progress"}
    api.panel.set_refill(refill, end)
    api.clock.advance(days=1)
    assert api.call(action="refill_status", refill=refill) == {"status": end}
    assert api.call(action="refill_status", refills=refill) == [{"refill": refill, "status": end}]
    # A refill costs nothing and leaves the order as it was.
    assert api.balance() == balance
    assert api.status(order)["status"] == "Completed"
    return refill


def test_refilled(api: Api) -> None:
    order = completed_order(api)
    first = walk_refill(api, order, "Completed")
    second = walk_refill(api, order, "Completed")  # once a refill has ended, another may follow
    assert second > first


def test_refill_rejected(api: Api) -> None:
    walk_refill(api, completed_order(api), "Rejected")


def test_refill_is_refused_before_completion_and_without_the_service_flag(api: Api) -> None:
    pending = api.add(quantity=100)
    assert api.call(action="refill", order=pending) == {"error": ERRORS["refill_not_allowed"]}
    no_refill = api.add(service=NO_REFILL, quantity=100)
    assert api.call(action="refill", order=no_refill) == {"error": ERRORS["refill_disabled"]}
    assert api.call(action="refill", orders=f"{pending},{no_refill}") == [
        {"order": pending, "refill": {"error": ERRORS["refill_not_allowed"]}},
        {"order": no_refill, "refill": {"error": ERRORS["refill_disabled"]}},
    ]
    assert api.panel.refills == {}


@pytest.fixture(params=[("Completed", 0.0), ("Rejected", 1.0)], ids=["completes", "is-rejected"])
def refill_odds(request: pytest.FixtureRequest, clock: VirtualClock) -> Iterator[tuple[Api, str]]:
    """A panel whose refills all end one way: the seeded plan alone decides, by the clock."""
    end, rejected = request.param
    panel = build_panel(clock=clock, seed=7, lifecycle=LifecycleSettings(refill_rejected_weight=rejected))
    panel.create_account(KEY, balance="100")
    with inprocess_client(create_app(panel)) as client:
        yield Api(client, panel, clock), end


def test_refill_ends_by_the_clock_alone(refill_odds: tuple[Api, str]) -> None:
    api, end = refill_odds
    order = completed_order(api)
    refill = int(api.call(action="refill", order=order)["refill"])
    seen = [api.call(action="refill_status", refill=refill)["status"]]
    life = api.life
    longest = life.refill_pending_seconds[1] + life.refill_seconds[1] + 1
    for _ in range(20):
        api.clock.advance(seconds=longest / 20)
        seen.append(api.call(action="refill_status", refill=refill)["status"])
    steps = [s for i, s in enumerate(seen) if i == 0 or s != seen[i - 1]]
    assert steps == ["Pending", "In progress", end]


# --- drip-feed and subscriptions ---------------------------------------------------------


def test_drip_feed_delivers_run_by_run_and_charges_quantity_times_runs(api: Api) -> None:
    per_run, runs, interval = 100, 10, 60  # minutes
    total = per_run * runs
    charge = price(FOLLOWERS, total)
    order = api.add(quantity=per_run, runs=runs, interval=interval)
    api.panel.set_outcome(order, "Completed")
    api.expect(order, status="Pending", remains=total, charge=charge, balance=OPENING - charge)
    assert money(charge) == "0.90000"  # 0.90 per 1000, 100 x 10 runs
    # Any run is delivered within a run's delivery time of the run's start; a run starts
    # every ``interval`` minutes after the (at most the longest Pending) start.
    start = api.life.pending_seconds[1]
    run_done = api.delivery_time(per_run) + 5
    elapsed = 0.0
    for run in range(runs):
        target = start + run * interval * 60 + run_done
        api.clock.advance(seconds=target - elapsed)
        elapsed = target
        delivered = per_run * (run + 1)
        status = "Completed" if run == runs - 1 else "In progress"
        api.expect(order, status=status, remains=total - delivered, charge=charge, balance=OPENING - charge)
        if run < runs - 1:  # nothing more until the next run starts
            api.clock.advance(seconds=1000)
            elapsed += 1000
            api.expect(order, status=status, remains=total - delivered, charge=charge, balance=OPENING - charge)


def test_drip_feed_range_is_checked_on_quantity_times_runs(api: Api) -> None:
    maximum = SERVICES[FOLLOWERS]["max"]
    answer = api.call(action="add", service=FOLLOWERS, link="https://x.test/d", quantity=maximum // 2 + 1, runs=2, interval=5)
    assert answer == {"error": ERRORS["quantity_above_max"].format(max=maximum)}
    assert api.balance() == OPENING


def test_subscription_has_no_link_costs_nothing_and_progresses(api: Api) -> None:
    posts = 3
    order = api.add(SUBSCRIPTION, link=None, username="natgeo", min=100, max=200, delay=30, posts=posts)
    api.expect(order, status="Pending", remains=posts, charge=Decimal(0), balance=OPENING)
    api.past_pending()
    api.expect(order, status="In progress", remains=posts, charge=Decimal(0), balance=OPENING)
    seen = []
    longest_post = api.life.subscription_post_seconds[1]
    for _ in range(posts * 4):
        api.clock.advance(seconds=longest_post / 4 + 1)
        shown = api.status(order)
        assert shown["charge"] == "0.00000"
        seen.append(int(shown["remains"]))
    assert seen == sorted(seen, reverse=True)
    api.expect(order, status="Completed", remains=0, charge=Decimal(0), balance=OPENING)


def test_unlimited_subscription_keeps_running(api: Api) -> None:
    order = api.add(SUBSCRIPTION, link=None, username="natgeo", min=100, max=200, delay=0)
    api.expect(order, status="Pending", remains=0, charge=Decimal(0), balance=OPENING)
    api.past_pending()
    api.clock.advance(days=30)
    api.expect(order, status="In progress", remains=0, charge=Decimal(0), balance=OPENING)
