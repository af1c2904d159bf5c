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
        for path in ("/_mock/ui", "/_mock/ui/live", "/_mock/ui/orders/10001", "/_mock/ui/services",
                     "/_mock/ui/download/journal.har", "/_mock/ui/download/state.json"):
            assert far.get(path).status_code == 403, path
        assert far.post("/_mock/ui/act/clock", json={"advance": "1d"}, headers=UI).status_code == 403
        assert far.post("/_mock/ui/act/reset", headers=UI).status_code == 403


def test_the_fixture_panel_has_a_ui_url(mock):
    assert mock.ui_url == mock.control_url + "/ui"
    page = HTTP.get(mock.ui_url)
    assert page.status_code == 200 and "<title>mockpanel" in page.text
    assert f'value="{mock.url}" readonly' in page.text  # the panel's own API, under the hub's /p/<id>
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


# --- what a first hour with the dashboard found -------------------------------------


def test_a_first_visit_is_asked_for_the_token_without_an_error_a_wrong_one_is_told(panel):
    with inprocess_client(create_app(panel, admin_token="t0ken")) as client:
        first = client.get("/_mock/ui")
        assert first.status_code == 401 and 'name="token"' in first.text
        assert 'class="problem"' not in first.text and "enter it to open the dashboard" in first.text
        wrong = client.post("/_mock/ui/login", data={"token": "guess"})
        assert 'class="problem"' in wrong.text and "not this server&#39;s admin token" in wrong.text
        told = client.get("/_mock/ui", headers={"Authorization": "Bearer guess"})
        assert 'class="problem"' in told.text  # a token was sent, and it is wrong: said
        client.cookies.set("mockpanel_token", "an-old-token")
        assert "no longer this server&#39;s" in client.get("/_mock/ui").text  # a kept token that changed: said


def test_the_add_key_form_creates_the_balance_its_field_shows(ui):
    html = ui.get("/_mock/ui").text
    field = re.search(r'<input name="balance"[^>]*>', html)[0]
    shown = re.search(r'value="([^"]*)"', field)[1]
    made = ui.post("/_mock/ui/act/keys", json={"key": "form-key-1", "balance": shown}, headers=UI).json()
    assert made["balance"].startswith(shown + ".")  # what the field shows is what the key gets
    empty = re.search(r'placeholder="([^"]*)"', field)[1]  # an emptied field: the placeholder says what it gets
    made = ui.post("/_mock/ui/act/keys", json={"key": "form-key-2"}, headers=UI).json()
    assert made["balance"].startswith(empty + ".")


def test_links_that_share_their_start_stay_apart_in_the_orders_table(ui):
    links = [f"https://www.instagram.com/p/CxSameStartVeryLong{n}xyz/?igsh=abc{n}" for n in range(3)]
    for link in links:
        add(ui, link=link)
    cells = re.findall(r'<td class="link c-link" title="([^"]+)">([^<]+)</td>', ui.get("/_mock/ui").text)
    assert sorted(title for title, _ in cells) == sorted(links)  # the whole link, in the title
    shown = [text for _, text in cells]
    assert len(set(shown)) == 3 and all(len(t) <= 26 for t in shown), shown  # each one tells itself apart


def test_an_orders_page_has_its_plan_eta_money_and_refills_never_a_key(ui, panel):
    order = add(ui, link=f"https://x.test/p/{KEY}")
    assert f'href="/_mock/ui/orders/{order}"' in ui.get("/_mock/ui").text
    page = ui.get(f"/_mock/ui/orders/{order}")
    assert page.status_code == 200 and KEY not in page.text and redact(KEY) in page.text
    assert 'id="order-eta">ends in ' in page.text and "Status over time" in page.text
    for status in ("Pending", "In progress"):
        assert f">{status}</span>" in page.text
    money = page.text[page.text.index("<h3>Money</h3>"):]
    assert ">charge<" in money and "-0.09000" in money
    ui.post(f"/_mock/ui/act/orders/{order}", json={"status": "Canceled"}, headers=UI)
    live = ui.get("/_mock/ui/live", params={"order": order}).json()["sections"]
    assert set(live) == {"clock", "order"} and ">Canceled</span>" in live["order"] and ">refund<" in live["order"]
    assert ui.get("/_mock/ui/orders/99999").status_code == 404
    for missing in (99999, "abc", "9" * 5000):
        assert ui.get("/_mock/ui/live", params={"order": missing}).status_code == 404


def test_downloads_journal_as_har_and_state_hold_no_key(ui):
    add(ui, link=f"https://x.test/p/{KEY}")
    har = ui.get("/_mock/ui/download/journal.har")
    assert har.status_code == 200 and 'filename="mockpanel-journal.har"' in har.headers["content-disposition"]
    entries = har.json()["log"]["entries"]
    assert entries[0]["request"]["url"].endswith("/api/v2") and KEY not in har.text
    state = ui.get("/_mock/ui/download/state.json")
    assert state.status_code == 200 and 'filename="mockpanel-state.json"' in state.headers["content-disposition"]
    assert state.json()["format"] == "mockpanel-state" and KEY not in state.text and redact(KEY) in state.text
    assert ui.get("/_mock/ui/download/other").status_code == 404


def test_the_page_shows_the_apis_url(ui):
    assert 'value="http://mockpanel.local/api/v2" readonly' in ui.get("/_mock/ui").text


def test_reset_from_the_page_and_never_from_another_sites_page(app, ui):
    app.state.control.remember_opening()
    order = add(ui)
    foreign = ui.post("/_mock/ui/act/reset", headers={**UI, "Origin": "http://127.0.0.2:8000"})
    assert foreign.status_code == 403 and "another site" in foreign.json()["error"]
    assert rows(ui.get("/_mock/ui").text) == {order: "Pending"}  # nothing reset
    assert ui.post("/_mock/ui/act/reset").status_code == 403  # no UI header: refused too
    assert ui.post("/_mock/ui/act/reset", headers=UI).json()["reset"] is True
    assert rows(ui.get("/_mock/ui").text) == {} and redact(KEY) in ui.get("/_mock/ui").text  # the key stays


def test_the_fault_form_sends_probability_key_skip_and_processed(app, ui):
    html = ui.get("/_mock/ui").text
    form = html[html.index('id="add-fault"'):]
    form = form[:form.index("</form>")]
    actions = re.findall(r"<option>(\w+)</option>", re.findall(r'<select name="action">(.*?)</select>', form, re.S)[0])
    assert sorted(actions) == sorted(app.state.control.dialect.actions) and actions[:2] == ["services", "add"]
    assert f'<option value="{key_id(KEY)}">{redact(KEY)}</option>' in form and KEY not in form.replace(redact(KEY), "")
    for name in ("probability", "skip", "count", "status", "seconds"):
        assert f'name="{name}"' in form
    spec = {"kind": "drop", "action": "add", "key": key_id(KEY), "probability": "0.5", "skip": "1", "processed": "yes"}
    fault = ui.post("/_mock/ui/act/faults", json=spec, headers=UI).json()
    assert fault["probability"] == 0.5 and fault["skip"] == 1 and fault["processed"] is True
    assert fault["key"] == redact(KEY) and fault["action"] == ["add"]
    refused = ui.post("/_mock/ui/act/faults", json={"kind": "drop", "key": "0000"}, headers=UI)
    assert refused.status_code == 400 and "no such key" in refused.json()["error"]
    refused = ui.post("/_mock/ui/act/faults", json={"kind": "drop", "processed": "maybe"}, headers=UI)
    assert refused.status_code == 400 and "'processed' is yes or no" in refused.json()["error"]


def test_a_big_catalogue_is_searched_not_sent_whole(panel, ui):
    for n in range(5000):
        panel.put_service({"service": 100 + n, "name": f"Instagram likes {n}", "type": "Default", "rate": "1",
                           "min": 10, "max": 1000})
    page = ui.get("/_mock/ui")
    assert len(page.content) < 60_000, len(page.content)  # 650 KB with every service in a list
    assert 'data-search="services"' in page.text and "Instagram likes 4999" not in page.text
    found = ui.get("/_mock/ui/services", params={"q": "likes 49"}).json()
    assert found["total"] == 111 and len(found["services"]) == 50  # 49, 490-499, 4900-4999: a bounded page
    assert ui.get("/_mock/ui/services", params={"q": "100"}).json()["services"][0]["id"] == 100
