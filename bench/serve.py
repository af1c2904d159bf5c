"""One benchmark server process: build an app, bind a free loopback port, run uvicorn.

``python -m bench.serve --app mock --orders 10000 --loop auto``

The mock runs on exactly the uvicorn options of ``mockpanel serve`` (one worker, its own
httptools protocol with bounded heads and a read deadline, no access log, no server or date
header, its collector frozen after start-up); the bare endpoint on plain httptools with the
same logging and headers. The line ``BENCH_READY {json}``
on stdout tells the runner the port and what building the app took.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time

import uvicorn

from mockpanel._server.serving import server, server_options

from .apps import APPS


def uvicorn_config(app: object, loop: str, *, as_serve: bool = False) -> uvicorn.Config:
    """The bare endpoint on plain httptools (the floor); the mock (``as_serve``) on exactly the
    options of `mockpanel serve`, its own HTTP protocol included (_server/protocol.py)."""
    if as_serve:
        return uvicorn.Config(app, **server_options(loop=loop, log_level="warning"))  # type: ignore[arg-type]
    return uvicorn.Config(
        app,  # type: ignore[arg-type]
        loop=loop,
        http="httptools",
        access_log=False,
        log_level="warning",
        server_header=False,
        date_header=False,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.serve")
    parser.add_argument("--app", choices=sorted(APPS), required=True)
    parser.add_argument("--orders", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--loop", default="auto", choices=["auto", "asyncio", "uvloop"])
    parser.add_argument("--no-gc-freeze", action="store_true")
    parser.add_argument("--no-control", action="store_true")
    parser.add_argument("--services", type=int, default=0, help="a generated catalogue of this many services")
    parser.add_argument("--running", type=int, default=0, help="orders still running, placed after --orders")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    app, info = APPS[args.app](
        orders=args.orders, seed=args.seed, gc_freeze=not args.no_gc_freeze, control=not args.no_control,
        services=args.services, running=args.running,
    )
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP
    # (with proto 0 every answer written in two parts waits ~40 ms for a delayed ACK).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    info.update(pid=os.getpid(), port=sock.getsockname()[1], build_seconds=round(time.perf_counter() - started, 3))
    as_serve = args.app == "mock"
    config = uvicorn_config(app, args.loop, as_serve=as_serve)
    served = server(config) if as_serve else uvicorn.Server(config)
    # Ready means listening: the socket is bound now, uvicorn listens on it at once.
    sock.listen(2048)
    print("BENCH_READY " + json.dumps(info), flush=True)
    served.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
