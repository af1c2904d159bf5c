"""Fidelity, measured: a panel recorded, its copy served (``serve --from``), one client session replayed
against both (``mockpanel record --compare``). For every built-in profile served by the mock as the
original: every read-only request agrees after a read-only recording, and at least 95 % of all requests
after an orders-tier recording. A profile the fingerprint cannot name (``drift``: standard, drifted in
what only the deeper requests show) is learned from those requests, not inherited."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from conformance.profile import available_dialects
from conformance.profile import load_dialect as judge_dialect
from conformance.record import record, run_fidelity, write

from mockpanel import ServerThread, build_panel, create_app
from mockpanel._cli import main
from mockpanel._dialects import load_dialect
from mockpanel._recproxy_cli import serves
from tests.helpers.common import HTTP

KEY = "Fidelity-Key-7"  # letters in both cases: its other spellings are other strings
LINK = "https://example.com/mockpanel-fidelity"
SPEND = Decimal("50")

DRIFT = {
    "name": "drift", "extends": "standard", "description": "standard, drifted where only deeper requests look",
    "key_case": "insensitive", "key_trailing_spaces": "ignored",
    "status": {"no_id": "empty", "dripfeed_fields": {"status": "status", "runs": "runs", "orders": "run_orders"}},
    "add": {"order": "str"}, "success_envelope": {"add": {"status": "ok"}}, "statuses": {"Pending": "Awaiting"},
    "money_decimals": 3, "balance": {"decimals": 5},
    "errors": {"quantity_below_min": "Min is {min}", "incorrect_service_id": "No such service"},
    "field_errors": {"missing_field.link": "Bad Link"},
    "services": {"fields": {"service": "int", "name": "str", "type": "type_name", "category": "str", "rate": "rate",
                            "min": "int", "max": "int", "refill": "str01", "cancel": "str01"}},
}


def _serve(dialect: str, catalog: str | None = None) -> ServerThread:
    panel = build_panel(dialect, catalog=catalog, seed=1, speed=0)
    panel.create_account(KEY, balance="1000")
    return ServerThread(create_app(panel, dialect))


def _measure(name: str, tier: str, folder: Path) -> tuple[tuple[int, int], tuple[int, int], list[str], list[str]]:
    """(read-only agree/total, all agree/total, the differences, what the recording learned)."""
    endpoint = load_dialect(name).endpoints[0]
    with _serve(name) as original:
        url = original.url + endpoint
        # Another link than the session's: the original refuses a second order on a link still active.
        recording = record(url, KEY, rate=0, tier=tier, max_spend=SPEND, link=LINK + "/recorded", max_requests=300)
        catalog, dialect = write(recording, folder, check=serves)
        with _serve(str(dialect), str(catalog)) as copy:
            result = run_fidelity(url, copy.url + endpoint, KEY, tier=tier, max_spend=SPEND, link=LINK,
                                  dialect=judge_dialect(name), max_requests=300)
    if tier == "orders":
        assert recording.adds > 0 and recording.committed <= SPEND
    return result.figure(True), result.figure(), result.lines(), recording.learned


@pytest.mark.parametrize("name", [*available_dialects(), "drift"])
def test_a_copy_answers_the_client_session_as_its_original(name: str, tmp_path: Path) -> None:
    if name == "drift":
        name = str(tmp_path / "drift.json")
        Path(name).write_text(json.dumps(DRIFT))
    (agree, total), _, lines, _ = _measure(name, "read-only", tmp_path / "read-only")
    assert agree == total >= 15, lines
    (agree, total), (all_agree, all_total), lines, learned = _measure(name, "orders", tmp_path / "orders")
    assert agree == total, lines
    assert all_total >= 30 and all_agree >= 0.95 * all_total, lines
    if name.endswith("drift.json"):  # learned from the deeper requests, not inherited from the base
        for path in ("key_case", "key_trailing_spaces", "status.no_id", "add.order", "success_envelope.add",
                     "statuses.Pending", "money.status", "field_errors.missing_field.link", "status.dripfeed_fields",
                     "errors.quantity_below_min", "errors.incorrect_service_id"):
            assert any(line.startswith(f"learned {path}:") for line in learned), (path, learned)


def test_a_read_only_recording_cannot_know_what_orders_show(tmp_path: Path) -> None:
    """Recorded read-only, the drifted panel's copy answers every read-only request as it does, and differs
    where only orders look: the figure sees it."""
    profile = tmp_path / "drift.json"
    profile.write_text(json.dumps(DRIFT))
    with _serve(str(profile)) as original:
        url = original.url + "/api/v2"
        catalog, dialect = write(record(url, KEY, rate=0), tmp_path / "rec", check=serves)
        with _serve(str(dialect), str(catalog)) as copy:
            result = run_fidelity(url, copy.url + "/api/v2", KEY, tier="orders", max_spend=SPEND, link=LINK,
                                  dialect=judge_dialect(str(profile)))
    agree, total = result.figure(True)
    assert agree == total
    all_agree, all_total = result.figure()
    assert all_agree < all_total
    assert any("Bad Link" in line for line in result.lines())


def test_compare_on_the_command_line_prints_the_figures_and_each_difference(tmp_path: Path) -> None:
    with _serve("standard") as one, _serve("smartpanel-script") as other:
        same = CliRunner().invoke(main, ["record", "--compare", one.url + "/api/v2", one.url + "/api/v2",
                                         "--key", KEY])
        differ = CliRunner().invoke(main, ["record", "--compare", one.url + "/api/v2", other.url + "/api/v1",
                                           "--key", KEY])
    assert same.exit_code == 0, same.output
    assert "read-only requests: 16/16 answers agree (100.0 %)" in same.output
    assert differ.exit_code == 1 and "differs: status without id" in differ.output
    assert KEY not in same.output + differ.output


def test_record_tier_orders_needs_a_cap_and_a_link(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["record", "http://127.0.0.1:9/api/v2", "--key", KEY, "--out",
                                       str(tmp_path / "x"), "--tier", "orders", "--link", LINK])
    assert result.exit_code == 2 and "--tier orders needs --max-spend" in result.output


def test_record_tier_orders_never_passes_the_cap(tmp_path: Path) -> None:
    """A cap below the cheapest order: the read-only part is recorded, no add is sent, and the recording
    says what it could not learn and why."""
    with _serve("standard") as original:
        result = CliRunner().invoke(main, ["record", original.url + "/api/v2", "--key", KEY, "--out",
                                           str(tmp_path / "rec"), "--tier", "orders", "--max-spend", "0.0001",
                                           "--link", LINK])
        actions = [e["action"] for e in HTTP.get(original.url + "/_mock/journal").json()]
    assert result.exit_code == 0, result.output
    assert "0 adds" in result.output and "not learned the add answer" in result.output
    assert "balance" in actions and "add" not in actions
    comments = json.loads((tmp_path / "rec" / "dialect.json").read_text())["_comments"]
    assert "not learned the add answer" in comments["learned"]


def test_watched_orders_show_the_words_of_their_lifecycle(tmp_path: Path) -> None:
    """--watch reads the placed orders' statuses again; a word the extended profile lacks is placed by its
    spelling (COMPLETED is Completed) and written into the profile."""
    profile = tmp_path / "words.json"
    profile.write_text(json.dumps({"name": "words", "extends": "standard", "description": "other status words",
                                   "statuses": {"In progress": "IN_PROGRESS", "Completed": "COMPLETED"}}))
    panel = build_panel(str(profile), seed=1, speed=3000)  # minutes of the panel's time in a second
    panel.create_account(KEY, balance="1000")
    with ServerThread(create_app(panel, str(profile))) as original:
        recording = record(original.url + "/api/v2", KEY, rate=0, tier="orders", max_spend=SPEND, link=LINK,
                           watch=1.0)
    assert recording.profile["statuses"]["Completed"] == "COMPLETED", recording.learned
    assert any(line.startswith("learned statuses.Completed: 'COMPLETED' read as Completed by its spelling")
               for line in recording.learned)


def test_a_copy_that_stops_answering_differs_on_every_request_it_left_unanswered(mock) -> None:  # type: ignore[no-untyped-def]
    """A copy that stops answering part-way (endless 429 after its first answer: the session gives up on it) never
    counts as agreeing on what it left unanswered."""
    mock.fault("http", status=429, skip=1)
    with _serve("standard") as original:
        result = run_fidelity(original.url + "/api/v2", mock.url, KEY, copy_key=mock.key, timeout=2,
                              dialect=judge_dialect("standard"))
    agree, total = result.figure()
    assert total == len(result.original.answers) > 10 and agree < total - 5, result.lines()
    assert any("the copy gave no answer" in line for line in result.lines()), result.lines()


def test_an_add_that_leaves_its_quantity_to_the_panel_reserves_the_max_quantity() -> None:
    """Accepted, such an add may be placed at any count the service lists: the cap holds at its max."""
    from conformance._fidelity import order_steps
    from conformance.expect import ServiceInfo

    service = ServiceInfo(id="4", name="cheap", type="Default", rate=Decimal("0.012"), min=100, max=1_000_000,
                          refill=False, cancel=False, dripfeed=False)
    steps = {s.name: s for s in order_steps([service], judge_dialect("standard"), "https://example.com/p")}
    assert "quantity" not in steps["add without quantity"].fields
    assert steps["add without quantity"].cost == Decimal("12")  # 0.012 per 1000, for 1,000,000
    assert steps["add without link"].cost == Decimal("0.0012")  # the quantity sent bounds it
