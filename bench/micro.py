"""``python -m bench.micro``: per-request CPU cost of each layer, without sockets.

The HTTP benchmark (``python -m bench``) says how far the mock is from a bare
endpoint; this says where the microseconds go. Each app is called as ASGI with a
pre-built scope and body (no network, no load generator, no other process), the
best of several repeats is kept, so it is steady even on a busy machine:

  asgi        the whole app (Starlette, middleware, fields, dispatch, JSON, journal)
  fields      parsing the urlencoded body into fields (_endpoint/params.py)
  answer      the action: domain, rendering and JSON bytes, from the cached answers where
              they apply (_endpoint/actions.py, ``Answers``)
  journal     recording the request (the control API's journal), when the app has one

The ``add`` row places real orders (a distinct link every call, as ``python -m bench`` sends
them, percent-encoded), so the store grows by ``number`` x ``repeat`` orders per column.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Callable
from typing import Any

from mockpanel._endpoint.params import urlencoded_fields

from . import workloads
from .apps import BENCH_KEY, RUNNING_ORDERS, bare_app, mock_app
from .load import UNIQUE


def best_of(fn: Callable[[], Any], number: int, repeat: int) -> float:
    """Best mean seconds per call over ``repeat`` batches of ``number`` calls."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - started) / number)
    return best


def best_of_each(fn: Callable[[bytes], Any], bodies: Distinct, number: int, repeat: int) -> float:
    """``best_of`` for a call that needs a new body every time (made before each batch is timed)."""
    best = float("inf")
    for _ in range(repeat):
        batch = bodies.batch(number)
        started = time.perf_counter()
        for body in batch:
            fn(body)
        best = min(best, (time.perf_counter() - started) / number)
    return best


def request_scope(body: bytes) -> dict[str, Any]:
    """The scope uvicorn makes for a urlencoded POST /api/v2 of ``body``."""
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/api/v2", "raw_path": b"/api/v2", "root_path": "", "query_string": b"",
        "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/x-www-form-urlencoded"),
                    (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8080), "state": {},
    }


class Distinct:
    """Bodies made from one with ``UNIQUE`` in it, each with its own token (an add's distinct links)."""

    def __init__(self, body: str, tag: str) -> None:
        self.body, self.tag, self.n = body, tag, 0

    def batch(self, number: int) -> list[bytes]:
        start, self.n = self.n, self.n + number
        return [self.body.replace(UNIQUE, f"{self.tag}{i:08d}").encode() for i in range(start, start + number)]


def asgi_cost(app: Any, body: bytes | Distinct, number: int, repeat: int) -> float:
    """Best mean seconds per request of ``app`` over ``repeat`` batches of ``number`` (a ``Distinct``
    body: a new one every request, made before each batch is timed)."""
    first = body.batch(1)[0] if isinstance(body, Distinct) else body
    template = request_scope(first)
    message = {"type": "http.request", "body": first, "more_body": False}

    async def receive() -> dict[str, Any]:
        return message

    async def send(message: dict[str, Any]) -> None:
        pass

    async def batch() -> float:
        bodies = body.batch(number) if isinstance(body, Distinct) else [first] * number
        started = time.perf_counter()
        for one in bodies:
            message["body"] = one
            await app(dict(template), receive, send)
        return (time.perf_counter() - started) / number

    async def run() -> float:
        return min([await batch() for _ in range(repeat)])

    return asyncio.run(run())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.micro", description=__doc__.split("\n\n")[0])
    p.add_argument("--orders", type=int, default=10_000, help="stored orders (default 10000)")
    p.add_argument("--number", type=int, default=2000, help="calls per repeat (default 2000)")
    p.add_argument("--repeat", type=int, default=5, help="repeats, best kept (default 5)")
    p.add_argument("--no-control", action="store_true", help="the mock without its control API and journal")
    args = p.parse_args(argv)

    bare, _ = bare_app()
    app, info = mock_app(orders=args.orders, control=not args.no_control, running=RUNNING_ORDERS)
    dialect = app.state.dialect
    control = getattr(app.state, "control", None)
    journal = getattr(control, "journal", None)
    first, last = info["first_order"], info["last_order"]
    rng = random.Random(1)
    bodies = {
        "balance": workloads.balance(BENCH_KEY).bodies[0],
        "status": workloads.status(BENCH_KEY, first, last, rng).bodies[0],
        "multi": workloads.multi_status(BENCH_KEY, first, last, rng).bodies[0],
        "running": workloads.running_status(BENCH_KEY, info["running_orders"], rng).bodies[0],
    }
    n, r = args.number, args.repeat
    bare_us = asgi_cost(bare, bodies["balance"].encode(), n, r) * 1e6
    print(f"{args.orders:,} stored orders; microseconds per request (best of {r} x {n}); bare ASGI app: {bare_us:.1f}")
    print(f"{'action':<9}{'asgi':>8}{'vs bare':>9}{'fields':>9}{'answer':>10}{'journal':>9}{'rest':>7}")
    answers = app.state.api.answers
    for name, text in bodies.items():
        body = text.encode()
        m = max(10, n // 10) if name in ("multi", "running") else n
        total = asgi_cost(app, body, m, r) * 1e6
        fields = urlencoded_fields(body)
        t_fields = best_of(lambda b=body: urlencoded_fields(b), m, r) * 1e6
        t_answer = best_of(lambda f=fields: answers.answer(dialect, f), m, r) * 1e6
        payload, encoded = answers.answer(dialect, fields)
        t_journal = 0.0
        if journal is not None:  # as the hot path records it: the body and headers as sent, the answer's bytes
            scope = request_scope(body)
            t_journal = best_of(lambda b=body, e=encoded, s=scope: journal.record_form(b, e, 200, 0.0, s, BENCH_KEY),
                                m, r) * 1e6
        rest = total - t_fields - t_answer - t_journal
        print(f"{name:<9}{total:>8.1f}{bare_us / total:>9.0%}{t_fields:>9.1f}{t_answer:>10.1f}"
              f"{t_journal:>9.1f}{rest:>7.1f}")
    # An add: a new order each call (a distinct link), its body as clients encode it.
    add = workloads.add(BENCH_KEY).bodies[0]
    total = asgi_cost(app, Distinct(add, "asgi"), n, r) * 1e6
    t_fields = best_of_each(urlencoded_fields, Distinct(add, "fields"), n, r) * 1e6
    t_answer = best_of_each(lambda b: answers.answer(dialect, urlencoded_fields(b)), Distinct(add, "answer"), n, r) * 1e6
    t_answer -= t_fields
    t_journal = 0.0
    if journal is not None:
        body = Distinct(add, "journal").batch(1)[0]
        payload, encoded = answers.answer(dialect, urlencoded_fields(body))
        scope = request_scope(body)
        t_journal = best_of(lambda: journal.record_form(body, encoded, 200, 0.0, scope, BENCH_KEY), n, r) * 1e6
    print(f"{'add':<9}{total:>8.1f}{bare_us / total:>9.0%}{t_fields:>9.1f}{t_answer:>10.1f}"
          f"{t_journal:>9.1f}{total - t_fields - t_answer - t_journal:>7.1f}")
    print("rest = Starlette routing, middleware, ASGI messages (the bare app pays most of it too)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
