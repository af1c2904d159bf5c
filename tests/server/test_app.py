"""_server/app.py: build_panel, panel_settings and create_app (routes, 404s, state)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from mockpanel import Catalog, Panel, VirtualClock, build_panel, create_app, load_catalog, load_dialect
from mockpanel._server.app import panel_settings
from mockpanel._server.inprocess import inprocess_client
from tests.helpers.common import KEY


def profile(tmp_path: Path, **fields) -> str:
    path = tmp_path / f"{fields['name']}.json"
    path.write_text(json.dumps({"extends": "standard", "description": "a test dialect", **fields}))
    return str(path)


def test_panel_settings_follow_the_dialect(tmp_path):
    dialect = load_dialect(profile(
        tmp_path, name="rules", batch={"limit": 7, "item_error": "nested"}, duplicate_links="any",
        refill_after_partial=True, dripfeed_intervals=[0, 5], subscription_delays=[0, 15],
    ))
    settings = panel_settings(dialect, seed=9)
    assert (settings.batch_limit, settings.duplicate_links, settings.refill_after_partial, settings.seed) == (7, "any", True, 9)
    assert settings.rules.intervals == (0, 5)
    assert settings.rules.delays == (0, 15)
    assert panel_settings(dialect, batch_limit=3).batch_limit == 3  # an override wins


def test_build_panel_defaults():
    panel = build_panel(clock=VirtualClock(speed=0), seed=4)
    assert isinstance(panel, Panel)
    assert panel.settings.seed == 4
    assert [s.id for s in panel.catalog] == [s.id for s in load_catalog("default")]
    assert panel.settings.batch_limit == load_dialect("standard").batch_limit


def test_build_panel_sells_only_the_types_the_dialect_knows(tmp_path):
    dialect = profile(tmp_path, name="few", service_types=["Default", "Package"])
    panel = build_panel(dialect, clock=VirtualClock(speed=0))
    assert {s.type.name for s in panel.catalog} == {"Default", "Package"}
    assert len(panel.catalog) == sum(1 for s in load_catalog("default") if s.type.name in ("Default", "Package"))


def test_build_panel_takes_a_catalog_object():
    catalog = Catalog([s for s in load_catalog("default") if s.id in (1, 2)])
    panel = build_panel(catalog=catalog, clock=VirtualClock(speed=0))
    assert [s.id for s in panel.catalog] == [1, 2]


def test_the_api_answers_with_and_without_the_trailing_slash(client):
    for path in ("/api/v2", "/api/v2/"):
        for method in ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
            r = client.request(method, path, params={"key": KEY, "action": "balance"})
            assert r.status_code == 200 and r.json() == {"balance": "100.00000", "currency": "USD"}, (method, path)


@pytest.mark.parametrize("path", ["/", "/api", "/api/v1", "/api/v2//", "/api/v2/x", "/API/V2", "/api/v2.php", "/api/v2/%2e%2e"])
def test_other_paths_get_a_json_404_without_redirects(client, path):
    r = client.post(path, data={"key": KEY, "action": "balance"}, follow_redirects=False)
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"error": "Not found"}


def test_a_dialects_endpoints_are_routed(tmp_path, panel):
    app = create_app(panel, profile(tmp_path, name="v3", endpoints=["/api/v3/", "/rest"]))
    with inprocess_client(app) as c:
        for path in ("/api/v3", "/api/v3/", "/rest", "/rest/"):
            assert c.get(path, params={"key": KEY, "action": "balance"}).status_code == 200, path
        assert c.get("/api/v2", params={"key": KEY, "action": "balance"}).status_code == 404


def test_state_and_a_default_panel():
    app = create_app()
    assert isinstance(app.state.panel, Panel)
    assert app.state.dialect.name == "standard"
    assert app.state.api.panel is app.state.panel


def test_extra_routes_come_first(panel):
    async def hello(request):
        return PlainTextResponse("hello")

    app = create_app(panel, extra_routes=[Route("/_hello", hello)])
    with inprocess_client(app) as c:
        assert c.get("/_hello").text == "hello"
        assert c.get("/api/v2", params={"key": KEY, "action": "balance"}).status_code == 200


def test_max_body_is_the_endpoints_limit(panel):
    app = create_app(panel, max_body=100)
    with inprocess_client(app) as c:
        r = c.post("/api/v2", data={"key": KEY, "action": "balance", "pad": "x" * 100})
        assert r.status_code == 413 and "100 bytes" in r.json()["error"]
        assert c.post("/api/v2", data={"key": KEY, "action": "balance"}).status_code == 200


def test_an_unexpected_exception_still_gets_a_json_500(panel, monkeypatch):
    """The safety net: never reached by the actions (they answer errors as JSON)."""
    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("mockpanel._endpoint.api.answer", boom)
    app = create_app(panel)

    async def main() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            return await c.get("/api/v2", params={"key": KEY, "action": "balance"})

    r = asyncio.run(main())
    assert r.status_code == 500
    assert r.json() == {"error": "Internal error"}
    assert "boom" not in r.text and KEY not in r.text


@pytest.mark.parametrize("refusal, status", [("state", 503), ("book", 507)])
def test_a_change_the_mocks_bounds_refuse_is_a_json_503_or_507_on_every_route(panel, live, monkeypatch, refusal, status):
    """The general way (a GET with a query) and the control API (POST /_mock/keys) answer a refused
    change as the hot path does: the state file's refusal 503, the order book's bound 507, the words JSON."""
    from mockpanel._panel.panel import OrderBookFull
    from mockpanel._persistence.errors import StateUnavailable

    error = StateUnavailable("the disk is full") if refusal == "state" else OrderBookFull("the order book is full")

    def refuse(*args, **kwargs):
        raise error

    monkeypatch.setattr(panel, "create_account", refuse)
    monkeypatch.setattr("mockpanel._endpoint.api.answer", refuse)
    with httpx.Client(base_url=live.url, timeout=5) as c:
        for answer in (c.get("/api/v2", params={"key": KEY, "action": "balance"}), c.post("/_mock/keys", json={})):
            assert (answer.status_code, answer.headers["content-type"], answer.json()) == (
                status, "application/json", {"error": str(error)})


def test_the_api_fast_path_answers_json_500_if_the_endpoint_ever_raises():
    import asyncio

    from mockpanel import build_panel, create_app

    panel = build_panel()
    app = create_app(panel)

    async def broken(scope, receive, send):
        raise RuntimeError("a bug")

    app.api_paths = {"/api/v2": broken}
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/v2", "root_path": "", "headers": [], "query_string": b""}
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 500
    assert sent[1]["body"] == b'{"error":"Internal error"}'


def test_the_fast_path_routes_a_mounted_panel_by_the_path_below_its_root():
    import asyncio

    from mockpanel import build_panel, create_app

    panel = build_panel()
    panel.create_account("mounted-key", balance="3")
    app = create_app(panel)
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"key=mounted-key&action=balance", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/p/7/api/v2/", "root_path": "/p/7", "headers": [],
             "query_string": b""}
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 200 and sent[1]["body"] == b'{"balance":"3.00000","currency":"USD"}'
