"""examples/compose/: its PHP app against ``mockpanel serve`` configured with the compose file's own environment,
and the service name it uses as a Host answered (no container engine needed; tests/install/test_image.py
runs the image itself)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import httpx
import pytest

from tests.helpers.common import serving_command
from tests.helpers.install import ROOT

EXAMPLE = ROOT / "examples" / "compose"


def compose_environment(service: str) -> dict[str, str]:
    """The ``environment:`` mapping of one service of compose.yaml (the file keeps to ``NAME: value`` lines)."""
    text = (EXAMPLE / "compose.yaml").read_text(encoding="utf-8")
    block = re.search(rf"^  {service}:\n(.*?)(?=^  \S|\Z)", text, re.MULTILINE | re.DOTALL)
    assert block, service
    env = re.search(r"^    environment:\n((?:      .*\n)+)", block.group(1), re.MULTILINE)
    assert env, service
    pairs = re.findall(r"^      ([A-Z_]+): \"?([^\"#\s]+)\"?", env.group(1), re.MULTILINE)
    return dict(pairs)


def test_the_php_app_runs_against_the_mock_as_compose_configures_it() -> None:
    if shutil.which("php") is None or "curl" not in subprocess.run(["php", "-m"], capture_output=True, text=True).stdout:
        pytest.skip("php with its cURL extension is not installed (Debian: php-cli php-curl)")
    mock, app = compose_environment("mockpanel"), compose_environment("app")
    assert app["PANEL_URL"] == "http://mockpanel:8080/api/v2" and mock["MOCKPANEL_ALLOW_HOSTS"] == "mockpanel"
    env = {**os.environ, **mock, "PYTHONUNBUFFERED": "1"}
    with serving_command([sys.executable, "-m", "mockpanel", "serve", "--port", "0"], env) as (origin, _):
        port = origin.rsplit(":", 1)[1]
        # The app's requests carry Host: mockpanel:8080, the service's name: answered, another name is not (DNS rebinding).
        named = httpx.post(origin + "/api/v2", data={"key": app["PANEL_KEY"], "action": "balance"},
                           headers={"Host": f"mockpanel:{port}"}, timeout=5)
        assert named.json() == {"balance": "100.00000", "currency": "USD"}
        assert httpx.post(origin + "/api/v2", data={"key": "x", "action": "balance"}, headers={"Host": f"other:{port}"},
                          timeout=5).status_code == 421
        ran = subprocess.run(["php", str(EXAMPLE / "app" / "client.php")], capture_output=True, text=True, timeout=90,
                             env={**os.environ, "PANEL_URL": origin + "/api/v2", "PANEL_KEY": app["PANEL_KEY"]})
    assert ran.returncode == 0, (ran.stdout, ran.stderr)
    assert re.search(r"order \d+: Completed; balance 99\.10000", ran.stdout), ran.stdout


def test_the_docs_show_the_compose_file_as_it_is() -> None:
    doc = (ROOT / "docs" / "docker.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```yaml\n(.*?)```", doc, re.DOTALL)
    kept = {line.split("#")[0].rstrip() for line in (EXAMPLE / "compose.yaml").read_text(encoding="utf-8").splitlines()}
    drifted = [line for line in block.splitlines() if line.split("#")[0].rstrip() not in kept]
    assert drifted == [], drifted
