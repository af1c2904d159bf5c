"""Screenshots of the dashboard (headless Chromium): an empty panel, a busy one with
1,000 orders, and a failing request in the journal, each at 1280 px and at 400 px.

    python -m bench.ui_shots [OUTDIR]      # default docs/

Needs selenium and Debian's chromium + chromium-driver.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import httpx

from mockpanel import ServerThread, build_panel, create_app
from mockpanel._domain.clock import VirtualClock
from tests.helpers.browser import chromium

KEY, OTHER, THIRD = "shot-key-1", "shot-key-2", "shot-key-3"
WIDTHS = {"wide": (1280, 900), "narrow": (400, 860)}


def busy(app, http, url: str) -> None:  # noqa: ARG001
    panel = app.state.panel
    for key in (OTHER, THIRD):
        panel.create_account(key, balance="500")
    links = ["https://instagram.com/p/Cx{}", "https://www.tiktok.com/@shop{}", "https://youtu.be/v{}", "https://t.me/chan{}"]
    services = [s.id for s in panel.catalog if s.type.name == "Default"]
    keys = (KEY, OTHER, THIRD)
    for n in range(1000):
        key = keys[n % 3]
        panel.add(key, services[n % len(services)], {"link": links[n % 4].format(n), "quantity": str(100 + (n % 7) * 50)})
        if n % 97 == 0:
            panel.clock.advance(seconds=600)
    for n in range(12):  # some traffic in the journal
        http.post(url, data={"key": KEY, "action": "status", "orders": ",".join(str(10001 + n * 3 + i) for i in range(3))})
    http.post(url, data={"key": KEY, "action": "balance"})
    panel.clock.advance(seconds=150)  # the newest orders start
    done = [o for o in panel.keys_orders(KEY) if o.service.refill and o.state(panel.clock.now()).status.value == "Completed"]
    for order in done[:3]:
        panel.refill(KEY, order.id)
    app.state.control.add_fault({"kind": "latency", "seconds": 1, "action": "status", "probability": 0.1})


def failing(app, http, url: str) -> threading.Thread:
    control = app.state.control
    http.post(url, data={"key": KEY, "action": "add", "service": "1", "link": "https://instagram.com/p/ok", "quantity": "100"})
    control.add_fault({"kind": "http", "status": 502, "action": "add", "count": 1})
    http.post(url, data={"key": KEY, "action": "add", "service": "1", "link": "https://instagram.com/p/retry", "quantity": "100"})
    http.post(url, data={"key": KEY, "action": "add", "service": "1", "link": "https://instagram.com/p/retry", "quantity": "100"})
    http.post(url, data={"key": "wrong-key", "action": "balance"})
    control.add_fault({"kind": "latency", "seconds": 20, "action": "status", "count": 1})
    fields = {"key": KEY, "action": "status", "order": "10001"}
    slow = threading.Thread(target=httpx.post, args=(url,), kwargs={"data": fields, "timeout": 60})
    slow.start()  # still waiting while the screenshots are taken: the journal shows it delayed
    return slow


def shoot(base: str, out: Path, name: str) -> list[Path]:
    made = []
    for label, (width, height) in WIDTHS.items():
        with chromium(width, height) as driver:
            driver.get(base + "/_mock/ui")
            time.sleep(1.5)  # one live refresh
            full = driver.execute_script("return document.documentElement.scrollHeight")
            driver.set_window_size(width, min(max(height, full + 20), 2600))
            time.sleep(0.3)
            path = out / ("dashboard.png" if (name, label) == ("busy", "wide") else f"dashboard-{name}-{label}.png")
            driver.save_screenshot(str(path))
            made.append(path)
    return made


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, fill in (("empty", None), ("busy", busy), ("failing", failing)):
        panel = build_panel(seed=3, clock=VirtualClock(speed=0, start=1_764_576_000))
        panel.create_account(KEY, balance="250")
        app = create_app(panel)
        app.state.control.remember_opening()
        with ServerThread(app) as server, httpx.Client(timeout=10) as http:
            waiting = fill(app, http, server.url + "/api/v2") if fill is not None else None
            for path in shoot(server.url, out, name):
                print(path)
            if waiting is not None:
                waiting.join(30)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs"))
