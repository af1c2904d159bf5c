"""The gauntlet inside pytest: --mockpanel-dialects / --mockpanel-scenarios run each mockpanel test once per
cell, fail a test whose journal shows a money-safety finding, and draw the same matrix as the command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CLIENT_TESTS = '''
import time
import httpx


def place(mockpanel, link):
    for _ in range(5):  # naive: sends the add again whenever it got no answer
        try:
            return httpx.post(mockpanel.url, data={"key": mockpanel.key, "action": "add", "service": 1,
                                                   "link": link, "quantity": 1000}, timeout=5).json()
        except (httpx.HTTPError, ValueError):
            time.sleep(0.1)


def test_naive_order(mockpanel):
    assert place(mockpanel, "https://instagram.com/p/pytest-naive") is not None


def test_balance(mockpanel):
    assert httpx.post(mockpanel.url, data={"key": mockpanel.key, "action": "balance"}, timeout=5).status_code


def test_without_the_fixture():
    pass
'''


def _pytest(where: Path, *options: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    (where / "test_client.py").write_text(CLIENT_TESTS)
    report = where / f"report-{len(list(where.iterdir()))}.json"
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA", *options,
                           "--mockpanel-report", str(report), "test_client.py"],
                          cwd=where, capture_output=True, text=True, timeout=300)
    return done, json.loads(report.read_text())


def test_each_mockpanel_test_runs_per_cell_and_the_matrix_is_printed(tmp_path: Path) -> None:
    done, report = _pytest(tmp_path, "--mockpanel-dialects", "standard,package-id",
                           "--mockpanel-scenarios", "none,lost-answer")
    assert done.returncode == 1, done.stdout
    assert "test_naive_order[standard-lost-answer]" in done.stdout and "test_balance[package-id-none]" in done.stdout
    assert "PASSED test_client.py::test_without_the_fixture" in done.stdout  # no fixture, no cells
    assert "duplicate-order" in done.stdout and "mockpanel gauntlet" in done.stdout
    failed = {(c["dialect"], c["scenario"]) for c in report["cells"] if not c["passed"]}
    assert failed == {("standard", "lost-answer"), ("package-id", "lost-answer")}


def test_xdist_gives_the_same_matrix(tmp_path: Path) -> None:
    options = ("--mockpanel-scenarios", "none,lost-answer,server-error")
    _, one = _pytest(tmp_path, *options)
    _, two = _pytest(tmp_path, *options, "-n", "2")
    assert [(c["dialect"], c["scenario"], c["passed"]) for c in one["cells"]] == \
        [(c["dialect"], c["scenario"], c["passed"]) for c in two["cells"]]
    assert [c["passed"] for c in one["cells"]] == [True, False, True]


def test_without_the_options_nothing_changes(tmp_path: Path) -> None:
    (tmp_path / "test_client.py").write_text(CLIENT_TESTS)
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA", "test_client.py"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "PASSED test_client.py::test_naive_order\n" in done.stdout
    assert "mockpanel gauntlet" not in done.stdout


def test_a_wrong_scenario_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "test_client.py").write_text(CLIENT_TESTS)
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--mockpanel-scenarios", "meteor",
                           "test_client.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 4 and "unknown scenario meteor" in done.stderr


def test_the_command_and_pytest_draw_the_same_matrix_for_the_same_client(tmp_path: Path) -> None:
    # naive.py and the pytest test above are the same client: resend the add whenever no answer came.
    clients = Path(__file__).resolve().parents[1] / "helpers" / "clients"
    report = tmp_path / "command.json"
    subprocess.run([sys.executable, "-m", "mockpanel", "gauntlet", "--scenarios", "all", "--jobs", "2", "--report",
                    str(report), "--", sys.executable, str(clients / "naive.py")], capture_output=True, timeout=300)
    command = json.loads(report.read_text())
    _, under_pytest = _pytest(tmp_path, "--mockpanel-scenarios", "all", "-k", "naive")
    assert [(c["scenario"], c["passed"]) for c in command["cells"]] == \
        [(c["scenario"], c["passed"]) for c in under_pytest["cells"]]
    assert [c["scenario"] for c in command["cells"] if not c["passed"]] == ["lost-answer"]
