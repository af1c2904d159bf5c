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

REPO = Path(__file__).resolve().parent.parent
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
        "--parts", "balance,add,status,multi,large",  # not client: it runs pytest a few times (slow)
        "--baseline", str(tmp_path / "none.json"),
    )
    names = ["bare", "balance", "add", "status@300", "multi@300", "status@900", "multi@900"]
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
    assert {t["target"] for t in report["targets"]} >= {"balance rps / bare", "bytes per stored order"}
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
    from tests.conftest import KEY

    panel.deposit(KEY, "100000")
    with ServerThread(create_app(panel)) as server:
        result = runner(server.url, add_workload(KEY), connections=2, duration=0.3)
    assert result.requests > 0 and result.errors == 0
    links = {o.link for o in panel.keys_orders(KEY)}
    assert len(links) == len(panel.orders)
    # Requests still in flight when the run ends are placed but not counted.
    assert result.requests <= len(panel.orders) <= result.requests + 2
