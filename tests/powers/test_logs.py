"""The ``mockpanel`` logger: a line per request at info, the fields at debug, faults fired,
and never a key; ``mockpanel serve --access-log`` writes them to stderr."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import time

import httpx

from mockpanel import create_app, inprocess_client
from mockpanel._domain.accounts import redact
from tests.helpers.common import KEY

WRONG = "a-wrong-key-123"


def traffic(client: httpx.Client) -> None:
    client.post("/api/v2", data={"key": KEY, "action": "add", "service": "1", "link": f"https://x.test/{KEY}", "quantity": "100"})
    client.post("/api/v2", data={"key": WRONG, "action": "balance"})
    client.post("/api/v2", data={"key": KEY, "action": "balance"})


def test_one_line_per_request_at_info_and_no_key(panel, caplog):
    app = create_app(panel)
    app.state.control.add_fault({"kind": "http", "status": 502, "action": "balance", "count": 1, "key": KEY})
    with caplog.at_level(logging.INFO, logger="mockpanel"), inprocess_client(app) as client:
        traffic(client)
    lines = [r.getMessage() for r in caplog.records if r.name == "mockpanel"]
    requests = [line for line in lines if line.startswith("#")]
    assert len(requests) == 3, lines
    assert re.match(rf"#1 add {redact(KEY)} -> 200 in \d+\.\d ms$", requests[0])
    assert re.match(rf'#2 balance {redact(WRONG)} -> 200 in \d+\.\d ms error "Invalid API key"$', requests[1])
    assert requests[2].startswith(f"#3 balance {redact(KEY)} -> 502") and "[fault http]" in requests[2]
    assert any(line == f"fault http 502 fired on balance {redact(KEY)}" for line in lines)
    assert KEY not in caplog.text and WRONG not in caplog.text


def test_an_error_answer_has_its_words_on_its_line_quoted_and_without_the_key(panel, caplog):
    app = create_app(panel)
    with caplog.at_level(logging.INFO, logger="mockpanel"), inprocess_client(app) as client:
        client.post("/api/v2", data={"key": KEY, "action": "status", "order": "999"})
        client.post("/api/v2", data={"key": KEY, "action": "add", "service": "1", "link": "x", "quantity": "1"})
        client.post("/api/v2", data={"key": KEY, "action": "services"})  # a big answer: no words
    lines = [r.getMessage() for r in caplog.records if r.name == "mockpanel" and r.getMessage().startswith("#")]
    assert lines[0].endswith('error "Incorrect order ID"'), lines
    assert " error " in lines[1] and lines[1].count("\n") == 0, lines
    assert " error " not in lines[2], lines
    assert KEY not in caplog.text


def test_at_debug_the_fields_and_answer_too_still_without_the_key(panel, caplog):
    with caplog.at_level(logging.DEBUG, logger="mockpanel"), inprocess_client(create_app(panel)) as client:
        traffic(client)
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG and r.name == "mockpanel"]
    assert len(debug) == 3
    assert "'service': '1'" in debug[0] and f"https://x.test/{redact(KEY)}" in debug[0] and "'order'" in debug[0]
    assert KEY not in caplog.text and WRONG not in caplog.text


def test_nothing_is_logged_by_default(panel, caplog):
    with caplog.at_level(logging.WARNING), inprocess_client(create_app(panel)) as client:
        traffic(client)
    assert not [r for r in caplog.records if r.name == "mockpanel"]


def test_serve_access_log_writes_request_lines_to_stderr():
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockpanel", "serve", "--port", "0", "--speed", "0", "--key", KEY, "--access-log"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        banner = []
        origin = None
        deadline = time.monotonic() + 20
        while origin is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            banner.append(line)
            match = re.search(r"API: (http://[^/\s]+)", line)
            origin = match.group(1) if match else None
        assert origin, banner
        with httpx.Client(base_url=origin, timeout=5) as client:
            for _ in range(100):
                try:
                    client.get("/")
                    break
                except httpx.ConnectError:
                    time.sleep(0.05)
            traffic(client)
    finally:
        proc.terminate()
        proc.wait(10)
        out, err = proc.stdout.read(), proc.stderr.read()  # not communicate(): readline() buffered some
        proc.stdout.close()
        proc.stderr.close()
    banner_text = "".join(banner) + out
    assert f"Dashboard: {origin}/_mock/ui" in banner_text
    assert re.search(rf"INFO mockpanel: #1 add {redact(KEY)} -> 200 in", err), err
    assert f"#2 balance {redact(WRONG)} -> 200" in err and f"#3 balance {redact(KEY)} -> 200" in err
    assert KEY not in err and WRONG not in err
