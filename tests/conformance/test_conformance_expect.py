"""How the judge reads answers: flags, type spellings, rates, error envelopes, unsupported actions, findings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import pytest

from conformance.catalogue import load_catalogue
from conformance.expect import Expect, flag
from conformance.profile import load_dialect
from conformance.session import NOT_JSON, Exchange
from conformance.verdicts import MAX_FINDINGS, Checks, Finding, Verdicts

CATALOGUE = load_catalogue()


def exchange(data: Any, action: str = "services", content_type: str = "application/json") -> Exchange:
    body = orjson.dumps(data).decode()
    return Exchange(n=1, method="POST", url="http://127.0.0.1/api/v2", params={"action": action}, status=200,
                    content_type=content_type, body=body, elapsed=0.0, data=data)


def service(**over: Any) -> dict[str, Any]:
    base = {"service": 1, "name": "Followers", "type": "Default", "category": "c", "rate": "0.90", "min": "10",
            "max": "1000", "refill": False, "cancel": False}
    return {**base, **over}


@pytest.mark.parametrize("value, expected", [
    (True, True), (1, True), ("1", True), ("true", True), ("TRUE ", True),
    (False, False), (0, False), ("0", False), ("false", False), ("", False),
    (None, None), (2, None), ("maybe", None), ([], None),
])
def test_flags_are_read_as_booleans_not_by_truthiness(value: Any, expected: bool | None) -> None:
    assert flag(value) is expected


def test_a_service_listing_dripfeed_0_is_not_planned_for_drip_feed() -> None:
    e = Expect(load_dialect("standard"), CATALOGUE)
    listed = [service(service=1, dripfeed="0", refill="false", cancel=0),
              service(service=2, dripfeed="1", refill="true", cancel=1),
              service(service=3)]  # no dripfeed field: a Default service takes runs and interval
    infos = e.services(Checks(), exchange(listed))
    assert infos is not None
    assert [(i.dripfeed, i.refill, i.cancel) for i in infos] == [(False, False, False), (True, True, True),
                                                                  (True, False, False)]


@pytest.mark.parametrize("dialect, good, bad", [("standard", "Custom Comments", "custom_comments"),
                                                ("smartpanel-v1", "custom_comments", "Custom Comments")])
def test_service_types_must_be_spelled_as_the_dialect_spells_them(dialect: str, good: str, bad: str) -> None:
    e = Expect(load_dialect(dialect), CATALOGUE)
    c = Checks()
    infos = e.services(c, exchange([service(service=1, type=good), service(service=2, type=bad)]))
    assert infos is not None and [i.type for i in infos] == ["Custom Comments"] * 2  # the plan reads both
    assert [f.message for f in c.findings if f.rid == "V2-SVC-04"] == [
        f"service #2 (id 2): type {orjson.dumps(bad).decode()} is written as a "
        f"{'slug' if dialect == 'standard' else 'name'}; the dialect {dialect!r} writes {good!r}"]


@pytest.mark.parametrize("rate", ["-1.5", "0", "0.00000", "abc", "1e3", "NaN", "99999999", None])
def test_a_rate_that_is_not_a_positive_price_is_flagged_and_never_priced(rate: Any) -> None:
    e = Expect(load_dialect("standard"), CATALOGUE)
    c = Checks()
    infos = e.services(c, exchange([service(rate=rate)]))
    assert infos is not None and infos[0].rate is None
    assert any(f.rid == "V2-SVC-03" and "never ordered" in f.message for f in c.findings)


def test_a_positive_rate_is_kept_exactly() -> None:
    infos = Expect(load_dialect("standard"), CATALOGUE).services(Checks(), exchange([service(rate="0.00123")]))
    assert infos is not None and infos[0].rate == Decimal("0.00123")


def test_an_error_in_a_foreign_envelope_is_an_error_and_a_finding() -> None:
    e = Expect(load_dialect("standard"), CATALOGUE)
    c = Checks()
    foreign = {"status": "error", "message": "Invalid Interval in minutes"}
    assert e.error(c, exchange(foreign, "add"), "V2-TYP-02", what="an error")
    assert [f.rid for f in c.findings] == ["V2-GEN-05"]
    assert e.error_message({"success": False, "msg": "no"}) == ("no", "foreign")
    for fine in ({"status": "success", "order": 3}, {"order": 3}, {"balance": "1.00000", "currency": "USD"},
                 {"status": "success", "message": "Your order was placed"}):
        assert e.error_message(fine) is None


def test_json_with_another_content_type_is_a_warning_unless_the_profile_says_so() -> None:
    c = Checks()
    Expect(load_dialect("standard"), CATALOGUE).response(c, exchange({"balance": "1"}, "balance", "text/html"))
    assert [f.rid for f in c.findings] == ["V2-GEN-07"] and CATALOGUE["V2-GEN-07"].severity == "warning"
    c = Checks()  # SmartPanel really sends text/html, and its profile says so
    Expect(load_dialect("smartpanel-v1"), CATALOGUE).response(c, exchange({"balance": "1"}, "balance", "text/html"))
    assert c.findings == [] and "V2-GEN-07" in c.passed


def test_the_unknown_action_error_on_an_action_of_the_api_means_not_supported() -> None:
    e = Expect(load_dialect("standard"), CATALOGUE)
    c = Checks()
    assert e.unsupported(c, exchange({"error": "Incorrect request"}, "cancel"))
    assert not e.unsupported(c, exchange({"error": "This action is Invalid"}, "refill"))
    e.unknown_action_words.add("This action is Invalid")  # what this panel said to an unknown action
    assert e.unsupported(c, exchange({"error": "This action is Invalid"}, "refill"))
    assert not e.unsupported(c, exchange({"error": "Incorrect order ID"}, "refill_status"))
    assert c.unsupported == {"cancel": "its unknown-action error ('Incorrect request')",
                             "refill": "its unknown-action error ('This action is Invalid')"}
    v = Verdicts(CATALOGUE)
    v.ok("V2-CAN-03", "V2-GEN-01")
    v.absorb(c)
    results = {r.requirement.id: r for r in v.results(lambda r: "not reached")}
    assert results["V2-CAN-03"].outcome == "not exercised"  # its pass was on an action the panel lacks
    assert results["V2-CAN-03"].reason.startswith("action not supported: the panel answers 'cancel'")
    assert results["V2-ISO-03"].reason.startswith("action not supported: the panel answers 'refill'")
    assert results["V2-GEN-01"].outcome == "passed"


def raw(body: str, action: str, status: int = 200, content_type: str = "text/html") -> Exchange:
    """An answer that is not JSON (or is JSON the panel sent as text)."""
    try:
        data: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        data = NOT_JSON
    return Exchange(n=1, method="POST", url="http://127.0.0.1/api/v2", params={"action": action}, status=status,
                    content_type=content_type, body=body, elapsed=0.0, data=data)


PAGE = "<!DOCTYPE html><html><body>Not found</body></html>"


@pytest.mark.parametrize("unknown, described", [
    (raw("null", "x", content_type="application/json"), "null"),
    (raw("", "x"), "an empty body (HTTP 200)"),
    (raw("{}", "x", content_type="application/json"), "an empty object ({})"),
    (raw(PAGE, "x", 404), "an HTML page (HTTP 404)"),
    (raw('{"status": "error", "message": "Invalid action"}', "x", content_type="application/json"),
     "the error 'Invalid action'"),
])
def test_every_form_an_unknown_action_is_answered_in_makes_an_action_of_the_api_not_supported(
        unknown: Exchange, described: str) -> None:
    e = Expect(load_dialect("standard"), CATALOGUE)
    learned = e.learn_unknown(unknown)
    assert learned is not None and learned.describe() == described
    c = Checks()
    answered_so = raw(unknown.body, "cancel", unknown.status or 200, unknown.content_type)
    assert e.unsupported(c, answered_so)
    # Each form is told apart from the others, and from real data: those say nothing of support.
    others = [raw("null", "refill", content_type="application/json"), raw("", "refill"),
              raw("{}", "refill", content_type="application/json"), raw(PAGE, "refill", 404),
              raw(PAGE, "refill", 500), raw('[{"order": 1, "refill": 2}]', "refill", content_type="application/json")]
    assert [o for o in others if e.unsupported(Checks(), o)] == [o for o in others if e.form(o) == learned]
    assert list(c.unsupported) == ["cancel"]
    assert c.unsupported["cancel"].endswith(("as it answers an unknown action", "('Invalid action')"))


def test_data_or_no_answer_to_an_unknown_action_teaches_nothing() -> None:
    e = Expect(load_dialect("standard"), CATALOGUE)
    assert e.learn_unknown(raw('[{"service": 1}]', "x", content_type="application/json")) is None
    gone = Exchange(n=1, method="POST", url="u", params={"action": "x"}, status=None, content_type="", body="",
                    elapsed=0.0, error="connection refused")
    assert e.learn_unknown(gone) is None
    assert not e.unsupported(Checks(), raw('[{"service": 1}]', "cancel", content_type="application/json"))


def test_a_requirement_keeps_every_distinct_finding_and_no_more_than_the_cap() -> None:
    v = Verdicts(CATALOGUE)
    for message in ["a", "b", "a", "c"] + [f"m{i}" for i in range(40)]:
        v.fail(Finding("V2-SVC-02", message))
    result = next(r for r in v.results(lambda r: "") if r.requirement.id == "V2-SVC-02")
    messages = [f.message for f in result.findings]
    assert messages[:3] == ["a", "b", "c"] and len(messages) == len(set(messages)) == MAX_FINDINGS
    assert result.finding is not None and result.finding.message == "a"
    assert [f["message"] for f in result.to_dict()["findings"]] == messages
    v.fail(Finding("V2-SVC-02", "shrunk"), replace=True)  # a shrunk example leads; the first is still kept
    result = next(r for r in v.results(lambda r: "") if r.requirement.id == "V2-SVC-02")
    assert [f.message for f in result.findings][:2] == ["shrunk", "a"]


def test_a_balance_currency_is_checked_on_every_read_of_the_same_key() -> None:
    e = Expect(load_dialect("standard"), CATALOGUE)

    def read(key: str, currency: str) -> Checks:
        c = Checks()
        ex = exchange({"balance": "1.00000", "currency": currency}, "balance")
        ex.params["key"] = key
        e.balance(c, ex)
        return c

    assert read("key#1", "USD").findings == [] and read("key#2", "EUR").findings == []  # another key may differ
    assert read("key#1", "USD").findings == []
    changed = read("key#1", "EUR").findings
    assert [f.rid for f in changed] == ["V2-BAL-01"] and "an earlier read said 'USD'" in changed[0].message


def test_a_keyed_single_status_must_be_keyed_by_the_order_asked_for() -> None:
    e = Expect(load_dialect("objectid"), CATALOGUE)  # {"<id>": {...}}, as its family answers a single status
    status = {"charge": "0.10000000", "start_count": "0", "status": "Pending", "remains": "10", "currency": "USD"}
    asked = "5f1d7a2b9c3e4d5f6a7b8c9d"
    for key, ok in ((asked, True), ("5f1d7a2b9c3e4d5f6a7b8c9e", False)):
        ex = exchange({key: status}, "status")
        ex.params["order"] = asked
        c = Checks()
        e.single_status(c, ex)
        assert (not [f for f in c.findings if "came keyed by" in f.message]) is ok


def test_an_answer_that_is_not_json_is_counted_once_under_gen_01_and_says_so_where_it_is_not_judged() -> None:
    e = Expect(load_dialect("standard"), CATALOGUE)
    page = raw(PAGE, "status", 200)
    for judge in (lambda c: e.error(c, page, "V2-STA-01", what="an error"), lambda c: e.single_status(c, page),
                  lambda c: e.status_batch(c, raw(PAGE, "status"), ["1"], unknown={"1"})):
        c = Checks()
        judge(c)
        assert [f.rid for f in c.findings] == ["V2-GEN-01"]
        assert list(c.unjudged.values()) == ["the answers it was judged by were not JSON (V2-GEN-01)"]
    v = Verdicts(CATALOGUE)
    c = Checks()
    e.error(c, page, "V2-STA-01")
    v.absorb(c)
    results = {r.requirement.id: r for r in v.results(lambda r: "not reached")}
    assert results["V2-STA-01"].outcome == "not exercised"
    assert results["V2-STA-01"].reason == "the answers it was judged by were not JSON (V2-GEN-01)"
