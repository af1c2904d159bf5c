"""The proxy's HTML report from a real run: clients send requests through ``mockpanel proxy`` to a mock
whose faults make some answers deviate (one carries a script); the page has the summary, every exchange
with its bodies and time, the deviations highlighted and counted once, and copy-as-curl that works."""

from __future__ import annotations

import json
import os
import re
import subprocess
from html import unescape

import httpx
import pytest
import requests

from conformance.redaction import redact
from mockpanel import ServerThread, build_panel, create_app
from mockpanel._proxy.journal import ProxyJournal
from mockpanel._proxy.report import build, to_html
from tests.helpers.browser import needs_browser
from tests.helpers.common import HTTP
from tests.helpers.report_page import open_report
from tests.proxy.test_proxy import KEY, proxying

SECOND = "proxy-client-key-2"
SCRIPT = "<script>window.pwned=1</script>"
LONG_ORDERS = ",".join(str(10_000 + i) for i in range(500))  # a request body over the page's 2,000 characters

@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Two clients through the proxy; the page, the proxy's output, the upstream's URL (still serving)."""
    page = tmp_path_factory.mktemp("proxy-report") / "report.html"
    panel = build_panel("standard", seed=1, speed=0)
    panel.create_account(KEY, balance="100")
    panel.create_account(SECOND, balance="5")
    with ServerThread(create_app(panel, "standard")) as upstream:
        direct = upstream.url + "/api/v2"
        for action, body in (("balance", {"balance": "100.00000", "currency": "USD"}), ("status", {"error": SCRIPT})):
            HTTP.post(upstream.url + "/_mock/faults", json={  # JSON sent as text/html (V2-GEN-07), once
                "kind": "http", "status": 200, "action": action, "count": 1, "body": json.dumps(body),
                "content_type": "text/html"})
        with proxying(direct, "--report", str(page)) as (via, done):
            with requests.Session() as s:
                s.post(via, data={"key": KEY, "action": "balance"}, timeout=10)  # 1: GEN-07 (checked twice before)
                s.post(via, data={"key": KEY, "action": "services"}, timeout=10)  # 2
                order = s.post(via, data={"key": KEY, "action": "add", "service": "1", "link": "https://proxy.test/p",
                                          "quantity": "1000"}, timeout=10).json()["order"]  # 3
                s.post(via, data={"key": KEY, "action": "status", "order": str(order)}, timeout=10)  # 4: GEN-07, ERR-01
            httpx.get(via, params={"key": SECOND, "action": "balance"}, timeout=10)  # 5: another client, a query
            httpx.post(via, data={"key": SECOND, "action": "status", "orders": LONG_ORDERS}, timeout=10)  # 6
        yield page, done, upstream.url


def test_the_summary_counts_each_deviation_once_by_requirement_and_client(run) -> None:  # type: ignore[no-untyped-def]
    page, done, _ = run
    html = page.read_text()
    assert done["code"] == 1 and "6 exchanges, 3 deviation(s)" in done["output"], done["output"]
    rows = dict(re.findall(r'<td class="id">(V2-[A-Z]+-\d+)</td>.*?<td class="num">(\d+)</td>', html, re.S))
    assert rows == {"V2-GEN-07": "2", "V2-ERR-01": "1"}  # one GEN-07 for exchange 1, one for exchange 4
    assert '<a href="#x1">#1</a> <a href="#x4">#4</a>' in html
    assert f"{redact(KEY)} · python-requests/" in html and f"{redact(SECOND)} · python-httpx/" in html
    assert re.search(r"<td>balance</td><td class=\"num\">2</td>(<td class=\"num\">[\d.]+</td>){3}", html)  # timings
    assert re.search(r"median [\d.]+ ms · p95 [\d.]+ ms · max [\d.]+ ms", html)


def test_every_exchange_with_its_bodies_and_time_the_deviating_ones_open(run) -> None:  # type: ignore[no-untyped-def]
    page, _, _ = run
    html = page.read_text()
    opened = re.findall(r'<details class="exchange deviates (?:failed|warning)" id="x(\d+)" open>', html)
    assert opened == ["1", "4"] and len(re.findall(r'<details class="exchange"', html)) == 4
    assert "V2-ERR-01</b>" in html and "the error &#39;&lt;script&gt;window.pwned=1&lt;/script&gt;&#39;" in html
    assert '{&#34;balance&#34;: &#34;100.00000&#34;, &#34;currency&#34;: &#34;USD&#34;}' in html  # a response body
    assert "orders=10000%2C10001" in html and "more characters not shown here; the HAR file" in html  # cut, said
    assert re.search(r"#6</b> <span class=\"mono\">POST</span> status", html)
    assert re.search(r"HTTP 200 · text/html · \d+ bytes · [\d.]+ ms", html)


def test_the_page_is_one_file_escapes_the_panel_and_shows_no_key(run) -> None:  # type: ignore[no-untyped-def]
    page, _, _ = run
    html = page.read_text()
    assert SCRIPT not in html and html.count("<script") == 1
    assert KEY not in html and SECOND not in html
    assert re.findall(r"<link|\bsrc=|@import|url\(|href=\"(?!#)", html) == []


def test_copy_as_curl_of_a_deviating_exchange_sends_it_to_the_panel_again(run) -> None:  # type: ignore[no-untyped-def]
    page, _, upstream = run
    html = page.read_text()
    commands = re.findall(r'<div class="curl"><pre>(.*?)</pre>', html, re.S)
    assert len(commands) == 2  # one per deviating exchange
    command = unescape(commands[1])  # exchange 4: status of the order
    assert command.startswith(f"curl -sS -i {upstream}/api/v2") and '"$MOCKPANEL_KEY"' in command
    done = subprocess.run(["bash", "-c", command], env={"PATH": os.environ["PATH"], "MOCKPANEL_KEY": KEY},
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0 and '"status"' in done.stdout, done.stderr  # the fault was used up: a real answer
    sent = HTTP.get(upstream + "/_mock/journal").json()[-1]
    assert sent["key"] == redact(KEY) and sent["params"]["action"] == "status"
    assert "$MOCKPANEL_KEY = " not in html and f"{redact(KEY)} = <code>$MOCKPANEL_KEY</code>" in html
    assert f"{redact(SECOND)} = <code>$MOCKPANEL_KEY_2</code>" in html


@needs_browser("the report's screenshot")
def test_the_page_in_a_browser(run) -> None:  # type: ignore[no-untyped-def]
    page, _, _ = run
    seen = open_report(page, "proxy-report")
    assert seen.title.startswith("Proxy report") and "3 deviations" in seen.text
    assert SCRIPT in seen.text and not seen.ran
    assert 'key="$MOCKPANEL_KEY"' in seen.text and seen.copied == "Copied"
    assert seen.screenshot.stat().st_size > 20_000


def test_a_run_with_no_traffic_still_makes_a_page_and_a_json_report() -> None:
    report = build("http://127.0.0.1:9/api/v2", ProxyJournal(), "auto")
    html = to_html(report)
    assert "NO DEVIATION" in html and "No client sent anything through the proxy." in html
    assert "Exchanges (0)" in html and "none seen" in html
    summary = report.to_dict()["summary"]
    assert summary["exchanges"] == 0 and summary["by_requirement"] == [] and summary["timings"]["count"] == 0
