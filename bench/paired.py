"""``python -m bench.paired``: the whole server's CPU per request, without sockets, side by side.

The HTTP run (``python -m bench``) shares two vCPUs with wrk and whatever else runs on the host, so
one config moves by a third between rounds. ``bench.micro`` calls the app alone. This measures what
sits between the two: uvicorn's HTTP protocol and the app together, fed raw request bytes on 64
in-memory connections (no socket, no load generator), the bare endpoint and the mock's configs
taking turns batch by batch in one process, so noise falls on all of them alike. The mock runs on
``mockpanel serve``'s own protocol and options; the bare endpoint on plain httptools, as in the
HTTP run. What is left out (socket reads and writes, the kernel) costs every server the same.

  python -m bench.paired [--orders 10000] [--actions balance,status,multi] [--loop uvloop]

Prints, per config, microseconds per request (best batch, first quartile, median) and the ratio
to the bare endpoint's of the same statistic.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import Callable, Coroutine
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from mockpanel._server.serving import server_options

from . import workloads
from .apps import BENCH_KEY, bare_app, mock_app

CONNECTIONS = 64


class MemoryTransport(asyncio.Transport):
    """A connection's transport that keeps nothing: what the server writes is dropped."""

    def __init__(self) -> None:
        super().__init__()
        self.written = 0
        self._closing = False

    def write(self, data: Any) -> None:
        self.written += len(data)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8080)}.get(name, default)

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        self._closing = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0


def raw_request(body: str) -> bytes:
    data = body.encode()
    return (b"POST /api/v2 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(data), data))


def config(app: Any, *, as_serve: bool, loop: str) -> uvicorn.Config:
    """The bare endpoint on plain httptools, the mock on ``mockpanel serve``'s options (bench/serve.py)."""
    if as_serve:
        options = server_options(loop=loop, log_level="warning")
    else:
        options = dict(loop=loop, http="httptools", access_log=False, log_level="warning", server_header=False,
                       date_header=False)
    cfg = uvicorn.Config(app, **options)
    cfg.load()
    return cfg


class Config:
    """One config: its server's protocol on CONNECTIONS in-memory connections, and its request bodies."""

    def __init__(self, name: str, cfg: uvicorn.Config, requests: list[bytes]) -> None:
        self.name, self.cfg, self.requests = name, cfg, requests
        self.connections: list[Any] = []
        self.batches: list[float] = []  # microseconds per request, one a batch
        self._next = 0

    def connect(self, loop: asyncio.AbstractEventLoop) -> None:
        state = ServerState()
        for _ in range(CONNECTIONS):
            protocol = self.cfg.http_protocol_class(config=self.cfg, server_state=state, app_state={}, _loop=loop)
            transport = MemoryTransport()
            protocol.connection_made(transport)
            self.connections.append((protocol, transport))

    async def batch(self, rounds: int) -> float:
        """``rounds`` requests on every connection; microseconds per request."""
        requests, n = self.requests, len(self.requests)
        started = time.perf_counter()
        for _ in range(rounds):
            for protocol, _ in self.connections:
                protocol.data_received(requests[self._next % n])
                self._next += 1
            for protocol, transport in self.connections:
                while protocol.cycle is not None and not protocol.cycle.response_complete:
                    await asyncio.sleep(0)
                if transport.is_closing():
                    raise RuntimeError(f"{self.name}: the server closed a connection (an error answer?)")
        return (time.perf_counter() - started) / (rounds * len(self.connections)) * 1e6


def bodies(action: str, first: int, last: int) -> list[bytes]:
    rng = random.Random(1)
    workload = {"balance": lambda: workloads.balance(BENCH_KEY),
                "status": lambda: workloads.status(BENCH_KEY, first, last, rng),
                "multi": lambda: workloads.multi_status(BENCH_KEY, first, last, rng)}[action]()
    return [raw_request(body) for body in workload.bodies]


async def measure(configs: list[Config], rounds: int, batches: int, warmup: int = 2) -> None:
    loop = asyncio.get_running_loop()
    for c in configs:
        c.connect(loop)
    for i in range(batches + warmup):
        for c in configs:  # in turns: a slow moment of the machine falls on every config
            us = await c.batch(rounds)
            if i >= warmup:
                c.batches.append(us)


def report(configs: list[Config]) -> list[str]:
    stats: list[tuple[str, float, float, float]] = []
    for c in configs:
        ordered = sorted(c.batches)
        stats.append((c.name, ordered[0], ordered[len(ordered) // 4], statistics.median(ordered)))
    _, best0, q0, med0 = stats[0]
    lines = [f"{'config':<18}{'best':>8}{'p25':>8}{'median':>8}   vs bare (best / p25 / median)"]
    for name, best, q, med in stats:
        lines.append(f"{name:<18}{best:>8.1f}{q:>8.1f}{med:>8.1f}   {best0 / best:6.0%} {q0 / q:6.0%} {med0 / med:6.0%}")
    return lines


def run(loop: str, main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    if loop == "uvloop":
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(main())
    else:
        asyncio.run(main())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.paired", description=__doc__.split("\n\n")[0])
    p.add_argument("--orders", type=int, default=10_000, help="stored orders (default 10000)")
    p.add_argument("--actions", default="balance,status,multi", help="comma list of balance,status,multi")
    p.add_argument("--loop", default="uvloop", choices=["uvloop", "asyncio"],
                   help="event loop (default uvloop, as `mockpanel serve` picks when installed)")
    p.add_argument("--rounds", type=int, default=10, help="requests per connection in a batch (default 10)")
    p.add_argument("--batches", type=int, default=20, help="timed batches per config (default 20)")
    args = p.parse_args(argv)

    bare, _ = bare_app()
    mock, info = mock_app(orders=args.orders)
    first, last = info["first_order"] or 1, info["last_order"] or 1
    configs = [Config("bare", config(bare, as_serve=False, loop=args.loop), [raw_request("key=x&action=balance")])]
    for action in args.actions.split(","):
        name = action if action == "balance" else f"{action}@{args.orders:,}"
        configs.append(Config(name, config(mock, as_serve=True, loop=args.loop), bodies(action, first, last)))

    async def go() -> None:
        await measure(configs, args.rounds, args.batches)

    run(args.loop, go)
    print(f"{args.orders:,} stored orders; {CONNECTIONS} in-memory connections; microseconds per request, "
          f"{args.batches} batches of {args.rounds} x {CONNECTIONS} requests ({args.loop})")
    print("\n".join(report(configs)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
