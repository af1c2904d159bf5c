"""The dashboard with 100,000 orders stored: the page's first paint (time to first byte and
the whole HTML) and each page of the order list (HTML page, live sections, GET /_mock/orders),
over a real socket (uvicorn on loopback). Goal: each under 200 ms. Also the journal's memory
under 1 MiB requests (its byte bound at work).

    python -m bench.ui [--orders 100000] [--pages 10]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import time
import tracemalloc
from urllib.parse import urlsplit

import httpx

from mockpanel import ServerThread, build_panel, create_app
from mockpanel._domain.clock import VirtualClock
from mockpanel._powers.journal import JOURNAL_BYTES, Journal

KEYS = ("bench-ui-1", "bench-ui-2", "bench-ui-3")


def fill(orders: int) -> object:
    panel = build_panel(seed=5, clock=VirtualClock(speed=0, start=1_764_576_000))
    for key in KEYS:
        panel.create_account(key, balance="1000000")
    services = [s.id for s in panel.catalog if s.type.name == "Default"]
    for n in range(orders):
        panel.add(KEYS[n % 3], services[n % len(services)], {"link": f"https://instagram.com/p/b{n}", "quantity": "100"})
        if n % 5000 == 4999:
            panel.clock.advance(seconds=1800)  # a mix of statuses
    return panel


def first_byte(url: str) -> tuple[float, float]:
    """(time to the first byte, time to the whole body), seconds, over a fresh connection."""
    parts = urlsplit(url)
    started = time.perf_counter()
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n".encode())
        chunk = sock.recv(65536)
        ttfb = time.perf_counter() - started
        while chunk:
            chunk = sock.recv(65536)
    return ttfb, time.perf_counter() - started


def timed(http: httpx.Client, url: str) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = http.get(url)
    response.raise_for_status()
    return time.perf_counter() - started, response


def journal_memory(requests: int = 200, size: int = 1 << 20) -> tuple[float, int]:
    """MiB the journal holds after ``requests`` 1 MiB requests (each one field of ``size`` bytes)."""
    tracemalloc.start()
    journal = Journal(lambda: 0.0)
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(requests):
        journal.record({}, {"key": "not-a-key", "action": "add", "link": "x" * size}, {"error": "Invalid API key"}, 200, 0.0)
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return held / 2**20, len(journal)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--pages", type=int, default=10)
    args = parser.parse_args()
    started = time.perf_counter()
    panel = fill(args.orders)
    print(f"{args.orders} orders stored in {time.perf_counter() - started:.1f} s")
    app = create_app(panel)
    with ServerThread(app) as server, httpx.Client(timeout=30) as http:
        ui = server.url + "/_mock/ui"
        http.get(ui)  # the first requests import Jinja2 and compile the templates: not the steady state
        http.get(ui + "/live")
        paints = [first_byte(ui) for _ in range(5)]
        print(f"first paint  ttfb median {statistics.median(p[0] for p in paints) * 1000:6.1f} ms"
              f"  full HTML median {statistics.median(p[1] for p in paints) * 1000:6.1f} ms"
              f"  (worst {max(p[1] for p in paints) * 1000:.1f} ms)")
        for label, query in (("all", ""), ("status=Completed", "status=Completed&"), ("key", f"key={KEYS[1]}&"),
                             ("service=3", "service=3&")):
            html, live, api = [], [], []
            before = None
            for _ in range(args.pages):
                cursor = f"before={before}" if before else ""
                t, _r = timed(http, f"{ui}?{query}{cursor}")
                html.append(t)
                t, _r = timed(http, f"{ui}/live?{query}{cursor}")
                live.append(t)
                t, r = timed(http, f"{server.url}/_mock/orders?{query}{cursor}")
                api.append(t)
                before = r.json()["older"]
                if before is None:
                    break
            print(f"pages of {label:<17} ({len(html)} pages)  HTML max {max(html) * 1000:6.1f} ms"
                  f"  live max {max(live) * 1000:6.1f} ms  GET /_mock/orders max {max(api) * 1000:6.1f} ms")
    held, kept = journal_memory()
    print(f"journal after 200 requests of 1 MiB: {held:.1f} MiB held, {kept} entries kept (bound {JOURNAL_BYTES >> 20} MiB)")


if __name__ == "__main__":
    main()
