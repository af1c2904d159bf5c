"""Faults: each one as httpx and requests clients see it over a real socket (and in-process)."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import httpx
import pytest
import requests

from mockpanel import inprocess_client
from mockpanel._powers.faults import ConnectionDropped, FaultSet, fault_from_spec
from mockpanel._powers.middleware import word_fault
from tests.helpers.common import HTTP, KEY

ADD = {"key": KEY, "action": "add", "service": "1", "link": "https://x.test/p/1", "quantity": "1000"}
BALANCE = {"key": KEY, "action": "balance"}


@pytest.fixture
def panel(mock):
    return mock.panel


@pytest.fixture
def app(mock):
    return mock.app


@pytest.fixture
def control(mock):
    return mock.control


@pytest.fixture
def url(mock):
    return mock.url


def _balance(url):
    return Decimal(HTTP.post(url, data=BALANCE).json()["balance"])


# --- HTTP errors -------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_http_errors_are_html_pages_that_do_not_parse(control, url, status):
    control.add_fault({"kind": "http", "status": status, "count": 2})
    r = HTTP.post(url, data=BALANCE)
    assert r.status_code == status and r.headers["content-type"].startswith("text/html")
    with pytest.raises(json.JSONDecodeError):
        r.json()
    with pytest.raises(httpx.HTTPStatusError):
        r.raise_for_status()
    rr = requests.post(url, data=BALANCE, timeout=5)
    assert rr.status_code == status
    with pytest.raises(requests.JSONDecodeError):
        rr.json()
    with pytest.raises(requests.HTTPError):
        rr.raise_for_status()
    assert HTTP.post(url, data=BALANCE).status_code == 200  # count spent


def test_429_carries_retry_after(control, url):
    control.add_fault({"kind": "429", "retry_after": 7, "count": 1})
    r = requests.post(url, data=BALANCE, timeout=5)
    assert r.status_code == 429 and r.headers["Retry-After"] == "7"
    control.add_fault({"kind": "http", "status": 429, "count": 1})
    assert HTTP.post(url, data=BALANCE).headers["retry-after"] == "1"  # short by default


def test_an_unprocessed_error_on_add_places_no_order(control, url):
    control.add_fault({"kind": "http", "status": 502, "action": "add", "count": 1})
    assert HTTP.post(url, data=ADD).status_code == 502
    assert _balance(url) == 100
    assert HTTP.post(url, data=ADD).json() == {"order": 10001}


def test_a_processed_502_charges_the_order_the_client_never_saw(control, url):
    control.add_fault({"kind": "http", "status": 502, "action": "add", "count": 1, "processed": True})
    assert requests.post(url, data=ADD, timeout=5).status_code == 502
    assert _balance(url) == Decimal("99.1")
    assert control.order(10001)["status"] == "Pending"


# --- bodies that are not JSON: each as httpx and as requests sees it --------------------------------

CLIENTS = ["httpx", "requests"]
# What .json() raises on a body that is not JSON, per client (requests' is its own class).
JSON_ERROR = {"httpx": json.JSONDecodeError, "requests": requests.JSONDecodeError}


def post(who, url, data):
    return HTTP.post(url, data=data) if who == "httpx" else requests.post(url, data=data, timeout=5)


@pytest.mark.parametrize("who", CLIENTS)
def test_cloudflare_page_with_http_200(control, url, who):
    control.add_fault({"kind": "html", "count": 1})
    r = post(who, url, BALANCE)
    assert r.status_code == 200 and "Just a moment..." in r.text and "cloudflare" in r.headers["server"]
    r.raise_for_status()  # a 200: nothing to raise, the trap is in the body
    with pytest.raises(JSON_ERROR[who]):
        r.json()


@pytest.mark.parametrize("who", CLIENTS)
def test_malformed_json_is_a_php_warning_before_the_real_answer(control, url, who):
    control.add_fault({"kind": "malformed", "action": "add", "count": 1})
    r = post(who, url, ADD)
    assert r.status_code == 200 and r.text.startswith("<br />\n<b>Warning</b>")
    with pytest.raises(JSON_ERROR[who]):
        r.json()
    assert r.text.endswith('{"order":10001}')  # processed: the order exists and is charged
    assert _balance(url) == Decimal("99.1")


@pytest.mark.parametrize("who", CLIENTS)
def test_truncated_json(control, url, who):
    control.add_fault({"kind": "truncated", "count": 1})
    r = post(who, url, BALANCE)
    whole = post(who, url, BALANCE).text
    assert r.status_code == 200 and 0 < len(r.text) < len(whole) and whole.startswith(r.text)
    with pytest.raises(JSON_ERROR[who]):
        r.json()


@pytest.mark.parametrize("who", CLIENTS)
def test_empty_body(control, url, who):
    control.add_fault({"kind": "empty", "count": 1})
    r = post(who, url, BALANCE)
    assert (r.status_code, r.content) == (200, b"")
    with pytest.raises(JSON_ERROR[who]):
        r.json()


# --- time and the connection ------------------------------------------------------------------


def test_latency_makes_client_timeouts_fire(control, url):
    control.add_fault({"kind": "latency", "seconds": 0.5, "count": 2})
    with pytest.raises(httpx.ReadTimeout):
        HTTP.post(url, data=BALANCE, timeout=0.1)
    with pytest.raises(requests.ReadTimeout):
        requests.post(url, data=BALANCE, timeout=0.1)


def test_latency_delays_the_real_answer(control, url):
    control.add_fault({"kind": "latency", "seconds": 0.2, "count": 1})
    started = time.perf_counter()
    r = HTTP.post(url, data=BALANCE)
    assert time.perf_counter() - started >= 0.2
    assert r.json()["balance"] == "100.00000"
    assert control.journal.entries()[-1].fault == "latency"
    assert control.journal.entries()[-1].latency >= 0.2


def test_dropped_connection(control, url):
    control.add_fault({"kind": "drop", "count": 2})
    with pytest.raises(httpx.RemoteProtocolError):
        HTTP.post(url, data=BALANCE)
    with pytest.raises(requests.ConnectionError):
        requests.post(url, data=BALANCE, timeout=5)
    assert HTTP.post(url, data=BALANCE).status_code == 200
    assert [e.status for e in control.journal.entries()] == [None, None, 200]


def test_a_processed_drop_then_a_retry_is_a_double_charge_the_journal_catches(control, url):
    control.add_fault({"kind": "drop", "action": "add", "count": 1, "processed": True})
    with httpx.Client() as c:
        with pytest.raises(httpx.RemoteProtocolError):
            c.post(url, data={**ADD, "link": "https://x.test/retry"})
        # The naive retry: the panel's duplicate-link rule answers, but the first order stands.
        second = c.post(url, data={**ADD, "link": "https://x.test/retry"}).json()
    assert "active order" in second["error"]
    assert _balance(url) == Decimal("99.1")
    (run,) = control.journal.duplicate_orders()
    assert [e.order for e in run] == [10001, None]


def test_faults_in_process(app, control):
    control.add_fault({"kind": "drop", "count": 1})
    control.add_fault({"kind": "502", "action": "add", "count": 1})
    with inprocess_client(app) as client:
        with pytest.raises(httpx.RemoteProtocolError) as info:  # what a socket client would see
            client.post("/api/v2", data=BALANCE)
        assert isinstance(info.value, ConnectionDropped)
        assert client.post("/api/v2", data=ADD).status_code == 502
        assert client.post("/api/v2", data=BALANCE).status_code == 200


# --- scope: action, key, count, skip, probability ----------------------------------------------------


def test_action_scope(control, url):
    control.add_fault({"kind": "http", "status": 503, "action": ["add", "status"]})
    assert HTTP.post(url, data=BALANCE).status_code == 200
    assert HTTP.post(url, data=ADD).status_code == 503


def test_key_scope_matches_by_key_id_and_never_shows_the_key(control, panel, url):
    panel.create_account("other-key", balance="5")
    fault = control.add_fault({"kind": "http", "status": 500, "key": "other-key"})
    assert "other-key" not in json.dumps(fault.to_json())
    assert HTTP.post(url, data=BALANCE).status_code == 200
    assert HTTP.post(url, data={"key": "other-key", "action": "balance"}).status_code == 500


def test_skip_then_count(control, url):
    fault = control.add_fault({"kind": "http", "status": 500, "skip": 2, "count": 1})
    assert [HTTP.post(url, data=BALANCE).status_code for _ in range(5)] == [200, 200, 500, 200, 200]
    assert fault.fired == 1 and control.faults.list() == []  # used up: it left the list


def test_probability_is_seeded(panel):
    def rolls(seed):
        faults = FaultSet(seed)
        faults.add({"kind": "http", "status": 500, "probability": 0.3})
        return [bool(faults.fire("balance", None)) for _ in range(400)]

    first = rolls(7)
    assert first == rolls(7) and first != rolls(8)
    assert 80 < sum(first) < 160  # about 30 % of 400


def test_one_transport_fault_answers_a_request_and_the_others_wait(control, url):
    first = control.add_fault({"kind": "http", "status": 502, "count": 1})
    second = control.add_fault({"kind": "http", "status": 503, "count": 1})
    slow = control.add_fault({"kind": "latency", "seconds": 0.01, "count": 1})
    assert [HTTP.post(url, data=BALANCE).status_code for _ in range(3)] == [502, 503, 200]
    assert (first.fired, second.fired, slow.fired) == (1, 1, 1)


def test_faults_can_be_removed(control, url):
    fault = control.add_fault({"kind": "http", "status": 500})
    control.faults.remove(fault.id)
    assert HTTP.post(url, data=BALANCE).status_code == 200
    with pytest.raises(KeyError, match="no fault"):
        control.faults.remove(fault.id)


# --- domain faults: plain JSON answers, the same to every client ----------------------------------------


@pytest.mark.parametrize("who", CLIENTS)
def test_repriced_between_services_and_add(control, url, who):
    control.add_fault({"kind": "reprice", "service": 1, "rate": "1.80", "count": 1})
    listed = {s["service"]: s for s in post(who, url, {"key": KEY, "action": "services"}).json()}
    assert listed[1]["rate"] == "0.90"  # what the client believes
    assert "order" in post(who, url, ADD).json()
    assert _balance(url) == Decimal("98.2")  # what it paid: the new price


@pytest.mark.parametrize("who", CLIENTS)
def test_disabled_between_services_and_add(control, url, who):
    control.add_fault({"kind": "disable", "service": 1, "count": 1})
    assert any(s["service"] == 1 for s in post(who, url, {"key": KEY, "action": "services"}).json())
    assert post(who, url, ADD).json() == {"error": "Incorrect service ID"}


def test_reprice_scoped_to_add_hits_the_service_being_ordered(control, url):
    control.add_fault({"kind": "reprice", "action": "add", "when": "before", "rate": "2.00", "count": 1})
    HTTP.post(url, data=ADD)
    assert _balance(url) == Decimal(98)


@pytest.mark.parametrize("who", CLIENTS)
def test_stuck_in_pending(control, panel, url, who):
    control.add_fault({"kind": "stuck", "count": 1})
    order = post(who, url, ADD).json()["order"]
    panel.clock.advance(days=10)
    assert post(who, url, {"key": KEY, "action": "status", "order": order}).json()["status"] == "Pending"


@pytest.mark.parametrize("who", CLIENTS)
def test_panel_side_cancel_refunds_in_full(control, panel, url, who):
    control.add_fault({"kind": "cancel", "count": 1})
    order = post(who, url, ADD).json()["order"]
    assert _balance(url) == Decimal("99.1")
    panel.clock.advance(hours=1)
    status = post(who, url, {"key": KEY, "action": "status", "order": order}).json()
    assert (status["status"], status["charge"]) == ("Canceled", "0.00000")
    assert _balance(url) == Decimal(100)


@pytest.mark.parametrize("who", CLIENTS)
def test_balance_drained_by_another_client(control, url, who):
    control.add_fault({"kind": "drain", "amount": "99.5", "count": 1})
    assert _balance(url) == 100  # the client checks, sees enough...
    assert post(who, url, ADD).json() == {"error": "Not enough funds on balance"}
    assert _balance(url) == Decimal("0.5")
    kinds = [e["kind"] for e in control.ledger(KEY)["entries"]]
    assert kinds == ["deposit", "withdrawal"]


# --- specs --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"kind": "boom"}, "unknown fault kind"),
        ({"kind": "http"}, "needs a 'status'"),
        ({"kind": "http", "status": 502, "colour": "red"}, "unknown fault field"),
        ({"kind": "html", "probability": 0}, "probability"),
        ({"kind": "html", "probability": "often"}, "probability"),
        ({"kind": "html", "count": 0}, "'count' must be between"),
        ({"kind": "latency", "seconds": 10_000}, "seconds"),
        ({"kind": "reprice", "service": 1}, "needs a 'rate'"),
        ({"kind": "reprice", "rate": 1.5, "service": 1}, "floats cannot hold money"),
        ({"kind": "disable"}, "needs a 'service'"),
        ({"kind": "drop", "processed": "yes"}, "processed"),
        ({"kind": "drain", "when": "during"}, "'when'"),
    ],
)
def test_bad_specs_name_the_problem(spec, message):
    with pytest.raises(ValueError, match=message):
        fault_from_spec(spec, 1)


def test_short_forms():
    assert fault_from_spec({"kind": "502"}, 1).status == 502
    assert fault_from_spec({"kind": "cloudflare"}, 1).kind == "html"
    assert word_fault("http-503") == {"kind": "http", "status": 503}
    assert word_fault("slow-1.5") == {"kind": "latency", "seconds": 1.5}
    assert word_fault("nonsense") is None


@pytest.mark.parametrize("status", ["²", "５０２", "5_02", True, 502.0])
def test_a_fault_number_in_other_digits_is_refused_with_a_message(status: object) -> None:
    # "²" passes str.isdigit and once crashed int(); it must be a clear error like any other bad number.
    with pytest.raises(ValueError, match="'status' must be a whole number"):
        fault_from_spec({"kind": "http", "status": status}, 1)
