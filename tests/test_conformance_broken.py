"""Every one-defect variant of the mock is flagged under the right requirement id.

A read-only defect must be caught by the read-only tier (which spends nothing); an
orders defect by the orders tier. The suite must flag the defect's requirement and
nothing it does not really break (``flags`` <= flagged <= ``flags`` | ``also``).
"""

from __future__ import annotations

import pytest

from mockpanel import ServerThread
from mockpanel.conformance.catalogue import load_catalogue
from tests.broken_panels import DEFECTS, KEY_ECHO, NOT_A_PANEL, Defect, open_keys, run_suite

CATALOGUE = load_catalogue()


def test_the_defects_name_real_requirements_and_cover_many_areas() -> None:
    for d in DEFECTS:
        assert d.flags, d.name
        for rid in d.flags | d.also:
            assert rid in CATALOGUE.by_id, (d.name, rid)
    areas = {CATALOGUE[rid].area for d in DEFECTS for rid in d.flags}
    assert len(areas) >= 10, areas


@pytest.mark.parametrize("defect", DEFECTS, ids=lambda d: d.name)
def test_the_suite_flags_the_defect_under_its_requirement(defect: Defect) -> None:
    panel, app = defect.build()
    open_keys(panel)
    with ServerThread(app) as server:
        report = run_suite(server.url + "/api/v2", panel, defect.tier)
    flagged = report.flagged()
    assert defect.flags <= set(flagged), f"{defect.name}: expected {sorted(defect.flags)}, flagged {flagged}"
    unexpected = set(flagged) - defect.flags - defect.also
    assert not unexpected, {rid: report.result(rid).finding.message for rid in unexpected}
    for rid in defect.flags:
        result = report.result(rid)
        assert result.outcome == ("failed" if CATALOGUE[rid].severity == "failure" else "warning")
        assert result.finding is not None and result.finding.exchanges, rid  # the evidence is there
    failures = [rid for rid, outcome in flagged.items() if outcome == "failed"]
    assert report.exit_code == (1 if failures else 0)


def test_a_read_only_defect_is_also_caught_by_the_orders_tier() -> None:
    defect = next(d for d in DEFECTS if d.name == "unknown_ids_dropped")
    panel, app = defect.build()
    open_keys(panel)
    with ServerThread(app) as server:
        report = run_suite(server.url + "/api/v2", panel, "orders")
    assert "V2-BAT-02" in report.flagged()


def test_not_a_panel_cannot_be_judged() -> None:
    panel, app = NOT_A_PANEL.build()
    with ServerThread(app) as server:
        report = run_suite(server.url + "/api/v2", None, "read-only")
    assert report.exit_code == 2
    assert "does not answer like a panel" in (report.error or "")
    assert all(r.outcome == "not exercised" for r in report.results)


def test_an_unreachable_panel_or_a_refused_key_cannot_be_judged() -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    report = run_suite(f"http://127.0.0.1:{port}/api/v2", None, "read-only", timeout=2)
    assert report.exit_code == 2 and "cannot reach" in (report.error or "")
    panel, app = KEY_ECHO.build()  # no account opened: the key is refused
    with ServerThread(app) as server:
        report = run_suite(server.url + "/api/v2", panel, "read-only", second=False)
    assert report.exit_code == 2 and "refused --key" in (report.error or "")
