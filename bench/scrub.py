"""``python -m bench.scrub [--keys N] [--requests N]``: what hiding every key of the panel costs what is shown.

A panel of N keys (made-up, 32 hex digits each) and a journal of 10,000 requests: 2,000 adds whose
links each paste another account's key, and 8,000 balances. Measured, best of
several runs: building the scrubber's index of the keys (once per key opened or removed), and
scrubbing a page of 500 orders (GET /_mock/orders?limit=500) and the whole journal (GET /_mock/journal),
against making those answers. No socket: the answers are made and scrubbed as the control API does.
"""

from __future__ import annotations

import argparse
import secrets
import time
import timeit
from typing import Any

from mockpanel import VirtualClock, build_panel, create_app
from mockpanel._control_api.listing import ORDERS, list_orders
from mockpanel._panel.scrub import scrubber
from mockpanel._server.inprocess import inprocess_client

REQUESTS = 10_000  # a fifth of them adds


def _best(fn: Any, repeat: int) -> float:
    return min(timeit.repeat(fn, number=1, repeat=repeat))


def measure(keys: int, repeat: int = 5, requests: int = REQUESTS) -> dict[str, float]:
    """Seconds: the index built, and each answer made and scrubbed."""
    panel = build_panel(clock=VirtualClock(speed=0, start=1_700_000_000), seed=1)
    made = [secrets.token_hex(16) for _ in range(keys)]
    for key in made:
        panel.create_account(key, balance="100")
    app = create_app(panel)
    control = app.state.control
    senders = made[:50]
    with inprocess_client(app) as c:
        for i in range(requests // 5):
            c.post("/api/v2", data={"key": senders[i % len(senders)], "action": "add", "service": "1",
                                    "link": f"https://x.test/{i}?k={made[(i + 1) % keys]}", "quantity": "100"})
        for i in range(requests - requests // 5):
            c.post("/api/v2", data={"key": senders[i % len(senders)], "action": "balance"})

    def build() -> None:
        panel.account_book.changes += 1  # as if a key were opened: the index is built again
        scrubber(panel)

    built = _best(build, repeat)
    hide = scrubber(panel)
    orders = list_orders(panel, ORDERS.parse({"limit": "500"}))
    journal = [e.to_json() for e in control.journal_entries()]
    link = orders["orders"][0]["link"]  # the newest order's, pasting another account's key
    return {
        "index": built,
        "one link (x 1,000)": _best(lambda: [hide.text(link) for _ in range(1000)], repeat),
        "orders page (500)": _best(lambda: list_orders(panel, ORDERS.parse({"limit": "500"})), repeat),
        "orders page (500), scrubbed": _best(lambda: hide.value(orders), repeat),
        f"journal ({len(journal):,})": _best(lambda: [e.to_json() for e in control.journal_entries()], repeat),
        f"journal ({len(journal):,}), scrubbed": _best(lambda: hide.value(journal), repeat),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scrub", description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=10_000, help="accounts on the panel (default 10,000)")
    parser.add_argument("--requests", type=int, default=REQUESTS, help="requests journaled, a fifth of them adds")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each, the best kept")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    for name, seconds in measure(args.keys, args.repeat, args.requests).items():
        print(f"{name:32} {seconds * 1e3:8.1f} ms")
    print(f"({args.keys} keys; {time.perf_counter() - started:.0f} s in all)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
