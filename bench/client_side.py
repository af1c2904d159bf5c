"""What a user of the pytest plugin and the conformance suite waits for.

- The fixture's per-test overhead: pytest runs generated test files of N and M tests
  (plain, with the ``mockpanel`` fixture over a socket, and in-process), in fresh
  processes, best of ``repeat``. The slope (time(M) - time(N)) / (M - N) is the cost of
  one test, so pytest's start-up and the session's first server start cancel out;
  the fixture's overhead is its slope minus the plain slope.
- The read-only conformance tier's duration against a mock on loopback.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# The three bodies have the same shape: pytest rewrites every assert of a test file when it has
# no bytecode of it kept, and a richer assert costs more.
PLAIN_HEAD = "class Panel:\n    key = 'k'\n    url = 'u'\n\n\nmockpanel = Panel()\n\n\n"
PLAIN = "def test_{i}():\n    assert mockpanel.key and mockpanel.url is not None\n"
SOCKET = "def test_{i}(mockpanel):\n    assert mockpanel.key and mockpanel.url is not None\n"
IN_PROCESS = "def test_{i}(mockpanel):\n    assert mockpanel.key and mockpanel.transport is not None\n"


def _pytest_seconds(path: Path) -> float:
    # pytest keeps its rewritten test files as bytecode, as on a developer's machine: without
    # it (PYTHONDONTWRITEBYTECODE) every run rewrites every assert, and that cost swamps the fixture's.
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", str(path)],
        cwd=path.parent, capture_output=True, text=True, timeout=300, check=True, env=env,
    )
    return time.perf_counter() - started


def fixture_overhead(small: int = 100, large: int = 600, repeat: int = 3) -> dict[str, Any]:
    """Best of ``repeat`` per file; the files' runs interleaved, round by round, so a change in the
    machine's speed falls on all of them alike rather than on one variant."""
    bodies = {"plain": PLAIN, "socket": SOCKET, "in-process": IN_PROCESS}
    best: dict[tuple[str, int], float] = {}
    with tempfile.TemporaryDirectory() as folder:
        files = {}
        for name, body in bodies.items():
            for count in (small, large):
                path = Path(folder) / f"{name.replace('-', '_')}_{count}" / "test_generated.py"
                path.parent.mkdir()
                path.write_text((PLAIN_HEAD if body is PLAIN else "") + "".join(body.format(i=i) for i in range(count)))
                files[name, count] = path
        for _ in range(repeat):
            for which, path in files.items():
                best[which] = min(best.get(which, float("inf")), _pytest_seconds(path))
    slopes = {name: (best[name, large] - best[name, small]) / (large - small) * 1000 for name in bodies}  # ms per test
    return {
        "tests": [small, large],
        "plain_ms_per_test": round(slopes["plain"], 3),
        "socket_overhead_ms": round(slopes["socket"] - slopes["plain"], 3),
        "in_process_overhead_ms": round(slopes["in-process"] - slopes["plain"], 3),
    }


def conformance_read_only(repeat: int = 3) -> dict[str, Any]:
    from decimal import Decimal

    from mockpanel import ServerThread, VirtualClock, build_panel, create_app
    from conformance.context import RunConfig
    from conformance.runner import run

    best, requests = float("inf"), 0
    for _ in range(repeat):
        panel = build_panel(clock=VirtualClock(speed=0), seed=1)
        panel.create_account("bench-conformance-key", balance="100")
        with ServerThread(create_app(panel)) as server:
            config = RunConfig(url=server.url + "/api/v2", key="bench-conformance-key", max_spend=Decimal(0))
            started = time.perf_counter()
            report = run(config, stream=io.StringIO())
            elapsed = time.perf_counter() - started
        if report.exit_code != 0:
            raise RuntimeError(f"the read-only tier did not pass the mock (exit {report.exit_code})")
        if elapsed < best:
            best, requests = elapsed, report.requests
    return {"seconds": round(best, 3), "requests": requests}


def measure(quick: bool = False) -> dict[str, Any]:
    return {
        "fixture": fixture_overhead(small=20, large=120, repeat=1) if quick else fixture_overhead(),
        "conformance_read_only": conformance_read_only(repeat=1 if quick else 3),
    }


def render(client: dict[str, Any]) -> str:
    f, c = client["fixture"], client["conformance_read_only"]
    return "\n".join([
        "",
        f"pytest fixture, per test after the session's first (slope over {f['tests'][0]} and {f['tests'][1]} tests):",
        f"  plain test          {f['plain_ms_per_test']:.3f} ms",
        f"  mockpanel (socket)  +{f['socket_overhead_ms']:.3f} ms   (goal <= 5 ms)",
        f"  mockpanel in-process +{f['in_process_overhead_ms']:.3f} ms   (goal <= 1 ms)",
        f"conformance, read-only tier against the mock: {c['seconds']:.2f} s, {c['requests']} requests",
    ])
