"""``python -m bench.restart``: how long a restart takes with a big state file.

Builds a state file holding ``--orders`` orders (default 1,000,000) in its checkpoint and
``--tail`` changes after it (the most a checkpoint leaves to replay, at that size), then:

  checkpoint  writing the first checkpoint of that panel (whole), and one after ``--tail``
              changes (only the chunks that changed: what a running server does, stalling
              this long once every max(10,000, orders / 50) changes)
  load        StateFile.load in this process: open and check the file, read the checkpoint,
              replay the tail
  serve       `mockpanel serve --state FILE` from start until it answers its first request
  an add      what recording a change costs: 5,000 adds in process, without and with a file

The orders are placed for real (``--placed`` of them through Panel.add); the rest repeat
their rows under new ids and links, as a long-running panel's book would hold them.
Bounded: one build, ``--repeat`` timings of each, a 120 s timeout on the server.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from array import array
from pathlib import Path

import httpx

from mockpanel import VirtualClock, build_panel, create_app
from mockpanel._panel.panel import Panel
from mockpanel._persistence import Identity, StateFile

IDENTITY = Identity(seed=0, dialect="standard", catalog="default")
KEY = "bench-restart-key"


def _panel() -> Panel:
    panel = build_panel(clock=VirtualClock(speed=0, start=1_700_000_000), seed=0)
    create_app(panel)
    return panel


def populate(panel: Panel, orders: int, placed: int) -> None:
    """``orders`` orders on one key: ``placed`` placed through add, the rest copies of their rows."""
    panel.create_account(KEY, balance="100000000")
    for i in range(placed):
        panel.add(KEY, "1", {"link": f"https://bench.test/{i}", "quantity": "100"})
    book, account = panel.orders, panel.accounts()[0]
    copies, rest = divmod(orders, placed)
    for name, column in list(vars(book).items()):
        if isinstance(column, array):
            setattr(book, name, column * copies + column[:rest])
    book.links = [f"{link}/{c}" for c in range(copies) for link in book.links] + [f"{old}/x" for old in book.links[:rest]]
    account.order_ids = array("q", range(book.first_id, book.first_id + orders))
    panel.clock.advance(days=30)  # every order has ended


def build(path: Path, orders: int, placed: int, tail: int) -> tuple[float, float]:
    """Write the file; returns the seconds of its first (whole) checkpoint and of a later one."""
    panel = _panel()
    populate(panel, orders, placed)
    state = StateFile(path, IDENTITY, checkpoint_every=10**9)  # the tail stays: its replay is measured
    started = time.perf_counter()
    state.load(panel)  # a new file: its first checkpoint is this panel, written whole
    whole = time.perf_counter() - started
    state.attach(panel)
    for i in range(tail):
        panel.add(KEY, "1", {"link": f"https://bench.test/tail/{i}", "quantity": "100"})
    started = time.perf_counter()
    assert state.checkpoint()  # what a running server does: only the chunks that changed
    later = time.perf_counter() - started
    for i in range(tail):
        panel.add(KEY, "1", {"link": f"https://bench.test/tail2/{i}", "quantity": "100"})
    state._close_quietly()  # as a kill -9 leaves it: no checkpoint at close
    return whole, later


def time_load(path: Path) -> tuple[float, int]:
    panel = _panel()
    state = StateFile(path, IDENTITY, checkpoint_every=10**9)
    started = time.perf_counter()
    replayed = state.load(panel)
    took = time.perf_counter() - started
    state._close_quietly()
    return took, replayed


def time_serve(path: Path) -> float:
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockpanel._cli", "serve", "--port", "0", "--seed", "0", "--speed", "0",
         "--key", KEY, "--state", str(path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        origin = None
        deadline = time.monotonic() + 120
        while origin is None and time.monotonic() < deadline:
            line = proc.stdout.readline() if proc.stdout else ""
            if not line and proc.poll() is not None:
                raise SystemExit("mockpanel serve exited before it served")
            match = re.search(r"API: (http://[^/\s]+)", line)
            origin = match.group(1) if match else None
        if origin is None:
            raise SystemExit("mockpanel serve did not start within 120 s")
        with httpx.Client(timeout=5) as client:
            while time.monotonic() < deadline:
                try:
                    client.post(origin + "/api/v2", data={"key": KEY, "action": "balance"})
                    return time.perf_counter() - started
                except httpx.TransportError:
                    time.sleep(0.01)
        raise SystemExit("mockpanel serve did not answer within 120 s")
    finally:
        proc.kill()  # like a kill -9: the file is as the load left it
        proc.wait(10)
        if proc.stdout:
            proc.stdout.close()


def time_changes(directory: Path, count: int = 5000) -> tuple[float, float]:
    """Microseconds an add takes in process, without and with a state file (its commit)."""
    out = []
    for recorded in (False, True):
        panel = _panel()
        state = None
        if recorded:
            state = StateFile(Path(tempfile.mkdtemp(dir=directory)) / "changes.db", IDENTITY)
            state.load(panel)
            state.attach(panel)
        panel.create_account(KEY, balance="100000000")
        started = time.perf_counter()
        for i in range(count):
            panel.add(KEY, "1", {"link": f"https://bench.test/c/{i}", "quantity": "100"})
        out.append((time.perf_counter() - started) / count * 1e6)
        if state is not None:
            state.close()
    return out[0], out[1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.restart", description=__doc__.splitlines()[0])
    p.add_argument("--orders", type=int, default=1_000_000, help="orders in the state file (default 1000000)")
    p.add_argument("--tail", type=int, help="changes after the checkpoint (default: orders / 50, at least 10000)")
    p.add_argument("--placed", type=int, default=5_000, help="orders placed through add (default 5000)")
    p.add_argument("--repeat", type=int, default=3, help="timings of each (default 3; the best is shown)")
    args = p.parse_args(argv)
    tail = args.tail if args.tail is not None else max(10_000, args.orders // 50)
    with tempfile.TemporaryDirectory(prefix="bench-restart-") as tmp:
        path = Path(tmp) / "state.db"
        print(f"building a state file: {args.orders:,} orders in the checkpoint, {tail:,} changes after it ...", flush=True)
        started = time.perf_counter()
        whole, later = build(path, args.orders, min(args.placed, args.orders), tail)
        size = sum(f.stat().st_size for f in Path(tmp).glob("state.db*"))
        print(f"  built in {time.perf_counter() - started:.1f} s; file {size / 2**20:.1f} MiB")
        loads = [time_load(path) for _ in range(args.repeat)]
        serves = [time_serve(path) for _ in range(args.repeat)]
        changes = [time_changes(Path(tmp)) for _ in range(args.repeat)]
    print(f"checkpoint ({args.orders:,} orders): first, whole: {whole:.2f} s; after {tail:,} changes: {later:.2f} s")
    print(f"load ({args.orders:,} orders + {loads[0][1]:,} changes replayed): {min(t for t, _ in loads):.2f} s")
    print(f"restart: mockpanel serve --state, start to first answer: {min(serves):.2f} s")
    plain, recorded = min(c[0] for c in changes), min(c[1] for c in changes)
    print(f"an add in process: {plain:.0f} µs without a state file, {recorded:.0f} µs with one (its commit)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
