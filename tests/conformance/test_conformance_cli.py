"""`mockpanel conformance`: progress, summary, reports and exit codes, as a user runs it."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner

from mockpanel import ServerThread, VirtualClock, build_panel, create_app
from mockpanel._cli import main
from tests.helpers.broken_panels import DEFECTS, MAIN_KEY, START, open_keys


@pytest.fixture
def url():  # type: ignore[no-untyped-def]
    panel = build_panel(clock=VirtualClock(speed=0, start=START), seed=1)
    open_keys(panel)
    with ServerThread(create_app(panel)) as server:
        yield server.url + "/api/v2"


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["conformance", *args], catch_exceptions=False)


def test_a_passing_run_prints_progress_and_a_summary_and_writes_every_report(url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    paths = {kind: tmp_path / f"report.{kind}" for kind in ("json", "xml", "html")}
    result = invoke(url, "--key", MAIN_KEY, "--examples", "5", "--json", str(paths["json"]),
                    "--junit", str(paths["xml"]), "--html", str(paths["html"]))
    assert result.exit_code == 0, result.output
    out = result.output
    for line in ("preflight", "read-only checks", "auth: wrong, empty and missing keys", "summary:", "result: PASSED (exit 0)"):
        assert line in out
    assert MAIN_KEY not in out and "key#" in out
    data = json.loads(paths["json"].read_text())
    assert data["exit_code"] == 0 and data["counts"]["failed"] == 0 and len(data["requirements"]) > 70
    suite = ET.parse(paths["xml"]).getroot()
    assert suite.get("failures") == "0" and int(suite.get("tests")) == len(data["requirements"])
    assert "Panel conformance report" in paths["html"].read_text()


def test_a_failing_panel_exits_1(tmp_path) -> None:  # type: ignore[no-untyped-def]
    defect = next(d for d in DEFECTS if d.name == "unknown_ids_dropped")
    panel, app = defect.build()
    open_keys(panel)
    with ServerThread(app) as server:
        result = invoke(server.url + "/api/v2", "--key", MAIN_KEY, "--examples", "5", "--quiet")
    assert result.exit_code == 1
    assert "1 failed" in result.output


def test_orders_tier_prints_its_estimate_before_spending(url: str) -> None:
    result = invoke(url, "--key", MAIN_KEY, "--tier", "orders", "--link", "https://instagram.com/x",
                    "--max-spend", "2", "--examples", "5", "--programs", "2", "--steps", "15")
    assert result.exit_code in (0, 1), result.output
    out = result.output
    assert out.index("estimate") < out.index("orders placed")
    assert "hard stop" in out and "spent" in out
    assert "this run changed the mock: moved its clock by" in out and "added 1 key(s) (key#" in out


@pytest.mark.parametrize("args, message", [
    (["--tier", "orders"], "needs --link and --max-spend"),
    (["--tier", "orders", "--link", "https://x.test/p"], "needs --max-spend"),
    (["--tier", "orders", "--link", "https://x.test/p", "--max-spend", "-1"], "positive amount"),
    (["--tier", "orders", "--link", "https://x.test/p", "--max-spend", "lots"], "not an amount"),
    (["--dialect", "no-such-dialect"], "no dialect named"),
    (["--second-key", MAIN_KEY], "must differ"),
    (["--tier", "everything"], "Invalid value"),
])
def test_bad_arguments_exit_2(url: str, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["conformance", url, "--key", MAIN_KEY, *args])
    assert result.exit_code == 2
    assert message in result.output


def test_cannot_run_exits_2(url: str) -> None:
    assert invoke("ftp://panel", "--key", "k").exit_code == 2
    result = invoke(url, "--key", MAIN_KEY, "--dialect", "no-such-dialect")
    assert result.exit_code == 2 and "no dialect named" in result.output
    result = invoke(url, "--key", "not-a-key-of-this-panel")
    assert result.exit_code == 2 and "refused --key" in result.output
    result = invoke(url.replace("/api/v2", "/nothing"), "--key", MAIN_KEY)
    assert result.exit_code == 2 and "could not run" in result.output


def test_orders_options_without_the_orders_tier_are_a_warning(url: str) -> None:
    result = CliRunner().invoke(main, ["conformance", url, "--key", MAIN_KEY, "--examples", "3", "--max-spend", "1",
                                       "--link", "https://instagram.com/x", "-q"])
    assert result.exit_code == 0, result.output
    assert "warning: --max-spend and --link given without --tier orders" in result.output
    assert "passed" in result.output and "exit 0" in result.output


def test_quiet_still_says_why_a_run_could_not_judge(url: str) -> None:
    result = invoke(url, "--key", "not-a-key-of-this-panel", "-q")
    assert result.exit_code == 2
    assert "could not judge: the panel refused --key" in result.output
    assert "preflight" not in result.output  # quiet: only the summary and the cause
