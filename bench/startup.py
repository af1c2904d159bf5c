"""What installing mockpanel costs every pytest session: start-up on an empty test file.

    python -m bench.startup [--rounds N]

pytest loads every installed ``pytest11`` plugin in every session of every project in the
environment, whether or not a test uses it. Each row runs pytest on a one-test file in an
empty folder, with plugin autoloading off and only the named plugins loaded, best of N:

- pytest alone: a project without mockpanel;
- with mockpanel: ``pip install mockpanel`` adds its two plugins and anyio's (anyio comes
  with Starlette and httpx); the goal is at most 0.3 s more than pytest alone;
- each extra: hypothesis's (``mockpanel[conformance]``) and faker's (``mockpanel[catalog]``)
  plugins, which is why they are extras;
- this environment: autoloading on, everything installed here, with and without ``-p no:mockpanel``.

Each row shows wall and CPU (user + system) time; the goal is judged on CPU time, which a busy
machine does not inflate (on a quiet one the two agree).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from importlib.metadata import entry_points
from pathlib import Path

GOAL = 0.3  # seconds a base install may add to a session
BASE_PLUGINS = ("mockpanel", "mockpanel-conformance", "anyio")
EXTRA_PLUGINS = {"conformance": ("hypothesis", "hypothesispytest"), "catalog": ("faker", "faker")}


def plugin_modules() -> dict[str, str]:
    """Installed pytest11 entry points: name -> module."""
    return {ep.name: ep.value.split(":")[0] for ep in entry_points(group="pytest11")}


def run_pytest(folder: Path, args: list[str], *, autoload: bool) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one pytest run in ``folder``; raises if pytest fails.
    On a busy shared machine the CPU time is the steadier figure; on a quiet one they agree."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    if not autoload:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, "test_empty.py"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, check=False, timeout=120)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise RuntimeError(f"pytest {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return elapsed, cpu


def configs() -> list[tuple[str, list[str], bool]]:
    """(label, pytest arguments, autoload) for each row, the first being pytest alone."""
    modules = plugin_modules()
    missing = [name for name in BASE_PLUGINS if name not in modules]
    if missing:
        raise RuntimeError(f"pytest11 plugins {missing} are not installed: pip install -e '.[test]' first")

    def load(*names: str) -> list[str]:
        return [arg for name in names for arg in ("-p", modules[name])]

    rows = [("pytest alone", [], False), ("with mockpanel (" + ", ".join(BASE_PLUGINS) + ")", load(*BASE_PLUGINS), False)]
    for extra, (package, name) in EXTRA_PLUGINS.items():
        if name in modules:
            rows.append((f"with mockpanel[{extra}]: + {package}", load(*BASE_PLUGINS, name), False))
    everything = f"this environment ({len(modules)} plugins)"
    rows += [(everything + ", -p no:mockpanel", ["-p", "no:mockpanel"], True), (everything, [], True)]
    return rows


def measure(rounds: int) -> list[tuple[str, float, float]]:
    """(label, best wall seconds, best CPU seconds) per row. Rounds interleave the rows, so a busy
    moment of a shared machine slows one run of each rather than every run of one."""
    rows = configs()
    best = [float("inf")] * len(rows)
    best_cpu = [float("inf")] * len(rows)
    with tempfile.TemporaryDirectory(prefix="mockpanel-startup-") as tmp:
        folder = Path(tmp)
        (folder / "test_empty.py").write_text("def test_nothing():\n    pass\n", encoding="utf-8")
        for _ in range(rounds):
            for i, (_, args, autoload) in enumerate(rows):
                wall, cpu = run_pytest(folder, args, autoload=autoload)
                best[i], best_cpu[i] = min(best[i], wall), min(best_cpu[i], cpu)
    return [(label, wall, cpu) for (label, _, _), wall, cpu in zip(rows, best, best_cpu)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="runs per row; the best is shown (default 5)")
    options = parser.parse_args(argv)
    if not 1 <= options.rounds <= 50:
        parser.error("--rounds must be from 1 to 50")
    rows = measure(options.rounds)
    alone, alone_cpu = rows[0][1], rows[0][2]
    width = max(len(label) for label, _, _ in rows)
    print(f"pytest start-up on an empty test file, best of {options.rounds} (seconds)")
    print(f"  {''.ljust(width)}   wall   added    cpu   added")
    for label, wall, cpu in rows:
        print(f"  {label.ljust(width)}  {wall:5.2f}  {wall - alone:+5.2f}  {cpu:5.2f}  {cpu - alone_cpu:+5.2f}")
    added, added_cpu = rows[1][1] - alone, rows[1][2] - alone_cpu
    # Judged on CPU time: on a quiet machine wall and CPU agree, on a busy one the wall time
    # measures the neighbours.
    verdict = "within" if added_cpu <= GOAL else "OVER"
    print(f"a base install of mockpanel adds {added_cpu:.2f} s CPU ({added:.2f} s wall) to every session: "
          f"{verdict} the goal of {GOAL} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
