"""Two configs loaded at once, their servers sharing one CPU (``python -m bench``'s cost figures).

On a VM whose speed changes within seconds, two runs taken one after the other compare poorly,
even side by side. Loaded at the same moment and pinned to the same CPU, two servers get equal
shares of it and whatever the machine's speed does falls on both alike, so the ratio of their
rates is the ratio of their costs per request. The load generators run on the other CPUs.
This is how the cost of a store of 1,000,000 orders is compared with one of 10,000.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .load import Result, run_wrk
from .servers import Fleet

if TYPE_CHECKING:  # pragma: no cover
    from .config import Config


def split_cpus() -> tuple[set[int], set[int]] | None:
    """(the servers' CPU, the load generators' CPUs), or None on a single CPU."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    return {cpus[-1]}, set(cpus[:-1])


def _threads(pid: int) -> list[int]:
    try:
        return [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        return []


@contextmanager
def pinned(pids: list[int], cpus: set[int]) -> Iterator[None]:
    """Every thread of ``pids`` on ``cpus`` for the block; their affinity restored after."""
    saved: dict[int, set[int]] = {}
    try:
        for pid in pids:
            for tid in _threads(pid):
                try:
                    saved[tid] = os.sched_getaffinity(tid)
                    os.sched_setaffinity(tid, cpus)
                except OSError:  # a thread that just ended
                    pass
        yield
    finally:
        for tid, mask in saved.items():
            try:
                os.sched_setaffinity(tid, mask)
            except OSError:
                pass


def shared_runs(args: argparse.Namespace, fleet: Fleet, a: Config, b: Config) -> list[dict[str, Any]]:
    """``--shared-rounds`` runs of ``a`` and ``b`` at once, their servers on one CPU.

    Each row: both rates and ``cost`` = b's cost per request over a's (a's rps / b's rps).
    Empty on a single CPU, with the Python load generator, or with ``--shared-rounds 0``.
    """
    split = split_cpus()
    if split is None or args.loadgen != "wrk" or not args.shared_rounds or a.server == b.server:
        return []
    server_cpu, load_cpus = split
    assert a.workload is not None and b.workload is not None
    rows: list[dict[str, Any]] = []
    with pinned([fleet[a.server].pid, fleet[b.server].pid], server_cpu):
        for r in range(args.shared_rounds):
            results: dict[str, Result] = {}

            def load(c: Config, tag: str, into: dict[str, Result]) -> None:
                assert c.workload is not None
                into[c.name] = run_wrk(fleet[c.server].url, c.workload, connections=c.connections or args.connections,
                                       duration=args.duration, threads=args.threads, nonce=tag, cpus=load_cpus)

            both = [threading.Thread(target=load, args=(c, f"s{r}{i}", results)) for i, c in enumerate((a, b))]
            for t in both:
                t.start()
            for t in both:
                t.join()
            if len(results) < 2:
                raise RuntimeError(f"a shared run of {a.name} and {b.name} failed (see above)")
            ra, rb = results[a.name], results[b.name]
            cost = ra.rps / rb.rps if rb.rps else float("inf")
            rows.append({"round": r + 1, a.name: round(ra.rps, 1), b.name: round(rb.rps, 1), "cost": round(cost, 3),
                         "errors": ra.errors + rb.errors})
            print(f"  shared core {r + 1}: {a.name} {ra.rps:,.0f} rps, {b.name} {rb.rps:,.0f} rps at once: "
                  f"{b.name} costs {cost - 1:+.0%}", file=sys.stderr)
    return rows


def cost_growth(rows: list[dict[str, Any]]) -> float | None:
    """The median over the shared runs of b's cost over a's, minus 1."""
    costs = [r["cost"] for r in rows]
    return round(statistics.median(costs) - 1, 3) if costs else None
