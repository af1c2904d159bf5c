"""The suite passes the mock, in every tier, over a real socket."""

from __future__ import annotations

import pytest

from mockpanel import ServerThread, VirtualClock, build_panel, create_app
from conformance.catalogue import load_catalogue
from tests.helpers.broken_panels import START, open_keys, run_suite


@pytest.fixture
def mock():  # type: ignore[no-untyped-def]
    panel = build_panel(clock=VirtualClock(speed=0, start=START), seed=1)
    open_keys(panel)
    with ServerThread(create_app(panel)) as server:
        yield panel, server.url + "/api/v2"


def test_read_only_tier_passes_the_mock_and_exercises_every_read_only_requirement(mock) -> None:  # type: ignore[no-untyped-def]
    panel, url = mock
    report = run_suite(url, panel, "read-only")
    assert report.exit_code == 0, report.flagged()
    read_only = [r for r in report.results if r.requirement.tier == "read-only"]
    assert {r.requirement.id: r.outcome for r in read_only if r.outcome != "passed"} == {}
    orders = [r for r in report.results if r.requirement.tier == "orders"]
    assert all(r.outcome == "not exercised" and "--tier orders" in r.reason for r in orders)
    from conformance._strategies import MALFORMED_IDS

    for action, field in (("status", "order"), ("refill_status", "refill")):  # every kind, whatever the seed
        sent = {e.params.get(field) for e in report.trace if e.action == action}
        assert set(MALFORMED_IDS) <= sent, (action, set(MALFORMED_IDS) - sent)


@pytest.mark.parametrize("seed", [0, 1])
def test_orders_tier_passes_the_mock_and_exercises_every_requirement(mock, seed: int) -> None:  # type: ignore[no-untyped-def]
    panel, url = mock
    report = run_suite(url, panel, "orders", seed=seed)
    assert report.exit_code == 0, report.flagged()
    missed = {r.requirement.id: r.reason for r in report.results if r.outcome != "passed"}
    assert missed == {}
    assert len(report.results) == len(load_catalogue())
    assert report.spent is not None and 0 < report.spent <= report.max_spend
    services = {e.params.get("service", "") for e in report.trace if e.action == "add"}
    malformed = {v for v in services if not v.isdigit()}  # every malformed kind of one listed id, each refused
    probed = {v[: len(v) - len(v.lstrip("0123456789"))] for v in malformed if v[:1].isdigit()}
    assert len(probed) == 1 and {f"{next(iter(probed))}{t}" for t in ("abc", ".5", "e0")} <= malformed, malformed
    assert {"abc", "-" + next(iter(probed))} <= malformed


def test_orders_tier_drives_the_clock_through_the_control_api(mock) -> None:  # type: ignore[no-untyped-def]
    panel, url = mock
    import httpx

    if httpx.get(url.replace("/api/v2", "/_mock/")).status_code != 200:
        pytest.skip("this mock has no control API")
    before = panel.clock.now()
    report = run_suite(url, panel, "orders", second=False, control=True)
    assert report.exit_code == 0, report.flagged()
    assert panel.clock.now() > before + 3600  # the run moved the mock's clock, not a callable
    # With no --second-key, the run made one through the control API: the isolation checks ran.
    assert report.second_key is not None
    assert report.result("V2-ISO-01").outcome == "passed"


def test_a_run_is_reproducible_by_seed(mock) -> None:  # type: ignore[no-untyped-def]
    panel, url = mock
    first = run_suite(url, panel, "read-only", seed=7)
    second = run_suite(url, panel, "read-only", seed=7)
    assert [e.params for e in first.trace] == [e.params for e in second.trace]
    third = run_suite(url, panel, "read-only", seed=8)
    assert [e.params for e in first.trace] != [e.params for e in third.trace]


def test_a_panel_whose_clock_cannot_be_driven_is_followed_by_polling_within_the_time_budget() -> None:
    # Real time moves (5.5 hours a second) and there is no control API: the live-panel path.
    panel = build_panel(clock=VirtualClock(speed=20000, start=START), seed=1)
    open_keys(panel)
    with ServerThread(create_app(panel, control=False)) as server:
        report = run_suite(server.url + "/api/v2", None, "orders", time_budget=30, poll_interval=0.2,
                           programs=1, steps=8)
    assert report.exit_code == 0, report.flagged()
    for rid in ("V2-ORD-03", "V2-ORD-08", "V2-ORD-02", "V2-BAT-06", "V2-ISO-01"):
        assert report.result(rid).outcome == "passed", (rid, report.result(rid).reason)
    assert report.duration < 30


def _dialect_mock(name: str):  # type: ignore[no-untyped-def]
    from mockpanel import load_dialect

    panel = build_panel(name, clock=VirtualClock(speed=0, start=START), seed=1)
    open_keys(panel)
    return panel, ServerThread(create_app(panel, name)), load_dialect(name).endpoints[0]


def _dialects() -> list[str]:
    from mockpanel import available_dialects

    return sorted(available_dialects())


@pytest.mark.parametrize("name", _dialects())
def test_the_suite_judges_a_panel_by_the_dialect_it_claims(name: str) -> None:
    panel, server, path = _dialect_mock(name)
    with server:
        report = run_suite(server.url + path, panel, "read-only", dialect=name)
    assert report.exit_code == 0, report.flagged()
    assert report.dialect == name


@pytest.mark.parametrize("served, judged", [("smartpanel-v1", "standard"), ("standard", "smartpanel-v1")])
def test_a_panel_speaking_another_dialect_fails(served: str, judged: str) -> None:
    if not {served, judged} <= set(_dialects()):
        pytest.skip("the smartpanel-v1 profile is not installed")
    panel, server, path = _dialect_mock(served)
    with server:
        report = run_suite(server.url + path, panel, "read-only", dialect=judged)
    assert report.exit_code == 1
    assert {"V2-SVC-02", "V2-BAT-02"} <= set(report.flagged())  # service id type, batch error form


# Profiles that read the same to every read-only probe (see tests/conformance/test_fingerprint.py).
SAME_ON_THE_WIRE = [{"standard", "smmprime", "smmprovider"}, {"smm.plus"}, {"smmpro.in"}, {"smartpanel-v1", "smmpanel.ru"},
                    {"package-id"}, {"hardened"}, {"smartpanel-derived"}, {"objectid"}, {"smartpanel-script"}, {"msm"}, {"msm-refill"}]


@pytest.mark.parametrize("name", _dialects())
def test_dialect_auto_names_the_profile_and_the_panel_passes_it(name: str) -> None:
    panel, server, path = _dialect_mock(name)
    with server:
        report = run_suite(server.url + path, panel, "read-only", dialect="auto")
    group = next(g for g in SAME_ON_THE_WIRE if name in g)
    assert report.dialect in group
    assert report.exit_code == 0, report.flagged()
    assert any(note.startswith("--dialect auto: closest dialect: ") for note in report.notes)
    # Read-only still: the fingerprint's probes changed nothing.
    assert len(panel.orders) == 0 and not panel.refills


def test_dialect_auto_lists_the_deviations_of_a_hybrid_panel(tmp_path) -> None:
    hybrid = tmp_path / "hybrid.json"  # the SmartPanel shapes served on /api/v2, like followeran.com
    hybrid.write_text('{"name": "hybrid", "extends": "smartpanel-v1", "description": "x", "endpoints": ["/api/v2"]}')
    panel = build_panel(str(hybrid), clock=VirtualClock(speed=0, start=START), seed=1)
    open_keys(panel)
    with ServerThread(create_app(panel, str(hybrid))) as server:
        report = run_suite(server.url + "/api/v2", panel, "read-only", dialect="auto")
    assert report.dialect == "smartpanel-v1"
    assert "--dialect auto: deviation endpoint: smartpanel-v1 expects '/api/v1', the panel answered '/api/v2'" in report.notes


def test_orders_that_never_move_are_waited_for_no_longer_than_the_patience_and_the_report_says_so() -> None:
    # A clock that stands still and cannot be driven: every order stays Pending.
    panel = build_panel(clock=VirtualClock(speed=0, start=START), seed=1)
    open_keys(panel)
    with ServerThread(create_app(panel, control=False)) as server:
        report = run_suite(server.url + "/api/v2", None, "orders", time_budget=120, poll_interval=0.1, patience=1.0,
                           programs=1, steps=6, examples=3)
    assert report.duration < 60  # far from --time-budget: it stopped waiting
    stalled = [n for n in report.notes if n.startswith("stopped waiting: no tracked order moved for ")]
    assert len(stalled) == 1, report.notes
    assert "--time-budget left unused" in stalled[0]
    assert report.result("V2-ORD-05").reason == stalled[0]  # the true cause, not "no order ended Completed"


def test_a_cap_too_small_for_any_order_ends_the_programs_with_a_note_not_an_internal_error(mock) -> None:  # type: ignore[no-untyped-def]
    panel, url = mock
    report = run_suite(url, panel, "orders", max_spend="0.00001")
    assert not [n for n in report.notes if "internal error" in n], report.notes
    assert "the stateful programs had no step to run" in " ".join(report.notes)
    assert report.exit_code == 0 and report.requests > 0 and not panel.orders
    assert "does not fit in what --max-spend leaves" in report.result("V2-TYP-01").reason
