"""Every time the control API shows is Unix seconds with an ISO-8601 UTC companion (``<name>_iso``),
checked over a real socket: the two agree, the companion is null where the time is none, and
each answer has exactly the fields its OpenAPI schema declares."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockpanel._powers.control import iso
from tests.helpers.common import HTTP, KEY

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")  # as JavaScript's Date.toISOString writes it


def agrees(seconds: float | None, text: str | None) -> None:
    if seconds is None:
        assert text is None
        return
    assert isinstance(text, str) and ISO.match(text), text
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None and moment.utcoffset().total_seconds() == 0
    since = moment - datetime(1970, 1, 1, tzinfo=timezone.utc)
    exact = Fraction(since // timedelta(microseconds=1), 10**6)  # no float arithmetic to blur the comparison
    assert 0 <= Fraction(seconds) - exact < Fraction(1, 1000)  # the same instant, to the millisecond (cut, not rounded)


def pairs(value: Any) -> list[tuple[str, Any, Any]]:
    """Every (name, time, iso) pair in an answer, at any depth."""
    found: list[tuple[str, Any, Any]] = []
    if isinstance(value, dict):
        for name, item in value.items():
            if name.endswith("_iso"):
                found.append((name, value[name.removesuffix("_iso")], item))
            else:
                found += pairs(item)
    elif isinstance(value, list):
        for item in value:
            found += pairs(item)
    return found


TYPES = {"object": dict, "array": list, "string": str, "integer": int, "number": (int, float), "boolean": bool,
         "null": type(None)}


def conforms(value: Any, schema: dict[str, Any], where: str = "$") -> None:
    """``value`` has the declared type; an object has exactly the declared properties."""
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        assert any(isinstance(value, TYPES[k]) and not (k != "boolean" and isinstance(value, bool)) for k in kinds), (where, value)
    if isinstance(value, dict) and "properties" in schema:
        assert set(value) == set(schema["properties"]), (where, set(value) ^ set(schema["properties"]))
        for name, item in value.items():
            conforms(item, schema["properties"][name], f"{where}.{name}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            conforms(item, schema["items"], f"{where}[{i}]")


def answer_schema(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    responses = document["paths"][path][method]["responses"]
    ok = next(v for k, v in responses.items() if k.startswith("2"))
    schema: dict[str, Any] = ok["content"]["application/json"]["schema"]
    return schema


def test_the_iso_form_of_unix_seconds() -> None:
    assert iso(1_700_000_000) == "2023-11-14T22:13:20.000Z"
    assert iso(1_700_000_000.1239) == "2023-11-14T22:13:20.123Z"
    assert iso(0) == "1970-01-01T00:00:00.000Z" and iso(-1.5) == "1969-12-31T23:59:58.500Z"
    assert iso(None) is None and iso(float("inf")) is None and iso(float("nan")) is None
    assert iso(1e15) is None  # past year 9999: no ISO form without an agreement on longer years


def test_the_iso_form_cuts_the_exact_value_never_rounding_up() -> None:
    # A wall time a shade under .947 is .946: rounding to the microsecond first once made it .947.
    assert iso(1796644816.9469998) == "2026-12-07T12:00:16.946Z"
    assert iso(-0.0005) == "1969-12-31T23:59:59.999Z"


@settings(max_examples=500, deadline=None)
@given(st.floats(min_value=-62_135_596_800, max_value=253_402_300_799.999, allow_nan=False))
def test_every_iso_form_agrees_with_its_seconds(seconds: float) -> None:
    agrees(seconds, iso(seconds))


@pytest.fixture
def placed(mock):
    """The mock with an order placed and an order held in Pending (a ``stuck`` fault), one clock move on."""
    control = mock.control_url
    add = {"key": KEY, "action": "add", "service": "1", "quantity": "100"}
    order = int(HTTP.post(mock.url, data={**add, "link": "https://t.test/a"}).json()["order"])
    HTTP.post(f"{control}/faults", json={"kind": "stuck", "action": "add", "count": 1}).raise_for_status()
    held = int(HTTP.post(mock.url, data={**add, "link": "https://t.test/b"}).json()["order"])
    done = int(HTTP.post(mock.url, data={**add, "link": "https://t.test/c"}).json()["order"])
    HTTP.post(f"{control}/orders/{done}", json={"status": "Completed"}).raise_for_status()
    assert "refill" in HTTP.post(mock.url, data={"key": KEY, "action": "refill", "order": done}).json()
    HTTP.post(f"{control}/clock", json={"advance": 90.25}).raise_for_status()
    return mock, order, held


def test_each_time_has_an_iso_companion_that_agrees_with_it(placed) -> None:
    mock, order, held = placed
    c = mock.control_url
    answers = {
        "GET /_mock/clock": HTTP.get(f"{c}/clock").json(),
        "POST /_mock/clock": HTTP.post(f"{c}/clock", json={"advance": "1m"}).json(),
        "GET /_mock/orders/{order_id}": HTTP.get(f"{c}/orders/{order}").json(),
        "POST /_mock/orders/{order_id}": HTTP.post(f"{c}/orders/{held}", json={"outcome": "Canceled"}).json(),
        "GET /_mock/keys/{key}/ledger": HTTP.get(f"{c}/keys/{KEY}/ledger").json(),
        "GET /_mock/journal": HTTP.get(f"{c}/journal").json(),
        "GET /_mock/orders": HTTP.get(f"{c}/orders").json(),
        "GET /_mock/keys": HTTP.get(f"{c}/keys").json(),
        "GET /_mock/refills": HTTP.get(f"{c}/refills").json(),
    }
    seen = {name for answer in answers.values() for name, _, _ in pairs(answer)}
    assert seen == {"now_iso", "created_iso", "starts_at_iso", "ends_at_iso", "at_iso", "wall_iso"}
    for answer in answers.values():
        for _, seconds, text in pairs(answer):
            agrees(seconds, text)
    clock = answers["POST /_mock/clock"]
    assert clock["now"] == answers["GET /_mock/clock"]["now"] + 60 and set(clock) == {"now", "now_iso", "speed", "frozen"}
    shown = answers["GET /_mock/orders/{order_id}"]
    assert isinstance(shown["created"], float) and shown["plan"]["starts_at"] <= shown["plan"]["ends_at"]
    assert answers["GET /_mock/refills"]["refills"]  # a refill's time is shown too
    listed = {o["order"]: o for o in answers["GET /_mock/orders"]["orders"]}
    assert listed[order]["created_iso"] == shown["created_iso"]


def test_a_time_that_never_comes_has_a_null_companion(placed) -> None:
    mock, _, held = placed
    plan = HTTP.get(f"{mock.control_url}/orders/{held}").json()["plan"]
    assert plan["stuck"] is True
    assert (plan["starts_at"], plan["starts_at_iso"], plan["ends_at"], plan["ends_at_iso"]) == (None, None, None, None)


def test_each_answer_has_exactly_the_fields_its_schema_declares(placed) -> None:
    mock, order, held = placed
    c = mock.control_url
    document = HTTP.get(f"{c}/openapi.json").json()
    checks = [
        ("get", "/_mock/clock", HTTP.get(f"{c}/clock")),
        ("post", "/_mock/clock", HTTP.post(f"{c}/clock", json={})),
        ("get", "/_mock/orders/{order_id}", HTTP.get(f"{c}/orders/{order}")),
        ("get", "/_mock/orders/{order_id}", HTTP.get(f"{c}/orders/{held}")),
        ("post", "/_mock/orders/{order_id}", HTTP.post(f"{c}/orders/{order}", json={"status": "Partial", "remains": 5})),
        ("get", "/_mock/keys/{key}/ledger", HTTP.get(f"{c}/keys/{KEY}/ledger")),
        ("get", "/_mock/journal", HTTP.get(f"{c}/journal")),
        ("get", "/_mock/orders", HTTP.get(f"{c}/orders")),
        ("get", "/_mock/keys", HTTP.get(f"{c}/keys")),
        ("get", "/_mock/refills", HTTP.get(f"{c}/refills")),
    ]
    for method, path, response in checks:
        assert response.status_code == 200, (path, response.text)
        schema = answer_schema(document, method, path)
        conforms(response.json(), schema, f"{method.upper()} {path}")
        declared = str(schema)
        assert "_iso" in declared and "date-time" in declared, path


def test_the_python_fixture_shows_the_same_companions(placed) -> None:
    mock, order, _ = placed
    shown = mock.order(order)
    agrees(shown["created"], shown["created_iso"])
    assert shown == HTTP.get(f"{mock.control_url}/orders/{order}").json()
