"""The GitHub Actions workflows of docs/ci.md (examples/github-actions/): actionlint passes on them where it is
installed (.ci/run installs it), and the commands they run work as written against a real ``mockpanel serve``."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.common import serving
from tests.helpers.install import ROOT

WORKFLOWS = sorted((ROOT / "examples" / "github-actions").glob("*.yml"))


def _text(name: str) -> str:
    return (ROOT / "examples" / "github-actions" / name).read_text(encoding="utf-8")


def test_actionlint_passes_on_every_workflow() -> None:
    assert [p.name for p in WORKFLOWS] == ["client-tests.yml", "conformance.yml"]
    actionlint = shutil.which("actionlint")
    if actionlint is None:
        pytest.skip("actionlint is not installed (the lint extra installs it on Linux x86_64/aarch64 and Windows)")
    done = subprocess.run([actionlint, "-color=false", *map(str, WORKFLOWS)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = subprocess.run([actionlint, "-color=false", "-"], input="on: push\njobs:\n  x:\n    steps: []\n",
                            capture_output=True, text=True, timeout=60)
    assert broken.returncode != 0  # it does judge: a job without runs-on is refused


def test_the_client_workflow_runs_the_image_as_a_service_on_the_url_it_tests() -> None:
    text = _text("client-tests.yml")
    assert re.search(r"^    services:\n      mockpanel:\n        image: \$\{\{ vars\.MOCKPANEL_IMAGE \}\}\n", text, re.MULTILINE)
    assert "- 8080:8080" in text and "PANEL_URL: http://localhost:8080/api/v2" in text
    assert "MOCKPANEL_ADMIN_TOKEN: ci-token" in text  # the job reaches the container from outside its loopback


@pytest.mark.slow
def test_the_conformance_workflow_s_command_judges_a_mock_and_writes_the_reports_it_uploads(tmp_path: Path) -> None:
    text = _text("conformance.yml")
    run = re.search(r"^ {10}(mockpanel conformance .*)$", text, re.MULTILINE)
    assert run, "no mockpanel conformance step"
    assert "MOCKPANEL_KEY: ${{ secrets.PANEL_KEY }}" in text and "path: reports/" in text
    argv = shlex.split(run.group(1))
    with serving() as origin:
        env = {**os.environ, "PANEL_URL": f"{origin}/api/v2", "MOCKPANEL_KEY": "test-key"}
        argv = [a.replace("$PANEL_URL", env["PANEL_URL"]) for a in argv]
        (tmp_path / "reports").mkdir()
        done = subprocess.run([sys.executable, "-m", "mockpanel", *argv[1:], "--quiet"], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    written = sorted(p.name for p in (tmp_path / "reports").iterdir())
    assert written == ["conformance.html", "conformance.json", "conformance.xml"]
    assert "test-key" not in "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "reports").iterdir())


def test_the_docs_show_the_workflows_as_they_are() -> None:
    doc = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", doc, re.DOTALL)
    kept = {line.rstrip() for path in WORKFLOWS for line in path.read_text(encoding="utf-8").splitlines()}
    assert len(blocks) == 2
    drifted = [line for block in blocks for line in block.splitlines() if line.rstrip() not in kept]
    assert drifted == [], drifted
