"""``serve --cors ORIGIN`` (create_app's ``cors``): CORS headers and preflights on the panel API for
the listed origins only, never on the control API (/_mock/), nothing for an origin not listed."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from mockpanel import ServerThread, build_panel, create_app
from mockpanel._server.cors import cors_origins

KEY = "cors-key-0001"
PAGE = "http://localhost:3000"
OTHER = "http://evil.test"


def _served(cors: list[str]) -> Iterator[str]:
    panel = build_panel()
    panel.create_account(KEY, balance="5")
    with ServerThread(create_app(panel, cors=cors)) as server:
        yield server.url


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    yield from _served([PAGE + "/", "https://app.example"])


def cors_headers(answer: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in answer.headers.items() if k.startswith("access-control-")}


def test_a_listed_origin_reads_the_api_s_answers(origin):
    answer = httpx.post(origin + "/api/v2", data={"key": KEY, "action": "balance"}, headers={"Origin": PAGE}, timeout=10)
    assert answer.json()["balance"].startswith("5.00")
    assert answer.headers["access-control-allow-origin"] == PAGE
    assert "origin" in answer.headers["vary"].lower()


def test_a_listed_origin_s_preflight_is_granted(origin):
    answer = httpx.options(origin + "/api/v2", headers={
        "Origin": PAGE, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type",
    }, timeout=10)
    assert answer.status_code == 204 and answer.content == b""
    assert answer.headers["access-control-allow-origin"] == PAGE
    assert "POST" in answer.headers["access-control-allow-methods"]
    assert answer.headers["access-control-allow-headers"] == "content-type"


def test_an_origin_not_listed_gets_no_cors_header(origin):
    answer = httpx.post(origin + "/api/v2", data={"key": KEY, "action": "balance"}, headers={"Origin": OTHER}, timeout=10)
    assert answer.json()["balance"].startswith("5.00") and cors_headers(answer) == {}
    preflight = httpx.options(origin + "/api/v2", headers={"Origin": OTHER, "Access-Control-Request-Method": "POST"},
                              timeout=10)
    assert preflight.status_code != 204 and cors_headers(preflight) == {}


@pytest.mark.parametrize("path", ["/_mock/", "/_mock/clock", "/_mock/health", "/_mock/ui"])
def test_the_control_api_never_gets_cors_headers(origin, path):
    answer = httpx.get(origin + path, headers={"Origin": PAGE}, timeout=10)
    assert cors_headers(answer) == {}
    preflight = httpx.options(origin + path, headers={"Origin": PAGE, "Access-Control-Request-Method": "POST"},
                              timeout=10)
    assert cors_headers(preflight) == {}


def test_without_cors_no_origin_gets_headers():
    for url in _served([]):
        answer = httpx.post(url + "/api/v2", data={"key": KEY, "action": "balance"}, headers={"Origin": PAGE},
                            timeout=10)
        assert answer.json()["balance"].startswith("5.00") and cors_headers(answer) == {}


def test_any_origin_with_a_star():
    for url in _served(["*"]):
        answer = httpx.post(url + "/api/v2", data={"key": KEY, "action": "balance"}, headers={"Origin": OTHER},
                            timeout=10)
        assert answer.headers["access-control-allow-origin"] == OTHER


@pytest.mark.parametrize("bad", ["localhost:3000", "ftp://x.test", "http://x.test/page", "http://", "null"])
def test_a_value_that_is_not_an_origin_is_refused_with_what_to_give(bad):
    with pytest.raises(ValueError, match="is not an origin: give scheme://host"):
        cors_origins([bad])
