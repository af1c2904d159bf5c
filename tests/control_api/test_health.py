"""``GET /_mock/health``: answered with no key and no token, even when the server has an admin token
and to a client on another machine, but only for the Host names the server serves."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from mockpanel import ServerThread, __version__, build_panel, create_app
from mockpanel._server.inprocess import SyncASGITransport

TOKEN = "health-admin-token"


@pytest.fixture(scope="module")
def guarded() -> Iterator[str]:
    """A server with an admin token: every other control endpoint wants it."""
    with ServerThread(create_app(build_panel(), admin_token=TOKEN)) as server:
        yield server.url


def test_health_answers_without_the_admin_token_others_still_want_it(guarded):
    started = time.monotonic()
    answer = httpx.get(guarded + "/_mock/health", timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert body["status"] == "ok" and body["version"] == __version__
    assert 0 <= body["uptime"] < 60 + (time.monotonic() - started)
    assert httpx.get(guarded + "/_mock/clock", timeout=10).status_code == 401
    assert httpx.get(guarded + "/_mock/clock", headers={"X-Mock-Token": TOKEN}, timeout=10).status_code == 200


def test_health_uptime_grows(guarded):
    first = httpx.get(guarded + "/_mock/health", timeout=10).json()["uptime"]
    time.sleep(0.05)
    assert httpx.get(guarded + "/_mock/health", timeout=10).json()["uptime"] > first


def test_health_obeys_the_host_check(guarded):
    answer = httpx.get(guarded + "/_mock/health", headers={"Host": "rebind.test"}, timeout=10)
    assert answer.status_code == 421


def test_health_answers_a_client_on_another_machine_the_rest_does_not():
    app = create_app(build_panel())
    with httpx.Client(transport=SyncASGITransport(app, client=("192.0.2.7", 4000)), base_url="http://x") as far:
        assert far.get("/_mock/health").json()["status"] == "ok"
        assert far.get("/_mock/clock").status_code == 403


def test_health_is_listed_in_the_index_and_the_openapi_document(guarded):
    index = httpx.get(guarded + "/_mock/", headers={"X-Mock-Token": TOKEN}, timeout=10).json()
    assert "GET /_mock/health" in index["endpoints"]
    document = httpx.get(guarded + "/_mock/openapi.json", headers={"X-Mock-Token": TOKEN}, timeout=10).json()
    health = document["paths"]["/_mock/health"]["get"]
    assert set(health["responses"]) == {"200"}  # no 401/403: it answers anyone
    assert set(health["responses"]["200"]["content"]["application/json"]["schema"]["properties"]) == {
        "status", "version", "uptime"}
    assert "401" in document["paths"]["/_mock/clock"]["get"]["responses"]
