"""``mockpanel gauntlet``: small clients (tests/helpers/clients/) run through the matrix as a user would,
with the command line in a subprocess, and the verdicts read from the journal of real requests."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree as ET

import httpx
import pytest

from conformance import pages
from mockpanel import ServerThread, build_panel, create_app
from mockpanel._gauntlet.report import to_html
from mockpanel._gauntlet.matrix import Cell
from mockpanel._powers.scenarios import SCENARIOS, choose
from mockpanel._gauntlet.verdicts import MAX_PER_MINUTE, judge

CLIENTS = Path(__file__).resolve().parents[1] / "helpers" / "clients"
KEY = "verdict-key-0123456789"


def gauntlet(tmp_path: Path, *options: str, client: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    report = tmp_path / f"{client}-{len(list(tmp_path.iterdir()))}.json"
    done = subprocess.run([sys.executable, "-m", "mockpanel", "gauntlet", *options, "--report", str(report),
                           "--", sys.executable, str(CLIENTS / f"{client}.py")],
                          capture_output=True, text=True, timeout=300)
    return done, json.loads(report.read_text()) if report.exists() else {}


def cells(report: dict) -> dict[tuple[str, str], dict]:
    return {(c["dialect"], c["scenario"]): c for c in report["cells"]}


def test_the_naive_client_orders_twice_when_an_answer_is_lost(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    done, report = gauntlet(tmp_path, "--scenarios", "all", "--jobs", "2", "--junit", str(junit), client="naive")
    assert done.returncode == 1, done.stdout + done.stderr
    lost = cells(report)[("standard", "lost-answer")]
    assert not lost["passed"] and lost["exit_code"] == 0  # its own exit code said all was well
    (finding,) = [f for f in lost["findings"] if f["verdict"] == "duplicate-order"]
    assert finding["requests"] == [1, 2] and Decimal(finding["at_stake"]) == Decimal("0.9")
    assert "#1 placed order 10001 (0.90000 USD)" in finding["message"] and "#2" in finding["message"]
    assert cells(report)[("standard", "none")]["passed"]
    assert "standard x lost-answer: duplicate-order" in done.stdout  # the table's first reason
    suite = ET.parse(junit).getroot()
    assert suite.get("tests") == str(len(SCENARIOS)) and int(suite.get("failures") or 0) >= 1
    failed = [c for c in suite if c.find("failure") is not None]
    assert ("gauntlet.standard", "lost-answer") in [(c.get("classname"), c.get("name")) for c in failed]


def test_the_careful_client_passes_every_scenario_of_the_standard_dialect(tmp_path: Path) -> None:
    done, report = gauntlet(tmp_path, "--scenarios", "all", "--jobs", "2", client="careful")
    assert done.returncode == 0, done.stdout + done.stderr
    assert [c["scenario"] for c in report["cells"]] == list(SCENARIOS)
    assert all(c["passed"] and not c["findings"] for c in report["cells"])
    assert f"{len(SCENARIOS)} of {len(SCENARIOS)} cells passed" in done.stdout


def test_an_id_read_as_an_integer_fails_a_family_whose_ids_are_strings(tmp_path: Path) -> None:
    done, report = gauntlet(tmp_path, "--dialects", "standard,objectid", client="integer_ids")
    assert done.returncode == 1
    assert cells(report)[("standard", "none")]["passed"]
    failed = cells(report)[("objectid", "none")]
    assert not failed["passed"] and failed["reason"].startswith("the command exited 1")
    assert "unknown to the panel" in failed["reason"]


def test_the_matrix_does_not_depend_on_jobs(tmp_path: Path) -> None:
    def verdicts(report: dict) -> list[tuple[str, str, bool, list[str]]]:
        return [(c["dialect"], c["scenario"], c["passed"], [f["message"] for f in c["findings"]])
                for c in report["cells"]]

    options = ("--dialects", "standard,package-id", "--scenarios", "none,lost-answer,server-error")
    _, one = gauntlet(tmp_path, *options, "--jobs", "1", client="naive")
    _, two = gauntlet(tmp_path, *options, "--jobs", "2", client="naive")
    assert verdicts(one) == verdicts(two) and len(verdicts(one)) == 6


@pytest.mark.parametrize(("options", "said"), [
    (("--report", "/nonexistent-folder/report.html"), "does not exist"),
    (("--report", "report.txt"), "ending in .html or .json"),
    (("--scenarios", "none,meteor"), "unknown scenario meteor"),
    (("--dialects", "nosuchdialect"), "nosuchdialect"),
])
def test_a_wrong_option_is_said_before_any_run(tmp_path: Path, options: tuple[str, ...], said: str) -> None:
    marker = tmp_path / "ran"
    done = subprocess.run([sys.executable, "-m", "mockpanel", "gauntlet", *options, "--", sys.executable, "-c",
                           f"open({str(marker)!r}, 'w')"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 2 and said in done.stderr and not marker.exists()


def test_a_command_past_its_timeout_is_stopped_and_fails_its_cell(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "mockpanel", "gauntlet", "--timeout", "1", "--", sys.executable,
                           "-c", "import time; time.sleep(30)"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "ran past --timeout 1 s" in done.stdout


def test_what_the_command_printed_is_escaped_in_the_html_report() -> None:
    cell = Cell("standard", "none", exit_code=1, output="<script>alert(1)</script>\n<img src=x onerror=alert(2)>")
    page = to_html([cell], ["php", "<b>client</b>.php"])
    assert "<script>alert" not in page and "<img" not in page and "&lt;script&gt;" in page
    assert "&lt;b&gt;client" in page and "Content-Security-Policy" in page
    assert pages.stylesheet() in page  # the look every report shares
    assert "0 of 1 cells passed" in page


def test_choose_reads_all_and_names_in_order() -> None:
    assert [s.name for s in choose("all")] == list(SCENARIOS)
    assert [s.name for s in choose("slow, none,slow")] == ["slow", "none"]


# --- the verdicts, on the journal of real requests --------------------------------------------------


def _panel() -> tuple[ServerThread, object]:
    panel = build_panel("standard", speed=0)
    panel.create_account(KEY, balance="100")
    app = create_app(panel, "standard")
    return ServerThread(app), app.state.control


def test_a_cancel_and_a_refill_sent_twice_are_findings() -> None:
    server, control = _panel()
    with server, httpx.Client(timeout=10) as http:
        api = server.url + "/api/v2"
        order = http.post(api, data={"key": KEY, "action": "add", "service": "1", "link": "https://x.test/a",
                                     "quantity": "1000"}).json()["order"]
        for action in ("cancel", "cancel", "refill", "refill"):
            http.post(api, data={"key": KEY, "action": action, ("orders" if action == "cancel" else "order"): order})
        found = judge(control)  # type: ignore[arg-type]
    assert [(f.verdict, f.requests) for f in found] == [("repeated-cancel", (2, 3)), ("repeated-refill", (4, 5))]


def test_orders_out_of_range_a_refused_key_and_a_flood_are_findings() -> None:
    server, control = _panel()
    with server, httpx.Client(timeout=10) as http:
        api = server.url + "/api/v2"
        http.post(api, data={"key": KEY, "action": "add", "service": "9999", "link": "https://x.test/b", "quantity": "10"})
        http.post(api, data={"key": KEY, "action": "add", "service": "1", "link": "https://x.test/c", "quantity": "1"})
        control.panel.create_account("sk-tenant-d-4c2e91b7", balance="1")  # type: ignore[attr-defined]
        http.post(api, data={"key": KEY, "action": "add", "service": "sk-tenant-d-4c2e91b7", "link": "https://x.test/d",
                             "quantity": "10"})  # another tenant's key where the service goes
        for _ in range(2):
            http.post(api, data={"key": "not-a-key-of-this-panel", "action": "balance"})
        for _ in range(MAX_PER_MINUTE + 1):
            http.post(api, data={"key": KEY, "action": "balance"})
        found = judge(control)  # type: ignore[arg-type]
    by = {f.verdict: [g for g in found if g.verdict == f.verdict] for f in found}
    assert sorted(f.verdict for f in found) == ["out-of-range", "out-of-range", "out-of-range", "polling-rate", "refused-key"]
    assert "does not list" in by["out-of-range"][0].message and "min and max" in by["out-of-range"][1].message
    assert "sk-tenant-d" not in by["out-of-range"][2].message and "'key#" in by["out-of-range"][2].message
    assert by["refused-key"][0].requests == (4, 5) and f"more than the {MAX_PER_MINUTE}" in by["polling-rate"][0].message
    assert "not-a-key" not in " ".join(f.message for f in found)  # a key is shown redacted only


def test_a_good_client_leaves_no_finding() -> None:
    server, control = _panel()
    with server, httpx.Client(timeout=10) as http:
        api = server.url + "/api/v2"
        order = http.post(api, data={"key": KEY, "action": "add", "service": "1", "link": "https://x.test/d",
                                     "quantity": "1000"}).json()["order"]
        http.post(api, data={"key": KEY, "action": "status", "order": order})
        http.post(api, data={"key": KEY, "action": "cancel", "orders": order})
        assert judge(control) == []  # type: ignore[arg-type]


def _other_language(tmp_path: Path, program: str, client: str, scenarios: str) -> tuple[int, dict]:
    report = tmp_path / "report.json"
    done = subprocess.run([sys.executable, "-m", "mockpanel", "gauntlet", "--scenarios", scenarios, "--jobs", "2",
                           "--report", str(report), "--", program, str(CLIENTS / client)],
                          capture_output=True, text=True, timeout=300)
    return done.returncode, json.loads(report.read_text())


@pytest.mark.skipif(shutil.which("php") is None, reason="no php: apt-get install php-cli php-curl")
def test_a_careful_php_client_passes_every_scenario(tmp_path: Path) -> None:
    code, report = _other_language(tmp_path, "php", "careful.php", "all")
    assert code == 0 and all(c["passed"] for c in report["cells"]), [c["reason"] for c in report["cells"]]


@pytest.mark.skipif(shutil.which("node") is None, reason="no node")
def test_a_naive_node_client_orders_twice_when_an_answer_is_lost(tmp_path: Path) -> None:
    code, report = _other_language(tmp_path, "node", "naive.mjs", "none,lost-answer")
    assert code == 1
    assert cells(report)[("standard", "none")]["passed"]
    lost = cells(report)[("standard", "lost-answer")]
    assert [f["verdict"] for f in lost["findings"]] == ["duplicate-order"] and lost["findings"][0]["requests"] == [1, 2]


RESETS_THEN_READS = """
import os, httpx
httpx.post(os.environ["MOCKPANEL_CONTROL_URL"] + "/reset").raise_for_status()
url, key = os.environ["MOCKPANEL_URL"], os.environ["MOCKPANEL_KEY"]
print("balance", httpx.post(url, data={"key": key, "action": "balance"}).json())
print("status", httpx.post(url, data={"key": key, "action": "status", "order": "1"}).status_code)
"""


def test_a_client_s_reset_keeps_the_cell_s_key_and_the_scenario_s_faults() -> None:
    """POST /_mock/reset in a cell is back to how the cell started: its key with its balance, and the scenario."""
    from mockpanel._dialects import load_dialect
    from mockpanel._gauntlet.matrix import run_cell
    from mockpanel._powers.scenarios import scenario

    cell = run_cell(load_dialect("standard"), scenario("server-error"), [sys.executable, "-c", RESETS_THEN_READS],
                    timeout=60)
    assert cell.exit_code == 0, cell.output
    assert "'balance'" in cell.output and "Invalid API key" not in cell.output, cell.output
    assert "status 502" in cell.output, cell.output  # the scenario's first status still fails after the reset
