"""``python -m bench.levers``: what each lean-request-path change would save, measured now.

For every change of the lean request path, the CPU the request path spends today on
that piece of work (``now``), and the cost of a minimal stand-in that does the lean
thing (``lean``), in microseconds per request, per action. The stand-ins are not the
implementation: they bound what the change can save (a stand-in that gives a
different answer is refused). The pieces are disjoint, so savings add up:

  form parser    the urlencoded body to fields; lean: split on & and =, unquote only
                 a value with % or + (checked to give the same fields)
  key digest     every SHA-256 of the key on the request path (counted in one real
                 request); lean: one dict lookup of a digest computed once per key
  cached answer  domain + rendering + JSON of an answer that depends only on a
                 version (balance: the ledger; services: the catalogue), less its
                 digests; lean: one dict lookup of the bytes
  final orders   (multi-status) state + rendering + JSON of orders that can no longer
                 change; lean: joining their cached JSON fragments
  journal        recording the request; lean: appending a tuple of references the
                 request already holds (what it shows is worked out when read)
  fault check    the fault middleware's own work with no fault set; lean: one test

``--results`` (default bench/results/latest.json) turns the savings into the ratio to
the bare endpoint they would give in that HTTP run (server CPU per request).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections.abc import Callable
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from mockpanel._domain import accounts
from mockpanel._endpoint.actions import dispatch
from mockpanel._endpoint.api import request_fields
from mockpanel._endpoint.context import SCOPE_KEY, Call
from mockpanel._powers.middleware import FaultMiddleware
from mockpanel._endpoint.params import urlencoded_fields

from . import workloads
from .apps import BENCH_KEY, bare_app, mock_app
from .micro import asgi_cost, best_of
from .servers import REPO

ACTIONS = ("balance", "status", "multi", "services")


def lean_fields(body: bytes) -> dict[str, str]:
    """The lean parser's stand-in: what a form parser for the common case costs."""
    out: dict[str, str] = {}
    for pair in body.decode("utf-8").split("&"):
        if pair:
            name, _, value = pair.partition("=")
            if "%" in value:
                value = value.replace("%2C", ",")  # the batch ids' separator: no need to unquote
            if "%" in value or "+" in value:
                value = unquote_plus(value)
            out[name] = value
    return out


class _Counting:
    """Stands in for ``hashlib`` in mockpanel._domain.accounts: counts SHA-256s."""

    def __init__(self, real: Any) -> None:
        self.real, self.calls = real, 0

    def sha256(self, data: bytes) -> Any:
        self.calls += 1
        return self.real.sha256(data)


def digests_per_request(app: Any, body: bytes) -> int:
    real = accounts.hashlib
    counter = _Counting(real)
    accounts.hashlib = counter  # type: ignore[assignment]
    try:
        asgi_cost(app, body, 1, 1)
    finally:
        accounts.hashlib = real
    return counter.calls


class _NoEndpoint:
    """An endpoint that does nothing: what is left of the fault middleware is its own work."""

    def __init__(self, max_body: int) -> None:
        self.max_body = max_body

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        return None


def fault_check_cost(control: Any, max_body: int, body: bytes, number: int, repeat: int) -> float:
    """Seconds per request of FaultMiddleware around a no-op endpoint, less reading the fields."""
    middleware = FaultMiddleware(_NoEndpoint(max_body), control)  # type: ignore[arg-type]
    scope = {"type": "http", "method": "POST", "query_string": b"",
             "headers": [(b"content-type", b"application/x-www-form-urlencoded")]}
    message = {"type": "http.request", "body": body, "more_body": False}

    async def receive() -> dict[str, Any]:
        return message

    async def timed(fn: Callable[[], Any]) -> float:
        best = float("inf")
        for _ in range(repeat):
            started = time.perf_counter()
            for _ in range(number):
                await fn()
            best = min(best, (time.perf_counter() - started) / number)
        return best

    async def both() -> float:
        whole = await timed(lambda: middleware(dict(scope), receive, None))
        fields = await timed(lambda: request_fields(dict(scope), receive, max_body))
        return max(0.0, whole - fields)

    return asyncio.run(both())


def measure(action: str, app: Any, body: bytes, number: int, repeat: int) -> dict[str, Any]:
    panel, dialect, control = app.state.panel, app.state.dialect, app.state.control
    api = app.state.api
    n = max(20, number // 20) if action in ("multi", "services") else number
    if action == "services":
        n = max(5, number // 200)
    levers: dict[str, tuple[float, float]] = {}

    fields = urlencoded_fields(body)
    if lean_fields(body) != fields:
        raise RuntimeError(f"the lean parser's stand-in reads {action}'s body differently: not a valid bound")
    levers["form parser"] = (best_of(lambda: urlencoded_fields(body), n, repeat), best_of(lambda: lean_fields(body), n, repeat))

    digests = digests_per_request(app, body)
    one = best_of(lambda: accounts.key_digest(BENCH_KEY), number, repeat)
    memo = {BENCH_KEY: accounts.key_digest(BENCH_KEY)}
    levers["key digest"] = (digests * one, best_of(lambda: memo.get(BENCH_KEY), number, repeat))

    answer = dispatch(panel, dialect, fields)
    encoded = api_encode(dialect, answer)
    in_dispatch = digests_per_request_dispatch(panel, dialect, fields)
    work = best_of(lambda: api_encode(dialect, dispatch(panel, dialect, fields)), n, repeat) - in_dispatch * one
    if action in ("balance", "services"):
        cache = {(7, 1): encoded}
        levers["cached answer"] = (work, best_of(lambda: cache.get((7, 1)), number, repeat))
    elif action == "multi":
        levers["final orders"] = (work, final_orders_lean(panel, fields["orders"], answer, n, repeat))

    if control is not None:
        scope = {SCOPE_KEY: Call(fields, time.perf_counter(), body=encoded)}
        journal = control.journal
        levers["journal"] = (best_of(lambda: journal.record(scope, fields, answer, 200, 0.0), n, repeat),
                             lean_journal_cost(fields, encoded, number, repeat))
        levers["fault check"] = (fault_check_cost(control, api.max_body, body, n, repeat * 3), 0.05e-6)
    total = asgi_cost(app, body, n, repeat)
    return {"action": action, "asgi_us": total * 1e6, "digests": digests,
            "levers": {k: (a * 1e6, b * 1e6) for k, (a, b) in levers.items()}}


def api_encode(dialect: Any, payload: Any) -> bytes:
    from mockpanel._dialects.render import encode

    return encode(dialect, payload)


def digests_per_request_dispatch(panel: Any, dialect: Any, fields: dict[str, str]) -> int:
    real = accounts.hashlib
    counter = _Counting(real)
    accounts.hashlib = counter  # type: ignore[assignment]
    try:
        dispatch(panel, dialect, fields)
    finally:
        accounts.hashlib = real
    return counter.calls


def final_orders_lean(panel: Any, orders: str, answer: Any, number: int, repeat: int) -> float:
    """What stays when final orders' entries are cached: per id, parse it, find its row,
    check its owner, take its cached fragment; then one join."""
    import orjson

    book = panel.orders
    owner = book.account_ix[book.row(int(next(iter(answer))))]
    fragments = {int(k): orjson.dumps(k) + b":" + orjson.dumps(v) for k, v in answer.items()}

    def lean() -> bytes:
        row_of, account_ix, get = book.row, book.account_ix, fragments.get
        parts = []
        for token in orders.split(","):
            order_id = int(token)
            row = row_of(order_id)
            if row < 0 or account_ix[row] != owner:
                raise AssertionError("the stand-in must read the same orders")
            parts.append(get(order_id))
        return b"{" + b",".join(parts) + b"}"  # type: ignore[arg-type]

    return best_of(lean, number, repeat)


def lean_journal_cost(fields: dict[str, str], body: bytes, number: int, repeat: int) -> float:
    from collections import deque

    rows: deque[tuple[Any, ...]] = deque(maxlen=10_000)
    seq = count(1)
    now = time.monotonic
    return best_of(lambda: rows.append((next(seq), now(), fields, body, 200)), number, repeat)


def http_cpu(results: Path) -> dict[str, float]:
    """Server CPU µs per request of each config in a bench results JSON."""
    try:
        report = json.loads(results.read_text())
    except (OSError, ValueError):
        return {}
    return {r["config"]: r["cpu_us_per_req"] for r in report.get("results", []) if r.get("cpu_us_per_req")}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.levers", description=__doc__.split("\n\n")[0])
    p.add_argument("--orders", type=int, default=10_000, help="stored orders (default 10000)")
    p.add_argument("--services", type=int, default=5000, help="services of the catalogue for `services` (default 5000)")
    p.add_argument("--number", type=int, default=2000, help="calls per repeat (default 2000)")
    p.add_argument("--repeat", type=int, default=5, help="repeats, best kept (default 5)")
    p.add_argument("--results", type=Path, default=REPO / "bench" / "results" / "latest.json",
                   help="an HTTP run's results, to project the ratios to bare (default bench/results/latest.json)")
    args = p.parse_args(argv)

    app, info = mock_app(orders=args.orders)
    catalogue_app, _ = mock_app(services=args.services)
    rng = random.Random(1)
    first, last = info["first_order"], info["last_order"]
    bodies = {
        "balance": (app, workloads.balance(BENCH_KEY).bodies[0]),
        "status": (app, workloads.status(BENCH_KEY, first, last, rng).bodies[0]),
        "multi": (app, workloads.multi_status(BENCH_KEY, first, last, rng).bodies[0]),
        "services": (catalogue_app, workloads.services(BENCH_KEY).bodies[0]),
    }
    bare, _ = bare_app()
    bare_us = asgi_cost(bare, bodies["balance"][1].encode(), args.number, args.repeat) * 1e6
    rows = [measure(a, target, text.encode(), args.number, args.repeat) for a, (target, text) in bodies.items()]
    print(render(rows, bare_us, http_cpu(args.results), args))
    return 0


def render(rows: list[dict[str, Any]], bare_us: float, cpu: dict[str, float], args: argparse.Namespace) -> str:
    names = ["form parser", "key digest", "cached answer", "final orders", "journal", "fault check"]
    head = "".join(f"{r['action']:>20}" for r in rows)
    lines = [
        f"µs per request, in-process (best of {args.repeat}); now -> lean = saving. "
        f"Bare ASGI app: {bare_us:.1f} µs; {args.orders:,} orders, {args.services:,} services",
        f"{'lever':<16}{head}",
    ]
    for name in names:
        cells = []
        for r in rows:
            pair = r["levers"].get(name)
            cells.append(f"{pair[0]:>7.1f} ->{pair[1]:>5.1f} ={pair[0] - pair[1]:>5.0f}" if pair else f"{'-':>20}")
        label = name + (f" x{rows[0]['digests']}" if name == "key digest" else "")
        lines.append(f"{label:<16}" + "".join(f"{c:>20}" for c in cells))
    saved = {r["action"]: sum(a - b for a, b in r["levers"].values()) for r in rows}
    lines.append(f"{'saving, total':<16}" + "".join(f"{saved[r['action']]:>20.0f}" for r in rows))
    lines.append(f"{'asgi now':<16}" + "".join(f"{r['asgi_us']:>20.1f}" for r in rows))
    lines.append(f"{'asgi lean':<16}" + "".join(f"{max(r['asgi_us'] - saved[r['action']], 0.1):>20.1f}" for r in rows))
    digests = ", ".join(f"{r['action']} {r['digests']}" for r in rows)
    lines.append(f"SHA-256s of the key per request: {digests}")
    configs = {"balance": "balance", "status": "status@10k", "multi": "multi@1M", "services": "services@5k"}
    if cpu.get("bare"):
        # In-process and HTTP costs differ (contention, caches): scale each saving by the
        # HTTP run's mock-only CPU (config - bare) over the in-process one (asgi - bare app).
        lines.append(f"projected for {args.results} (server CPU µs/request, cpu vs bare; savings scaled "
                     "by the HTTP run's mock-only CPU over the in-process one):")
        for r in rows:
            now = cpu.get(configs[r["action"]]) or cpu.get(configs[r["action"]].split("@")[0] + "@100k")
            if now and r["asgi_us"] > bare_us:
                scale = max(now - cpu["bare"], 0.0) / (r["asgi_us"] - bare_us)
                lean = max(now - saved[r["action"]] * scale, cpu["bare"])
                lines.append(f"  {configs[r['action']]:<12} now {now:>8.0f} ({cpu['bare'] / now:4.0%})  "
                             f"lean {lean:>8.0f} ({cpu['bare'] / lean:4.0%})  scale {scale:.2f}")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
