"""The hot path (_server/hotpath.py) answers the common request exactly as the general way does:
the same answers, the same journal and HAR, and every request it cannot be sure of goes the
general way (faults, trigger words, other content types, bodies in parts, oversized bodies)."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import httpx
import pytest
import requests

from mockpanel import ServerThread, VirtualClock, build_panel, create_app
from mockpanel._domain.accounts import redact
from mockpanel._persistence.errors import StateUnavailable
from mockpanel._server import hotpath
from mockpanel._server.hotpath import HotPath
from tests.helpers.common import KEY


def _app(general_only: bool = False) -> Any:
    panel = build_panel(clock=VirtualClock(speed=0, start=1_700_000_000), seed=1)
    panel.create_account(KEY, balance="100")
    app = create_app(panel)
    if general_only:  # every request the general way: the reference the hot path must match
        app.api_paths = {path: entry.general for path, entry in app.api_paths.items()}
    return app


def _session(url: str) -> list[Any]:
    """A client's session: every action, errors included, answers as JSON."""
    api = url + "/api/v2"
    out = []
    for data in (
        {"key": KEY, "action": "balance"},
        {"key": KEY, "action": "services"},
        {"key": KEY, "action": "add", "service": "1", "link": "https://hot.test/a", "quantity": "100"},
        {"key": KEY, "action": "add", "service": "1", "link": "https://hot.test/a", "quantity": "100"},
        {"key": KEY, "action": "status", "order": "10001"},
        {"key": KEY, "action": "status", "order": "10001"},  # a second time: the cached way, if final
        {"key": KEY, "action": "status", "orders": "10001,99,abc"},
        {"key": KEY, "action": "cancel", "orders": "10001"},
        {"key": KEY, "action": "balance"},
        {"key": "wrong-key-123456", "action": "balance"},
        {"key": KEY, "action": "nope"},
        {"key": KEY, "action": "status", "order": "0010001"},
    ):
        out.append(requests.post(api, data=data, timeout=10).json())
    out.append(requests.post(api, data="key=%s&action=balance&key=%s" % (KEY, KEY), timeout=10,
                             headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}).json())
    return out


def _journal(url: str) -> list[Any]:
    entries = httpx.get(url + "/_mock/journal", timeout=10).json()
    rows = entries
    for row in rows:
        for volatile in ("at", "wall", "latency", "seconds", "time", "started", "at_iso", "wall_iso"):
            row.pop(volatile, None)
    return rows


def _har(url: str) -> list[Any]:
    har = httpx.get(url + "/_mock/journal.har", timeout=10).json()
    out = []
    for e in har["log"]["entries"]:
        headers = sorted((h["name"].lower(), h["value"]) for h in e["request"]["headers"]
                         if h["name"].lower() not in ("host", "user-agent"))
        out.append((e["request"]["method"], e["request"]["url"].split("/", 3)[3], headers,
                    e["request"].get("postData", {}).get("text"), e["response"]["status"],
                    e["response"]["content"]["text"]))
    return out


def test_the_hot_path_answers_and_journals_as_the_general_way() -> None:
    with ServerThread(_app()) as hot, ServerThread(_app(general_only=True)) as general:
        assert _session(hot.url) == _session(general.url)
        assert _journal(hot.url) == _journal(general.url)
        assert _har(hot.url) == _har(general.url)


def test_the_hot_path_is_what_the_api_paths_use() -> None:
    app = _app()
    assert all(isinstance(entry, HotPath) for entry in app.api_paths.values())


def test_a_key_in_a_header_is_redacted_in_the_har_when_it_is_read() -> None:
    with ServerThread(_app()) as live:
        requests.post(live.url + "/api/v2", data={"key": KEY, "action": "balance"},
                      headers={"X-Api-Key": KEY, "X-Echo": f"mine={KEY}"}, timeout=10)
        text = httpx.get(live.url + "/_mock/journal.har", timeout=10).text
    assert KEY not in text and redact(KEY) in text


def test_a_trigger_word_and_a_fault_take_the_general_way() -> None:
    with ServerThread(_app()) as live:
        api = live.url + "/api/v2"
        word = requests.post(api, data={"key": KEY, "action": "add", "service": "1", "quantity": "100",
                                        "link": "https://hot.test/p?mockpanel=http-502"}, timeout=10)
        assert word.status_code == 502
        httpx.post(live.url + "/_mock/faults", json={"kind": "http", "status": 503, "count": 1}, timeout=10)
        assert requests.post(api, data={"key": KEY, "action": "balance"}, timeout=10).status_code == 503
        assert requests.post(api, data={"key": KEY, "action": "balance"}, timeout=10).status_code == 200


def test_json_a_query_string_and_a_body_in_parts_are_answered_alike() -> None:
    with ServerThread(_app()) as live:
        api = live.url + "/api/v2"
        expected = requests.post(api, data={"key": KEY, "action": "balance"}, timeout=10).json()
        assert httpx.post(api, json={"key": KEY, "action": "balance"}, timeout=10).json() == expected
        assert requests.post(api + f"?key={KEY}", data={"action": "balance"}, timeout=10).json() == expected

        def parts() -> Any:  # a chunked body: more than one message reaches the app
            yield b"key=" + KEY.encode()
            yield b"&action=balance"

        assert requests.post(api, data=parts(), timeout=10,
                             headers={"Content-Type": "application/x-www-form-urlencoded"}).json() == expected


def test_an_announced_oversized_body_is_refused_before_it_is_read() -> None:
    with ServerThread(_app()) as live:
        host, port = live.url.split("//")[1].split(":")
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(b"POST /api/v2 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                      b"Content-Length: 99999999\r\n\r\nkey=a")
            head = s.recv(4096)
    assert head.startswith(b"HTTP/1.1 413")


def _call(app: Any, body: bytes, content_type: bytes = b"application/x-www-form-urlencoded") -> list[Any]:
    """One POST /api/v2 straight into the app (no server); the ASGI messages it sent."""
    scope = {"type": "http", "method": "POST", "path": "/api/v2", "root_path": "", "query_string": b"",
             "headers": [(b"content-type", content_type)], "scheme": "http"}
    sent: list[Any] = []

    async def receive() -> Any:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


@pytest.mark.parametrize("error, status, text", [(RuntimeError("a bug"), 500, "Internal error"),
                                                 (StateUnavailable("the disk is full"), 503, "the disk is full")])
def test_a_failing_answer_is_json_and_stays_in_the_journal_unanswered(monkeypatch: Any, error: Exception,
                                                                        status: int, text: str) -> None:
    app = _app()

    def boom(*args: Any) -> Any:
        raise error

    monkeypatch.setattr("mockpanel._endpoint.api.answer", boom)
    sent = _call(app, f"key={KEY}&action=balance".encode())
    assert sent[0]["status"] == status and json.loads(sent[1]["body"]) == {"error": text}
    entries = app.state.control.journal.entries()
    assert len(entries) == 1 and entries[0].status is None and entries[0].action == "balance"


def test_another_observer_takes_the_general_way(monkeypatch: Any) -> None:
    app = _app()
    seen: list[Any] = []
    app.state.api.observers.append(lambda scope, fields, payload, status, seconds: seen.append(fields["action"]))
    general = hotpath.guarded
    calls: list[int] = []

    async def counting(*args: Any) -> None:
        calls.append(1)
        await general(*args)

    monkeypatch.setattr(hotpath, "guarded", counting)
    _call(app, f"key={KEY}&action=balance".encode())
    assert seen == ["balance"] and calls == [1]


@pytest.mark.parametrize("long_field", [False, True])
def test_a_row_the_journal_keeps_in_its_own_form_still_has_its_wire_facts(monkeypatch: Any, long_field: bool) -> None:
    # Logging on, or a field past the journal's bound: the journal keeps its own row; the HAR still
    # knows the request's method and headers, and its answer.
    import logging

    if not long_field:
        monkeypatch.setattr(logging.getLogger("mockpanel"), "level", logging.INFO)
    with ServerThread(_app()) as live:
        extra = {"note": "x" * 20_000} if long_field else {}
        requests.post(live.url + "/api/v2", data={"key": KEY, "action": "balance", **extra},
                      headers={"X-Client": "shop-9"}, timeout=10)
        har = httpx.get(live.url + "/_mock/journal.har", timeout=10).json()
    entry = har["log"]["entries"][-1]
    assert {"name": "x-client", "value": "shop-9"} in [{"name": h["name"].lower(), "value": h["value"]}
                                                       for h in entry["request"]["headers"]]
    assert json.loads(entry["response"]["content"]["text"])["currency"] == "USD"


@pytest.mark.parametrize("body, content_type", [
    (f"key={KEY}&action=balance", b"application/x-www-form-urlencoded"),
    (f"key={KEY}&action=status&order=10001", b"application/x-www-form-urlencoded; charset=UTF-8"),
    (f"key={KEY}&action=services", b"Application/X-WWW-Form-Urlencoded"),
    ("key=wrong-key-123456&action=balance", b"application/x-www-form-urlencoded"),
])
def test_a_plain_form_post_never_goes_the_general_way(monkeypatch: Any, body: str, content_type: bytes) -> None:
    # Without this, the equivalence test above would pass with a hot path that always fell back.
    app = _app()
    calls: list[int] = []

    async def counting(*args: Any) -> None:
        calls.append(1)

    monkeypatch.setattr(hotpath, "guarded", counting)
    sent = _call(app, body.encode(), content_type)
    assert calls == [] and sent[0]["status"] == 200 and json.loads(sent[1]["body"])
    assert len(app.state.control.journal.entries()) == 1


def test_a_body_sent_again_is_read_from_its_kept_fields_and_each_request_has_its_own(monkeypatch: Any) -> None:
    app = _app()
    reads: list[bytes] = []
    real = hotpath.urlencoded_fields
    monkeypatch.setattr(hotpath, "urlencoded_fields", lambda body: reads.append(body) or real(body))
    seen: list[dict[str, str]] = []
    answer = hotpath.endpoint_module.answer

    def spoiling(answers: Any, dialect: Any, fields: dict[str, str]) -> Any:
        seen.append(dict(fields))
        out = answer(answers, dialect, fields)
        fields["action"] = "spoiled"  # whatever a request does to its fields stays its own
        return out

    monkeypatch.setattr(hotpath.endpoint_module, "answer", spoiling)
    body = f"key={KEY}&action=balance".encode()
    for _ in range(3):
        assert json.loads(_call(app, body)[1]["body"]) == {"balance": "100.00000", "currency": "USD"}
    assert reads == [body] and all(f == {"key": KEY, "action": "balance"} for f in seen)
    assert [e.action for e in app.state.control.journal.entries()] == ["balance"] * 3


def test_the_kept_fields_are_bounded() -> None:
    app = _app()
    entry = app.api_paths["/api/v2"]
    for i in range(hotpath.PARSED_MAX + 10):
        _call(app, f"key={KEY}&action=status&order={10_000 + i}".encode())
    assert 0 < len(entry._parsed) <= hotpath.PARSED_MAX
    _call(app, f"key={KEY}&action=balance&note={'x' * hotpath.PARSED_BODY}".encode())  # too long to keep
    assert all(len(body) <= hotpath.PARSED_BODY for body in entry._parsed)
