"""The benchmark machinery runs end to end (tiny durations; no timing is asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.load import Workload, run_python, run_wrk, wrk_path
from bench.workloads import add as add_workload
from mockpanel import ServerThread, create_app

REPO = Path(__file__).resolve().parents[2]
HAS_WRK = wrk_path() is not None


def run_bench(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[str, dict]:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--warmup", "0", "--json", str(out), *args],
        cwd=REPO, capture_output=True, text=True, timeout=180, check=False, env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout + done.stderr, json.loads(out.read_text())


def test_python_loadgen_runs_every_config_and_writes_the_table(tmp_path: Path) -> None:
    stdout, report = run_bench(
        tmp_path, "--loadgen", "python", "--duration", "0.3", "--orders-small", "300", "--orders-large", "900",
        "--parts", "balance,add,status,multi,running,large",  # not client: it runs pytest a few times (slow)
        "--baseline", str(tmp_path / "none.json"),
    )
    names = ["bare", "balance", "add", "status@300", "multi@300", "multi-running@300", "status@900", "multi@900"]
    assert [r["config"] for r in report["results"]] == names
    for row in report["results"]:
        assert row["requests"] > 0 and row["errors"] == 0, row
        assert row["rps"] > 0 and 0 < row["p50_ms"] <= row["p99_ms"], row
        assert row["config"] in stdout
    assert report["results"][0]["ratio"] == 1.0
    large = report["stores"]["large"]
    assert large["orders"] == 900 and large["stored_now"] >= 900
    assert large["rss_after_populate"] > large["rss_before_populate"] > 0
    # Every add placed a real order on the add server (a probe plus the timed run).
    added = next(r for r in report["results"] if r["config"] == "add")["requests"]
    assert report["stores"]["add"]["stored_now"] >= 300 + added
    assert {t["target"] for t in report["targets"]} >= {
        "balance rps / bare", "add rps / bare", "multi-running@300 rps / bare", "bytes per stored order"}
    # The running store: its own server, the store's orders and 1,000 more still running.
    running = report["stores"]["running"]
    assert running["orders"] == 300 and running["stored_now"] == 1300
    assert "targets (ratios from this run)" in stdout and "B/order" in stdout


@pytest.mark.skipif(not HAS_WRK, reason="wrk is not installed")
def test_wrk_loadgen_runs_multi_status(tmp_path: Path) -> None:
    _, report = run_bench(
        tmp_path, "--loadgen", "wrk", "--duration", "1", "--parts", "multi",
        "--orders-small", "200",
    )
    rows = {r["config"]: r for r in report["results"]}
    assert set(rows) == {"bare", "multi@200"}
    assert "large" not in report["stores"]
    assert all(r["requests"] > 0 and r["errors"] == 0 for r in rows.values())


def test_conformance_read_only_tier_is_timed_against_the_mock() -> None:
    from bench.client_side import conformance_read_only

    result = conformance_read_only(repeat=1)  # raises if the tier does not pass the mock
    assert result["seconds"] > 0 and result["requests"] > 0


def loadgens() -> list:
    runners = [pytest.param(run_python, id="python")]
    if HAS_WRK:
        runners.append(pytest.param(run_wrk, id="wrk"))
    return runners


@pytest.mark.parametrize("runner", loadgens())
def test_error_answers_are_counted_not_timed_as_success(runner) -> None:  # type: ignore[no-untyped-def]
    """A fast wrong answer must not look like a fast right one: a bad key is all errors."""
    with ServerThread(create_app()) as server:
        result = runner(server.url, Workload(("key=nope&action=balance",)), connections=2, duration=0.3)
    assert result.requests > 0
    assert result.errors == result.requests


@pytest.mark.parametrize("runner", loadgens())
def test_add_sends_distinct_links(runner, panel) -> None:  # type: ignore[no-untyped-def]
    """Every add gets its own link: a repeated one would be refused as an active duplicate."""
    from tests.helpers.common import KEY

    panel.deposit(KEY, "100000")
    with ServerThread(create_app(panel)) as server:
        result = runner(server.url, add_workload(KEY), connections=2, duration=0.3)
    assert result.requests > 0 and result.errors == 0
    links = {o.link for o in panel.keys_orders(KEY)}
    assert len(links) == len(panel.orders)
    # Requests still in flight when the run ends are placed but not counted.
    assert result.requests <= len(panel.orders) <= result.requests + 2


def test_add_and_running_status_bodies_are_what_clients_send() -> None:
    import random
    from urllib.parse import parse_qs, urlencode

    from bench import workloads
    from bench.load import UNIQUE

    (add,) = workloads.add("k").bodies
    assert add.replace(UNIQUE, "t1n7") == urlencode({"key": "k", "action": "add", "service": 1,
                                                      "link": "https://www.instagram.com/p/bencht1n7/", "quantity": 50})
    assert "https%3A%2F%2Fwww.instagram.com%2Fp%2Fbench" in add
    running = list(range(5000, 5300))
    bodies = workloads.running_status("k", running, random.Random(1)).bodies
    assert len(bodies) == workloads.ROTATE and len(set(bodies)) == len(bodies)
    for body in bodies:
        assert "%2C" in body and "," not in body  # commas percent-encoded, as http_build_query sends them
        ids = parse_qs(body)["orders"][0].split(",")
        assert len(set(ids)) == 100 and set(map(int, ids)) <= set(running)
    with pytest.raises(RuntimeError, match="lists 99 orders still running"):
        workloads.running_status("k", running[:99], random.Random(1))


def test_the_running_store_lists_orders_that_run_past_any_bench_run() -> None:
    from bench.apps import BENCH_KEY, RUNNING_HORIZON, mock_app
    from bench.workloads import CHECKS

    app, info = mock_app(orders=50, running=200, gc_freeze=False)
    panel = app.state.api.answers.panel
    listed = info["running_orders"]
    assert 100 <= len(listed) < 200 and info["last_order"] < min(listed)  # apart from the store's own
    now = panel.clock.now()
    assert {panel.status(BENCH_KEY, i).status.value for i in listed} == {"In progress"}
    assert all(panel.orders[i].done_at > now + RUNNING_HORIZON for i in listed)
    final = {"1": {"status": "Completed"}, "2": {"status": "In progress"}}
    assert CHECKS["running"](final) == "1 of 2 orders are no longer running, e.g. {'status': 'Completed'}"
    assert CHECKS["running"]({"2": {"status": "Pending"}}) is None


def test_the_scrub_benchmark_measures_the_index_one_link_and_both_answers() -> None:
    from bench.scrub import measure

    measured = measure(keys=20, repeat=1, requests=50)
    assert set(measured) == {"index", "one link (x 1,000)", "orders page (500)", "orders page (500), scrubbed",
                             "journal (50)", "journal (50), scrubbed"}
    assert all(seconds >= 0 for seconds in measured.values())
