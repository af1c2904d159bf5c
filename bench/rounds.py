"""The timed runs of ``python -m bench``: each config's load runs, interleaved round by round,
repeated when the machine was disturbed, and (``--paired``) each between two runs of the bare
endpoint, so that its ratio to bare is taken from runs minutes apart at most, not a round apart."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING, Any

from .load import Result, run_load
from .servers import Fleet, loadgen_cpu, machine_cpu

if TYPE_CHECKING:  # pragma: no cover
    from .config import Config


def one_run(args: argparse.Namespace, fleet: Fleet, c: Config, seconds: float, tag: str) -> dict[str, Any]:
    """A bounded load run, repeated (up to ``--retries`` times) if the machine was disturbed.

    Disturbed: the hypervisor stole more than ``--max-steal`` CPU-s per 10 s, or other
    processes (busy CPU minus the server's and the load generator's) used more than
    ``--max-other`` CPU-s per 10 s.
    """
    server = fleet[c.server]
    assert c.workload is not None
    steal_limit = args.max_steal * seconds / 10.0
    other_limit = args.max_other * seconds / 10.0
    for attempt in range(args.retries + 1):
        wait_for_quiet(args.quiet_wait)
        (busy0, steal0), cpu0, gen0 = machine_cpu(), server.cpu_seconds(), loadgen_cpu()
        result: Result = run_load(
            args.loadgen, server.url, c.workload, connections=c.connections or args.connections,
            duration=seconds, threads=args.threads, nonce=f"{tag}a{attempt}",
        )
        (busy1, steal1), cpu1, gen1 = machine_cpu(), server.cpu_seconds(), loadgen_cpu()
        cpu, gen, steal = cpu1 - cpu0, gen1 - gen0, steal1 - steal0
        other = max(0.0, (busy1 - busy0) - cpu - gen)
        noisy = steal > steal_limit or other > other_limit
        if not noisy or attempt == args.retries or tag.startswith("w"):
            break
        print(f"  {c.name}: disturbed (steal {steal:.2f} CPU-s, other processes {other:.2f} CPU-s), "
              "repeating the run", file=sys.stderr)
    row = result.as_dict()
    row.update(
        server_cpu_s=round(cpu, 2), loadgen_cpu_s=round(gen, 2), other_cpu_s=round(other, 2),
        steal_s=round(steal, 2), retries=attempt, noisy=noisy,
        cpu_us_per_req=round(cpu / result.requests * 1e6, 1) if result.requests else None,
    )
    return row


def wait_for_quiet(limit: float, window: float = 0.5, busy: float = 0.25) -> None:
    """Wait (at most ``limit`` s) until the machine is nearly idle: less than ``busy`` CPUs
    in use over ``window``, our own servers being idle between runs."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        (b0, _), t0 = machine_cpu(), time.monotonic()
        time.sleep(window)
        (b1, _), t1 = machine_cpu(), time.monotonic()
        if (b1 - b0) / (t1 - t0) < busy:
            return


def measure(args: argparse.Namespace, fleet: Fleet, configs: list[Config]) -> None:
    def warmup(c: Config) -> float:
        return max(args.warmup, args.peer_warmup) if c.kind == "peer" else args.warmup

    total = sum(args.rounds * args.duration + warmup(c) for c in configs)
    print(f"measuring {len(configs)} configs x {args.rounds} round(s) x {args.duration:g} s "
          f"(+{args.warmup:g} s warm-up each, {args.peer_warmup:g} s for WireMock), about {total / 60:.1f} min ...", file=sys.stderr)
    for c in configs:
        if warmup(c):
            row = one_run(args, fleet, c, warmup(c), "w")
            c.runs.append({**row, "warmup": True, "round": 0})
    bare = next((c for c in configs if c.kind == "bare"), None)
    for r in range(args.rounds):
        # Rotate the order each round, so no config always runs right after the same one.
        rotated = [c for c in configs if not (args.paired and c is bare)]
        order = rotated[r % len(rotated):] + rotated[:r % len(rotated)] if rotated else []
        if args.paired and bare is not None:
            paired_round(args, fleet, bare, order, r + 1)
            continue
        for c in order:
            run(args, fleet, c, f"r{r}", r + 1)


def run(args: argparse.Namespace, fleet: Fleet, c: Config, tag: str, round_no: int) -> dict[str, Any]:
    """One timed run of ``c``, kept in ``c.runs`` and printed."""
    row = {**one_run(args, fleet, c, args.duration, tag), "warmup": False, "round": round_no}
    c.runs.append(row)
    print(f"  round {round_no}: {c.name:<12} {row['rps']:>9,.0f} rps  p99 {row['p99_ms']:7.1f} ms"
          f"  server {row['server_cpu_s']:.1f} / loadgen {row['loadgen_cpu_s']:.1f} / other "
          f"{row['other_cpu_s']:.1f} / steal {row['steal_s']:.1f} CPU-s  errors {row['errors']}",
          file=sys.stderr)
    return row


def paired_round(args: argparse.Namespace, fleet: Fleet, bare: Config, order: list[Config], round_no: int) -> None:
    """bare, c1, bare, c2, ..., bare: each config's run between two runs of the bare endpoint.

    When those two differ by more than ``--max-drift`` of their mean, the machine changed speed
    during the config's run, so its ratio to them says little: the config and the bare run
    after it run again (up to ``--retries`` times), and the run that drifted is set aside
    (``drifted``; kept in the JSON, left out of the medians).
    """
    tag = f"r{round_no - 1}"
    before = run(args, fleet, bare, tag, round_no)["rps"]
    for c in order:
        for attempt in range(args.retries + 1):
            row = run(args, fleet, c, f"{tag}d{attempt}", round_no)
            after = run(args, fleet, bare, f"{tag}d{attempt}", round_no)["rps"]
            mean = (before + after) / 2
            drift = abs(after - before) / mean if mean else 0.0
            row.update(pair_rps=round(mean, 1), bare_drift=round(drift, 3))
            before = after
            if drift <= args.max_drift or attempt == args.retries:
                break
            row["drifted"] = True
            print(f"  {c.name}: bare moved {drift:.0%} across its run (more than --max-drift "
                  f"{args.max_drift:.0%}), repeating the pair", file=sys.stderr)
