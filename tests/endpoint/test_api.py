"""_endpoint/api.py: the raw ASGI endpoint, driven with hand-made ASGI messages (no server)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from mockpanel import load_dialect
from mockpanel._endpoint.api import (
    ApiEndpoint,
    BodyTooLarge,
    ClientGone,
    read_body,
    request_fields,
    send_json,
)
from tests.helpers.common import KEY


def receiver(*messages: dict[str, Any]):
    queue = list(messages)

    async def receive() -> dict[str, Any]:
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    return receive


def body_messages(body: bytes, chunk: int = 0) -> list[dict[str, Any]]:
    if not chunk:
        return [{"type": "http.request", "body": body, "more_body": False}]
    parts = [body[i : i + chunk] for i in range(0, len(body), chunk)] or [b""]
    return [{"type": "http.request", "body": p, "more_body": i < len(parts) - 1} for i, p in enumerate(parts)]


def scope(method: str = "POST", query: bytes = b"", content_type: str | None = None, path: str = "/api/v2") -> dict[str, Any]:
    headers = [] if content_type is None else [(b"content-type", content_type.encode())]
    return {"type": "http", "method": method, "path": path, "query_string": query, "headers": headers}


def run(coro):
    return asyncio.run(coro)


# --- read_body ---------------------------------------------------------------------------


def test_read_body_joins_chunks():
    assert run(read_body(receiver(*body_messages(b"abcdefghij", chunk=3)), 100)) == b"abcdefghij"
    assert run(read_body(receiver(*body_messages(b"")), 100)) == b""


def test_read_body_refuses_more_than_the_limit_even_in_small_chunks():
    assert run(read_body(receiver(*body_messages(b"x" * 100, chunk=7)), 100)) == b"x" * 100
    with pytest.raises(BodyTooLarge):
        run(read_body(receiver(*body_messages(b"x" * 101, chunk=7)), 100))


def test_read_body_of_a_client_that_left_mid_body_is_refused():
    with pytest.raises(ClientGone):
        run(read_body(receiver({"type": "http.request", "body": b"key=k", "more_body": True}), 100))


# --- request_fields -------------------------------------------------------------------------


def fields_of(body: bytes, content_type: str | None, query: bytes = b"", chunk: int = 0) -> dict[str, str]:
    return run(request_fields(scope(query=query, content_type=content_type), receiver(*body_messages(body, chunk))))


def test_body_fields_win_over_query_fields():
    assert fields_of(b"key=body", "application/x-www-form-urlencoded", b"key=query&action=balance") == {
        "key": "body", "action": "balance",
    }
    assert fields_of(b'{"key": "body"}', "application/json", b"key=query") == {"key": "body"}


@pytest.mark.parametrize("content_type", [None, "", "text/plain", "application/octet-stream", "garbage/;;;"])
def test_a_form_body_with_any_other_content_type_is_read_as_a_form(content_type):
    assert fields_of(b"key=k&action=balance", content_type) == {"key": "k", "action": "balance"}


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8", "text/json", "application/vnd.api+json"])
def test_json_content_types(content_type):
    assert fields_of(b'{"key": "k", "quantity": 10}', content_type) == {"key": "k", "quantity": "10"}


def test_a_json_body_without_content_type_is_sniffed():
    assert fields_of(b'{"key": "k"}', None) == {"key": "k"}
    assert fields_of(b'{"key": "k"}', "") == {"key": "k"}


def test_a_json_body_sent_as_a_form_is_not_json():
    # A form parser sees one field named '{"key": "k"}'; no key is found, so the request is refused later.
    assert "key" not in fields_of(b'{"key": "k"}', "application/x-www-form-urlencoded")


def multipart(fields: dict[str, str], boundary: str = "BOUNDARY", files: int = 0) -> bytes:
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{n}"\r\n\r\n{v}\r\n' for n, v in fields.items()]
    parts += [
        f'--{boundary}\r\nContent-Disposition: form-data; name="f{i}"; filename="f{i}.txt"\r\n'
        f"Content-Type: text/plain\r\n\r\ndata\r\n"
        for i in range(files)
    ]
    return ("".join(parts) + f"--{boundary}--\r\n").encode()


def test_multipart_fields_are_read_and_files_ignored():
    body = multipart({"key": "k", "comments": "a\nb"}, files=2)
    assert fields_of(body, "multipart/form-data; boundary=BOUNDARY", chunk=10) == {"key": "k", "comments": "a\nb"}


def test_malformed_multipart_bodies_give_no_fields():
    ct = "multipart/form-data; boundary=BOUNDARY"
    assert fields_of(b"key=k", "multipart/form-data", b"action=balance") == {"action": "balance"}  # no boundary
    assert fields_of(b"garbage", ct) == {}
    assert fields_of(multipart({"key": "k"}, boundary="OTHER"), ct) == {}
    assert fields_of(multipart({"key": "k"}, files=11), ct) == {}  # more files than a panel request has
    assert fields_of(multipart({f"f{i}": "x" for i in range(1001)}), ct) == {}


# --- send_json and the endpoint ----------------------------------------------------------------


def call(app, sc: dict[str, Any], body: bytes = b"", chunk: int = 0) -> tuple[int, dict[bytes, bytes], bytes]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    run(app(sc, receiver(*body_messages(body, chunk)), send))
    if not sent:
        return 0, {}, b""
    start, *bodies = sent
    return start["status"], dict(start["headers"]), b"".join(m.get("body", b"") for m in bodies)


def test_send_json_sets_length_and_type_and_omits_the_body_for_head():
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    run(send_json(send, 200, b'{"a":1}', head=True, extra=[(b"x-extra", b"1")]))
    assert sent[0]["status"] == 200
    assert dict(sent[0]["headers"]) == {b"content-type": b"application/json", b"content-length": b"7", b"x-extra": b"1"}
    assert sent[1]["body"] == b""


@pytest.fixture
def endpoint(panel) -> ApiEndpoint:
    return ApiEndpoint(panel, load_dialect("standard"), max_body=1000)


def test_the_endpoint_answers_an_action(endpoint, panel):
    status, headers, body = call(endpoint, scope(query=b"key=" + KEY.encode() + b"&action=balance"))
    assert status == 200
    assert headers[b"content-type"] == b"application/json"
    assert int(headers[b"content-length"]) == len(body)
    assert json.loads(body) == {"balance": "100.00000", "currency": "USD"}


def test_the_endpoint_refuses_a_body_over_its_limit_with_413_json(endpoint, panel):
    body = b"key=" + KEY.encode() + b"&action=add&service=1&link=x&quantity=100&pad=" + b"x" * 1000
    status, headers, payload = call(endpoint, scope(content_type="application/x-www-form-urlencoded"), body, chunk=64)
    assert status == 413
    assert headers[b"connection"] == b"close"
    assert "1000 bytes" in json.loads(payload)["error"]
    assert list(panel.account(KEY).order_ids) == []


def test_the_endpoint_does_nothing_for_a_client_that_left(endpoint, panel):
    sc = scope(content_type="application/x-www-form-urlencoded")
    body = b"key=" + KEY.encode() + b"&action=add&service=1&link=https://x.test&quantity=100"
    sent: list[Any] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    run(endpoint(sc, receiver({"type": "http.request", "body": body, "more_body": True}), send))
    assert sent == []
    assert list(panel.account(KEY).order_ids) == []


def test_head_gets_the_headers_without_a_body(endpoint):
    status, headers, body = call(endpoint, scope("HEAD", b"key=" + KEY.encode() + b"&action=balance"))
    assert status == 200 and body == b""
    assert int(headers[b"content-length"]) == len(b'{"balance":"100.00000","currency":"USD"}')


def test_observers_see_fields_payload_status_and_time(endpoint):
    seen: list[Any] = []
    endpoint.observers.append(lambda sc, fields, payload, status, seconds: seen.append((fields, payload, status, seconds)))
    call(endpoint, scope(query=b"key=nope&action=balance"))
    [(fields, payload, status, seconds)] = seen
    assert fields == {"key": "nope", "action": "balance"}
    assert payload == {"error": "Invalid API key"}
    assert status == 200 and 0 <= seconds < 5


def test_the_endpoint_writes_the_dialects_json(panel):
    dialect = load_dialect("standard")
    endpoint = ApiEndpoint(panel, dialect)
    _, headers, body = call(endpoint, scope(query=b"key=" + KEY.encode() + b"&action=services"))
    assert headers[b"content-type"] == dialect.content_type.encode()
    assert body == json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False).encode()  # compact
