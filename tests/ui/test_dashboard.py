"""The dashboard over HTTP: what the page shows (never a key), its filters, its controls,
and its access rules (the control API's: loopback, or the admin token)."""

from __future__ import annotations

import re

import httpx
import pytest

from mockpanel import create_app
from mockpanel._domain.accounts import key_id, redact
from mockpanel._server.inprocess import SyncASGITransport, inprocess_client
from tests.helpers.common import HTTP, KEY

UI = {"X-Mockpanel-UI": "1"}


def add(client: httpx.Client, link: str = "https://x.test/p", key: str = KEY) -> int:
    answer = client.post("/api/v2", data={"key": key, "action": "add", "service": "1", "link": link, "quantity": "100"}).json()
    return int(answer["order"])


@pytest.fixture
def app(panel):
    return create_app(panel)


@pytest.fixture
def ui(app):
    with inprocess_client(app) as client:
        yield client


def rows(html: str) -> dict[int, str]:
    return {int(m[0]): m[1] for m in re.findall(r'<tr id="order-(\d+)" data-status="([^"]+)"', html)}


def test_the_page_shows_orders_keys_journal_and_clock_never_a_key(ui):
    first = add(ui, link=f"https://x.test/?t={KEY}")
    ui.post("/api/v2", data={"key": "some-wrong-key", "action": "balance"})
    html = ui.get("/_mock/ui").text
    assert rows(html) == {first: "Pending"}
    assert redact(KEY) in html and 'id="clock-now"' in html and "Journal" in html
    assert KEY not in html and "some-wrong-key" not in html
    failed = re.search(r'<tr id="req-2" class="failed', html)
    assert failed, "the refused request is marked as failed"
    live = ui.get("/_mock/ui/live").json()["sections"]
    assert set(live) == {"clock", "keys", "orders", "refills", "faults", "journal"}
    assert f'id="order-{first}"' in live["orders"] and not any(KEY in part for part in live.values())


def test_money_on_the_page_has_the_dialects_decimals(ui):
    add(ui)  # 0.09 of the key's 100
    html = ui.get("/_mock/ui").text
    assert ">99.91000</td>" in html and ">0.09000</td>" in html  # the balance and the charge: 5 decimals, as answers show
    assert "99.9100000" not in html and "E-7" not in html


def test_filters_and_paging(ui, panel):
    ids = [add(ui, link=f"https://x.test/{i}") for i in range(30)]
    panel.set_order(ids[3], status="Canceled")
    page = rows(ui.get("/_mock/ui").text)
    assert list(page) == ids[::-1][:25]
    older = re.search(r'href="([^"]+before=\d+[^"]*)" rel="next"', ui.get("/_mock/ui").text)[1].replace("&amp;", "&")
    assert list(rows(ui.get(older).text)) == ids[::-1][25:]
    assert rows(ui.get("/_mock/ui", params={"status": "Canceled"}).text) == {ids[3]: "Canceled"}
    assert list(rows(ui.get("/_mock/ui", params={"link": "x.test/1"}).text)) == [i for i in ids[::-1] if str(i - ids[0]).startswith("1")]
    assert rows(ui.get("/_mock/ui", params={"key": "key#00000000"}).text) == {}
    bad = ui.get("/_mock/ui", params={"status": "Nope"})
    assert bad.status_code == 200 and "query parameter &#39;status&#39;" in bad.text  # said, not a 500


def test_the_controls_move_the_clock_force_orders_and_manage_keys_and_faults(ui, panel):
    order = add(ui)
    assert ui.post("/_mock/ui/act/clock", json={"advance": "1h"}).status_code == 403  # no UI header: refused
    forced = ui.post(f"/_mock/ui/act/orders/{order}", json={"status": "Partial"}, headers=UI).json()
    assert forced["status"] == "Partial" and 0 < forced["remains"] < 100
    before = panel.clock.now()
    assert ui.post("/_mock/ui/act/clock", json={"advance": "1h"}, headers=UI).json()["now"] >= before + 3600
    assert ui.post(f"/_mock/ui/act/orders/{order}", json={"status": "Completed"}, headers=UI).status_code == 400
    made = ui.post("/_mock/ui/act/keys", json={"key": "ui-made-key", "balance": "5"}, headers=UI).json()
    assert made == {"key": redact("ui-made-key"), "balance": "5.00000"}
    topped = ui.post(f"/_mock/ui/act/keys/{key_id('ui-made-key')}/topup", json={"amount": "2.5"}, headers=UI).json()
    assert topped == {"balance": "7.50000"}
    assert ui.post("/_mock/ui/act/keys/0000/topup", json={"amount": "1"}, headers=UI).status_code == 404
    fault = ui.post("/_mock/ui/act/faults", json={"kind": "http", "status": "503", "action": "add"}, headers=UI).json()
    assert fault["status"] == 503 and "503" in ui.get("/_mock/ui").text
    assert ui.request("DELETE", f"/_mock/ui/act/faults/{fault['id']}", headers=UI).json() == {"removed": True}
    assert ui.post("/_mock/ui/act/faults", json={"kind": "nonsense"}, headers=UI).status_code == 400


def test_the_ledger_of_a_key_by_its_id(ui, panel):
    order = add(ui)
    ui.post(f"/_mock/ui/act/orders/{order}", json={"status": "Canceled"}, headers=UI)
    html = ui.get("/_mock/ui", params={"ledger": key_id(KEY)}).text
    ledger = html[html.index('id="ledger"'):]
    assert "charge" in ledger and "refund" in ledger and "deposit" in ledger and KEY not in html


def test_with_an_admin_token_the_page_asks_for_it_and_a_cookie_keeps_it(panel):
    app = create_app(panel, admin_token="t0ken")
    with inprocess_client(app) as client:
        refused = client.get("/_mock/ui")
        assert refused.status_code == 401 and 'name="token"' in refused.text
        assert client.get("/_mock/ui/live").status_code == 401
        assert client.post("/_mock/ui/login", data={"token": "wrong"}).status_code == 401
        signed = client.post("/_mock/ui/login", data={"token": "t0ken"}, follow_redirects=False)
        assert signed.status_code == 303 and "httponly" in signed.headers["set-cookie"].lower()
        assert "samesite=strict" in signed.headers["set-cookie"].lower()
        assert client.get("/_mock/ui").status_code == 200  # the cookie
        assert client.post("/_mock/ui/act/clock", json={"advance": "1m"}, headers=UI).status_code == 200
    with inprocess_client(app) as fresh:
        assert fresh.get("/_mock/ui", headers={"Authorization": "Bearer t0ken"}).status_code == 200


def test_without_a_token_only_loopback_clients_see_it(app):
    with httpx.Client(transport=SyncASGITransport(app, client=("192.0.2.7", 4000)), base_url="http://x") as far:
        for path in ("/_mock/ui", "/_mock/ui/live"):
            assert far.get(path).status_code == 403
        assert far.post("/_mock/ui/act/clock", json={"advance": "1d"}, headers=UI).status_code == 403


def test_the_fixture_panel_has_a_ui_url(mock):
    assert mock.ui_url == mock.control_url + "/ui"
    page = HTTP.get(mock.ui_url)
    assert page.status_code == 200 and "<title>mockpanel" in page.text
    assert HTTP.get(mock.ui_url + "/static/ui.js").headers["content-type"].startswith("text/javascript")
    assert HTTP.get(mock.ui_url + "/live").json()["sections"]["keys"].count(redact(KEY)) >= 1


def test_an_app_that_never_shows_the_page_never_imports_jinja2():
    import subprocess
    import sys

    code = "import sys; from mockpanel import create_app; create_app(); print('jinja2' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_text_that_is_not_valid_unicode_never_breaks_the_page(ui):
    body = b'{"key": "%s", "action": "add", "service": "1", "link": "https://x.test/\\ud800", "quantity": "100"}' % KEY.encode()
    ui.post("/api/v2", content=body, headers={"content-type": "application/json"})
    ui.post("/api/v2", content=b'{"key": "\\udfff", "action": "balance"}', headers={"content-type": "application/json"})
    assert ui.get("/_mock/ui").status_code == 200
    live = ui.get("/_mock/ui/live")
    assert live.status_code == 200 and "journal" in live.json()["sections"]
