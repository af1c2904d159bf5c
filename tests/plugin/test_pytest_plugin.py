"""The pytest plugin, run the way users run it: pytester sessions with no conftest."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

README = Path(__file__).resolve().parents[2] / "docs" / "pytest.md"


# Plugins that have nothing to do with ours stay out of the inner sessions (pytest-benchmark
# warns when it finds itself in an xdist worker, and this suite turns warnings into errors).
QUIET = ("-p", "no:randomly", "-p", "no:cacheprovider", "-p", "no:benchmark")


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest(*QUIET, *args)


def test_the_fixture_works_with_no_conftest(pytester):
    pytester.makepyfile(
        """
        import requests

        def test_it(mockpanel):
            assert mockpanel.url.endswith("/api/v2")
            r = requests.post(mockpanel.url, data={"key": mockpanel.key, "action": "balance"}, timeout=5)
            assert r.json() == {"balance": "100.00000", "currency": "USD"}
            order = requests.post(mockpanel.url, data={
                "key": mockpanel.key, "action": "add", "service": "1", "link": "https://x.test/p", "quantity": "1000",
            }, timeout=5).json()["order"]
            mockpanel.clock.advance(hours=1)
            mockpanel.set_order(order, status="Partial", remains=157)
            status = requests.post(mockpanel.url, data={"key": mockpanel.key, "action": "status", "order": order}, timeout=5).json()
            assert (status["status"], status["remains"]) == ("Partial", "157")
            assert [r.action for r in mockpanel.requests] == ["balance", "add", "status"]
            assert mockpanel.key not in repr(mockpanel.requests)
        """
    )
    assert not list(pytester.path.glob("conftest.py"))
    run(pytester).assert_outcomes(passed=1)


ISOLATION = """
import httpx, pytest

SEEN = {}

@pytest.mark.parametrize("n", range(%d))
def test_isolated(mockpanel, n):
    with httpx.Client(timeout=5) as http:
        for url in SEEN.values():  # earlier tests' panels are gone
            assert http.post(url, data={"key": "x", "action": "balance"}).status_code == 404
        SEEN[n] = mockpanel.url
        data = {"key": mockpanel.key, "action": "add", "service": "1", "link": "https://x.test/same", "quantity": "1000"}
        assert http.post(mockpanel.url, data=data).json() == {"order": 10001}  # not "active order with this link"
        assert http.post(mockpanel.url, data={"key": mockpanel.key, "action": "balance"}).json()["balance"] == "99.10000"
        mockpanel.clock.advance(days=1)
    assert [r.action for r in mockpanel.requests] == ["add", "balance"]
"""


def test_isolation_between_tests(pytester):
    pytester.makepyfile(ISOLATION % 4)
    run(pytester).assert_outcomes(passed=4)


def test_isolation_under_xdist(pytester):
    pytester.makepyfile(ISOLATION.replace("for url in SEEN.values()", "for url in []") % 12)
    result = pytester.runpytest_subprocess(*QUIET, "-n", "2")
    result.assert_outcomes(passed=12)
    result.stdout.fnmatch_lines(["*2 workers*"])


def test_the_marker_applies(pytester, tmp_path):
    catalog = tmp_path / "tiny.json"
    catalog.write_text('[{"service": 7, "name": "Tiny", "type": "Default", "rate": "1.00", "min": 1, "max": 10}]')
    pytester.makepyfile(
        f"""
        import httpx, pytest

        @pytest.mark.mockpanel(balance="5.5", currency="EUR", seed=3, speed=60, key="given")
        def test_money_and_time(mockpanel):
            r = httpx.post(mockpanel.url, data={{"key": "given", "action": "balance"}})
            assert r.json() == {{"balance": "5.50000", "currency": "EUR"}}
            assert mockpanel.clock.speed == 60

        @pytest.mark.mockpanel(dialect="smartpanel-v1")
        def test_dialect(mockpanel):
            assert mockpanel.url.endswith("/api/v1")
            r = httpx.post(mockpanel.url, data={{"key": mockpanel.key, "action": "balance"}})
            assert r.json()["status"] == "success"

        @pytest.mark.mockpanel(catalog={str(catalog)!r})
        def test_catalog(mockpanel):
            assert [s["service"] for s in mockpanel.services()] == [7]

        @pytest.mark.mockpanel(balance="1")
        class TestClassMarker:
            @pytest.mark.mockpanel(currency="GBP")
            def test_merged(self, mockpanel):
                assert (mockpanel.balance(), mockpanel.panel.balance(mockpanel.key)[1]) == (1, "GBP")

        def test_default(mockpanel):
            assert (mockpanel.balance(), mockpanel.clock.frozen) == (100, True)
        """
    )
    run(pytester).assert_outcomes(passed=5)


def test_seeded_plans_repeat_across_runs(pytester):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.mockpanel(seed=11)
        def test_plan(mockpanel):
            order = mockpanel.panel.add(mockpanel.key, "1", {"link": "https://x.test/a", "quantity": "1000"})
            plan = mockpanel.order(order)["plan"]
            print("PLAN", plan["outcome"], round(plan["per_hour"], 6), round(plan["starts_at"] - mockpanel.order(order)["created"], 6))
        """
    )
    first = re.findall(r"PLAN [^\n]*", run(pytester, "-s").stdout.str())
    second = re.findall(r"PLAN [^\n]*", run(pytester, "-s").stdout.str())
    assert first and first == second


def test_ini_options_set_session_defaults(pytester):
    pytester.makeini("[pytest]\nmockpanel_balance = 42\nmockpanel_currency = EUR\nmockpanel_speed = 2\n")
    pytester.makepyfile(
        """
        def test_it(mockpanel):
            assert mockpanel.balance() == 42 and mockpanel.clock.speed == 2
            assert mockpanel.ledger()["currency"] == "EUR"
        """
    )
    run(pytester).assert_outcomes(passed=1)


def test_the_defaults_fixture_can_be_overridden(pytester):
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture(scope="session")
        def mockpanel_defaults(mockpanel_defaults):
            return {**mockpanel_defaults, "balance": "9", "dialect": "smartpanel-v1"}
        """
    )
    pytester.makepyfile(
        """
        import pytest

        def test_session_default(mockpanel):
            assert mockpanel.balance() == 9 and mockpanel.url.endswith("/api/v1")

        @pytest.mark.mockpanel(balance="1")
        def test_marker_still_wins(mockpanel):
            assert mockpanel.balance() == 1
        """
    )
    run(pytester).assert_outcomes(passed=2)


def test_a_failing_journal_assertion_says_what_was_sent(pytester):
    pytester.makepyfile(
        """
        import httpx

        def test_client_sends_the_wrong_quantity(mockpanel):
            httpx.post(mockpanel.url, data={"key": mockpanel.key, "action": "add", "service": "1", "link": "https://x.test/a",
                                            "quantity": "60"})
            mockpanel.assert_requested("add", service="1", quantity="100")
        """
    )
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*Expected 'add' request with service='1', quantity='100'; none matched.",
            "*received 1 'add' request(s); the closest:",
            "*#1 add service='1' link='https://x.test/a' quantity='60' -> HTTP 200 {'order': 10001}",
            "*quantity: expected '100', got '60'",
        ]
    )
    assert "mockpanel-key-1" not in result.stdout.str()  # the key is never shown
    assert "journal.py" not in result.stdout.str()  # the traceback stops at the test


def test_several_panels_in_one_test(pytester):
    pytester.makepyfile(
        """
        import httpx

        def test_failover(mockpanel, mockpanel_factory):
            backup = mockpanel_factory(dialect="smartpanel-v1", balance="20")
            assert mockpanel.key != backup.key and mockpanel.url != backup.url
            mockpanel.fault("http", status=503)
            with httpx.Client() as http:
                assert http.post(mockpanel.url, data={"key": mockpanel.key, "action": "balance"}).status_code == 503
                assert http.post(backup.url, data={"key": backup.key, "action": "balance"}).json()["balance"] == "20.00"
                assert http.post(backup.url, data={"key": mockpanel.key, "action": "balance"}).json()["error"]
        """
    )
    run(pytester).assert_outcomes(passed=1)


def test_a_bad_marker_option_is_a_clear_error(pytester):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.mockpanel(balanse="5")
        def test_typo(mockpanel):
            pass
        """
    )
    result = run(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["@pytest.mark.mockpanel: unknown mockpanel option(s) *'balanse'*; known: *'balance'*"])
    assert "Traceback" not in result.stdout.str() and "During handling" not in result.stdout.str()


def test_in_process_tests_start_no_server(pytester):
    pytester.makepyfile(
        """
        def test_in_process(mockpanel, mockpanel_server):
            with mockpanel.client() as client:
                assert client.post("", data={"key": mockpanel.key, "action": "balance"}).status_code == 200
            assert not mockpanel_server.started
        """
    )
    run(pytester).assert_outcomes(passed=1)


def test_the_marker_is_registered(pytester):
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = run(pytester, "--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.mockpanel(balance=*"])


def test_the_readme_example_runs_as_is(pytester):
    text = README.read_text(encoding="utf-8")
    section = text.split("## A first test file", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    pytester.makepyfile(test_readme_example=code)
    result = run(pytester)
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) >= 3 and not outcomes.get("failed") and not outcomes.get("errors"), result.stdout.str()


def test_a_failed_test_shows_its_panels_journal_as_a_report_section(pytester):
    pytester.makepyfile(
        """
        import httpx

        def test_sync_loop(mockpanel):
            httpx.post(mockpanel.url, data={"key": mockpanel.key, "action": "add", "service": "1", "link": "https://x.test/a",
                                            "quantity": "100"})
            httpx.post(mockpanel.url, data={"key": mockpanel.key, "action": "status", "order": "999"})
            theirs = mockpanel.new_key(balance="5", key="sk-tenant-c-" + "71b0e9d2aa")  # another tenant's (cut: tracebacks show it)
            httpx.post(mockpanel.url, data={"key": mockpanel.key, "action": "add", "service": "1",
                                            "link": f"https://x.test/b?k={theirs}", "quantity": "100"})
            assert False, "the client gave up"

        def test_passes(mockpanel):
            httpx.post(mockpanel.url, data={"key": mockpanel.key, "action": "add", "service": "1", "link": "https://x.test/passing",
                                            "quantity": "100"})

        def test_two_panels(mockpanel, mockpanel_factory):
            other = mockpanel_factory(dialect="smartpanel-v1")
            httpx.post(other.url, data={"key": other.key, "action": "balance"})
            assert False
        """
    )
    result = run(pytester)
    result.assert_outcomes(failed=2, passed=1)
    out = result.stdout.str()
    result.stdout.fnmatch_lines([
        "*- mockpanel journal -*",
        "#1 t=+0.0s add key#* service='1' link='https://x.test/a' quantity='100' -> HTTP 200 {'order': 10001}",
        "#2 t=+0.0s status key#* order='999' -> HTTP 200 {'error': *}",
    ])
    assert "mockpanel journal (panel 1: standard)" in out and "mockpanel journal (panel 2: smartpanel-v1)" in out
    assert "(no API requests)" in out  # the first panel of test_two_panels was never called
    assert "x.test/passing" not in out  # a passing test's journal is not shown
    assert "mockpanel-key-1" not in out and "mockpanel-key-2" not in out
    assert "sk-tenant-c-71b0e9d2aa" not in out and "link='https://x.test/b?k=key#" in out
