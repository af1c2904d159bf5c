"""Who faults act on and what a fault spec may say: only requests with a valid key meet a
fault or a trigger word; a spec naming an unknown action or kind is refused; a used-up fault
leaves the list; one request's delay is capped. Through a real ``mockpanel serve``."""

from __future__ import annotations

import time
from typing import Iterator

import pytest

from mockpanel._powers.faults import MAX_LATENCY, FaultSet
from tests.helpers.common import HTTP, serving

KEY = "test-key"  # mockpanel serve's opening key


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    with serving() as origin:
        yield origin


@pytest.fixture(autouse=True)
def _clean(origin: str) -> Iterator[None]:
    yield
    HTTP.delete(origin + "/_mock/faults")


def api(origin: str, **fields: str) -> tuple[int, object]:
    r = HTTP.post(origin + "/api/v2", data=fields)
    return r.status_code, (r.json() if r.headers.get("content-type", "").startswith("application/json") else r.text)


def faults(origin: str) -> list[dict]:
    return HTTP.get(origin + "/_mock/faults").json()


def test_a_request_without_a_valid_key_meets_no_fault_and_spends_none(origin):
    made = HTTP.post(origin + "/_mock/faults", json={"kind": "http", "status": 503, "count": 1}).json()
    assert api(origin, key="not-a-key", action="balance") == (200, {"error": "Invalid API key"})
    assert api(origin, action="balance") == (200, {"error": "Invalid API key"})
    assert api(origin, key="", action="services") == (200, {"error": "Invalid API key"})
    assert [(f["id"], f["fired"], f["count"]) for f in faults(origin)] == [(made["id"], 0, 1)]
    assert api(origin, key=KEY, action="balance")[0] == 503  # a valid key meets it


def test_trigger_words_act_only_for_a_valid_key(origin):
    add = {"action": "add", "service": "1", "quantity": "100"}
    for word in ("http-502", "drop", "slow-30", "no-such-word"):
        link = f"https://rules.test/{word}?mockpanel={word}"
        started = time.monotonic()
        assert api(origin, key="wrong-key", link=link, **add) == (200, {"error": "Invalid API key"})
        assert time.monotonic() - started < 10  # slow-30 did not wait
    status, answer = api(origin, key=KEY, link="https://rules.test/valid?mockpanel=http-502", **add)
    assert status == 502


def test_a_fault_for_an_unknown_action_is_refused_naming_it(origin):
    for action in ("balanse", ["add", "stauts"], ""):
        r = HTTP.post(origin + "/_mock/faults", json={"kind": "http", "status": 502, "action": action})
        assert r.status_code == 400, r.text
        assert "unknown action" in r.json()["error"] and "'action'" in r.json()["error"]
        if action:
            assert repr(action if isinstance(action, str) else "stauts") in r.json()["error"]
    assert faults(origin) == []


@pytest.mark.parametrize("kind", ["meteor", "http2", "", 7])
def test_a_fault_of_an_unknown_kind_is_refused_naming_it(origin, kind):
    r = HTTP.post(origin + "/_mock/faults", json={"kind": kind})
    assert r.status_code == 400 and "kind" in r.json()["error"], r.text
    assert faults(origin) == []


def test_used_up_faults_leave_the_list(origin):
    HTTP.post(origin + "/_mock/faults", json={"kind": "http", "status": 503, "count": 2, "action": "balance"})
    kept = HTTP.post(origin + "/_mock/faults", json={"kind": "html", "action": "services"}).json()
    assert len(faults(origin)) == 2
    assert [api(origin, key=KEY, action="balance")[0] for _ in range(3)] == [503, 503, 200]
    assert [f["id"] for f in faults(origin)] == [kept["id"]]


def test_slow_words_adding_up_past_the_cap_are_refused_and_place_nothing(origin):
    before = HTTP.get(origin + "/_mock/state").json()
    words = ",".join(["slow-400", "slow-400"])
    status, answer = api(origin, key=KEY, action="add", service="1", quantity="100",
                         link=f"https://rules.test/slow?mockpanel={words}")
    assert status == 200 and f"at most {MAX_LATENCY:g} s" in answer["error"]
    assert HTTP.get(origin + "/_mock/state").json() == before


def test_stacked_latency_faults_wait_at_most_the_cap(monkeypatch):
    """The cap on one request's total delay, checked without waiting ten minutes."""
    from mockpanel import build_panel, create_app, inprocess_client

    slept: list[float] = []

    async def fake_hold(scope: object, receive: object, seconds: float) -> None:  # the journal's wait
        slept.append(seconds)

    panel = build_panel(seed=1)
    panel.create_account(KEY, balance="5")
    app = create_app(panel)
    for _ in range(3):
        app.state.control.add_fault({"kind": "latency", "seconds": MAX_LATENCY, "count": 1})
    monkeypatch.setattr(app.state.control.journal, "hold", fake_hold)
    with inprocess_client(app) as client:
        assert client.post("/api/v2", data={"key": KEY, "action": "balance"}).json()["currency"] == "USD"
    assert slept == [MAX_LATENCY]  # three faults of the cap each: one wait of the cap


def test_fault_sets_without_a_panel_accept_any_action():
    faults = FaultSet(0)  # the Python API's FaultSet on its own (no dialect): no list to check against
    assert faults.add({"kind": "html", "action": "anything"}).actions == frozenset({"anything"})
