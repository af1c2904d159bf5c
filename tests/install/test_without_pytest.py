"""The server and ``import mockpanel`` need none of the extras: run here with pytest, hypothesis and faker made
unimportable (a ``sys.meta_path`` finder), as an install without them would be. Fast; the slow
tests/install/test_fresh_install.py checks the same in a real environment without them."""

from __future__ import annotations

import os
import sys

import httpx

from tests.helpers.common import serving_command

BLOCKED = ("pytest", "_pytest", "hypothesis", "faker", "pluggy")
BLOCKER = f"""
import sys
class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {BLOCKED!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked)", name=name)
        return None
sys.meta_path.insert(0, Blocked())
"""


def test_import_mockpanel_and_serve_without_pytest_or_the_extras() -> None:
    code = BLOCKER + "import mockpanel; [getattr(mockpanel, n) for n in mockpanel.__all__]; import runpy\n" \
        "sys.argv = ['mockpanel', 'serve', '--port', '0', '--host', '127.0.0.1']; runpy.run_module('mockpanel', run_name='__main__')"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    with serving_command([sys.executable, "-c", code], env) as (origin, proc):
        assert httpx.get(origin + "/_mock/health", timeout=5).json()["status"] == "ok"
        answer = httpx.post(origin + "/api/v2", data={"key": "test-key", "action": "add", "service": 1,
                                                      "link": "https://instagram.com/p/x", "quantity": 100}, timeout=5)
        assert "order" in answer.json(), answer.text
        assert proc.poll() is None


def test_the_blocker_does_block() -> None:  # else the test above could not fail
    import subprocess

    done = subprocess.run([sys.executable, "-c", BLOCKER + "import pytest"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "No module named 'pytest' (blocked)" in done.stderr
