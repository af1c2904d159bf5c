"""The apps under benchmark, built inside their server process (see bench/serve.py).

* ``bare_app``: the reference, a Starlette endpoint answering a constant JSON
  without reading the body: the floor of any Starlette app on this server setup.
  With ``services``, it answers the mock's ``services`` bytes instead (same size on the wire).
* ``mock_app``: the real mock (``build_panel`` + ``create_app``) with one funded key
  and ``orders`` orders placed through the Python API before the server starts
  (and, with ``services``, a generated catalogue of that many services; with ``running``,
  that many more orders still running, placed last: the ones a client polls).

Both get a ``GET /bench/info`` route that reports the process's resident memory and
garbage-collector pauses, so the runner can read them between runs.
"""

from __future__ import annotations

import gc
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mockpanel import VirtualClock, build_panel, create_app
from mockpanel._domain.catalog import Catalog
from mockpanel._panel.panel import Panel
from mockpanel._server.collector import freeze_startup

from .catalogue import generate

BENCH_KEY = "bench-key-0123456789abcdef"
BENCH_SERVICE = 1  # Default type (the seeds' service): link + quantity
BENCH_QUANTITY = 50  # that service's minimum
FUNDS = "1000000000"  # enough for millions of orders at 0.045 each
# Stored orders are spread evenly over this much virtual time before "now", so the
# mix of statuses (nearly all final, the newest few Pending or In progress) is the
# same whatever their number: a 10k and a 1M store differ only in size.
SPREAD_SECONDS = 86_400.0
# Orders still running (``running``): the service's largest quantity, so each is In progress for
# 1.7 to 17 hours; placed over RUNNING_SPREAD seconds, the last RUNNING_AGE seconds before "now"
# (past the longest Pending, 180 s), and listed only when due to end past RUNNING_HORIZON from
# now: no bench run lasts that long, so every order listed is In progress all along.
RUNNING_ORDERS = 1_000  # of the running store (bench/run.py), of which about 800 last past the horizon
RUNNING_QUANTITY = 10_000
RUNNING_SPREAD = 600.0
RUNNING_AGE = 300.0
RUNNING_HORIZON = 7_200.0
CONSTANT = b'{"balance":"100.84292","currency":"USD"}'


def rss_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class GcWatch:
    """Counts collections and their longest pause per generation (gc.callbacks)."""

    def __init__(self) -> None:
        self.count = [0, 0, 0]
        self.total = [0.0, 0.0, 0.0]
        self.longest = [0.0, 0.0, 0.0]
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        gen = info["generation"]
        pause = time.perf_counter() - self._started
        self.count[gen] += 1
        self.total[gen] += pause
        self.longest[gen] = max(self.longest[gen], pause)

    def snapshot(self) -> dict[str, Any]:
        return {
            "collections": list(self.count),
            "total_ms": [round(t * 1e3, 3) for t in self.total],
            "longest_ms": [round(t * 1e3, 3) for t in self.longest],
        }


def populate(panel: Panel, key: str, count: int) -> dict[str, Any]:
    """Place ``count`` orders with distinct links through the Python API; time it.

    The clock is frozen and stepped by SPREAD_SECONDS / count between orders, so
    the store ends at the current time with realistic ages; then due refunds are
    settled once (as the first ``balance`` call would) and the clock runs.
    """
    clock = panel.clock
    step = SPREAD_SECONDS / max(count, 1)
    service = str(BENCH_SERVICE)
    quantity = str(BENCH_QUANTITY)
    add = panel.add
    started = time.perf_counter()
    for i in range(count):
        add(key, service, {"link": f"https://instagram.com/p/bench{i:07d}", "quantity": quantity})
        clock.advance(step)
    placed = time.perf_counter() - started
    panel.balance(key)  # settles the refunds of every Partial or Canceled order at once
    settled = time.perf_counter() - started - placed
    return {"orders": count, "add_seconds": round(placed, 3), "settle_seconds": round(settled, 3)}


def place_running(panel: Panel, key: str, count: int) -> list[int]:
    """Place ``count`` orders that run for hours, over RUNNING_SPREAD virtual seconds, then let
    RUNNING_AGE seconds pass; the ids of those still running past RUNNING_HORIZON from now."""
    clock = panel.clock
    step = RUNNING_SPREAD / max(count, 1)
    placed = []
    for i in range(count):
        placed.append(panel.add(key, str(BENCH_SERVICE), {"link": f"https://instagram.com/p/running{i:07d}",
                                                           "quantity": str(RUNNING_QUANTITY)}))
        clock.advance(step)
    clock.advance(RUNNING_AGE)
    panel.balance(key)  # settles the few canceled while Pending, as the first balance call would
    horizon = clock.now() + RUNNING_HORIZON
    return [i for i in placed if panel.orders[i].done_at > horizon]


def answer_of(app: Any, body: bytes) -> bytes:
    """The body an ASGI app answers to one urlencoded POST /api/v2 (called in-process)."""
    import asyncio

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/api/v2", "raw_path": b"/api/v2", "root_path": "", "query_string": b"", "state": {},
        "headers": [(b"content-type", b"application/x-www-form-urlencoded"), (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8080),
    }
    sent: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            sent.append(message.get("body", b""))

    asyncio.run(app(scope, receive, send))
    return b"".join(sent)


def bare_app(services: int = 0, **_: Any) -> tuple[Starlette, dict[str, Any]]:
    """With ``services``: the constant is the mock's own ``services`` answer for that
    generated catalogue (the same bytes on the wire, none of the work)."""
    constant = CONSTANT
    if services:
        mock, _ = mock_app(services=services)
        constant = answer_of(mock, f"key={BENCH_KEY}&action=services".encode())
        del mock
        gc.collect()

    async def endpoint(request: Request) -> Response:
        return Response(constant, media_type="application/json")

    watch = GcWatch()
    info: dict[str, Any] = {"app": "bare", "answer_bytes": len(constant)}
    routes = [Route("/api/v2", endpoint, methods=["POST"]), _info_route(info, watch)]
    return Starlette(routes=routes), info


def mock_app(
    orders: int = 0, seed: int = 1, gc_freeze: bool = True, control: bool = True, services: int = 0,
    running: int = 0, **_: Any,
) -> tuple[Starlette, dict[str, Any]]:
    """With ``services``: the catalogue is a generated one of that many services (bench/catalogue.py).
    With ``running``: that many orders still running placed after the ``orders`` (``place_running``);
    ``running_orders`` in the info lists those that run for hours yet."""
    lead = (SPREAD_SECONDS if orders else 0.0) + (RUNNING_SPREAD + RUNNING_AGE if running else 0.0)
    start = time.time() - lead if lead else None  # the clock ends at the present once the store is filled
    clock = VirtualClock(speed=0, start=start)
    catalog = Catalog.from_json(generate(services)) if services else None
    panel = build_panel(clock=clock, seed=seed, catalog=catalog)
    account = panel.create_account(BENCH_KEY, balance=FUNDS)
    gc.collect()
    rss_before = rss_bytes()
    started = time.perf_counter()
    stats = populate(panel, BENCH_KEY, orders)
    running_ids = place_running(panel, BENCH_KEY, running) if running else []
    gc.collect()
    rss_after = rss_bytes()
    stats["seconds"] = round(time.perf_counter() - started, 3)  # including the final gc
    clock.set_speed(1.0)
    watch = GcWatch()
    ids = account.order_ids[:orders]  # the store's; the running ones are listed apart
    info: dict[str, Any] = {
        "app": "mock",
        "key": BENCH_KEY,
        "service": BENCH_SERVICE,
        "quantity": BENCH_QUANTITY,
        "first_order": ids[0] if ids else None,
        "last_order": ids[-1] if ids else None,
        "running_orders": running_ids,
        "populate": stats,
        "rss_before_populate": rss_before,
        "rss_after_populate": rss_after,
        "bytes_per_order": round((rss_after - rss_before) / orders, 1) if orders else None,
        "gc_freeze": gc_freeze,
        "control": control,
        "services": len(panel.catalog),
    }
    extra = {} if control else {"control": False}  # the default is the app users get
    app = create_app(panel, extra_routes=[_info_route(info, watch, panel)], **extra)
    if gc_freeze:  # as `mockpanel serve` does (bench --no-gc-freeze: the experiment without it)
        freeze_startup()
    return app, info


def _info_route(info: dict[str, Any], watch: GcWatch, panel: Panel | None = None) -> Route:
    async def endpoint(request: Request) -> Response:
        # Objects the collector tracks: what every gen-2 collection scans.
        live = {**info, "rss": rss_bytes(), "gc": {**watch.snapshot(), "tracked": len(gc.get_objects())}}
        if panel is not None:
            live["stored_orders"] = len(panel.orders)
        return JSONResponse(live)

    return Route("/bench/info", endpoint, methods=["GET"])


APPS = {"bare": bare_app, "mock": mock_app}
