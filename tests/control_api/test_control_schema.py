"""The control API's schemas over a real server: every endpoint, fed values of the wrong JSON
type (hypothesis picks them from what /_mock/openapi.json says each field takes), answers a
400 that names the field and what it expects, never a 5xx or a Python message."""

from __future__ import annotations

import json
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockpanel import MockPanel
from mockpanel._control_api.listing import LIST_ENDPOINTS
from mockpanel._control_api.routes import ENDPOINTS, RAW_JSON, public_path
from tests.helpers.common import HTTP, KEY

JSON_TYPES = {
    "null": st.none(),
    "boolean": st.booleans(),
    "integer": st.integers(-(2**70), 2**70),
    "number": st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: f != int(f)),
    "string": st.text(max_size=20),
    "array": st.lists(st.integers(), max_size=3),
    "object": st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
}
PYTHON_WORDS = ("Traceback", "NoneType", "object has no attribute", "<class", "positional argument", "keyword argument")


@pytest.fixture(scope="module")
def world(hub) -> Iterator[tuple[MockPanel, dict[str, Any], dict[str, Any]]]:
    """A panel with one of everything a path can name, and the OpenAPI document it publishes."""
    mock = MockPanel(hub, key=KEY, seed=1)
    order = HTTP.post(mock.url, data={"key": KEY, "action": "add", "service": "1", "link": "https://s.test/a",
                                      "quantity": "100"}).json()["order"]
    base = mock.control_url
    HTTP.post(f"{base}/orders/{order}", json={"status": "Completed"})
    refill = int(HTTP.post(mock.url, data={"key": KEY, "action": "refill", "order": order}).json()["refill"])
    fault = HTTP.post(f"{base}/faults", json={"kind": "html", "action": "cancel"}).json()["id"]
    ids = {"key": KEY, "order_id": order, "refill_id": refill, "service_id": 1, "fault_id": fault}
    document = HTTP.get(base + "/openapi.json").json()
    yield mock, ids, document
    mock.close()


def types_of(schema: dict[str, Any], components: dict[str, Any]) -> set[str]:
    """The JSON types a field's schema accepts ("number" takes integers too)."""
    if "$ref" in schema:
        return types_of(components[schema["$ref"].rsplit("/", 1)[1]], components)
    if "anyOf" in schema:
        return set().union(*(types_of(s, components) for s in schema["anyOf"]))
    if "enum" in schema:
        return {"string"}
    kinds = {schema["type"]} if "type" in schema else set(JSON_TYPES)
    return kinds | ({"integer"} if "number" in kinds else set())


def body_fields(document: dict[str, Any]) -> list[tuple[str, str, str, set[str]]]:
    """(method, path, field, accepted JSON types) for every field of every body and query."""
    components = document["components"]["schemas"]
    out = []
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            if "$ref" in schema:
                body = components[schema["$ref"].rsplit("/", 1)[1]]
                for name, prop in body["properties"].items():
                    out.append((method.upper(), path, name, types_of(prop, components)))
            for p in op.get("parameters", []):
                if p["in"] == "query":
                    out.append((method.upper(), path, p["name"], types_of(p["schema"], components)))
    return out


def url_of(mock: MockPanel, path: str, ids: dict[str, Any]) -> str:
    return mock.control_url + path[len("/_mock"):].format(**ids)


def check_refusal(answer: Any, field: str | None) -> dict[str, Any]:
    assert answer.status_code == 400, (answer.status_code, answer.text)
    assert answer.headers["content-type"] == "application/json"
    payload = answer.json()
    assert set(payload) <= {"error", "field"} and isinstance(payload["error"], str)
    assert not any(word in payload["error"] for word in PYTHON_WORDS), payload
    if field is not None:
        assert payload.get("field") == field and repr(field) in payload["error"], payload
    return payload


def test_the_document_covers_every_endpoint_of_the_registry(world):
    mock, ids, document = world
    assert document["openapi"] == "3.1.0" and document["servers"] == [{"url": mock.prefix}]
    published = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    listed = {("GET", "/_mock" + e.path) for e in LIST_ENDPOINTS}
    assert published == {(e.method, public_path(e.path)) for e in ENDPOINTS} | listed
    index = HTTP.get(mock.control_url + "/").json()["endpoints"]
    assert {tuple(line.split(" ", 1)) for line in index} == published
    refs = {v for v in json.dumps(document).split('"') if v.startswith("#/components/schemas/")}
    assert {r.rsplit("/", 1)[1] for r in refs} <= set(document["components"]["schemas"])
    assert len(body_fields(document)) >= 40  # the strategy below has fields to pick from


def test_a_status_of_the_wrong_type_is_a_400_naming_it(world):
    mock, ids, document = world
    answer = HTTP.post(f"{mock.control_url}/orders/{ids['order_id']}", json={"status": 5})
    payload = check_refusal(answer, "status")
    assert "Expected `str" in payload["error"] and "got `int`" in payload["error"]


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_wrong_type_in_any_field_of_any_endpoint_is_a_400_naming_the_field(world, data):
    mock, ids, document = world
    method, path, field, accepted = data.draw(st.sampled_from(body_fields(document)), label="field")
    wrong = [t for t in JSON_TYPES if t not in accepted]
    if method == "GET":  # a query value is text: only a non-number can be wrong for a number
        if not {"integer", "number"} & accepted:
            return
        value: Any = data.draw(st.text(min_size=1, max_size=10).filter(lambda t: not t.strip().isdigit()), label="value")
        answer = HTTP.get(url_of(mock, path, ids), params={field: value})
    else:
        value = data.draw(st.sampled_from(wrong).flatmap(lambda t: JSON_TYPES[t]), label="value")
        answer = HTTP.request(method, url_of(mock, path, ids), json={field: value})
    check_refusal(answer, field)


@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"42", b"null", b"{not json", b'{"key": "\\ud800"}'])
def test_a_body_that_is_not_an_object_is_a_400_for_every_endpoint_with_a_body(world, body):
    mock, ids, _ = world
    for e in ENDPOINTS:
        if e.body is None or e.body == RAW_JSON:
            continue
        answer = HTTP.request(e.method, url_of(mock, public_path(e.path), ids), content=body,
                              headers={"content-type": "application/json"})
        payload = check_refusal(answer, None)
        assert "body" in payload["error"] or payload.get("field") == "key", (e.path, payload)  # "key": not a field there


def test_an_unknown_field_is_named_with_the_fields_allowed(world):
    mock, ids, _ = world
    payload = check_refusal(HTTP.post(mock.control_url + "/clock", json={"rewind": 5}), "rewind")
    assert "unknown field" in payload["error"] and "advance" in payload["error"]
    nested = check_refusal(HTTP.post(f"{mock.control_url}/orders/{ids['order_id']}",
                                     json={"outcome": {"status": "Partial", "later": 1}}), "outcome.later")
    assert "unknown field" in nested["error"]


def test_refused_requests_change_nothing(world):
    mock, ids, _ = world
    state = HTTP.get(mock.control_url + "/state").json()
    for method, path, body in [
        ("POST", "/keys", {"key": "new-one", "balance": [1]}),
        ("POST", f"/keys/{KEY}/topup", {"amount": True}),
        ("POST", "/clock", {"advance": 60, "freeze": "yes"}),
        ("POST", f"/orders/{ids['order_id']}", {"remains": 10, "status": 5}),
        ("PATCH", "/services/1", {"rate": "2", "enabled": "maybe"}),
        ("POST", "/faults", {"kind": "http", "status": 503, "probability": "often", "count": [1]}),
    ]:
        check_refusal(HTTP.request(method, mock.control_url + path, json=body), None)
    assert HTTP.get(mock.control_url + "/state").json() == state


@pytest.mark.parametrize("path, body, field", [
    ("/keys", {"key": "rich", "balance": "1e999999"}, "balance"),
    (f"/keys/{KEY}/topup", {"amount": 10**13}, "amount"),
    ("/clock", {"advance": 1e308}, "advance"),
    ("/clock", {"advance": "99999999999999999999d"}, "advance"),
    ("/clock", {"advance": "-5m"}, "advance"),
    ("/services", {"service": "9" * 30, "name": "x", "type": "Default", "rate": "1", "min": 1, "max": 2}, "service"),
    ("/services", {"service": 2**64, "name": "x", "type": "Default", "rate": "1", "min": 1, "max": 2}, "service"),
    ("/orders/{order_id}", {"remains": 2**63}, "remains"),
])
def test_values_past_what_storage_holds_are_refused_at_the_boundary(world, path, body, field):
    """Numbers that would overflow a typed column, the clock or the JSON encoder never get in."""
    mock, ids, _ = world
    state = HTTP.get(mock.control_url + "/state").json()
    check_refusal(HTTP.post(mock.control_url + path.format(**ids), json=body), field)
    assert HTTP.get(mock.control_url + "/state").json() == state
