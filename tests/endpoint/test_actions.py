"""_endpoint/actions.py: dispatch and one handler per action, called with plain field dicts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mockpanel import ErrorCode, Panel, build_panel, load_dialect
from mockpanel._domain.servicetypes import OrderRequest
from mockpanel._endpoint.actions import SERVED, dispatch
from tests.helpers.common import KEY

STANDARD = load_dialect("standard")


def msg(code: ErrorCode, **values: Any) -> dict[str, str]:
    return {"error": STANDARD.message(code, values)}


def ask(panel: Panel, dialect=STANDARD, **fields: str) -> Any:
    return dispatch(panel, dialect, {"key": KEY, **fields})


def place(panel: Panel, link: str = "https://a.test/1", service: str = "1", quantity: str = "100") -> int:
    answer = ask(panel, action="add", service=service, link=link, quantity=quantity)
    return answer["order"]


def test_every_standard_action_has_a_handler():
    assert set(SERVED) == set(STANDARD.actions)


def test_a_bad_key_comes_before_everything_else(panel):
    for fields in [{}, {"action": "balance"}, {"action": "nope"}, {"action": "add", "service": "999"}]:
        assert dispatch(panel, STANDARD, {"key": "nope", **fields}) == msg(ErrorCode.INVALID_KEY)
    assert dispatch(panel, STANDARD, {"action": "balance"}) == msg(ErrorCode.INVALID_KEY)


@pytest.mark.parametrize("action", ["", " ", "ADD", "Balance", "delete", "add2", "__init__"])
def test_an_unknown_action_is_an_incorrect_request(panel, action):
    assert ask(panel, action=action) == msg(ErrorCode.INCORRECT_REQUEST)


def test_the_action_is_trimmed(panel):
    assert set(ask(panel, action=" balance ")) == {"balance", "currency"}


def test_an_action_the_dialect_lacks_is_an_incorrect_request(panel, tmp_path: Path):
    profile = tmp_path / "no-cancel.json"
    profile.write_text(json.dumps({
        "name": "no-cancel", "extends": "standard", "description": "standard without cancel",
        "actions": ["services", "add", "status", "balance"],
    }))
    dialect = load_dialect(str(profile))
    order = place(panel)
    assert ask(panel, dialect, action="cancel", orders=str(order)) == {"error": dialect.message(ErrorCode.INCORRECT_REQUEST, {})}
    assert ask(panel, dialect, action="refill", order=str(order)) == {"error": dialect.message(ErrorCode.INCORRECT_REQUEST, {})}


def test_services_and_balance(panel):
    services = ask(panel, action="services")
    assert [s["service"] for s in services] == [s.id for s in panel.catalog.listed()]
    assert ask(panel, action="balance") == {"balance": "100.00000", "currency": "USD"}


def test_add_needs_a_service(panel):
    for service in (None, "", "  "):
        fields = {"action": "add", "link": "https://a.test", "quantity": "100"}
        if service is not None:
            fields["service"] = service
        assert ask(panel, **fields) == msg(ErrorCode.INCORRECT_SERVICE_ID)
    assert ask(panel, action="add", service="999", link="https://a.test", quantity="100") == msg(ErrorCode.INCORRECT_SERVICE_ID)
    assert list(panel.account(KEY).order_ids) == []


def test_add_places_an_order_and_charges_it(panel):
    order = place(panel)
    assert isinstance(order, int)
    assert panel.balance(KEY)[0] == 100 - panel.find_order(order).charge


def test_status_single(panel):
    order = place(panel)
    assert ask(panel, action="status", order=str(order)) == {
        "charge": "0.09000", "start_count": "0", "status": "Pending", "remains": "100", "currency": "USD",
    }
    assert ask(panel, action="status", order=f" {order} ")["status"] == "Pending"
    for bad in ("", "abc", "-1", "99999", "1.0"):
        assert ask(panel, action="status", order=bad) == msg(ErrorCode.INCORRECT_ORDER_ID), bad
    assert ask(panel, action="status") == msg(ErrorCode.INCORRECT_ORDER_ID)


def test_status_batch_is_keyed_by_the_tokens_as_sent(panel):
    a, b = place(panel, "https://a.test/1"), place(panel, "https://a.test/2")
    out = ask(panel, action="status", orders=f"{a}, {b},abc,{a}")
    assert list(out) == [str(a), str(b), "abc"]  # a repeated id is answered once
    assert out[str(a)]["status"] == out[str(b)]["status"] == "Pending"
    assert out["abc"] == msg(ErrorCode.INCORRECT_ORDER_ID)


def test_orders_wins_over_order(panel):
    a = place(panel)
    out = ask(panel, action="status", order="1", orders=str(a))
    assert list(out) == [str(a)]


@pytest.mark.parametrize("action,field", [("status", "orders"), ("refill", "orders"), ("cancel", "orders"), ("refill_status", "refills")])
def test_batch_limits_and_empty_batches(panel, action, field):
    assert ask(panel, action=action, **{field: ",".join(["1"] * 101)}) == msg(ErrorCode.TOO_MANY_IDS, limit=100)
    assert ask(panel, action=action, **{field: " , ,"})["error"]
    assert isinstance(ask(panel, action=action, **{field: ",".join(["1"] * 100)}), (list, dict))


def test_refill_single_and_batch(panel):
    order = place(panel)
    assert ask(panel, action="refill", order=str(order)) == msg(ErrorCode.REFILL_NOT_ALLOWED)
    panel.set_order(order, status="Completed")
    single = ask(panel, action="refill", order=str(order))
    assert set(single) == {"refill"} and isinstance(single["refill"], str)  # standard: a string id
    batch = ask(panel, action="refill", orders=f"{order},x,18446744073709551616")
    assert batch == [
        {"order": order, "refill": msg(ErrorCode.REFILL_ALREADY_ACTIVE)},
        {"order": "x", "refill": msg(ErrorCode.INCORRECT_ORDER_ID)},
        {"order": "18446744073709551616", "refill": msg(ErrorCode.INCORRECT_ORDER_ID)},  # too big for an int: echoed as sent
    ]
    no_refill = place(panel, service="3")
    panel.set_order(no_refill, status="Completed")
    assert ask(panel, action="refill", order=str(no_refill)) == msg(ErrorCode.REFILL_DISABLED)


def test_refill_status_single_and_batch(panel):
    order = place(panel)
    panel.set_order(order, status="Completed")
    refill = int(ask(panel, action="refill", order=str(order))["refill"])
    assert ask(panel, action="refill_status", refill=str(refill)) == {"status": "Pending"}
    assert ask(panel, action="refill_status", refill="4242") == msg(ErrorCode.INCORRECT_REFILL_ID)
    assert ask(panel, action="refill_status", refills=f"{refill},4242,²") == [
        {"refill": refill, "status": "Pending"},
        {"refill": 4242, "status": msg(ErrorCode.INCORRECT_REFILL_ID)},
        {"refill": "²", "status": msg(ErrorCode.INCORRECT_REFILL_ID)},
    ]


def test_cancel_batch_and_single_order(panel):
    a, b = place(panel, "https://a.test/1"), place(panel, "https://a.test/2")
    assert ask(panel, action="cancel", orders=f"{a},{a},zz") == [
        {"order": a, "cancel": 1},
        {"order": a, "cancel": msg(ErrorCode.CANCEL_NOT_ALLOWED)},
        {"order": "zz", "cancel": msg(ErrorCode.INCORRECT_ORDER_ID)},
    ]
    # A single ``order`` (some clones send it) is answered in the batch shape.
    assert ask(panel, action="cancel", order=f" {b} ") == [{"order": b, "cancel": 1}]
    assert ask(panel, action="cancel") == msg(ErrorCode.INCORRECT_ORDER_ID)
    no_cancel = place(panel, service="3")
    assert ask(panel, action="cancel", orders=str(no_cancel)) == [{"order": no_cancel, "cancel": msg(ErrorCode.CANCEL_DISABLED)}]
    assert panel.balance(KEY)[0] == 100 - panel.find_order(no_cancel).charge  # both canceled orders refunded in full


def test_orders_of_another_key_do_not_exist_for_this_one(panel):
    order = place(panel)
    panel.create_account("other", balance="5")
    other = {"key": "other"}
    assert dispatch(panel, STANDARD, {**other, "action": "status", "order": str(order)}) == msg(ErrorCode.INCORRECT_ORDER_ID)
    assert dispatch(panel, STANDARD, {**other, "action": "cancel", "orders": str(order)}) == [
        {"order": order, "cancel": msg(ErrorCode.INCORRECT_ORDER_ID)}
    ]
    assert panel.status(KEY, order).status.value == "Pending"


def test_dispatch_never_raises_for_junk_fields(panel):
    junk = ["", "\x00", "ü" * 1000, "9" * 5000, "[", "]", ",", "-0", "1e309", "NaN"]
    for action in list(SERVED) + ["x"]:
        for value in junk:
            fields = {name: value for name in ("service", "link", "quantity", "order", "orders", "refill", "refills", "runs", "interval")}
            out = ask(panel, action=action, **fields)
            assert isinstance(out, (dict, list))
    assert panel.balance(KEY)[0] == 100


def test_a_string_batch_error_dialect(clock, tmp_path: Path):
    profile = tmp_path / "flat.json"
    profile.write_text(json.dumps({
        "name": "flat", "extends": "standard", "description": "per-item errors as plain strings",
        "batch": {"limit": 2, "item_error": "string"},
    }))
    dialect = load_dialect(str(profile))
    panel = build_panel(dialect, clock=clock, seed=1)  # the batch limit is the panel's rule, from its dialect
    panel.create_account(KEY, balance="100")
    order = place(panel)
    assert ask(panel, dialect, action="status", orders=f"{order},5")["5"] == dialect.message(ErrorCode.INCORRECT_ORDER_ID, {})
    assert ask(panel, dialect, action="status", orders="1,2,3") == {"error": dialect.message(ErrorCode.TOO_MANY_IDS, {"limit": 2})}


def test_an_add_keeps_only_the_fields_its_type_reads() -> None:
    from mockpanel import build_panel
    from mockpanel._dialects.profile import load_dialect
    from mockpanel._endpoint.actions import dispatch

    panel = build_panel(seed=1, speed=0)
    panel.create_account("fields-key", balance="100")
    recorded: list[tuple] = []

    class Recorder:  # the persistence side's view: what each change was called with
        def prepare(self, name, args, kwargs):
            recorded.append((name, args))

        def commit(self, entry, at):
            pass

    panel.recording.attach(Recorder())
    answer = dispatch(panel, load_dialect(), {
        "key": "fields-key", "action": "add", "service": "1", "link": "https://a.test/f", "quantity": "100",
        "junk": "x" * 100_000, "comments": "not\nfor\nthis\ntype", "callback": "https://evil.test/",
    })
    order = panel.find_order(answer["order"])
    assert order.details is None  # a Default order has no details, whatever else was sent
    (name, (key, service, request)), = [r for r in recorded if r[0] == "place_order"]
    # What is recorded is the typed request: no key, no action, no junk reaches the domain (or a file).
    assert (service, request) == (1, OrderRequest("https://a.test/f", 100))
    assert not any(r[0] == "add" for r in recorded)
