"""Requests that change the mock are refused when a web page of another site could have sent them
(_control_api/access.py, ``forged``): an ``Origin`` the server does not serve, ``Sec-Fetch-Site``
saying another site, or a body that is not JSON; the control API's and the dashboard's alike,
with the admin token still required where it is set. tests/server/test_cross_site_browser.py
sends the same attacks from a real browser."""

from __future__ import annotations

import httpx
import pytest

from mockpanel import create_app
from mockpanel._control_api.access import served_origin
from mockpanel._endpoint.api import is_json_type
from mockpanel._server.inprocess import SyncASGITransport
from tests.helpers.common import HTTP

UI = {"X-Mockpanel-UI": "1"}


def clock(mock) -> float:
    return float(HTTP.get(mock.control_url + "/clock").json()["now"])


def origin_of(mock) -> str:
    return mock.url.split("/p/")[0]


@pytest.mark.parametrize("headers", [
    {"Origin": "http://127.0.0.2:8000"},
    {"Origin": "http://localhost:1"},
    {"Origin": "null"},
    {"Origin": "http://rebind.test"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
])
@pytest.mark.parametrize("ui", [False, True])
def test_a_change_from_a_page_of_another_origin_is_a_403_and_changes_nothing(mock, headers, ui):
    before = clock(mock)
    path = "/ui/act/clock" if ui else "/clock"
    refused = HTTP.post(mock.control_url + path, json={"advance": "30d"}, headers={**headers, **(UI if ui else {})})
    assert refused.status_code == 403 and "another site" in refused.json()["error"], refused.text
    assert clock(mock) == before


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                                          "text/plain; charset=utf-8", "application/jsonx", None])
def test_a_change_whose_body_is_not_json_is_a_415_and_changes_nothing(mock, content_type):
    before = clock(mock)
    headers = {"Content-Type": content_type} if content_type else {}
    refused = HTTP.post(mock.control_url + "/clock", content=b'{"advance": "30d"}', headers=headers)
    assert refused.status_code == 415 and "Content-Type: application/json" in refused.json()["error"], refused.text
    assert clock(mock) == before
    keys = HTTP.post(mock.control_url + "/keys", content=b'{"key": "planted"}', headers=headers)
    assert keys.status_code == 415
    assert "planted" not in HTTP.get(mock.control_url + "/keys").text


def test_the_mock_s_own_origin_json_and_bodiless_changes_are_served(mock):
    before = clock(mock)
    own = {"Origin": origin_of(mock), "Sec-Fetch-Site": "same-origin"}
    assert HTTP.post(mock.control_url + "/clock", json={"advance": 60}, headers=own).status_code == 200
    assert HTTP.post(mock.control_url + "/ui/act/clock", json={"advance": 60}, headers={**own, **UI}).status_code == 200
    ld = {"Content-Type": "application/ld+json; charset=utf-8"}
    assert HTTP.post(mock.control_url + "/clock", content=b'{"advance": 60}', headers=ld).status_code == 200
    assert clock(mock) == before + 180
    assert HTTP.delete(mock.control_url + "/faults").status_code == 200  # no body, no type: not a form
    assert HTTP.post(mock.control_url + "/reset").status_code == 200
    assert HTTP.get(mock.control_url + "/state", headers={"Origin": "http://127.0.0.2:1"}).status_code == 200  # reads


def test_the_dashboard_s_sign_in_form_is_refused_from_another_origin(panel):
    app = create_app(panel, admin_token="t0ken")
    with httpx.Client(transport=SyncASGITransport(app), base_url="http://127.0.0.1:8080") as client:
        evil = client.post("/_mock/ui/login", data={"token": "t0ken"}, headers={"Origin": "http://127.0.0.2"},
                           follow_redirects=False)
        assert evil.status_code == 403 and "mockpanel_token" not in evil.headers.get("set-cookie", "")
        own = client.post("/_mock/ui/login", data={"token": "t0ken"}, headers={"Origin": "http://127.0.0.1:8080"},
                          follow_redirects=False)
        assert own.status_code == 303 and "mockpanel_token" in own.headers["set-cookie"]


def test_the_admin_token_is_still_required_from_the_mock_s_own_origin(panel):
    app = create_app(panel, admin_token="s3cret")
    with httpx.Client(transport=SyncASGITransport(app), base_url="http://127.0.0.1:8080") as client:
        own = {"Origin": "http://127.0.0.1:8080"}
        assert client.post("/_mock/clock", json={"advance": 5}, headers=own).status_code == 401
        assert client.post("/_mock/clock", json={"advance": 5}, headers={**own, "X-Mock-Token": "s3cret"}).status_code == 200
        evil = client.post("/_mock/clock", json={"advance": 5}, headers={"Origin": "http://127.0.0.2", "X-Mock-Token": "s3cret"})
        assert evil.status_code == 403


def test_origins_and_json_types_are_read_as_browsers_write_them():
    assert served_origin("http://127.0.0.1:8080", "127.0.0.1:8080")
    assert served_origin("http://LOCALHOST", "localhost:80")
    assert served_origin("https://panel.example", "panel.example")
    assert not served_origin("http://127.0.0.1:8081", "127.0.0.1:8080")
    assert not served_origin("http://127.0.0.1:8080", None)
    assert not served_origin("null", "127.0.0.1:8080")
    assert not served_origin("http://127.0.0.1:8080/x", "127.0.0.1:8080")
    assert not served_origin("ftp://127.0.0.1:8080", "127.0.0.1:8080")
    assert is_json_type(b"application/json; charset=utf-8") and is_json_type(b"application/problem+json")
    assert not is_json_type(b"text/json+plain") and not is_json_type(b"text/plain")
