"""In-band triggers: magic words in the link choose an order's outcome (domain and over HTTP)."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
import requests

from mockpanel import MockPanel, Status, VirtualClock, build_panel
from mockpanel._domain.money import share
from mockpanel._powers import triggers
from mockpanel._server.hub import HubServer
from mockpanel._powers.triggers import parse_duration, parse_words
from tests.helpers.common import HTTP, KEY, serving


def _add(panel, link, quantity="1000", service="1"):
    return panel.add(KEY, service, {"link": link, "quantity": quantity})


@pytest.fixture
def tpanel(panel):
    triggers.install(panel)
    return panel


# --- reading the words ----------------------------------------------------------------


def test_words_are_read_case_insensitively_with_both_separators():
    t = parse_words("Partial-157+IN-15m,start-42,refill-rejected")
    assert (t.outcome, t.remains, t.after, t.start_count) == (Status.PARTIAL, 157, 900.0, 42)
    assert t.refill.value == "Rejected" and t.other == ()


def test_unknown_words_are_left_for_the_http_layer():
    assert parse_words("http-502,partial").other == ("http-502",)
    assert parse_words("parital").other == ("parital",)


def test_two_outcomes_are_refused():
    with pytest.raises(ValueError, match="more than one outcome"):
        parse_words("partial,canceled")
    with pytest.raises(ValueError, match="more than one outcome"):
        parse_words("pending,completed")


def test_a_link_without_the_mark_has_no_trigger():
    assert triggers.find("https://instagram.com/p/mockpanel") is None
    assert triggers.find("https://x.test/?MockPanel=now").after == 0.0


@pytest.mark.parametrize(
    "text, seconds", [(90, 90.0), ("90", 90.0), ("90s", 90.0), ("15m", 900.0), ("2h", 7200.0), ("1d", 86400.0), ("1h30m", 5400.0)]
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["-5", "soon", "15x", "1h-30m", "inf", True])
def test_bad_durations_say_how_to_write_one(text):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


# --- what the words do to an order ---------------------------------------------------------


def test_partial_157_ends_partial_with_157_remains_and_refunds_their_share(tpanel):
    order = _add(tpanel, "https://x.test/p/1?mockpanel=partial-157")
    tpanel.clock.advance(days=2)
    state = tpanel.status(KEY, order)
    charge = Decimal("0.9000000")
    assert (state.status, state.remains) == (Status.PARTIAL, 157)
    assert state.charge == charge - share(charge, 157, 1000)
    assert tpanel.balance(KEY)[0] == Decimal(100) - state.charge


def test_canceled_ends_canceled_when_it_would_start_with_a_full_refund(tpanel):
    order = _add(tpanel, "https://x.test/p/1?mockpanel=canceled,in-10m")
    tpanel.clock.advance(minutes=9)
    assert tpanel.status(KEY, order).status is Status.PENDING
    assert tpanel.balance(KEY)[0] == Decimal("99.1")
    tpanel.clock.advance(minutes=1)
    assert tpanel.status(KEY, order).status is Status.CANCELED
    assert tpanel.balance(KEY)[0] == Decimal(100)


def test_pending_stays_pending_until_forced(tpanel):
    order = _add(tpanel, "https://x.test/p/1?mockpanel=pending")
    tpanel.clock.advance(days=30)
    assert tpanel.status(KEY, order).status is Status.PENDING
    tpanel.set_order(order, status="Completed")
    assert tpanel.status(KEY, order).status is Status.COMPLETED


def test_now_shows_the_outcome_at_once(tpanel):
    order = _add(tpanel, "https://x.test/p/1?mockpanel=completed,now")
    state = tpanel.status(KEY, order)
    assert (state.status, state.remains) == (Status.COMPLETED, 0)


def test_in_d_runs_pending_then_in_progress_then_the_outcome_at_d(tpanel):
    order = _add(tpanel, "https://x.test/p/1?mockpanel=partial-100,in-10m")
    seen = []
    for seconds in (30, 90, 479, 1):  # the clock at 30 s, 120 s, 599 s, 600 s
        tpanel.clock.advance(seconds=seconds)
        seen.append(tpanel.status(KEY, order))
    assert [s.status for s in seen] == [Status.PENDING, Status.IN_PROGRESS, Status.IN_PROGRESS, Status.PARTIAL]
    assert 0 < seen[1].delivered < seen[2].delivered < 900 and seen[3].remains == 100


def test_start_n_sets_the_start_count(tpanel):
    order = _add(tpanel, "https://x.test/p/1?mockpanel=start-4242,now")
    assert tpanel.status(KEY, order).start_count == 4242


def test_refill_rejected_and_refill_completed(tpanel):
    rejected = _add(tpanel, "https://x.test/p/1?mockpanel=completed,now,refill-rejected")
    completed = _add(tpanel, "https://x.test/p/2?mockpanel=completed,now,refill-completed")
    r1, r2 = tpanel.refill(KEY, rejected), tpanel.refill(KEY, completed)
    tpanel.clock.advance(days=1)
    assert tpanel.refill_status(KEY, r1).value == "Rejected"
    assert tpanel.refill_status(KEY, r2).value == "Completed"


def test_a_triggered_order_does_not_shift_the_plans_of_later_orders(panel, clock):
    plain = build_panel(clock=VirtualClock(speed=0, start=clock.now()), seed=1)
    plain.create_account(KEY, balance="100")
    triggers.install(panel)
    _add(panel, "https://x.test/p/0?mockpanel=pending")
    _add(plain, "https://x.test/p/0")
    later_a = _add(panel, "https://x.test/p/1")
    later_b = _add(plain, "https://x.test/p/1")
    a, b = panel.orders[later_a], plain.orders[later_b]
    assert (a.start_at, a.per_second, a.outcome, a.delivered_to) == (b.start_at, b.per_second, b.outcome, b.delivered_to)


def test_partial_of_a_single_unit_completes(tpanel):
    order = tpanel.add(KEY, "5", {"link": "https://x.test/?mockpanel=partial,now"})  # a package: quantity 1
    assert tpanel.status(KEY, order).status is Status.COMPLETED


def test_install_is_idempotent(panel):
    triggers.install(panel)
    triggers.install(panel)
    assert panel.plan_hooks.count(triggers.plan_hook) == 1
    assert panel.refill_hooks.count(triggers.refill_hook) == 1


# --- over HTTP: what httpx and requests clients see -----------------------------------------------


def _post(url, **data):
    return requests.post(url, data={"key": KEY, **data}, timeout=5)


def test_triggers_over_a_real_socket_with_requests_and_httpx(live):
    url = live.url + "/api/v2"
    order = _post(url, action="add", service="1", link="https://x.test/a?mockpanel=partial-157,start-9,now",
                  quantity="1000").json()["order"]
    assert _post(url, action="status", order=order).json() == {
        "charge": "0.75870", "start_count": "9", "status": "Partial", "remains": "157", "currency": "USD",
    }
    pending = HTTP.post(url, data={"key": KEY, "action": "add", "service": "1", "link": "https://x.test/b?mockpanel=pending",
                                   "quantity": "100"}).json()["order"]
    HTTP.post(live.url + "/_mock/clock", json={"advance": "30d"})
    assert HTTP.post(url, data={"key": KEY, "action": "status", "order": pending}).json()["status"] == "Pending"


@pytest.fixture(scope="module")
def hub():
    with HubServer() as server:
        yield server


# (words, how long to wait, the status answer's fields that must show)
WORDS = [
    ("partial-157,now", 0, {"status": "Partial", "remains": "157", "charge": "0.75870"}),
    ("partial", 2 * 86400, {"status": "Partial", "remains": "500"}),
    ("completed", 2 * 86400, {"status": "Completed", "remains": "0", "charge": "0.90000"}),
    ("canceled", 3600, {"status": "Canceled", "charge": "0.00000", "start_count": "0"}),
    ("pending", 30 * 86400, {"status": "Pending", "remains": "1000"}),
    ("now", 0, {"status": ...}),  # final at once, whatever the seeded outcome
    ("completed,in-10m", 599, {"status": "In progress"}),
    ("completed,in-10m", 600, {"status": "Completed"}),
    ("start-42,completed,now", 0, {"start_count": "42"}),
]


def post_as(who, mock, **data):
    """One API request from the httpx or the requests client, as a user's code would send it."""
    data = {"key": mock.key, **data}
    r = HTTP.post(mock.url, data=data) if who == "httpx" else requests.post(mock.url, data=data, timeout=5)
    return r.json()


@pytest.mark.parametrize("who", ["httpx", "requests"])
@pytest.mark.parametrize("words, wait, shows", WORDS)
def test_each_word_as_clients_see_it(hub, who, words, wait, shows):
    mock = MockPanel(hub)
    try:
        def post(**data):
            return post_as(who, mock, **data)

        order = post(action="add", service="1", link=f"https://x.test/p?mockpanel={words}", quantity="1000")["order"]
        mock.clock.advance(seconds=wait)
        status = post(action="status", order=order)
        if shows.get("status") is ...:
            assert status["status"] in ("Completed", "Partial", "Canceled")
        else:
            assert {k: status[k] for k in shows} == shows
    finally:
        mock.close()


@pytest.mark.parametrize("who", ["httpx", "requests"])
def test_refill_words_as_clients_see_them(hub, who):
    mock = MockPanel(hub)
    try:
        def post(**data):
            return post_as(who, mock, **data)

        ends = {}
        for outcome in ("rejected", "completed"):
            link = f"https://x.test/{outcome}?mockpanel=completed,now,refill-{outcome}"
            order = post(action="add", service="1", link=link, quantity="1000")["order"]
            ends[outcome] = post(action="refill", order=order)["refill"]
        mock.clock.advance(days=1)
        assert {o: post(action="refill_status", refill=r)["status"] for o, r in ends.items()} == {
            "rejected": "Rejected", "completed": "Completed",
        }
    finally:
        mock.close()


def test_transport_words_in_the_link(live):
    url = live.url + "/api/v2"
    r = _post(url, action="add", service="1", link="https://x.test/a?mockpanel=http-502", quantity="100")
    assert r.status_code == 502
    assert _post(url, action="add", service="1", link="https://x.test/a?MockPanel=HTTP-503", quantity="100").status_code == 503
    with pytest.raises(requests.HTTPError):
        r.raise_for_status()
    with pytest.raises(requests.ConnectionError):
        _post(url, action="add", service="1", link="https://x.test/b?mockpanel=drop", quantity="100")
    with pytest.raises(httpx.RemoteProtocolError):
        HTTP.post(url, data={"key": KEY, "action": "add", "service": "1", "link": "https://x.test/c?mockpanel=drop", "quantity": "100"})
    html = HTTP.post(url, data={"key": KEY, "action": "add", "service": "1", "link": "https://x.test/d?mockpanel=html", "quantity": "100"})
    assert html.status_code == 200 and "Just a moment..." in html.text
    # The transport words answered; the panel never saw those adds (nothing was charged).
    assert _post(url, action="balance").json()["balance"] == "100.00000"


def test_an_unknown_word_is_answered_with_an_error_and_changes_nothing(client):
    r = client.post("/api/v2", data={"key": KEY, "action": "add", "service": "1", "link": "https://x.test/?mockpanel=parital-5",
                                     "quantity": "100"})
    assert r.status_code == 200
    assert "unknown mockpanel trigger 'parital-5'" in r.json()["error"]
    assert client.post("/api/v2", data={"key": KEY, "action": "balance"}).json()["balance"] == "100.00000"


def test_triggers_work_in_mockpanel_serve():
    """The CLI's server: `mockpanel serve` obeys the words too (a PHP app under manual test)."""
    with serving() as origin:
        url = origin + "/api/v2"
        data = {"key": "test-key", "action": "add", "service": "1", "link": "https://x.test/?mockpanel=partial-157,now", "quantity": "1000"}
        order = HTTP.post(url, data=data, timeout=5).json()["order"]
        status = HTTP.post(url, data={"key": "test-key", "action": "status", "order": order}, timeout=5).json()
        assert (status["status"], status["remains"]) == ("Partial", "157")
