"""``python -m bench``: the mock against a bare Starlette endpoint, interleaved, in one run.

Servers (each a uvicorn subprocess on the same settings, see bench/serve.py):
  bare   the reference: constant JSON, body never read
  small  the mock with ``--orders-small`` stored orders: balance, status, multi-status
  add    the mock with ``--orders-small`` stored orders: add (every link distinct)
  running  the mock with ``--orders-small`` stored orders and 1,000 more still running: multi-status
         of running orders
  large  the mock with ``--orders-large`` stored orders: status, multi-status, memory
  catalog / bare-catalog   the mock with a generated ``--services`` catalogue, and a bare
         endpoint answering the same bytes: services
  wiremock / wiremock-nojournal   the peer, a WireMock stub of bare's answer (bench/peers.py)

Every config gets a warm-up, then ``--rounds`` runs of ``--duration`` seconds,
round-robin across configs so that drift on a noisy VM hits all of them alike.
A run during which the hypervisor stole too much CPU is repeated (``--max-steal``), and so is a
run across which bare's own rate moved too much (``--max-drift``). The small and the large store
are then loaded at once on one CPU, for their costs (bench/shared.py).
Tables show the median of the rounds; the ratio to ``bare`` is the figure that matters.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

from . import client_side, peers, workloads
from .apps import BENCH_KEY, RUNNING_ORDERS
from .load import LoadError, median, wrk_path
from .servers import REPO, Fleet, Server
from .report import machine, render, source
from .rounds import measure, one_run
from .shared import shared_runs
from .targets import load_baseline, targets
from .config import Config

PARTS = ("balance", "add", "status", "multi", "running", "large", "services", "peers", "client")
DEFAULT_JSON = REPO / "bench" / "results" / "latest.json"
SERVICES_CONNECTIONS = 4
BASELINE = REPO / "bench" / "baseline.json"  # a committed run: the figures before the request path changed


def count_label(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def serve_loop() -> str:
    """The event loop ``mockpanel serve`` uses by default: the bench measures the mock as served."""
    try:
        from mockpanel._cli import serve

        return next(str(p.default) for p in serve.params if p.name == "loop")
    except Exception:  # noqa: BLE001 - an older CLI without --loop: uvicorn's own default
        return "auto"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark the mock panel against a bare Starlette endpoint (ratios in one run).",
    )
    p.add_argument("--duration", type=float, help="seconds per timed run (default 3; --quick 1)")
    p.add_argument("--warmup", type=float, help="seconds of discarded warm-up per config (default 3; --quick 1)")
    p.add_argument("--peer-warmup", type=float, help="seconds of warm-up for WireMock, whose JIT needs ~20 s of load (default 20; --quick 5)")
    p.add_argument("--rounds", type=int, help="timed runs per config, interleaved (default 7; --quick 1)")
    p.add_argument("--paired", action=argparse.BooleanOptionalAction, default=True,
                   help="run the bare endpoint again between every two configs, and give each config's ratio "
                        "to the bare runs just before and after it (default on; --no-paired: once a round)")
    p.add_argument("--connections", type=int, default=64, help="concurrent keep-alive connections (default 64)")
    p.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    p.add_argument("--orders-small", type=int, default=10_000, help="stored orders of the small store (default 10000)")
    p.add_argument("--orders-large", type=int, help="stored orders of the large store (default 1000000; --quick 100000)")
    p.add_argument("--services", type=int, default=5000, help="services in the generated catalogue of the services config (default 5000)")
    p.add_argument("--baseline", type=Path, default=BASELINE, help=f"a results JSON to compare memory per order with (default {BASELINE.relative_to(REPO)}, if present)")
    p.add_argument("--parts", default=",".join(PARTS), help=f"comma list of {','.join(PARTS)} (default all)")
    p.add_argument("--loop", default=serve_loop(), choices=["auto", "asyncio", "uvloop"], help=f"uvicorn loop for every server (default {serve_loop()}, as `mockpanel serve`)")
    p.add_argument("--loadgen", default="auto", choices=["auto", "wrk", "python"], help="load generator (auto: wrk if installed)")
    p.add_argument("--max-steal", type=float, default=0.4, help="repeat a run if hypervisor steal exceeded this many CPU-s per 10 s (default 0.4)")
    p.add_argument("--max-other", type=float, default=1.5, help="repeat a run if other processes used more than this many CPU-s per 10 s (default 1.5)")
    p.add_argument("--quiet-wait", type=float, help="before each run, wait up to this many seconds for other processes to go idle (default 20; --quick 0)")
    p.add_argument("--retries", type=int, help="how often a disturbed run is repeated (default 2; --quick 0)")
    p.add_argument("--shared-rounds", type=int,
                   help="runs of each small/large store pair loaded at once on one shared CPU, for the cost "
                        "figures (default 5; --quick 1; 0: none)")
    p.add_argument("--max-drift", type=float, default=0.10,
                   help="with --paired, repeat a config's run when the bare runs before and after it differ by more "
                        "than this share of their mean (default 0.10)")
    p.add_argument("--no-gc-freeze", action="store_true",
                   help="experiment: the mock's servers without the gc.freeze() that `mockpanel serve` does after start-up")
    p.add_argument("--no-control", action="store_true", help="experiment: create_app(control=False), the mock without its control API, journal, faults and triggers")
    p.add_argument("--profile", default="", help="comma list of configs to profile with py-spy after the rounds (e.g. multi@1M)")
    p.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"where to write the results (default {DEFAULT_JSON.relative_to(REPO)})")
    p.add_argument("--quick", action="store_true", help="a short smoke run: 1 round of 1 s, 100k-order large store")
    args = p.parse_args(argv)
    quick = args.quick
    args.duration = args.duration if args.duration is not None else (1.0 if quick else 3.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if quick else 3.0)
    args.rounds = args.rounds if args.rounds is not None else (1 if quick else 7)
    args.peer_warmup = args.peer_warmup if args.peer_warmup is not None else (5.0 if quick else 20.0)
    args.retries = args.retries if args.retries is not None else (0 if quick else 2)
    args.shared_rounds = args.shared_rounds if args.shared_rounds is not None else (1 if quick else 5)
    args.quiet_wait = args.quiet_wait if args.quiet_wait is not None else (0.0 if quick else 20.0)
    args.orders_large = args.orders_large if args.orders_large is not None else (100_000 if quick else 1_000_000)
    args.parts = [x.strip() for x in args.parts.split(",") if x.strip()]
    unknown = sorted(set(args.parts) - set(PARTS))
    if unknown:
        p.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    if args.services < 1:
        p.error("--services must be at least 1")
    if args.duration <= 0 or args.rounds < 1 or args.connections < 1 or args.warmup < 0:
        p.error("--duration and --connections must be positive, --rounds at least 1, --warmup >= 0")
    if args.loadgen == "auto":
        args.loadgen = "wrk" if wrk_path() else "python"
    elif args.loadgen == "wrk" and not wrk_path():
        p.error("wrk is not installed (apt-get install wrk); use --loadgen python")
    return args


def plan(args: argparse.Namespace) -> tuple[list[Server], list[Config]]:
    parts = set(args.parts)
    small, large = count_label(args.orders_small), count_label(args.orders_large)
    configs = [Config("bare", "bare", "bare")]
    if "balance" in parts:
        configs.append(Config("balance", "small", "balance"))
    if "add" in parts:
        configs.append(Config("add", "add", "add"))
    for kind in ("status", "multi"):
        if kind in parts:
            configs.append(Config(f"{kind}@{small}", "small", kind))
    if "running" in parts:
        configs.append(Config(f"multi-running@{small}", "running", "running"))
    for kind in ("status", "multi"):
        if kind in parts and "large" in parts:
            configs.append(Config(f"{kind}@{large}", "large", kind))
    if "services" in parts:
        label = count_label(args.services)
        # ~1 MB answers: many of them in flight would wait past wrk's 5 s timeout; a saturated
        # server's rps hardly depends on the number of connections.
        conns = min(args.connections, SERVICES_CONNECTIONS)
        configs += [Config(f"services@{label}", "catalog", "services", connections=conns),
                    Config(f"bare-services@{label}", "bare-catalog", "bare-services", connections=conns)]
    missing = peers.wiremock_missing() if "peers" in parts else None
    if missing:
        print(f"peers: WireMock skipped: {missing}", file=sys.stderr)
    elif "peers" in parts:
        configs += [Config("wiremock", "wiremock", "peer"), Config("wiremock-nojournal", "wiremock-nojournal", "peer")]
    extra = (["--no-gc-freeze"] if args.no_gc_freeze else []) + (["--no-control"] if args.no_control else [])
    specs = {
        "bare": ["--app", "bare"],
        "small": ["--app", "mock", "--orders", str(args.orders_small), *extra],
        "add": ["--app", "mock", "--orders", str(args.orders_small), *extra],
        "running": ["--app", "mock", "--orders", str(args.orders_small), "--running", str(RUNNING_ORDERS), *extra],
        "large": ["--app", "mock", "--orders", str(args.orders_large), *extra],
        "catalog": ["--app", "mock", "--services", str(args.services), *extra],
        "bare-catalog": ["--app", "bare", "--services", str(args.services)],
    }
    wiremocks = {w.name: w for w in peers.wiremock_servers()}
    used = []
    for c in configs:
        if c.server not in used:
            used.append(c.server)
    # The memory figure needs the large store even when none of its configs run.
    if "large" in parts and "large" not in used:
        used.append("large")
    return [wiremocks[name] if name in wiremocks else Server(name, specs[name]) for name in used], configs


def build_workloads(fleet: Fleet, configs: list[Config], seed: int = 1) -> None:
    rng = random.Random(seed)
    for c in configs:
        info = fleet[c.server].info
        if c.kind in ("bare", "balance", "peer"):
            c.workload = workloads.balance(BENCH_KEY)
        elif c.kind in ("services", "bare-services"):
            c.workload = workloads.services(BENCH_KEY)
        elif c.kind == "add":
            c.workload = workloads.add(BENCH_KEY)
        elif c.kind == "running":
            c.workload = workloads.running_status(BENCH_KEY, info["running_orders"], rng)
        else:
            first, last = info.get("first_order"), info.get("last_order")
            if first is None:
                raise RuntimeError(f"{c.name} needs stored orders; use --orders-small/--orders-large >= 1")
            make = workloads.status if c.kind == "status" else workloads.multi_status
            c.workload = make(BENCH_KEY, first, last, rng)


def summarise(configs: list[Config]) -> list[dict[str, Any]]:
    bare = next(c for c in configs if c.kind == "bare")
    bare_rps = bare.med("rps")
    bare_cpu = median([r["cpu_us_per_req"] for r in bare.results() if r["cpu_us_per_req"] is not None])
    by_round = {r["round"]: r["rps"] for r in bare.results()}
    rows = []
    for c in configs:
        rps = c.med("rps")
        per_round = [r["rps"] / by_round[r["round"]] for r in c.results() if by_round.get(r["round"])]
        cpu = [r["cpu_us_per_req"] for r in c.results() if r["cpu_us_per_req"] is not None]
        paired = [r["rps"] / r["pair_rps"] for r in c.results() if r.get("pair_rps")]
        rows.append({
            "config": c.name,
            "server": c.server,
            "rps": round(rps, 1),
            # The median of each run's rps over the mean of the bare runs just before and after it
            # (--paired): the machine's drift between rounds cancels out.
            "ratio_paired": round(median(paired), 3) if paired else None,
            "rps_range": [round(min(r["rps"] for r in c.results()), 1), round(max(r["rps"] for r in c.results()), 1)],
            "ratio": round(rps / bare_rps, 3) if bare_rps else None,
            "ratio_per_round_median": round(median(per_round), 3) if per_round else None,
            "p50_ms": round(c.med("p50_ms"), 2),
            "p99_ms": round(c.med("p99_ms"), 2),
            "p999_ms": round(c.med("p999_ms"), 2),
            "max_ms": round(max(r["max_ms"] for r in c.results()), 2),
            "cpu_us_per_req": round(median(cpu), 1) if cpu else None,
            # Server CPU per request of bare / of this config: what the ratio would be with
            # the server alone on its core; steadier than rps when other processes run.
            "cpu_ratio": round(bare_cpu / median(cpu), 3) if cpu and bare_cpu else None,
            "errors": sum(r["errors"] for r in c.runs),
            "requests": sum(r["requests"] for r in c.results()),
        })
    return rows


def shared_costs(
    args: argparse.Namespace, fleet: Fleet, configs: list[Config], small: str, large: str,
) -> dict[str, list[dict[str, Any]]]:
    """For status and multi-status: the small and the large store loaded at once on one CPU."""
    by = {c.name: c for c in configs}
    out = {}
    for kind in ("status", "multi"):
        a, b = by.get(f"{kind}@{small}"), by.get(f"{kind}@{large}")
        if a and b:
            rows = shared_runs(args, fleet, a, b)
            if rows:
                out[kind] = rows
    return out


def store_info(fleet: Fleet, before: dict[str, dict[str, Any]]) -> dict[str, Any]:
    out = {}
    for name, server in fleet.servers.items():
        live = server.live_info()
        gc0, gc1 = before[name]["gc"], live["gc"]
        entry: dict[str, Any] = {"app": live.get("app"), "rss_now": live["rss"], "gc_during_runs": None}
        if gc0 and gc1:  # Python servers only
            entry["gc_during_runs"] = {
                "collections": [b - a for a, b in zip(gc0["collections"], gc1["collections"])],
                "total_ms": [round(b - a, 1) for a, b in zip(gc0["total_ms"], gc1["total_ms"])],
                "longest_ms_so_far": gc1["longest_ms"],
                "tracked_before": gc0.get("tracked"), "tracked_after": gc1.get("tracked"),
            }
        if live.get("app") == "mock":
            entry.update(
                orders=live["populate"]["orders"], stored_now=live["stored_orders"], populate=live["populate"],
                rss_before_populate=live["rss_before_populate"], rss_after_populate=live["rss_after_populate"],
                bytes_per_order=live["bytes_per_order"],
            )
        out[name] = entry
    return out


def profile(args: argparse.Namespace, fleet: Fleet, configs: list[Config]) -> dict[str, Any]:
    from .profile import by_group, record, self_functions, top_functions

    out = {}
    wanted = [n.strip() for n in args.profile.split(",") if n.strip()]
    for name in wanted:
        c = next((x for x in configs if x.name == name), None)
        if c is None:
            print(f"--profile: no config {name!r} in this run (have {', '.join(x.name for x in configs)})", file=sys.stderr)
            continue
        path = args.json.parent / f"profile-{name.replace('@', '-')}.txt"
        seconds = max(args.duration, 2.0)
        recorder = record(fleet[c.server].pid, seconds, path)
        one_run(args, fleet, c, seconds, "p")
        if recorder is None or not recorder.finish():
            print(f"--profile {name}: py-spy is not available or failed (pip install py-spy)", file=sys.stderr)
            continue
        # The frames every sample shares (the event loop's) say nothing: leave them out.
        inclusive = [(f, x) for f, x in top_functions(path, 60) if x < 0.97][:20]
        out[name] = {"collapsed_stacks": str(path), "inclusive": inclusive, "self": self_functions(path, 20),
                     "groups": by_group(path)}
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    servers, configs = plan(args)
    small, large = count_label(args.orders_small), count_label(args.orders_large)
    # Populating a million orders takes a while; allow for it when waiting for readiness.
    ready_timeout = 120 + 3e-4 * max(args.orders_small, args.orders_large if "large" in args.parts else 0)
    started = time.time()
    code = source()  # before the run: what the servers import
    print(f"starting {len(servers)} servers ({', '.join(s.name for s in servers)}) ...", file=sys.stderr)
    try:
        with Fleet(servers, args.loop, ready_timeout) as fleet:
            build_workloads(fleet, configs)
            for c in configs:
                assert c.workload is not None
                workloads.probe(fleet[c.server].url, c.workload, c.kind)
            before = {name: s.live_info() for name, s in fleet.servers.items()}
            measure(args, fleet, configs)
            shared = shared_costs(args, fleet, configs, small, large)
            stores = store_info(fleet, before)
            profiles = profile(args, fleet, configs) if args.profile else {}
    except (RuntimeError, LoadError, OSError) as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2
    results = summarise(configs)
    client = client_side.measure(args.quick) if "client" in args.parts else None
    report = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "elapsed_s": round(time.time() - started, 1),
        "machine": machine(),
        "source": code,
        "options": {
            k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
        },
        "results": results,
        "stores": stores,
        "shared": shared,
        "targets": targets(results, stores, small, large, count_label(args.services), load_baseline(args.baseline),
                           shared),
        "runs": [{"config": c.name, "runs": c.runs} for c in configs],
        "profiles": profiles,
        "client": client,
    }
    print(render(report))
    if client is not None:
        print(client_side.render(client))
    for name, p in profiles.items():
        print(f"\nprofile {name} ({p['collapsed_stacks']}): share of samples, inclusive | self")
        for (fn, share), (own_fn, own) in zip(p["inclusive"], p["self"] + [("", 0.0)] * 20):
            print(f"  {share:6.1%}  {fn:<58.58} | {own:6.1%}  {own_fn}")
        cpu = next((r["cpu_us_per_req"] for r in results if r["config"] == name), None) or 0.0
        print(f"  by piece of work (bench/profile.py GROUPS; us = share x {cpu:,.0f} us server CPU per request):")
        for group, share in p["groups"]:
            print(f"    {share:6.1%} {share * cpu:>10,.1f} us  {group}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
