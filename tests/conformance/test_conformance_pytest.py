"""The same suite from pytest, as a panel operator runs it in CI."""

from __future__ import annotations

import pytest

from mockpanel import ServerThread, VirtualClock, build_panel, create_app
from conformance.catalogue import load_catalogue
from tests.helpers.broken_panels import DEFECTS, MAIN_KEY, START, open_keys

pytest_plugins = ["pytester"]
N = len(load_catalogue())


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # In a subprocess: an in-process pytester run drops the modules it imported, and a
    # second run would mix two copies of hypothesis's classes. The mock stays in this process.
    return pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider", "-p", "no:xdist", "--pyargs",
                                         "conformance.pytest_suite", *args)


def test_one_test_per_requirement_passed_or_skipped_with_the_reason(pytester: pytest.Pytester, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    panel = build_panel(clock=VirtualClock(speed=0, start=START), seed=1)
    open_keys(panel)
    monkeypatch.setenv("MOCKPANEL_KEY", MAIN_KEY)  # the key from the environment, as the CLI reads it
    with ServerThread(create_app(panel)) as server:
        result = run(pytester, "--panel-url", server.url + "/api/v2", "--panel-examples", "5", "-rs")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0 and outcomes["passed"] + outcomes["skipped"] == N
    assert outcomes["passed"] > 20
    result.stdout.fnmatch_lines(["*V2-ORD-08 not exercised: needs --tier orders*"])
    assert MAIN_KEY not in result.stdout.str()


def test_a_failed_requirement_is_a_failed_test_with_its_evidence(pytester: pytest.Pytester) -> None:
    defect = next(d for d in DEFECTS if d.name == "batch_status_as_list")
    panel, app = defect.build()
    open_keys(panel)
    with ServerThread(app) as server:
        result = run(pytester, "--panel-url", server.url + "/api/v2", "--panel-key", MAIN_KEY, "--panel-examples", "5")
    result.assert_outcomes(failed=1, passed=result.parseoutcomes()["passed"], skipped=result.parseoutcomes()["skipped"])
    result.stdout.fnmatch_lines(["*test_requirement?V2-BAT-01?*", "*request:*action=status*orders=*"])


def test_without_a_panel_url_everything_is_skipped(pytester: pytest.Pytester, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("MOCKPANEL_PANEL_URL", raising=False)
    result = run(pytester)
    result.assert_outcomes(skipped=N)


def test_the_options_are_inert_and_namespaced_in_other_test_runs(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:xdist",
                                           "--mockpanel-conformance-url", "http://127.0.0.1:9/api/v2")
    result.assert_outcomes(passed=1)
    helped = pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:xdist", "--help").stdout.str()
    assert "--mockpanel-conformance-url" in helped and "--panel-url" not in helped


def test_the_short_names_exist_when_the_suite_is_run(pytester: pytest.Pytester) -> None:
    helped = run(pytester, "--help").stdout.str()
    assert "--panel-url" in helped and "--panel-max-spend" in helped and "--mockpanel-conformance-key" in helped


def test_a_report_path_that_cannot_be_written_fails_before_any_request(pytester: pytest.Pytester, tmp_path) -> None:  # type: ignore[no-untyped-def]
    panel = build_panel(clock=VirtualClock(speed=0, start=START), seed=1)
    open_keys(panel)
    seen: list[object] = []
    app = create_app(panel)
    app.state.api.observers.append(lambda *answered: seen.append(answered))
    with ServerThread(app) as server:
        result = run(pytester, "--panel-url", server.url + "/api/v2", "--panel-key", MAIN_KEY,
                     "--panel-report", str(tmp_path / "no-such-dir" / "report.html"))
    result.stdout.fnmatch_lines(["*cannot write --panel-report *: its directory * does not exist*no request was sent*"])
    assert seen == []
