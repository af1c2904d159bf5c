"""``mockpanel proxy``: a real client through the proxy in front of a mock that deviates.

The client sees the panel's answers unchanged; the panel sees only the client's requests (the
proxy sends none of its own); the report names each deviation with the exchange that showed it;
the HAR file has every field HAR 1.2 requires, and no key.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests

from conformance.redaction import redact
from mockpanel import ServerThread, build_panel, create_app
from tests.helpers.har_schema import check_post_data, problems

KEY = "proxy-client-key-1"
ODD = {
    "name": "odd", "extends": "standard", "description": "standard with its own words and 2-decimal balances",
    "errors": {"incorrect_order_id": "No such order"}, "balance": {"decimals": 2},
}


def _upstream(dialect: str) -> ServerThread:
    panel = build_panel(dialect, seed=1, speed=0)
    panel.create_account(KEY, balance="100")
    return ServerThread(create_app(panel, dialect))


@contextmanager
def proxying(url: str, *args: str, stop: int = signal.SIGINT) -> Iterator[tuple[str, dict[str, Any]]]:
    """``mockpanel proxy URL --port 0 ARGS`` in a subprocess; yields its URL and, after it stops, its output."""
    proc = subprocess.Popen([sys.executable, "-m", "mockpanel", "proxy", url, "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    done: dict[str, Any] = {}
    banner = [""]
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        match = re.search(r"mockpanel proxy: (http://\S+) -> ", line)
        assert match, f"the proxy did not print its URL: {line!r}"
        banner = [line]  # read to its end here: communicate() below reads the pipe, not what readline buffered
        while proc.stdout and banner[-1] and not banner[-1].startswith("report:"):  # 3 lines, or the end
            banner.append(proc.stdout.readline())
        port = int(re.search(r":(\d+)/", match.group(1)).group(1))  # type: ignore[union-attr]
        for _ in range(200):  # ready when it accepts a connection (no HTTP request: that would be journaled)
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.02)
        yield match.group(1), done
    finally:
        proc.send_signal(stop)
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate(timeout=5)
        done["output"] = "".join(banner[1:]) + out
        done["code"] = proc.returncode


def _journal(server: ServerThread) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = httpx.get(server.url + "/_mock/journal", timeout=5).json()
    return entries


def test_a_client_through_the_proxy_sees_the_panel_and_the_report_names_each_deviation(tmp_path: Path) -> None:
    profile = tmp_path / "odd.json"
    profile.write_text(json.dumps(ODD))
    report, har = tmp_path / "report.json", tmp_path / "traffic.har"
    with _upstream(str(profile)) as upstream:
        direct = upstream.url + "/api/v2"
        httpx.post(upstream.url + "/_mock/faults", json={"kind": "reprice", "service": 1, "rate": "1.80"}, timeout=5)
        with proxying(direct, "--report", str(report), "--har", str(har)) as (via, done), requests.Session() as s:
            listed = s.post(via, data={"key": KEY, "action": "services"}, timeout=10)
            order = s.post(via, data={"key": KEY, "action": "add", "service": "1", "link": "https://proxy.test/p",
                                      "quantity": "1000"}, timeout=10).json()["order"]
            balance = s.post(via, data={"key": KEY, "action": "balance"}, timeout=10)
            status = s.post(via, data={"key": KEY, "action": "status", "order": str(order)}, timeout=10)
            unknown = s.get(via, params={"key": KEY, "action": "status", "order": "999999"}, timeout=10)
            sent = ["services", "add", "balance", "status", "status"]
        seen = _journal(upstream)
        assert [e["action"] for e in seen] == sent  # the proxy sent nothing of its own
        assert [e["params"].get("order") for e in seen] == [None, None, None, str(order), "999999"]
        # The client's answers are the panel's, byte for byte, status and content type too (services
        # aside: the reprice fault changed the list since).
        assert listed.json()[0]["rate"] == "0.90" and listed.headers["content-type"] == "application/json"
        for answer, fields in ((balance, {"action": "balance"}),
                               (status, {"action": "status", "order": str(order)}),
                               (unknown, {"action": "status", "order": "999999"})):
            again = httpx.post(direct, data={"key": KEY, **fields}, timeout=10)
            assert (answer.status_code, answer.headers["content-type"], answer.content) == (
                again.status_code, again.headers["content-type"], again.content)
        assert status.json()["charge"] == "1.80000" and balance.json()["balance"] == "98.20"
    assert done["code"] == 1, done["output"]  # it saw deviations: a CI step running the client fails
    assert f"report: {report} (written at exit); HAR: {har} (written at exit)" in done["output"]
    assert f"report written to {report}" in done["output"] and f"HAR written to {har}" in done["output"]
    assert KEY not in done["output"] + report.read_text() + har.read_text()
    deviations = json.loads(report.read_text())["deviations"]
    by_rid = {d["requirement"]: d for d in deviations}
    assert by_rid["V2-BAL-02"]["exchange"] == 3 and "2 decimals" in by_rid["V2-BAL-02"]["message"]
    assert by_rid["V2-ORD-02"]["exchange"] == 4 and "rate 0.90" in by_rid["V2-ORD-02"]["message"]
    assert "gives 0.9" in by_rid["V2-ORD-02"]["message"] and "charge 1.80000" in by_rid["V2-ORD-02"]["message"]
    assert by_rid["V2-ERR-01"]["exchange"] == 5 and "'No such order'" in by_rid["V2-ERR-01"]["message"]
    assert "order=999999" in by_rid["V2-ERR-01"]["request"]
    assert set(by_rid) == {"V2-BAL-02", "V2-ORD-02", "V2-ERR-01"}
    document = json.loads(har.read_text())
    assert problems(document) == [] and all(check_post_data(e) == [] for e in document["log"]["entries"])
    requests_ = [e["request"] for e in document["log"]["entries"]]
    assert [r["method"] for r in requests_] == ["POST", "POST", "POST", "POST", "GET"]
    assert {"name": "order", "value": "999999"} in requests_[4]["queryString"]
    assert "action=add" in requests_[1]["postData"]["text"]
    assert json.loads(document["log"]["entries"][3]["response"]["content"]["text"])["charge"] == "1.80000"


def test_a_fault_reaches_the_client_unchanged_and_the_report_names_it(tmp_path: Path) -> None:
    report, har = tmp_path / "report.html", tmp_path / "t.har"
    with _upstream("standard") as upstream:
        direct = upstream.url + "/api/v2"
        httpx.post(upstream.url + "/_mock/faults", json={"kind": "http", "status": 502, "action": "balance",
                                                             "count": 2}, timeout=5)
        with proxying(direct, "--report", str(report), "--har", str(har)) as (via, done):
            answer = httpx.post(via, data={"key": KEY, "action": "balance"}, timeout=10,
                                headers={"Authorization": f"Bearer {KEY}", "X-Api-Key": KEY})
        assert [e["action"] for e in _journal(upstream)] == ["balance"]
        again = httpx.post(direct, data={"key": KEY, "action": "balance"}, timeout=10)  # the same fault, directly
    assert answer.status_code == 502 and "<html" in answer.text.lower()
    assert (answer.status_code, answer.headers.get("content-type"), answer.content) == (
        again.status_code, again.headers.get("content-type"), again.content)
    page = report.read_text()
    assert "V2-GEN-02" in page and "HTTP 502" in page and KEY not in page
    document = json.loads(har.read_text())
    assert problems(document) == [] and KEY not in har.read_text()
    headers = {h["name"].lower(): h["value"] for h in document["log"]["entries"][0]["request"]["headers"]}
    # a bearer token keeps its scheme (a report can send it again as "Bearer $MOCKPANEL_KEY"), never the key
    assert headers["authorization"] == f"Bearer {redact(KEY)}" and headers["x-api-key"] == redact(KEY)
    assert document["log"]["entries"][0]["response"]["status"] == 502
    assert "1 deviation" in done["output"] or "deviation(s)" in done["output"]
    assert done["code"] == 1, done["output"]


def test_dialect_auto_names_the_dialect_from_the_clients_own_traffic(tmp_path: Path) -> None:
    # Stopped by SIGTERM, as a service manager stops it: the report is written all the same.
    report = tmp_path / "report.json"
    with _upstream("smartpanel-v1") as upstream:
        with proxying(upstream.url + "/api/v1", "--dialect", "auto", "--report", str(report),
                      stop=signal.SIGTERM) as (via, done):
            for action in ("balance", "services"):
                httpx.post(via, data={"key": KEY, "action": action}, timeout=10)
        assert [e["action"] for e in _journal(upstream)] == ["balance", "services"]  # no probe of its own
    assert done["code"] == 0, done["output"]  # no deviation: exit 0
    data = json.loads(report.read_text())
    assert data["dialect"] == "smartpanel-v1" and "from the client's own traffic" in data["dialect_chosen"]
    assert data["deviations"] == []


def _through_proxy(*messages: dict[str, Any], max_body: int) -> list[dict[str, Any]]:
    """What the proxy sends back for a request made of ``messages``, with no panel behind it."""
    import asyncio

    from mockpanel._proxy.forward import Proxy
    from mockpanel._proxy.journal import ProxyJournal

    pending = list(messages)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def run() -> None:
        proxy = Proxy("http://127.0.0.1:9", ProxyJournal(), max_body=max_body)
        scope = {"type": "http", "method": "POST", "path": "/api/v2", "query_string": b"", "headers": []}
        await proxy(scope, receive, send)
        await proxy.client.aclose()

    asyncio.run(run())
    return sent


def test_a_body_over_the_limit_is_refused_with_413_and_not_forwarded() -> None:
    sent = _through_proxy(*({"type": "http.request", "body": b"x" * 4, "more_body": True} for _ in range(3)),
                          {"type": "http.request", "body": b"", "more_body": False}, max_body=10)
    assert sent[0]["status"] == 413
    assert sent[1]["body"] == b"mockpanel proxy: the request body is over 10 bytes; not forwarded"


def test_a_client_that_leaves_mid_body_gets_nothing() -> None:
    assert _through_proxy({"type": "http.request", "body": b"key=k", "more_body": True}, max_body=10) == []


@pytest.mark.parametrize("url, words", [
    ("notaurl", "'notaurl' is not an http(s) URL (it has no scheme)"),
    ("ftp://panel.test/api/v2", "is not an http(s) URL (its scheme is 'ftp')"),
    ("http:///api/v2", "names no host"),
    ("http://panel.test:99999/api/v2", "is not a URL (Port out of range"),
])
def test_an_upstream_that_is_not_an_http_url_is_refused_at_start(url: str, words: str) -> None:
    result = subprocess.run([sys.executable, "-m", "mockpanel", "proxy", url, "--port", "0"], capture_output=True,
                            text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert result.returncode == 2, result
    assert result.stdout == "" and result.stderr.count("\n") == 1, result.stderr  # one line, no usage banner
    assert result.stderr.startswith("Error: mockpanel proxy: the panel URL") and words in result.stderr


def test_without_report_files_the_proxy_says_none_is_written() -> None:
    with _upstream("standard") as upstream, proxying(upstream.url + "/api/v2") as (via, done):
        assert httpx.post(via, data={"key": KEY, "action": "balance"}, timeout=10).json()["balance"] == "100.00000"
    assert "report: none (--report FILE.html or FILE.json keeps one); HAR: none (--har FILE keeps one)" in done["output"]
    assert "written to" not in done["output"] and done["code"] == 0, done["output"]


def test_a_port_it_cannot_listen_on_is_exit_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = subprocess.run([sys.executable, "-m", "mockpanel", "proxy", "http://127.0.0.1:9/api/v2", "--port", port],
                                capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert result.returncode == 2 and "cannot listen on 127.0.0.1:" in result.stderr, result


def test_a_key_pasted_before_its_tenant_sends_it_never_shows_in_the_reports(tmp_path: Path) -> None:
    """A client pastes another tenant's key into a link; the proxy learns that key only when the tenant
    sends it, later: the report and the HAR, written at exit, hide it in the earlier exchange too."""
    theirs = "sk-tenant-b-5e1d99c0"
    report, har = tmp_path / "report.json", tmp_path / "traffic.har"
    with _upstream("standard") as upstream:
        httpx.post(upstream.url + "/_mock/keys", json={"key": theirs, "balance": "5"}, timeout=5)
        with proxying(upstream.url + "/api/v2", "--report", str(report), "--har", str(har)) as (via, done):
            httpx.post(via, data={"key": KEY, "action": "add", "service": "1", "quantity": "1000",
                                  "link": f"https://proxy.test/p?theirs={theirs}"}, timeout=10)
            httpx.post(via, data={"key": theirs, "action": "balance"}, timeout=10)
    written = {path.name: path.read_text() for path in (report, har)}
    written["output"] = done["output"]
    for name, text in written.items():
        assert theirs not in text and KEY not in text, name
    assert f"theirs={redact(theirs)}" in json.dumps(json.loads(written["report.json"]))
