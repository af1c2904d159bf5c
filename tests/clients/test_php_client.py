"""The panels' own PHP example client (tests/php/Api.php) against a real server.

php-cli runs the client exactly as integrators copy it: a hand-built urlencoded body,
cURL with POST, FOLLOWLOCATION and the MSIE 5.01 user agent, json_decode to objects.
The tests check what PHP gets back, with PHP's own types (object vs array, int vs string).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from decimal import Decimal
from pathlib import Path
from dataclasses import replace
from typing import Any, Iterator

import pytest

from mockpanel import Catalog, Panel, ServerThread, Status, build_panel, create_app, load_catalog
from tests.helpers.common import KEY

PHP_DIR = Path(__file__).parent / "php"
PHP = shutil.which("php")


def _php_has_curl() -> bool:
    if PHP is None:
        return False
    probe = subprocess.run([PHP, "-r", "exit(function_exists('curl_init') ? 0 : 1);"], capture_output=True, timeout=30)
    return probe.returncode == 0


pytestmark = [
    pytest.mark.skipif(PHP is None, reason="php-cli is not installed (Debian: apt-get install php-cli php-curl)"),
    pytest.mark.skipif(PHP is not None and not _php_has_curl(),
                       reason="PHP's curl extension is missing (Debian: apt-get install php-curl)"),
]


def run_php(script: str, *args: str) -> Any:
    done = subprocess.run([PHP, str(PHP_DIR / script), *args], capture_output=True, text=True, timeout=60)  # type: ignore[list-item]
    assert done.returncode == 0, f"php {script} failed ({done.returncode}): {done.stderr}{done.stdout}"
    return json.loads(done.stdout)


def call(live, method: str, *args: Any, key: str = KEY) -> tuple[Any, Any]:
    """(PHP type description, value) of ``$api->method(...args)``."""
    out = run_php("call.php", live.url + "/api/v2", key, method, json.dumps(list(args)))
    return out["type"], out["value"]


def obj(**fields: Any) -> dict[str, Any]:
    return {"object": fields}


def assoc(*pairs: tuple[Any, Any]) -> dict[str, Any]:
    return {"array": [list(p) for p in pairs]}


STATUS_TYPES = obj(charge="string", start_count="string", status="string", remains="string", currency="string")


def service_ids(panel: Panel) -> dict[str, int]:
    out: dict[str, int] = {}
    for service in panel.catalog.listed():
        out.setdefault(service.type.name, service.id)
    return out


def completed_order(panel: Panel, service: int, link: str) -> int:
    order = panel.add(KEY, str(service), {"link": link, "quantity": "100"})
    panel.set_order(order, status="Completed")
    return order


def refill_service(panel: Panel) -> int:
    return next(s.id for s in panel.catalog.listed() if s.refill and s.type.name == "Default")


def cancel_service(panel: Panel) -> int:
    return next(s.id for s in panel.catalog.listed() if s.cancel and s.type.name == "Default")


@pytest.fixture
def example_live(clock) -> Iterator[tuple[Panel, ServerThread, list[tuple[str, bytes | None, bytes | None]]]]:
    """A server whose comments service takes the example's four comments (the default one wants 10)."""
    catalog = Catalog([replace(s, min=1) if s.type.name == "Custom Comments" else s for s in load_catalog("default")])
    panel = build_panel(catalog=catalog, clock=clock, seed=1)
    panel.create_account(KEY, balance="100")
    app = create_app(panel)
    seen: list[tuple[str, bytes | None, bytes | None]] = []  # (method, content type, user agent) per request
    app.state.api.observers.append(lambda scope, fields, payload, status, seconds: seen.append(
        (scope["method"], dict(scope["headers"]).get(b"content-type"), dict(scope["headers"]).get(b"user-agent"))
    ))
    with ServerThread(app) as server:
        yield panel, server, seen


def test_the_examples_closing_lines_run_as_written(example_live):
    panel, live, seen = example_live
    refillable = [completed_order(panel, refill_service(panel), f"https://php.test/r{i}") for i in range(2)]
    before = panel.balance(KEY)[0]
    out = run_php("example.php", live.url + "/api/v2", KEY, json.dumps(service_ids(panel)), json.dumps(refillable))

    assert out["services"] == len(panel.catalog.listed())
    assert out["first_service_is_object"] is True
    assert out["balance"] == {"balance": f"{before:.5f}", "currency": "USD"}
    orders = out["orders"]
    assert all(set(o) == {"order"} and isinstance(o["order"], int) for o in orders.values()), orders
    # What the panel stored is what the PHP client meant to send.
    comments = panel.find_order(orders["comments"]["order"])
    assert comments.quantity == 4 and comments.details["comments"] == ["good pic", "great photo", ":)", ";)"]
    assert panel.find_order(orders["mentions_list"]["order"]).quantity == 3
    default = panel.find_order(orders["default"]["order"])
    assert (default.quantity, default.runs, default.interval, default.link) == (200, 2, 5, "http://example.com/test")
    assert panel.find_order(orders["poll"]["order"]).details["answer_number"] == 7
    # $api->status($order->order)
    assert out["status_of_poll"] == "Pending"
    assert set(out["status"]) == {"charge", "start_count", "status", "remains", "currency"}
    # multiStatus: an object keyed by the ids as strings; an unknown id carries its error.
    ids = [orders["default"]["order"], orders["comments"]["order"], 1]
    assert out["statuses_keys"] == ids  # PHP turns numeric property names into int array keys
    assert list(out["statuses"]) == [str(i) for i in ids]
    assert out["statuses"]["1"] == {"error": "Incorrect order ID"}
    # (array) multiRefill -> array_column(..., 'refill') -> multiRefillStatus
    assert [r["order"] for r in out["refill"]] == refillable
    assert all(isinstance(i, int) for i in out["refill_ids"]) and len(out["refill_ids"]) == 2
    assert [r["refill"] for r in out["refill_statuses"]] == out["refill_ids"]
    assert {r["status"] for r in out["refill_statuses"]} == {"Pending"}
    # Every request was the example's: a POST of a urlencoded form, with the MSIE 5.01 user agent.
    deadline = time.monotonic() + 5  # observers run after the answer is sent: the last may lag PHP's exit
    while len(seen) < 15 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(seen) == 15
    assert set(seen) == {("POST", b"application/x-www-form-urlencoded", b"Mozilla/4.0 (compatible; MSIE 5.01; Windows NT 5.0)")}
    # Money: every charge the orders show was taken from the balance, and nothing else.
    placed = [panel.find_order(o["order"]) for o in orders.values()]
    assert panel.balance(KEY)[0] == before - sum((o.charge for o in placed), Decimal(0))


def test_each_method_decodes_the_way_the_example_expects(live, panel):
    # order(): an object with an integer order id.
    kind, value = call(live, "order", {"service": cancel_service(panel), "link": "https://php.test/each", "quantity": 100})
    assert kind == obj(order="integer")
    order = value["order"]
    # status(): an object of strings.
    kind, value = call(live, "status", order)
    assert kind == STATUS_TYPES and value["status"] == "Pending" and value["remains"] == "100"
    # multiStatus(): an object whose property names are the ids.
    kind, value = call(live, "multiStatus", [order, 999])
    assert kind == obj(**{str(order): STATUS_TYPES, "999": obj(error="string")})
    # services(): an array of objects.
    kind, value = call(live, "services")
    assert len(kind["array"]) == len(panel.catalog.listed())
    first = kind["array"][0][1]
    assert first == obj(service="integer", name="string", type="string", category="string", rate="string",
                        min="string", max="string", refill="boolean", cancel="boolean")
    assert value[0]["service"] == panel.catalog.listed()[0].id
    # balance(): an object.
    kind, value = call(live, "balance")
    assert kind == obj(balance="string", currency="string")
    assert Decimal(value["balance"]) == panel.balance(KEY)[0]
    # refill(): an object whose refill id is a string; refillStatus(): an object.
    done = completed_order(panel, refill_service(panel), "https://php.test/refill-one")
    kind, value = call(live, "refill", done)
    assert kind == obj(refill="string")
    refill_id = int(value["refill"])
    kind, value = call(live, "refillStatus", refill_id)
    assert kind == obj(status="string") and value == {"status": "Pending"}
    # multiRefill() and multiRefillStatus(): associative arrays (json_decode(..., true)).
    other = completed_order(panel, refill_service(panel), "https://php.test/refill-two")
    kind, value = call(live, "multiRefill", [other, order])
    assert kind == assoc((0, assoc(("order", "integer"), ("refill", "integer"))),
                         (1, assoc(("order", "integer"), ("refill", assoc(("error", "string"))))))
    assert value[0]["order"] == other and value[1]["order"] == order
    new_refill = value[0]["refill"]
    kind, value = call(live, "multiRefillStatus", [refill_id, new_refill, 7])
    assert kind == assoc(*[(i, assoc(("refill", "integer"), ("status", "string" if i < 2 else assoc(("error", "string")))))
                           for i in range(3)])
    assert [v["refill"] for v in value] == [refill_id, new_refill, 7]
    # cancel(): an associative array, cancel = 1 on success.
    kind, value = call(live, "cancel", [order, 999])
    assert kind == assoc((0, assoc(("order", "integer"), ("cancel", "integer"))),
                         (1, assoc(("order", "integer"), ("cancel", assoc(("error", "string"))))))
    assert value[0] == {"order": order, "cancel": 1}
    assert panel.status(KEY, order).status is Status.CANCELED


def test_urlencode_and_php_casts_arrive_intact(live, panel):
    link = "https://php.test/p/a b?x=1&y=ü~+%25;=/\"'<>"
    kind, value = call(live, "order", {"service": cancel_service(panel), "link": link, "quantity": 100})
    assert kind == obj(order="integer")
    assert panel.find_order(value["order"]).link == link
    # PHP casts true to "1": a quantity of true is 1, below the minimum.
    kind, value = call(live, "order", {"service": cancel_service(panel), "link": "https://php.test/t", "quantity": True})
    assert value == {"error": "Quantity less than minimal 50"}


def test_errors_decode_to_an_object_with_error(live):
    for method in ("balance", "services"):
        kind, value = call(live, method, key="not-a-key")
        assert kind == obj(error="string") and value == {"error": "Invalid API key"}
    kind, value = call(live, "status", 123456)
    assert value == {"error": "Incorrect order ID"}


# --- CURL_HTTP_VERSION_2_0 over http:// (cURL offers "Upgrade: h2c") --------------------------------


def _h2c_checks(out: dict[str, Any]) -> None:
    assert set(out["balance"]) == {"balance", "currency"}, out
    assert isinstance(out["order"]["order"], int), out
    assert out["status"]["status"] == "Pending" and out["status"]["remains"] == "100", out
    assert out["wrong_key"] == {"error": "Invalid API key"}
    assert out["versions"] == [out["http_1_1"]] * 3  # the offer was declined: every answer is HTTP/1.1


def test_a_curl_client_asking_for_http2_over_http_is_served_http11_by_mockpanel_serve():
    from tests.helpers.common import serving

    with serving("--key", KEY, "--balance", "50") as origin:
        out = run_php("h2c.php", origin + "/api/v2", KEY, "1")
    _h2c_checks(out)


def test_the_h2c_offer_reaches_the_server_and_the_body_is_read(live, panel):
    seen: list[dict[bytes, bytes]] = []
    live_app_observers = live._server.config.app.state.api.observers  # the app ServerThread serves
    live_app_observers.append(lambda scope, fields, payload, status, seconds: seen.append(dict(scope["headers"])))
    out = run_php("h2c.php", live.url + "/api/v2", KEY, "1")
    _h2c_checks(out)
    assert len(seen) == 4
    for headers in seen:  # what cURL sent: the offer (its Upgrade header kept, inert) and a form body
        assert headers[b"upgrade"] == b"h2c" and b"http2-settings" in headers, headers
        assert headers[b"content-type"] == b"application/x-www-form-urlencoded"
    order = panel.find_order(out["order"]["order"])
    assert (order.link, order.quantity) == ("https://php.test/h2c", 100)
