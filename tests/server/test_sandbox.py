"""Nothing runs as the mock's origin: every answer that is not JSON (a dialect answering text/html, a
fault's page, a recorded panel's error text) carries ``Content-Security-Policy: sandbox`` and
``X-Content-Type-Options: nosniff``; a fault's content type is one of a short safe list unless the
server allows any; the dashboard and the proxy's report escape what they show."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mockpanel import MockPanel
from mockpanel._proxy.journal import ForwardedExchange, ProxyJournal
from mockpanel._proxy.report import build, write_report
from tests.helpers.common import HTTP, KEY

MARKUP = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


def sandboxed(headers) -> bool:
    return headers.get("content-security-policy") == "sandbox" and headers.get("x-content-type-options") == "nosniff"


@pytest.fixture
def html_panel(hub):
    mock = MockPanel(hub, key=KEY, seed=1, dialect="smartpanel-v1")
    yield mock
    mock.close()


@pytest.mark.parametrize("fields", [{"action": "balance"}, {"action": "status", "order": "<script>1</script>"},
                                    {"action": "nonsense<script>"}])
def test_a_dialect_that_answers_html_is_sandboxed_on_every_path(html_panel, fields):
    answer = HTTP.post(html_panel.url, data={"key": KEY, **fields})  # a form POST: the hot path's request
    assert answer.headers["content-type"].startswith("text/html") and sandboxed(answer.headers), answer.headers
    query = HTTP.get(html_panel.url, params={"key": KEY, **fields})  # the app's way
    assert sandboxed(query.headers)


def test_json_answers_stay_as_they_were(mock):
    answer = HTTP.post(mock.url, data={"key": KEY, "action": "balance"})
    assert answer.headers["content-type"] == "application/json"
    assert "content-security-policy" not in answer.headers


@pytest.mark.parametrize("kind, options", [
    ("html", {}), ("http", {"status": 502}), ("malformed", {}), ("empty", {}),
    ("http", {"status": 500, "body": MARKUP, "content_type": "text/html; charset=utf-8"}),
    ("html", {"body": MARKUP, "content_type": "text/plain"}),
])
def test_every_fault_answer_that_is_not_json_is_sandboxed(mock, kind, options):
    mock.fault(kind, **options)
    answer = HTTP.post(mock.url, data={"key": KEY, "action": "balance"})
    assert sandboxed(answer.headers), (kind, answer.headers)


@pytest.mark.parametrize("content_type", ["image/svg+xml", "application/xhtml+xml", "text/xml", "application/javascript",
                                          "text/html\r\nX-Injected: 1", "TEXT/JAVASCRIPT; charset=utf-8"])
def test_a_fault_s_content_type_outside_the_safe_list_is_refused(mock, content_type):
    refused = HTTP.post(mock.control_url + "/faults", json={"kind": "html", "body": "<svg onload=alert(1)>",
                                                            "content_type": content_type})
    assert refused.status_code == 400 and "content_type" in refused.json()["error"], refused.text
    assert HTTP.get(mock.control_url + "/faults").json() == []


def test_the_server_flag_allows_any_fault_content_type_still_sandboxed(mock):
    mock.control.faults.unsafe_content = True  # what serve --allow-unsafe-fault-content sets
    mock.fault("html", body="<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", content_type="image/svg+xml")
    answer = HTTP.post(mock.url, data={"key": KEY, "action": "balance"})
    assert answer.headers["content-type"] == "image/svg+xml" and sandboxed(answer.headers)
    with pytest.raises(ValueError, match="printable ASCII"):
        mock.fault("html", content_type="text/html\r\nSet-Cookie: x=1")


def test_the_dashboard_escapes_names_and_links_it_shows(mock):
    added = HTTP.post(mock.control_url + "/services", json={"service": 900, "name": MARKUP, "type": "Default",
                                                            "category": MARKUP, "rate": "1", "min": 10, "max": 1000})
    assert added.status_code == 201, added.text
    order = HTTP.post(mock.url, data={"key": KEY, "action": "add", "service": "900", "link": "https://x.test/" + MARKUP,
                                      "quantity": "100"}).json()
    assert "order" in order, order
    page = HTTP.get(mock.ui_url).text + json.dumps(HTTP.get(mock.ui_url + "/live").json())
    assert "<img src=x" not in page and "<script>alert" not in page
    assert "&lt;img src=x" in page or "\\u003cimg" in page


def test_the_proxy_s_html_report_escapes_what_the_panel_and_the_client_sent(tmp_path: Path):
    journal = ProxyJournal()
    journal.add(ForwardedExchange(0, 0.0, 0.01, "POST", "https://panel.test/api/v2?x=" + MARKUP, [], "action=balance",
                                  {"action": MARKUP}, status=200, response_body=MARKUP,
                                  response_headers=[("content-type", "text/html")]))
    report = tmp_path / "report.html"
    write_report(build("https://panel.test/api/v2", journal, "standard"), str(report))
    text = report.read_text()
    assert not re.search(r"<img\b", text), text
    assert len(re.findall(r"<script\b", text)) == 1, text  # the page's own (copy-as-curl), allowed by its hash
    assert "&lt;img src=x" in text
