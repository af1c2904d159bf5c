"""The pytest plugins cost other projects' sessions nothing they do not use (timings: bench/startup.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench.startup import main as startup_main

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("starlette", "uvicorn", "httpx", "anyio", "orjson", "click", "hypothesis", "faker",
         "mockpanel._server", "mockpanel._domain", "mockpanel._dialects", "mockpanel._testing", "conformance.runner")

SESSION_TEST = f"""
import sys

def test_the_plugins_loaded_nothing_heavy():
    loaded = [m for m in {HEAVY!r} if m in sys.modules]
    assert loaded == [], loaded
"""


def test_a_session_that_does_not_use_the_fixture_imports_no_server_stack(tmp_path: Path) -> None:
    (tmp_path / "test_light.py").write_text(SESSION_TEST, encoding="utf-8")
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "mockpanel.pytest_plugin",
         "-p", "conformance.pytest_options", "test_light.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_the_marker_and_ini_options_are_still_registered(tmp_path: Path) -> None:
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    out = {
        flag: subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "mockpanel.pytest_plugin", flag],
            cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=120,
        ).stdout
        for flag in ("--markers", "--help")
    }
    assert "@pytest.mark.mockpanel(balance=" in out["--markers"]
    assert "mockpanel_balance" in out["--help"] and "mockpanel_speed" in out["--help"]


def test_bench_startup_prints_each_row(capsys) -> None:  # type: ignore[no-untyped-def]
    assert startup_main(["--rounds", "1"]) == 0
    out = capsys.readouterr().out
    for row in ("pytest alone", "with mockpanel (mockpanel, mockpanel-conformance, anyio)",
                "with mockpanel[conformance]: + hypothesis", "with mockpanel[catalog]: + faker",
                "a base install of mockpanel adds"):
        assert row in out
