"""Money stays exact under concurrent requests (docs/api-v2.md: money is exact).

Each test fires many requests at once at real servers: two uvicorn servers, each with
its own event loop in its own thread, share one panel, so requests really do race in
the panel (not only interleave on one loop).
"""

from __future__ import annotations

import asyncio
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any, Iterator

import httpx
import pytest

from mockpanel import Panel, ServerThread, VirtualClock, build_panel, create_app, load_dialect
from mockpanel._domain.errors import ErrorCode, PanelError
from mockpanel._domain.money import price

SERVICE = "1"  # Default, refill and cancel allowed
QUANTITY = 100
N = 20  # orders the balance covers exactly
ATTEMPTS = 60
STANDARD = load_dialect("standard")


def message(code: ErrorCode) -> str:
    return STANDARD.message(code, {})


@pytest.fixture(scope="module")
def shared() -> Iterator[tuple[Panel, list[ServerThread]]]:
    """One frozen panel behind two servers for the module; each test uses its own keys."""
    panel = build_panel(clock=VirtualClock(speed=0, start=1_700_000_000), seed=3)
    app = create_app(panel)
    with ServerThread(app) as one, ServerThread(app) as two:
        yield panel, [one, two]


@pytest.fixture
def panel(shared: tuple[Panel, list[ServerThread]]) -> Panel:
    return shared[0]


@pytest.fixture
def servers(shared: tuple[Panel, list[ServerThread]]) -> list[ServerThread]:
    return shared[1]


@pytest.fixture(autouse=True)
def KEY(request: pytest.FixtureRequest) -> str:  # noqa: N802 - reads like the constant it replaces
    """A key of this test's own: accounts are isolated, so tests cannot disturb each other."""
    return f"race-{request.node.name}"


def unit_price(panel: Panel) -> Decimal:
    return price(panel.catalog.get(int(SERVICE)).rate, QUANTITY)


async def _fire(urls: list[str], bodies: list[dict[str, str]]) -> list[Any]:
    """Send every body at once (one connection each), spread over the servers."""
    limits = httpx.Limits(max_connections=len(bodies), max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        start = asyncio.Event()

        async def one(i: int, body: dict[str, str]) -> Any:
            await start.wait()
            r = await client.post(urls[i % len(urls)] + "/api/v2", data=body)
            assert r.status_code == 200, r.text
            return r.json()

        tasks = [asyncio.ensure_future(one(i, b)) for i, b in enumerate(bodies)]
        await asyncio.sleep(0)
        start.set()
        return await asyncio.gather(*tasks)


def fire(servers: list[ServerThread], bodies: list[dict[str, str]]) -> list[Any]:
    return asyncio.run(_fire([s.url for s in servers], bodies))


def ledger_sum(panel: Panel, key: str) -> Decimal:
    return sum((e.signed for e in panel.ledger(key)), Decimal(0))


@pytest.mark.parametrize("extra", [Decimal(0), Decimal("0.05")])
def test_concurrent_adds_never_overspend(panel, servers, KEY, extra):
    each = unit_price(panel)
    panel.create_account(KEY, balance=str(each * N + extra))
    bodies = [
        {"key": KEY, "action": "add", "service": SERVICE, "link": f"https://race.test/{i}", "quantity": str(QUANTITY)}
        for i in range(ATTEMPTS)
    ]
    answers = fire(servers, bodies)
    placed = [a["order"] for a in answers if "order" in a]
    refused = [a for a in answers if "order" not in a]
    assert len(placed) == N
    assert len(set(placed)) == N
    assert refused == [{"error": message(ErrorCode.NOT_ENOUGH_FUNDS)}] * (ATTEMPTS - N)
    balance, _ = panel.balance(KEY)
    assert balance == extra
    assert balance == ledger_sum(panel, KEY)
    assert sorted(panel.account(KEY).order_ids) == sorted(placed)
    # The server says the same.
    with httpx.Client() as client:
        shown = client.post(servers[0].url + "/api/v2", data={"key": KEY, "action": "balance"}).json()
    assert Decimal(shown["balance"]) == extra


def test_concurrent_adds_from_threads_on_the_panel_itself(panel, KEY):
    """Without HTTP: 8 threads call Panel.add at once, with the GIL switching as often as
    it can, over many rounds. Without the panel's lock this overspends in most runs."""
    each = unit_price(panel)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for round_ in range(30):
            key = f"{KEY}-{round_}"
            panel.create_account(key, balance=str(each * N))
            barrier = threading.Barrier(8)
            results: list[Any] = []

            def worker(w: int) -> None:
                barrier.wait()
                for i in range(ATTEMPTS // 8 + 1):
                    try:
                        results.append(panel.add(key, SERVICE, {"link": f"https://t.test/{w}/{i}", "quantity": str(QUANTITY)}))
                    except PanelError as exc:
                        results.append(exc)

            with ThreadPoolExecutor(8) as pool:
                list(pool.map(worker, range(8)))
            orders = [r for r in results if isinstance(r, int)]
            errors = [r for r in results if not isinstance(r, int)]
            assert len(orders) == N, f"round {round_}"
            assert all(e.code is ErrorCode.NOT_ENOUGH_FUNDS for e in errors)
            assert panel.balance(key)[0] == 0 == ledger_sum(panel, key)
    finally:
        sys.setswitchinterval(interval)


def test_concurrent_cancels_of_one_order_refund_once(panel, servers, KEY):
    panel.create_account(KEY, balance="10")
    order = panel.add(KEY, SERVICE, {"link": "https://race.test/cancel", "quantity": str(QUANTITY)})
    charged = panel.balance(KEY)[0]
    answers = fire(servers, [{"key": KEY, "action": "cancel", "orders": str(order)}] * 40)
    outcomes = [a[0]["cancel"] for a in answers]
    assert outcomes.count(1) == 1
    assert [o for o in outcomes if o != 1] == [{"error": message(ErrorCode.CANCEL_NOT_ALLOWED)}] * 39
    refunds = [e for e in panel.ledger(KEY) if e.kind == "refund"]
    assert [(e.order, e.amount) for e in refunds] == [(order, unit_price(panel))]
    assert panel.balance(KEY)[0] == Decimal(10) == charged + unit_price(panel) == ledger_sum(panel, KEY)


def test_concurrent_cancels_of_a_running_order_refund_the_undelivered_part_once(panel, servers, KEY):
    panel.create_account(KEY, balance="10")
    order = panel.add(KEY, SERVICE, {"link": "https://race.test/partial", "quantity": str(QUANTITY)})
    panel.set_order(order, status="In progress", remains=40)  # 60 of 100 delivered
    answers = fire(servers, [{"key": KEY, "action": "cancel", "orders": str(order)}] * 40)
    assert [a[0]["cancel"] for a in answers].count(1) == 1
    refunds = [e for e in panel.ledger(KEY) if e.kind == "refund"]
    assert len(refunds) == 1
    assert refunds[0].amount == unit_price(panel) * 40 / 100
    state = panel.status(KEY, order)
    assert (state.status.value, state.remains) == ("Partial", 40)
    assert panel.balance(KEY)[0] == ledger_sum(panel, KEY)


def test_one_batch_naming_an_order_many_times_cancels_and_refunds_once(panel, servers, KEY):
    panel.create_account(KEY, balance="10")
    order = panel.add(KEY, SERVICE, {"link": "https://race.test/batch", "quantity": str(QUANTITY)})
    [answer] = fire(servers, [{"key": KEY, "action": "cancel", "orders": ",".join([str(order)] * 100)}])
    assert [item["cancel"] for item in answer].count(1) == 1
    assert len([e for e in panel.ledger(KEY) if e.kind == "refund"]) == 1
    assert panel.balance(KEY)[0] == Decimal(10)


def test_concurrent_refills_of_one_order_make_one_refill(panel, servers, KEY):
    panel.create_account(KEY, balance="10")
    order = panel.add(KEY, SERVICE, {"link": "https://race.test/refill", "quantity": str(QUANTITY)})
    panel.set_order(order, status="Completed")
    balance = panel.balance(KEY)[0]
    single = fire(servers, [{"key": KEY, "action": "refill", "order": str(order)}] * 30)
    batch = fire(servers, [{"key": KEY, "action": "refill", "orders": f"{order},{order}"}] * 10)
    made = [a["refill"] for a in single if "refill" in a]
    made += [item["refill"] for a in batch for item in a if not isinstance(item["refill"], dict)]
    assert len(made) == 1
    refused = [{"error": message(ErrorCode.REFILL_ALREADY_ACTIVE)}] * (30 - len([a for a in single if "refill" in a]))
    assert [a for a in single if "refill" not in a] == refused
    assert [r.id for r in panel.refills.values() if r.order_id == order] == [int(made[0])]
    assert panel.balance(KEY)[0] == balance  # a refill is free


def test_adds_on_two_keys_do_not_steal_each_others_money(panel, servers, KEY):
    each = unit_price(panel)
    panel.create_account(KEY + "-a", balance=str(each * 5))
    panel.create_account(KEY + "-b", balance=str(each * 15))
    bodies = [
        {"key": k, "action": "add", "service": SERVICE, "link": f"https://race.test/{k}/{i}", "quantity": str(QUANTITY)}
        for i in range(25) for k in (KEY + "-a", KEY + "-b")
    ]
    answers = fire(servers, bodies)
    a_orders = [x for x, b in zip(answers, bodies) if b["key"] == KEY + "-a" and "order" in x]
    b_orders = [x for x, b in zip(answers, bodies) if b["key"] == KEY + "-b" and "order" in x]
    assert (len(a_orders), len(b_orders)) == (5, 15)
    for k in (KEY + "-a", KEY + "-b"):
        assert panel.balance(k)[0] == 0 == ledger_sum(panel, k)
