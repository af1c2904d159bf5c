"""bench/paired.py and bench/micro.py: the in-process measurements run and report every config
(no timing asserted: these are smoke tests of the tools, not of the speed)."""

from __future__ import annotations

import asyncio
import re

import pytest

from bench import micro, paired


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_paired_reports_bare_and_each_mock_config(capsys: pytest.CaptureFixture[str], loop: str) -> None:
    assert paired.main(["--orders", "300", "--rounds", "1", "--batches", "2", "--loop", loop]) == 0
    out = capsys.readouterr().out
    for name in ("bare", "balance", "status@300", "multi@300"):
        assert re.search(rf"^{re.escape(name)} +\d+\.\d +\d+\.\d +\d+\.\d +\d+%", out, re.M), out


def test_paired_feeds_real_requests_and_every_answer_is_written() -> None:
    bare, _ = paired.bare_app()
    mock, info = paired.mock_app(orders=20)
    configs = [paired.Config("bare", paired.config(bare, as_serve=False, loop="asyncio"),
                             [paired.raw_request("key=x&action=balance")]),
               paired.Config("status", paired.config(mock, as_serve=True, loop="asyncio"),
                             paired.bodies("status", info["first_order"], info["last_order"]))]
    asyncio.run(paired.measure(configs, rounds=2, batches=1, warmup=0))
    for c in configs:
        assert len(c.batches) == 1 and c.batches[0] > 0
        assert all(t.written > 0 and not t.is_closing() for _, t in c.connections)
    # Each connection's protocol answered its requests: the mock journalled every one.
    assert len(mock.state.control.journal) == 2 * paired.CONNECTIONS


def test_a_config_whose_server_closes_a_connection_is_an_error() -> None:
    mock, _ = paired.mock_app()
    broken = paired.Config("broken", paired.config(mock, as_serve=True, loop="asyncio"), [b"GARBAGE\r\n\r\n"])
    with pytest.raises(RuntimeError, match="closed a connection"):
        asyncio.run(paired.measure([broken], rounds=1, batches=1, warmup=0))


def test_micro_reports_each_action(capsys: pytest.CaptureFixture[str]) -> None:
    assert micro.main(["--orders", "50", "--number", "20", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    for action in ("balance", "status", "multi", "running"):
        assert re.search(rf"^{action} +\d", out, re.M), out


def _fake_runs(monkeypatch, bare_rates, other_rps):  # type: ignore[no-untyped-def]
    """rounds.one_run replaced: bare runs at ``bare_rates`` in turn, every other config at
    ``other_rps``; returns the list of configs run, in order."""
    from bench import rounds

    seen: list[str] = []

    def fake_run(args, fleet, c, seconds, tag):  # type: ignore[no-untyped-def]
        seen.append(c.name)
        rps = next(bare_rates) if c.kind == "bare" else other_rps
        return {"rps": rps, "cpu_us_per_req": 1.0, "p50_ms": 1.0, "p99_ms": 1.0, "p999_ms": 1.0, "max_ms": 1.0,
                "errors": 0, "requests": 1, "server_cpu_s": 0.0, "loadgen_cpu_s": 0.0, "other_cpu_s": 0.0, "steal_s": 0.0}

    monkeypatch.setattr(rounds, "one_run", fake_run)
    return seen


def test_with_paired_each_config_runs_between_two_bare_runs_and_is_compared_with_them(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import argparse

    from bench import rounds
    from bench.config import Config
    from bench.run import summarise

    seen = _fake_runs(monkeypatch, (1000.0 * n for n in range(1, 1000)), 500.0)
    configs = [Config("bare", "bare", "bare"), Config("a", "s", "balance"), Config("b", "s", "status")]
    # bare's rate doubles between runs here: no limit on its drift, so no run is repeated
    args = argparse.Namespace(rounds=2, duration=1.0, warmup=0.0, peer_warmup=0.0, paired=True, max_drift=10.0, retries=2)
    rounds.measure(args, None, configs)  # type: ignore[arg-type]
    assert seen == ["bare", "a", "bare", "b", "bare"] + ["bare", "b", "bare", "a", "bare"]
    a = configs[1].results()
    assert [r["pair_rps"] for r in a] == [1500.0, 5500.0]  # the bare runs around each: (1+2)/2, (5+6)/2 thousand
    rows = {r["config"]: r for r in summarise(configs)}
    assert rows["a"]["ratio_paired"] == round((500 / 1500 + 500 / 5500) / 2, 3)
    args.paired = False
    seen.clear()
    for c in configs:
        c.runs.clear()
    rounds.measure(args, None, configs)  # type: ignore[arg-type]
    assert seen == ["bare", "a", "b", "a", "b", "bare"] and all("pair_rps" not in r for c in configs for r in c.runs)


def test_a_run_across_which_bare_drifted_is_repeated_and_set_aside(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import argparse

    from bench import rounds
    from bench.config import Config
    from bench.run import summarise

    rates = iter([1000.0, 1000.0, 1500.0, 1500.0])
    seen = _fake_runs(monkeypatch, rates, 600.0)
    configs = [Config("bare", "bare", "bare"), Config("a", "s", "balance"), Config("b", "s", "status")]
    args = argparse.Namespace(rounds=1, duration=1.0, warmup=0.0, peer_warmup=0.0, paired=True, max_drift=0.10, retries=1)
    rounds.measure(args, None, configs)  # type: ignore[arg-type]
    # a: bare 1000 -> 1000, kept. b: 1000 -> 1500 (40 %), so again: 1500 -> 1500, kept.
    assert seen == ["bare", "a", "bare", "b", "bare", "b", "bare"]
    b = configs[2]
    assert [r.get("drifted", False) for r in b.runs] == [True, False]
    assert [r["pair_rps"] for r in b.results()] == [1500.0] and b.results()[0]["bare_drift"] == 0.0
    assert {r["config"]: r["ratio_paired"] for r in summarise(configs)}["b"] == 0.4

    # Out of retries, the last try is kept, with the drift it had.
    seen = _fake_runs(monkeypatch, iter([1000.0, 2000.0, 4000.0]), 600.0)
    for c in configs:
        c.runs.clear()
    args.retries = 1
    rounds.measure(args, None, configs[:2])  # type: ignore[arg-type]
    assert seen == ["bare", "a", "bare", "a", "bare"]
    assert [(r.get("drifted", False), r["bare_drift"]) for r in configs[1].runs] == [(True, 0.667), (False, 0.667)]


def _sleeper():  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


@pytest.mark.skipif(len(__import__("os").sched_getaffinity(0)) < 2, reason="needs two CPUs")
def test_pinned_puts_every_thread_on_the_cpus_and_restores_them() -> None:
    import os

    from bench.shared import pinned, split_cpus

    split = split_cpus()
    assert split is not None
    server_cpu, load_cpus = split
    assert not server_cpu & load_cpus and server_cpu | load_cpus == os.sched_getaffinity(0)
    child = _sleeper()
    try:
        before = os.sched_getaffinity(child.pid)
        with pinned([child.pid], server_cpu):
            assert os.sched_getaffinity(child.pid) == server_cpu
        assert os.sched_getaffinity(child.pid) == before
    finally:
        child.kill()
        child.wait()


@pytest.mark.skipif(len(__import__("os").sched_getaffinity(0)) < 2, reason="needs two CPUs")
def test_shared_runs_load_both_stores_at_once_and_give_the_large_ones_cost(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import argparse
    import os
    import threading
    from types import SimpleNamespace

    from bench import shared
    from bench.load import Result, Workload
    from bench.config import Config
    from bench.targets import targets

    together = threading.Barrier(2, timeout=10)  # breaks unless both loads run at the same time
    children = {"small": _sleeper(), "large": _sleeper()}
    rates = {"small": 9000.0, "large": 8000.0}
    seen_cpus = []

    def fake_wrk(url, workload, *, connections, duration, threads, nonce, cpus):  # type: ignore[no-untyped-def]
        seen_cpus.append(cpus)
        name = url.rsplit("/", 1)[-1]
        assert os.sched_getaffinity(children[name].pid) == shared.split_cpus()[0]  # type: ignore[index]
        together.wait()
        return Result(requests=int(rates[name]), seconds=1.0, errors=0, p50_ms=1.0, p90_ms=1.0, p99_ms=1.0,
                      p999_ms=1.0, max_ms=1.0, tool="wrk")

    monkeypatch.setattr(shared, "run_wrk", fake_wrk)
    fleet = {n: SimpleNamespace(pid=p.pid, url=f"http://x/{n}") for n, p in children.items()}
    a = Config("status@10k", "small", "status", workload=Workload(("b",)))
    b = Config("status@1M", "large", "status", workload=Workload(("b",)))
    args = argparse.Namespace(loadgen="wrk", shared_rounds=3, duration=1.0, threads=2, connections=64)
    try:
        rows = shared.shared_runs(args, fleet, a, b)  # type: ignore[arg-type]
    finally:
        for p in children.values():
            p.kill()
            p.wait()
    assert [r["cost"] for r in rows] == [1.125] * 3 and rows[0]["status@1M"] == 8000.0
    assert seen_cpus == [shared.split_cpus()[1]] * 6  # type: ignore[index]
    goals = {t["target"]: t for t in targets([], {}, "10k", "1M", "5k", None, {"status": rows})}
    assert goals["status cost 1M vs 10k, at once"]["value"] == 0.125
    assert goals["status cost 1M vs 10k, at once"]["met"] is False
    args.loadgen = "python"
    assert shared.shared_runs(args, fleet, a, b) == []  # type: ignore[arg-type]


def test_failed_requests_in_the_runs_at_once_make_the_report_warn() -> None:
    from bench.report import render

    report = {
        "date": "d", "machine": {"cpus": 2, "cpu": "c"}, "source": {"commit": "x", "modified": 0, "digest": "y"},
        "options": {"loadgen": "wrk", "connections": 64, "rounds": 1, "duration": 1.0, "loop": "uvloop"},
        "results": [], "stores": {}, "runs": [], "targets": [],
        "shared": {"status": [{"round": 1, "status@10k": 10.0, "status@1M": 10.0, "cost": 1.0, "errors": 0}]},
    }
    assert "requests failed" not in render(report)
    report["shared"]["status"][0]["errors"] = 2
    assert "warning: 2 requests failed" in render(report)
