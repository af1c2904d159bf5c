"""The judge against hostile panels: every case ends safely.

Each case runs ``mockpanel conformance`` as a subprocess against tests/helpers/hostile_panel.py
(served on loopback: overcharging, a negative rate, a trickle, 300 MB and gzip bodies, garbage fields, a
garbage control API, redirects, endless 429, a numeric key) and checks that the run ended with exit 1 or 2,
wrote every report, printed no traceback, left nothing in its working directory, and stayed under 400 MB
of peak memory (the child's own rusage, from wait4 in a small launcher: Linux counts the forking
process's resident memory in its child's peak, and a test worker may be large by then).
"""

from __future__ import annotations

import json
import re
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import pytest

from mockpanel import ServerThread
from tests.helpers.hostile_panel import HostilePanel

KEY = "hostile-key-0123456789"
PEAK_LIMIT_MB = 400
# Forks the command from a process of a few MB and waits for it; wait4's peak is then the command's own.
LAUNCHER = """
import os, resource, signal, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
signal.signal(signal.SIGTERM, lambda *_: proc.kill())
_, status, usage = os.wait4(proc.pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""
REPORTS = ("report.json", "report.html", "report.xml", "trace.json")
ORDERS = ("--tier", "orders", "--max-spend", "1", "--link", "https://instagram.com/x", "--time-budget", "5")


@dataclass
class Outcome:
    code: int
    out: str
    err: str
    peak_mb: float
    seconds: float
    report: dict  # type: ignore[type-arg]
    trace: dict  # type: ignore[type-arg]
    cwd: Path


def judge(url: str, tmp_path: Path, *args: str, key: str = KEY, limit: float = 120.0) -> Outcome:
    """Run the CLI in a subprocess; its peak RSS comes from wait4 on that very child."""
    cwd, reports = tmp_path / "cwd", tmp_path / "reports"
    cwd.mkdir()
    reports.mkdir()
    out_path, err_path = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    cmd = [sys.executable, "-m", "mockpanel", "conformance", url, "--key", key,
           "--json", str(reports / "report.json"), "--html", str(reports / "report.html"),
           "--junit", str(reports / "report.xml"), "--trace", str(reports / "trace.json"), *args]
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONUNBUFFERED": "1"}
    env.pop("HYPOTHESIS_STORAGE_DIRECTORY", None)
    started = time.monotonic()
    peak_path = tmp_path / "peak_kb.txt"
    with out_path.open("w") as out, err_path.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(peak_path), *cmd], cwd=cwd, stdout=out,
                                stderr=err, env=env, start_new_session=True)
        killer = threading.Timer(limit, lambda: os.killpg(proc.pid, signal.SIGKILL))
        killer.start()
        try:
            proc.wait()
        finally:
            killer.cancel()
    assert peak_path.is_file(), f"the run did not end within {limit} s"
    seconds = time.monotonic() - started
    for name in REPORTS:
        assert (reports / name).is_file(), f"{name} was not written"
    return Outcome(proc.returncode, out_path.read_text(), err_path.read_text(), int(peak_path.read_text()) / 1024, seconds,
                   json.loads((reports / "report.json").read_text()), json.loads((reports / "trace.json").read_text()),
                   cwd)


def assert_safe(o: Outcome, codes: tuple[int, ...] = (1, 2)) -> None:
    assert o.code in codes, (o.code, o.out[-2000:], o.err[-2000:])
    assert "Traceback" not in o.out + o.err, o.out[-3000:] + o.err[-3000:]
    assert o.report["exit_code"] == o.code
    assert o.peak_mb < PEAK_LIMIT_MB, f"peak RSS {o.peak_mb:.0f} MB"
    print(f"peak RSS {o.peak_mb:.0f} MB in {o.seconds:.1f} s, exit {o.code}")
    assert list(o.cwd.iterdir()) == [], f"left behind: {list(o.cwd.iterdir())}"
    assert KEY not in o.out + o.err + json.dumps(o.trace)


@pytest.fixture(scope="module")
def hostile() -> Iterator[tuple[str, HostilePanel]]:
    panel = HostilePanel(KEY)
    with ServerThread(panel) as server:
        yield server.url, panel


def test_an_overcharging_panel_is_stopped_after_one_add(hostile, tmp_path) -> None:  # type: ignore[no-untyped-def]
    origin, panel = hostile
    o = judge(f"{origin}/overcharge/api/v2", tmp_path, *ORDERS, "--examples", "2")
    assert_safe(o, (1,))
    assert panel.seen["overcharge add-charged"] == 1  # the one overcharged add, and nothing after it
    after = [e["request"]["params"].get("action") for e in o.trace["trace"]]
    first = next(i for i, e in enumerate(o.trace["trace"]) if e["response"]["body"].startswith('{"order"'))
    assert "add" not in after[first + 1:] and "cancel" not in after[first + 1:]  # the run stopped there
    over = re.search(r"the panel took ([0-9.]+) USD more than its price list said \(.*order 100\)", o.out)
    assert over and Decimal(over.group(1)) > 49, o.out[-2000:]
    assert o.report["spend"]["overcharge"] and o.report["spend"]["taken"] == "50.00"
    assert "the panel took 50.00 USD in all, spent 50.00 USD net of refunds" in o.out


def test_a_negative_rate_is_never_ordered(hostile, tmp_path) -> None:  # type: ignore[no-untyped-def]
    origin, panel = hostile
    o = judge(f"{origin}/negative/api/v2", tmp_path, *ORDERS, "--examples", "2")
    assert_safe(o)
    assert panel.seen["negative add-seen"] == 0
    assert o.report["spend"]["committed_worst_case"] == "0"


def test_a_trickling_answer_is_cut_at_the_timeout(hostile, tmp_path) -> None:  # type: ignore[no-untyped-def]
    origin, _ = hostile
    o = judge(f"{origin}/trickle/api/v2", tmp_path, "--timeout", "3", "--examples", "2")
    assert_safe(o, (2,))
    answered = o.trace["trace"]
    assert answered and all("--timeout" in (e["response"]["error"] or "") for e in answered)
    assert all(e["elapsed_ms"] < 3000 + 500 for e in answered)  # every read got only what the deadline left
    assert o.seconds < 60


@pytest.mark.parametrize("mode", ["huge", "gzipbomb"])
def test_a_300_mb_answer_is_cut_and_memory_stays_bounded(hostile, tmp_path, mode: str) -> None:  # type: ignore[no-untyped-def]
    origin, _ = hostile
    o = judge(f"{origin}/{mode}/api/v2", tmp_path, "--examples", "2")
    assert_safe(o, (2,))
    assert any("--max-answer-bytes" in (e["response"]["error"] or "") for e in o.trace["trace"])


def test_garbage_in_every_field_ends_in_a_report(hostile, tmp_path) -> None:  # type: ignore[no-untyped-def]
    origin, panel = hostile
    o = judge(f"{origin}/garbage/api/v2", tmp_path, *ORDERS, "--examples", "2", "--max-requests", "300")
    assert_safe(o)
    assert panel.seen["garbage add-seen"] == 0  # nothing it lists can be priced


def test_a_garbage_control_api_ends_in_a_report(hostile, tmp_path) -> None:  # type: ignore[no-untyped-def]
    origin, panel = hostile
    o = judge(f"{origin}/control/api/v2", tmp_path, *ORDERS, "--examples", "2")
    assert_safe(o)
    assert panel.seen["control control _mock/keys"] == 1 and panel.seen["control control _mock"] >= 1


@pytest.mark.parametrize("mode", ["redirect", "endless429"])
def test_redirects_and_endless_429_cannot_judge(hostile, tmp_path, mode: str) -> None:  # type: ignore[no-untyped-def]
    origin, _ = hostile
    o = judge(f"{origin}/{mode}/api/v2", tmp_path, "--examples", "2", "-q")
    assert_safe(o, (2,))
    assert "could not judge:" in o.out
    assert ("redirects" if mode == "redirect" else "429") in o.out


def test_a_numeric_key_is_hidden_and_numbers_stay_as_sent(tmp_path) -> None:  # type: ignore[no-untyped-def]
    panel = HostilePanel("1000", balance="1000.00")
    with ServerThread(panel) as server:
        o = judge(f"{server.url}/plain/api/v2", tmp_path, "--examples", "2", "--max-requests", "300", key="1000")
    assert_safe(o, (0, 1, 2))
    bodies = [e["response"]["body"] for e in o.trace["trace"] if e["request"]["params"].get("action") == "balance"]
    assert bodies and '"balance":"1000.00"' in bodies[0]
    assert all(e["request"]["params"].get("key", "key#").startswith(("key#", "(empty)")) for e in o.trace["trace"])
    assert o.report["key"].startswith("key#")


def test_the_orders_tier_says_what_it_waits_for_at_least_every_10_s(hostile, tmp_path) -> None:  # type: ignore[no-untyped-def]
    origin, _ = hostile
    cmd = [sys.executable, "-m", "mockpanel", "conformance", f"{origin}/slow/api/v2", "--key", KEY, "--tier",
           "orders", "--max-spend", "1", "--link", "https://instagram.com/x", "--time-budget", "14",
           "--examples", "2", "--programs", "1", "--steps", "3", "--no-control-api"]
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    stamps: list[tuple[float, str]] = []
    assert proc.stdout is not None
    with proc.stdout:
        for line in proc.stdout:
            stamps.append((time.monotonic(), line))
    assert proc.wait(60) in (0, 1, 2)
    waiting = [t for t, line in stamps if "waiting:" in line and "still open" in line and "s left" in line]
    assert len(waiting) >= 2, "".join(line for _, line in stamps)[-3000:]
    start = next(t for t, line in stamps if "orders checks" in line)
    end = next(t for t, line in stamps if line.startswith("summary:"))
    marks = [start, *waiting, end]
    assert max(b - a for a, b in zip(marks, marks[1:])) <= 10.5
