"""The request journal: what it records, that it never keeps the key, and its checks."""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

import pytest

from mockpanel import ServerThread, create_app, inprocess_client
from mockpanel._domain.accounts import key_id, redact
from mockpanel._endpoint.context import SCOPE_KEY, Call
from mockpanel._powers.journal import Journal
from tests.helpers.common import KEY


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def tick() -> Clock:  # the journal's clock in these tests
    return Clock()


@pytest.fixture
def journal(tick) -> Journal:
    return Journal(tick)


def rec(journal, clock=None, at=None, payload=None, status=200, **fields):
    if clock is not None and at is not None:
        clock.t = at
    journal.record({}, {"key": KEY, **{k: str(v) for k, v in fields.items()}}, payload, status, 0.001)
    return journal.entries()[-1]


# --- recording ----------------------------------------------------------------------------


def test_an_entry_has_time_action_params_answer_latency_and_no_key(journal):
    entry = rec(journal, action="add", service=1, link="https://x.test/a", quantity=100, payload={"order": 10001})
    assert (entry.seq, entry.at, entry.action, entry.status, entry.latency) == (1, 1000.0, "add", 200, 0.001)
    assert entry.params == {"action": "add", "service": "1", "link": "https://x.test/a", "quantity": "100"}
    assert entry["service"] == "1" and entry.get("runs") is None
    assert (entry.key, entry.key_id, entry.order) == (redact(KEY), key_id(KEY), 10001)
    assert KEY not in repr(entry) and KEY not in json.dumps(entry.to_json())


def test_a_key_pasted_into_another_field_is_redacted_there_too(journal):
    entry = rec(journal, action="add", link=f"https://x.test/?token={KEY}")
    assert entry["link"] == f"https://x.test/?token={redact(KEY)}"


def test_ids_of_single_and_batch_requests(journal):
    assert rec(journal, action="status", order=5).ids == [5]
    assert rec(journal, action="status", orders="5, 6,x,7").ids == [5, 6, 7]
    assert rec(journal, action="refill_status", refills="9").ids == [9]


def test_filters_by_action_and_key_in_any_form(journal):
    rec(journal, action="balance")
    journal.record({}, {"key": "other", "action": "balance"}, None, 200, 0.0)
    rec(journal, action="services")
    assert [e.action for e in journal.entries(action="balance")] == ["balance", "balance"]
    for form in (KEY, redact(KEY), key_id(KEY)):
        assert [e.seq for e in journal.entries(key=form)] == [1, 3]
    assert [e.seq for e in journal.entries(limit=2)] == [2, 3]


def test_the_journal_is_bounded(tick):
    journal = Journal(tick, limit=3)
    for _ in range(5):
        rec(journal, action="balance")
    assert [e.seq for e in journal.entries()] == [3, 4, 5]


def test_over_http_the_key_is_nowhere_in_the_journal(panel):
    app = create_app(panel)
    with inprocess_client(app) as client:
        client.post("/api/v2", data={"key": KEY, "action": "add", "service": "1", "link": f"https://x.test/{KEY}", "quantity": "100"})
        client.post("/api/v2", data={"key": "a-wrong-key", "action": "balance"})
        exported = client.get("/_mock/journal").text
    assert KEY not in exported and "a-wrong-key" not in exported
    assert [e["key"] for e in json.loads(exported)] == [redact(KEY), redact("a-wrong-key")]


def test_batch_ids_take_ascii_digits_only(journal):
    entry = rec(journal, action="status", orders="5,²,٣,7,１")  # superscript, Arabic-Indic, full-width
    assert entry.ids == [5, 7]


def test_an_answer_echoing_the_key_is_redacted(journal):
    body = json.dumps({"error": f"unknown field {KEY}", "echo": {KEY: [KEY]}}).encode()
    fields = {"key": KEY, "action": "add"}
    journal.record({SCOPE_KEY: Call(fields, time.perf_counter(), body=body)}, fields, None, 200, 0.0)
    journal.record({}, {"key": KEY, "action": "balance"}, {"note": f"sent {KEY}"}, 200, 0.0)
    first, second = journal.entries()
    assert first.response == {"error": f"unknown field {redact(KEY)}", "echo": {redact(KEY): [redact(KEY)]}}
    assert second.response == {"note": f"sent {redact(KEY)}"}
    assert KEY not in json.dumps([e.to_json() for e in journal.entries()]) and KEY not in journal.report()


def test_the_journal_is_bounded_in_bytes_too(tick):
    journal = Journal(tick, max_bytes=200_000)
    for _ in range(40):
        journal.record({}, {"key": KEY, "action": "add", "link": "x" * 50_000}, None, 200, 0.0)
    kept = journal.entries()
    assert journal.nbytes <= 200_000 and 1 <= len(kept) < 40 and kept[-1].seq == 40
    assert len(kept[-1]["link"]) < 20_000 and "characters" in kept[-1]["link"]  # one field is cut
    journal.set_limits(max_bytes=1024)
    assert len(journal) <= 1
    with pytest.raises(ValueError, match="max_bytes"):
        journal.set_limits(max_bytes=0)


def test_a_request_of_many_fields_keeps_a_bounded_part(journal):
    fields = {"key": KEY, "action": "add", **{f"f{i}": "y" * 1000 for i in range(500)}}
    journal.record({}, fields, None, 200, 0.0)
    params = journal.entries()[-1].params
    assert sum(len(k) + len(v) for k, v in params.items()) < 80_000 and "more field(s) not kept" in params["..."]


def test_the_report_shows_each_request_and_answer_without_the_key(journal):
    rec(journal, action="add", service=1, payload={"order": 7})
    rec(journal, action="status", order=7, payload={"error": "Incorrect order ID"})
    text = journal.report()
    lines = text.splitlines()
    assert len(lines) == 2 and "add" in lines[0] and "{'order': 7}" in lines[0] and redact(KEY) in lines[0]
    assert "Incorrect order ID" in lines[1] and KEY not in text


# --- arrival order: delayed and abandoned requests show at once --------------------------------


def _post(url, timeout, **fields):
    with httpx.Client(timeout=timeout) as client:
        try:
            return client.post(url, data={"key": KEY, **fields}).status_code
        except httpx.TimeoutException:
            return "timeout"


def _until(check, seconds=5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def test_a_delayed_request_is_in_the_journal_at_once_in_arrival_order(panel):
    app = create_app(panel)
    journal = app.state.control.journal
    app.state.control.add_fault({"kind": "latency", "seconds": 1.5, "action": "balance", "count": 1})
    with ServerThread(app) as server, ThreadPoolExecutor(2) as pool:
        url = server.url + "/api/v2"
        slow = pool.submit(_post, url, 10, action="balance")
        assert _until(lambda: len(journal) == 1)
        assert journal.entries()[0].state == "delayed" and journal.entries()[0].status is None
        assert _post(url, 10, action="services") == 200  # arrives second, answered first
        first, second = journal.entries()
        assert (first.action, first.state, second.action, second.state) == ("balance", "delayed", "services", "answered")
        assert "delayed" in first.describe()
        assert slow.result() == 200
        first, second = journal.entries()
        assert (first.seq, first.state, first.status, second.seq) == (1, "answered", 200, 2)
        assert first.latency >= 1.4 and first.fault == "latency"


def test_a_request_the_client_gave_up_on_is_marked_abandoned(panel):
    app = create_app(panel)
    journal = app.state.control.journal
    app.state.control.add_fault({"kind": "latency", "seconds": 1.0, "action": "balance", "count": 1})
    with ServerThread(app) as server:
        url = server.url + "/api/v2"
        assert _post(url, 0.3, action="balance") == "timeout"
        assert _post(url, 10, action="balance") == 200  # the client's retry
        assert [e.state for e in journal.entries()] == ["abandoned", "answered"]
        assert _until(lambda: journal.entries()[0].response is not None)  # the panel still answered, too late
        entry = journal.entries()[0]
        assert entry.state == "abandoned" and "abandoned by the client" in entry.describe()
        assert len(journal.entries("balance")) == 2  # a retry check counts both at once


# --- assert_requested: readable failures --------------------------------------------------------


def test_assert_requested_passes_and_returns_the_matches(journal):
    rec(journal, action="add", service=1, quantity=100)
    found = journal.assert_requested("add", service=1, quantity="100")
    assert [e.seq for e in found] == [1]
    journal.assert_requested("add", quantity=lambda q: int(q) >= 100)


def test_a_failing_assertion_shows_the_closest_requests_and_each_difference(journal):
    rec(journal, action="add", service=1, link="https://x.test/a", quantity=10)
    rec(journal, action="add", service=2, link="https://x.test/a", quantity=50)
    with pytest.raises(AssertionError) as info:
        journal.assert_requested("add", service=1, quantity=100)
    text = str(info.value)
    assert text.startswith("Expected 'add' request with service='1', quantity='100'; none matched.")
    assert "received 2 'add' request(s); the closest:" in text
    closest = text.index("#1 add")
    assert closest < text.index("#2 add")  # one field off comes before two
    assert "quantity: expected '100', got '10'" in text


def test_a_failing_assertion_when_the_action_never_came(journal):
    rec(journal, action="balance")
    with pytest.raises(AssertionError, match=r"(?s)no 'add' request at all.*#1 balance"):
        journal.assert_requested("add")
    empty = Journal(lambda: 0.0)
    with pytest.raises(AssertionError, match="is the client pointed at this panel"):
        empty.assert_requested("add")


def test_count_and_not_requested(journal):
    rec(journal, action="status", order=1)
    rec(journal, action="status", order=1)
    journal.assert_requested("status", count=2, order=1)
    with pytest.raises(AssertionError, match=r"Expected 1 'status' request with order='1'; got 2"):
        journal.assert_requested("status", count=1, order=1)
    journal.assert_requested("cancel", count=0)
    journal.assert_not_requested("cancel")
    with pytest.raises(AssertionError, match=r"Expected no 'status' request; got 2"):
        journal.assert_not_requested("status")


# --- duplicates --------------------------------------------------------------------------------


def test_duplicate_orders_within_the_window(journal, tick):
    rec(journal, tick, at=0, action="add", service=1, link="https://x.test/a", quantity=100, payload={"order": 1})
    rec(journal, tick, at=30, action="add", service=1, link="https://x.test/a", quantity=100, payload={"order": 2})
    rec(journal, tick, at=31, action="add", service=1, link="https://x.test/a", quantity=200, payload={"order": 3})
    rec(journal, tick, at=500, action="add", service=1, link="https://x.test/a", quantity=100, payload={"order": 4})
    (run,) = journal.duplicate_orders(window=60)
    assert [e.order for e in run] == [1, 2]
    assert [[e.order for e in r] for r in journal.duplicate_orders(window=600)] == [[1, 2, 4]]
    with pytest.raises(AssertionError) as info:
        journal.assert_no_duplicate_orders(window=60)
    assert "sent 2 times, placed 2 order(s) [1, 2]" in str(info.value)
    Journal(tick).assert_no_duplicate_orders()


def test_different_keys_are_not_duplicates(journal):
    rec(journal, action="add", service=1, link="https://x.test/a", quantity=100)
    journal.record({}, {"key": "other", "action": "add", "service": "1", "link": "https://x.test/a", "quantity": "100"}, None, 200, 0)
    assert journal.duplicate_orders() == []


# --- polling -------------------------------------------------------------------------------------


def test_min_interval_per_id(journal, tick):
    for at in (0, 60, 70):
        rec(journal, tick, at=at, action="status", orders="1,2")
    rec(journal, tick, at=200, action="status", order=3)
    assert [e.seq for e in journal.polls(2)] == [1, 2, 3]
    journal.assert_polling_rate(min_interval=10)
    with pytest.raises(AssertionError) as info:
        journal.assert_polling_rate(min_interval=30)
    text = str(info.value)
    assert "id 1 polled 10 s after the previous poll (minimum 30 s): #2 then #3" in text
    assert text.count("polled") == 2  # ids 1 and 2 once each


def test_max_per_minute(journal, tick):
    for at in (0, 10, 20, 65, 70):
        rec(journal, tick, at=at, action="status", order=1)
    journal.assert_polling_rate(max_per_minute=3)
    with pytest.raises(AssertionError, match=r"3 'status' requests within 60 s \(maximum 2\): #1 \.\. #3"):
        journal.assert_polling_rate(max_per_minute=2)


def test_real_clock_polling(journal):
    rec(journal, action="status", order=1)
    rec(journal, action="status", order=1)
    with pytest.raises(AssertionError, match=re.escape("(real clock)")):
        journal.assert_polling_rate(min_interval=5, clock="real")
    with pytest.raises(ValueError, match="'virtual' or 'real'"):
        journal.assert_polling_rate(min_interval=5, clock="wall")


def test_serve_journal_bytes_bounds_the_journal():
    from tests.helpers.common import HTTP, serving

    with serving("--key", KEY, "--journal-bytes", "20000") as origin:
        for i in range(10):
            HTTP.post(origin + "/api/v2", data={"key": KEY, "action": "balance", "note": str(i) * 4000})
        kept = HTTP.get(origin + "/_mock/journal").json()
    assert 1 <= len(kept) < 10 and kept[-1]["params"]["note"] == "9" * 4000
    assert sum(len(e["params"]["note"]) for e in kept) <= 20000


def test_a_request_that_failed_before_its_answer_is_in_the_journal_unanswered(panel, monkeypatch):
    import asyncio

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("mockpanel._endpoint.api.answer", boom)
    app = create_app(panel)

    async def main() -> int:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            return (await c.post("/api/v2", data={"key": KEY, "action": "balance"})).status_code

    assert asyncio.run(main()) == 500
    (entry,) = app.state.control.journal.entries()
    assert (entry.action, entry.state, entry.status, entry.key) == ("balance", "arrived", None, redact(KEY))


def _scope(headers: list[tuple[bytes, bytes]]) -> dict[str, object]:
    return {"method": "POST", "scheme": "http", "root_path": "", "path": "/api/v2", "query_string": b"",
            "headers": headers}


def test_requests_with_the_same_wire_facts_share_them_and_others_keep_their_own(journal):
    same = [(b"host", b"127.0.0.1"), (b"content-type", b"application/x-www-form-urlencoded")]
    other = same + [(b"x-client", b"shop-2")]
    body, answer = f"key={KEY}&action=balance".encode(), b'{"balance":"1.00000","currency":"USD"}'
    for headers in (same, other, list(same), list(other), list(same)):
        journal.record_form(body, answer, 200, 0.0, _scope(headers), KEY)
    facts = journal.wire_facts()
    assert facts[1] is facts[3] is facts[5] and facts[2] is facts[4] and facts[1] is not facts[2]
    assert facts[2][5] == tuple(other) and facts[1][6] == KEY  # as sent: redacted when the HAR is read
    assert [e.action for e in journal.entries()] == ["balance"] * 5


def test_the_shared_wire_facts_are_bounded_and_forgotten_with_the_journal(journal):
    from mockpanel._powers import journal as journal_module

    body, answer = f"key={KEY}&action=balance".encode(), b"{}"
    for i in range(journal_module._WIRES_MAX + 50):
        journal.record_form(body, answer, 200, 0.0, _scope([(b"x-n", str(i).encode())]), KEY)
    assert len(journal._wires) <= journal_module._WIRES_MAX
    journal.clear()
    assert journal._wires == {} and journal._last_wire is None


def test_a_journalled_request_leaves_nothing_the_garbage_collector_keeps_tracking(journal):
    # One row of atoms and shared facts: after a collection, no object per request is still tracked.
    import gc

    body, answer = f"key={KEY}&action=balance".encode(), b'{"balance":"1.00000","currency":"USD"}'
    headers = [(b"host", b"127.0.0.1"), (b"content-type", b"application/x-www-form-urlencoded")]
    journal.record_form(body, answer, 200, 0.0, _scope(list(headers)), KEY)
    gc.collect()
    before = len(gc.get_objects())
    for _ in range(2000):
        journal.record_form(body, answer, 200, 0.0, _scope([(n, v) for n, v in headers]), KEY)
    gc.collect()
    gc.collect()
    assert len(journal) == 2001 and len(gc.get_objects()) - before < 100


def test_a_request_head_unlike_any_other_counts_against_the_byte_bound(tick):
    # Shared facts cost a row nothing more; a head of its own (an attacker's 30 KiB of headers, each
    # request different) is counted in full, so the journal's byte bound holds for it too.
    journal = Journal(tick, max_bytes=1_000_000)
    body, answer = f"key={KEY}&action=balance".encode(), b"{}"
    same = [(b"host", b"127.0.0.1")]
    for _ in range(50):
        journal.record_form(body, answer, 200, 0.0, _scope(list(same)), KEY)
    shared = journal.nbytes
    for i in range(100):
        journal.record_form(body, answer, 200, 0.0, _scope([(b"x-junk", b"%05d" % i + b"j" * 30_000)]), KEY)
    assert journal.nbytes <= 1_000_000 and len(journal) < 50  # the big rows pushed the small ones out
    assert shared < 50 * 600 and journal.nbytes > 30_000 * (len(journal) - 1)


def test_ids_are_read_as_the_dialect_writes_them() -> None:
    # An ObjectId dialect writes order 10001 as 24 hex digits ("...2711"): read as a decimal it is another id.
    from mockpanel import build_panel, create_app, inprocess_client

    panel = build_panel("objectid", speed=0)
    panel.create_account("objectid-key-0123", balance="100")
    app = create_app(panel, "objectid")
    with inprocess_client(app) as http:
        placed = http.post("/api/v2", data={"key": "objectid-key-0123", "action": "add", "service": "1",
                                     "link": "https://x.test/o", "quantity": "1000"}).json()["order"]
        http.post("/api/v2", data={"key": "objectid-key-0123", "action": "status", "order": placed})
    add, status = app.state.control.journal_entries()
    assert len(placed) == 24 and int(placed, 16) == 10001
    assert add.order == 10001 and status.ids == [10001]
    assert app.state.control.journal.polls(10001) == [status]


def test_an_empty_answer_is_shown_as_none_and_the_journal_still_reads():
    """smartpanel-script answers a status without an id with an empty body (status.no_id "empty")."""
    from mockpanel import build_panel

    panel = build_panel("smartpanel-script", speed=0)
    panel.create_account(KEY, balance="1")
    with ServerThread(create_app(panel, "smartpanel-script")) as server:
        assert httpx.post(server.url + "/api/v1", data={"key": KEY, "action": "status"}).text.strip() == ""
        answer = httpx.get(server.url + "/_mock/journal")
    assert answer.status_code == 200, answer.text
    assert [(e["action"], e["response"]) for e in answer.json()] == [("status", None)]
