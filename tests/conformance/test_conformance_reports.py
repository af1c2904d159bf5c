"""The reports list every requirement with its outcome, evidence for failures, reasons for the rest."""

from __future__ import annotations

import json
import os
import re
import subprocess
from html import escape as html_escape
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from mockpanel import ServerThread, build_panel, create_app
from conformance import pages
from conformance.catalogue import load_catalogue
from conformance.curl import form_command
from conformance.redaction import redact
from conformance._report_html import to_html
from conformance._reports import to_json, to_junit
from tests.helpers.broken_panels import DEFECTS, MAIN_KEY, SECOND_KEY, open_keys, run_suite
from tests.helpers.browser import needs_browser
from tests.helpers.common import HTTP
from tests.helpers.report_page import open_report

CATALOGUE = load_catalogue()


def escape(text: str) -> str:
    """As the templates escape text (Jinja2 writes an apostrophe &#39;, a quote &#34;)."""
    return html_escape(text, quote=True).replace("&#x27;", "&#39;").replace("&quot;", "&#34;")


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


def test_html_lists_the_not_exercised_by_reason_with_their_titles(report) -> None:  # type: ignore[no-untyped-def]
    html = to_html(report)
    section = html[html.index("<h2>Not exercised"):html.index("<h2>All requirements")]
    skipped = [r for r in report.results if r.outcome == "not exercised"]
    assert skipped
    for r in skipped:
        assert f"<b>{r.requirement.id}</b> {escape(r.requirement.title)}" in section
        assert escape(r.reason) in section


def test_html_shows_amounts_with_their_currency() -> None:
    from decimal import Decimal

    from conformance.report import Report
    from conformance.verdicts import Verdicts

    results = Verdicts(CATALOGUE).results(lambda r: "not reached")
    r = Report(url="http://127.0.0.1:9/api/v2", dialect="standard", tier="orders", seed=0, started="2026-01-01T00:00:00",
               duration=1.0, requests=3, results=results, exit_code=1, committed=Decimal("0.40"),
               spent=Decimal("0.30"), taken=Decimal("0.35"), max_spend=Decimal("0.50"), currency="EUR",
               overcharge="the panel took 0.05 EUR more than its price list said")
    html = to_html(r)
    for amount in ("taken 0.35 EUR", "spent 0.30 EUR", "committed 0.40 EUR", "cap 0.50 EUR"):
        assert amount in html
    assert "Overcharged:" in html and "0.05 EUR more" in html


# --- the HTML report of a real run whose panel answered with markup ------------------------------

SCRIPT = "<script>window.pwned=1</script>"


@pytest.fixture(scope="module")
def scripted():  # type: ignore[no-untyped-def]
    """A read-only run against the mock, whose first status answer is an error carrying a script."""
    panel = build_panel("standard", seed=1, speed=0)
    open_keys(panel)
    with ServerThread(create_app(panel, "standard")) as server:
        HTTP.post(server.url + "/_mock/faults", json={"kind": "http", "status": 200, "action": "status", "count": 1,
                                                     "body": json.dumps({"error": SCRIPT}), "content_type": "text/html"})
        yield server.url, run_suite(server.url + "/api/v2", panel, "read-only")


def test_the_html_report_shows_what_the_panel_sent_as_text_and_nothing_from_outside(scripted) -> None:  # type: ignore[no-untyped-def]
    _, report = scripted
    html = to_html(report)
    assert report.result("V2-ERR-01").outcome == "failed" and SCRIPT in report.result("V2-ERR-01").finding.message
    assert SCRIPT not in html and escape(SCRIPT) in html
    assert html.count("<script") == 1  # the page's own (copy-as-curl), none from the panel
    assert MAIN_KEY not in html and SECOND_KEY not in html
    assert re.findall(r"<link|\bsrc=|@import|url\(|href=\"(?!#)", html) == []  # one file: no external asset


def test_every_failing_exchange_has_a_curl_command_that_sends_it_again(scripted) -> None:  # type: ignore[no-untyped-def]
    url, report = scripted
    html = to_html(report)
    names = {redact(MAIN_KEY): "MOCKPANEL_KEY", redact(SECOND_KEY): "MOCKPANEL_SECOND_KEY"}
    flagged = [r for r in report.results if r.outcome in ("failed", "warning") and r.finding]
    assert {r.requirement.id for r in flagged} == {"V2-ERR-01", "V2-GEN-07"}
    for r in flagged:
        for ex in r.finding.exchanges[:3]:
            assert escape(form_command(ex.url, ex.params, names)) in html
    ex = report.result("V2-ERR-01").finding.exchanges[0]
    command = form_command(ex.url, ex.params, names)
    assert '"$MOCKPANEL_KEY"' in command and MAIN_KEY not in command
    done = subprocess.run(["bash", "-c", command], env={"PATH": os.environ["PATH"], "MOCKPANEL_KEY": MAIN_KEY},
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0 and done.stdout.startswith("HTTP/1.1 200"), done.stderr
    sent = HTTP.get(url + "/_mock/journal").json()[-1]
    assert sent["key"] == redact(MAIN_KEY) and sent["params"] == {k: v for k, v in ex.params.items() if k != "key"}


@needs_browser("the report's screenshot")
def test_the_html_report_in_a_browser(scripted, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, report = scripted
    path = tmp_path / "report.html"
    path.write_text(to_html(report), encoding="utf-8")
    seen = open_report(path, "conformance-report")
    assert seen.title.startswith("Conformance report") and "FAILED" in seen.text
    assert SCRIPT in seen.text and not seen.ran  # shown as text, never run
    assert 'key="$MOCKPANEL_KEY"' in seen.text and seen.copied == "Copied"
    assert seen.screenshot.stat().st_size > 20_000


@needs_browser("the report's screenshot")
def test_a_report_runs_only_its_own_script_even_where_escaping_was_bypassed(tmp_path: Path) -> None:
    # Defence in depth: markup put in unescaped (as a template bug would) is still not run: the page's
    # Content-Security-Policy lets only its copy-as-curl script run, by its hash.
    injected = ('{% extends "base.html" %}{% block content %}' + SCRIPT +
                '{% with command = "curl x" %}{% include "_curl.html" %}{% endwith %}{% endblock %}')
    path = tmp_path / "injected.html"
    path.write_text(pages.environment().from_string(injected).render(), encoding="utf-8")
    assert SCRIPT in path.read_text()
    seen = open_report(path, "injected")
    assert not seen.ran and seen.copied == "Copied"
