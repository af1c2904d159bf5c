"""Every one-defect variant of the mock is flagged under the right requirement id.

A read-only defect must be caught by the read-only tier (which spends nothing); an
orders defect by the orders tier. The suite must flag the defect's requirement and
nothing it does not really break (``flags`` <= flagged <= ``flags`` | ``also``).
"""

from __future__ import annotations

from typing import Any

import pytest

from mockpanel import ServerThread
from conformance.catalogue import load_catalogue
from conformance.profile import load_dialect
from tests.helpers.broken_panels import (
    BAD_RATE_LIST, BAD_RATES, DEFECTS, EVERY_VALUE, KEY_ECHO, NOT_A_PANEL, NULL_ANSWERED, OUTSIDE_REFUND, PRECISION,
    REAL_SCRIPTS, SESSION_COOKIE, SMARTPANEL_SHAPED, SMARTPANEL_UNKNOWN, Defect, SessionCookie, fickle, open_keys,
    run_suite,
)

CATALOGUE = load_catalogue()
OVER_SEEDS = PRECISION + REAL_SCRIPTS + EVERY_VALUE  # each caught whatever hypothesis draws
FIRST = [d for d in DEFECTS if d not in OVER_SEEDS]
SEEDS = (0, 1, 2)  # the precision variants must be caught whatever hypothesis draws


def test_the_defects_name_real_requirements_and_cover_many_areas() -> None:
    for d in DEFECTS:
        assert d.flags, d.name
        for rid in d.flags | d.also:
            assert rid in CATALOGUE.by_id, (d.name, rid)
    areas = {CATALOGUE[rid].area for d in DEFECTS for rid in d.flags}
    assert len(areas) >= 10, areas


def _judge(defect: Defect, seed: int = 0, **small: int) -> None:
    panel, app = defect.build()
    open_keys(panel)
    with ServerThread(app) as server:
        path = load_dialect(defect.dialect).endpoints[0]  # where the dialect serves its API
        report = run_suite(server.url + path, panel, defect.tier, seed=seed, dialect=defect.dialect, **small)
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


@pytest.mark.parametrize("defect", FIRST, ids=lambda d: d.name)
def test_the_suite_flags_the_defect_under_its_requirement(defect: Defect) -> None:
    _judge(defect)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("defect", OVER_SEEDS, ids=lambda d: d.name)
def test_the_suite_flags_each_precision_defect_whatever_the_seed(defect: Defect, seed: int) -> None:
    _judge(defect, seed, examples=4, programs=2, steps=12)  # small runs: each is caught by design, not by luck


def test_a_smartpanel_shaped_panel_gets_action_not_supported_never_a_pass() -> None:
    # Only services, add, status, balance; plain-string batch errors; string ids; judged as the standard dialect.
    panel, app = SMARTPANEL_SHAPED.build()
    open_keys(panel)
    with ServerThread(app) as server:
        report = run_suite(server.url + "/api/v2", panel, "orders")
    missing = {"refill", "refill_status", "cancel"}
    needing = [r for r in CATALOGUE if any(n[7:] in missing for n in r.needs if n.startswith("action:"))]
    assert len(needing) >= 12
    for req in needing:
        result = report.result(req.id)
        assert result.outcome == "not exercised", (req.id, result.outcome)
        assert result.reason.startswith("action not supported: the panel answers "), (req.id, result.reason)
        assert SMARTPANEL_UNKNOWN in result.reason
    for action in missing:
        assert f"action not supported: the panel answers {action!r} with its unknown-action error " \
               f"({SMARTPANEL_UNKNOWN!r})" in report.notes
    flagged = report.flagged()
    # What it really breaks of the standard dialect is flagged; what it does right is not misread.
    assert {"V2-SVC-02", "V2-BAT-02", "V2-ADD-01"} <= set(flagged)
    for rid in ("V2-ISO-01", "V2-AUTH-03", "V2-AUTH-01", "V2-ISO-04"):  # plain-string errors are no leak
        assert report.result(rid).outcome == "passed", (rid, report.result(rid).finding)
    assert "V2-BAT-03" not in flagged


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

    with socket.socket() as s:  # a port nobody listens on, kept bound so that no other test's server takes it
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        report = run_suite(f"http://127.0.0.1:{port}/api/v2", None, "read-only", timeout=2)
    assert report.exit_code == 2 and "cannot reach" in (report.error or "")
    panel, app = KEY_ECHO.build()  # no account opened: the key is refused
    with ServerThread(app) as server:
        report = run_suite(server.url + "/api/v2", panel, "read-only", second=False)
    assert report.exit_code == 2 and "refused --key" in (report.error or "")


def test_services_at_rates_that_are_not_a_positive_price_are_flagged_and_never_ordered() -> None:
    panel, app = BAD_RATE_LIST.build()
    open_keys(panel)
    listed = [str(s.id) for s in panel.services(panel.accounts()[0].key)][: len(BAD_RATES)]
    with ServerThread(app) as server:
        report = run_suite(server.url + "/api/v2", panel, "orders")
    result = report.result("V2-SVC-03")
    assert result.outcome == "failed"
    assert len(result.findings) == len(BAD_RATES)  # one per service: every distinct finding is kept
    assert all("never ordered" in f.message for f in result.findings)
    adds = [e.params for e in report.trace if e.params.get("action") == "add"]
    assert adds and not [p for p in adds if p.get("service") in listed]
    assert report.committed is not None and report.committed >= 0
    assert not [o for o in panel.orders.values() if str(o.service.id) in listed]


def _defect(name: str) -> Defect:
    return next(d for d in DEFECTS if d.name == name)


def test_a_panel_whose_multi_status_ignores_orders_is_followed_by_single_status_and_judged_on_the_rest() -> None:
    panel, app = _defect("multi_status_ignores_orders").build()
    open_keys(panel)
    with ServerThread(app) as server:
        report = run_suite(server.url + "/api/v2", panel, "orders")
    assert set(report.flagged()) == {"V2-BAT-03"}  # counted once, under the requirement the flat error breaks
    assert "orders followed by single status: multi-status did not give the run's own orders (V2-BAT-06)" in report.notes
    bat06 = report.result("V2-BAT-06")
    assert bat06.outcome == "not exercised" and "(V2-BAT-03)" in bat06.reason, bat06.reason
    # A flat error to every batch refuses nothing over the limit in particular.
    assert report.result("V2-BAT-04").outcome == "not exercised"
    assert "V2-BAT-03" in report.result("V2-BAT-04").reason
    # Everything that does not need a working multi-status is judged, and passes.
    batch = {"V2-BAT-01", "V2-BAT-02", "V2-BAT-03", "V2-BAT-04", "V2-BAT-06"}
    missed = {r.requirement.id: r.reason for r in report.results if r.outcome != "passed" and r.requirement.id not in batch}
    assert missed == {}
    assert report.exit_code == 1


def test_a_panel_answering_null_to_unknown_actions_has_them_not_supported_and_never_sends_them_again() -> None:
    panel, app = _defect("unknown_action_null").build()
    open_keys(panel)
    with ServerThread(app) as server:
        report = run_suite(server.url + "/api/v2", panel, "orders")
    assert report.result("V2-GEN-04").outcome == "failed"
    needing = [r for r in CATALOGUE if any(n[7:] in NULL_ANSWERED for n in r.needs if n.startswith("action:"))]
    assert len(needing) >= 12
    for req in needing:
        result = report.result(req.id)
        assert result.outcome == "not exercised", (req.id, result.outcome)
        assert result.reason.startswith("action not supported: the panel answers '"), (req.id, result.reason)
        assert result.reason.endswith("with null, as it answers an unknown action"), result.reason
    for action in NULL_ANSWERED:  # once answered as unknown, never sent again (with a wrong key, it was refused)
        sent = [e for e in report.trace if e.action == action]
        answered = [i for i, e in enumerate(sent) if e.body == "null"]
        assert answered == [len(sent) - 1], (action, [e.response_line(60) for e in sent])


def test_an_add_answered_without_an_order_id_is_the_last_add_sent() -> None:
    panel, app = _defect("add_without_order_id").build()
    open_keys(panel)
    with ServerThread(app) as server:
        report = run_suite(server.url + "/api/v2", panel, "orders")
    adds = [e for e in report.trace if e.action == "add"]
    untracked = [i for i, e in enumerate(adds) if isinstance(e.data, dict) and "order" not in e.data
                 and "error" not in e.data]
    assert untracked == [len(adds) - 1], [e.response_line(80) for e in adds]  # one, and nothing after it
    assert report.exit_code == 1 and report.result("V2-ADD-01").outcome == "failed"
    assert not [n for n in report.notes if "internal error" in n]
    assert any(r.reason.startswith("no add was sent after this: an add was answered '{\"status\":\"success\"}'")
               for r in report.results), sorted({r.reason for r in report.results})


@pytest.mark.parametrize("seed", SEEDS)
def test_a_session_cookie_the_panel_sets_is_never_sent_back(seed: int) -> None:
    panel, app = SESSION_COOKIE.build()
    open_keys(panel)
    assert isinstance(app, SessionCookie)
    with ServerThread(app) as server:
        report = run_suite(server.url + "/api/v2", panel, "read-only", examples=4, seed=seed)
    assert app.sessions  # the panel set its cookie on the first answer to a real key
    assert app.cookies_seen == 0  # and no request brought it back: no key rode on another's session
    assert report.exit_code == 0, report.flagged()


def test_money_moved_by_something_outside_the_run_is_not_held_against_the_panel() -> None:
    # The balance moves before the first order (a refund of an order placed before the run): the quiet period
    # sees it, and the balance is not held to the run's charges (no false failure); the charges still are.
    panel, app = OUTSIDE_REFUND.build()
    open_keys(panel)
    with ServerThread(app) as server:
        report = run_suite(server.url + "/api/v2", panel, "orders", examples=4, programs=2, steps=12)
    assert report.exit_code == 0, report.flagged()
    for rid in ("V2-ORD-01", "V2-ORD-08"):
        result = report.result(rid)
        assert result.outcome == "not exercised", rid
        assert "while the run had placed nothing" in result.reason and "outside the run" in result.reason
    assert report.result("V2-ORD-02").outcome == "passed"


# What hypothesis says when it sees two programs differ, or stops them: never in a run (the catch is a last net).
HYPOTHESIS_WORDS = ("ended early", "no step to run", "Flaky", "HealthCheck", "hypothesis", "internal error")


@pytest.mark.parametrize("defect", [fickle, lambda: _defect("add_without_order_id")], ids=["fickle", "add_without_id"])
def test_what_a_panel_answers_never_steers_hypothesis(defect: Any) -> None:
    # A panel whose answers differ each run (its dice are not seeded: services, refused adds, ignored batches,
    # refused cancels), and one that stops every add after the first: over seeds, in programs long enough for
    # hypothesis to replay choices it made before, no run ends in hypothesis's words, and each ends the same way.
    codes = set()
    for seed in range(8):
        broken = defect()
        panel, app = broken.build()
        open_keys(panel)
        with ServerThread(app) as server:
            report = run_suite(server.url + "/api/v2", panel, "orders", seed=seed, examples=2, programs=5, steps=20)
        said = [n for n in report.notes if any(w in n for w in HYPOTHESIS_WORDS)]
        assert said == [], (seed, said)
        assert broken.flags <= set(report.flagged()), (seed, report.flagged())
        codes.add(report.exit_code)
    assert codes == {1}
