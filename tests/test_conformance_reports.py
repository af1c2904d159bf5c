"""The reports list every requirement with its outcome, evidence for failures, reasons for the rest."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

import pytest

from mockpanel import ServerThread
from mockpanel.conformance.catalogue import load_catalogue
from mockpanel.conformance.report_html import to_html
from mockpanel.conformance.reports import to_json, to_junit
from tests.broken_panels import DEFECTS, open_keys, run_suite

CATALOGUE = load_catalogue()


@pytest.fixture(scope="module")
def report():  # type: ignore[no-untyped-def]
    defect = next(d for d in DEFECTS if d.name == "unknown_ids_dropped")  # one failure, read-only
    panel, app = defect.build()
    open_keys(panel)
    with ServerThread(app) as server:
        return run_suite(server.url + "/api/v2", panel, "read-only")


def test_json_lists_every_requirement_with_counts_and_the_failing_exchange(report) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(to_json(report, with_trace=True))
    assert [r["id"] for r in data["requirements"]] == [r.id for r in CATALOGUE]
    assert sum(data["counts"].values()) == len(CATALOGUE)
    assert data["counts"]["failed"] == 1 and data["exit_code"] == 1
    failed = next(r for r in data["requirements"] if r["outcome"] == "failed")
    assert failed["id"] == "V2-BAT-02" and failed["finding"]["shrunk"] is True
    request = failed["finding"]["exchanges"][0]["request"]
    assert request["params"]["action"] == "status" and "orders" in request["params"]
    assert failed["finding"]["exchanges"][0]["response"]["status"] == 200
    skipped = [r for r in data["requirements"] if r["outcome"] == "not exercised"]
    assert skipped and all(r["reason"] for r in skipped)
    assert len(data["trace"]) == data["requests"]


def test_the_shrunk_example_is_minimal(report) -> None:  # type: ignore[no-untyped-def]
    finding = report.result("V2-BAT-02").finding
    ids = finding.exchanges[0].params["orders"].split(",")
    assert len(ids) == 1  # hypothesis shrank the batch to one unknown id


def test_junit_has_one_case_per_requirement(report) -> None:  # type: ignore[no-untyped-def]
    suite = ET.fromstring(to_junit(report).split("\n", 1)[1])
    cases = suite.findall("testcase")
    assert len(cases) == len(CATALOGUE) == int(suite.get("tests"))
    failed = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name").split()[0] for c in failed] == ["V2-BAT-02"]
    assert "request:" in failed[0].find("failure").text
    assert int(suite.get("skipped")) == sum(c.find("skipped") is not None for c in cases) > 0


def test_html_shows_the_verdict_every_requirement_and_the_evidence(report) -> None:  # type: ignore[no-untyped-def]
    html = to_html(report)
    assert ">FAILED<" in html and "Minimal reproducing request" in html
    for r in CATALOGUE:
        assert f">{r.id}<" in html
    assert "needs --tier orders" in html
