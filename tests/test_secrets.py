"""An API key never appears in a log, the journal, an export, the state file or an error page."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote_plus

import httpx

SECRET = "sk-live-4f9c2e71b8d3a6"  # the opening key, given on the command line
SECOND = "sk-second-91ad7be20c55"  # a key made through the control API
NEVER = "sk-never-made-77c1e0"  # a key no account has


def test_no_output_of_a_busy_server_contains_a_key(tmp_path: Path) -> None:
    state = tmp_path / "state.log"
    log = tmp_path / "server.out"
    with open(log, "w") as out:  # port 0, read from the banner: a free port picked here could be another server's by now
        proc = subprocess.Popen(
            [sys.executable, "-m", "mockpanel", "serve", "--port", "0", "--key", SECRET,
             "--state", str(state), "--speed", "0", "--log-level", "debug"],
            stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    seen: list[str] = []  # every body the server sent back, other than the key it was asked to create
    try:
        deadline = time.monotonic() + 20
        while True:
            banner = re.search(r"API: (http://127\.0\.0\.1:[0-9]+)/", log.read_text())
            try:
                if banner:
                    httpx.get(banner[1] + "/_mock/", timeout=1)
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        base = banner[1]
        api = base + "/api/v2"
        with httpx.Client(timeout=5) as c:
            made = c.post(base + "/_mock/keys", json={"key": SECOND, "balance": "5"})
            assert made.status_code == 201  # this answer names the key: it was asked to create it
            requests = [
                {"key": SECRET, "action": "balance"},
                {"key": SECRET, "action": "services"},
                {"key": SECRET, "action": "add", "service": "1", "link": "https://x.test/a", "quantity": "100"},
                {"key": SECRET, "action": "add", "service": "1", "link": "https://x.test/a", "quantity": "100"},
                {"key": SECRET, "action": "add", "service": "999", "link": "https://x.test/b", "quantity": "1"},
                {"key": SECRET, "action": "status", "orders": "10001,5,abc"},
                {"key": SECRET, "action": "refill", "order": "10001"},
                {"key": SECRET, "action": "cancel", "orders": "10001"},
                {"key": SECRET, "action": "no_such_action"},
                {"key": NEVER, "action": "balance"},
                {"key": SECOND, "action": "add", "service": "1", "link": "https://x.test/c", "quantity": "100000"},
            ]
            for fields in requests:
                seen.append(c.post(api, data=fields).text)
                seen.append(c.get(api, params=fields).text)
                seen.append(c.post(api, json=fields).text)
            seen.append(c.post(api, content=b"key=" + SECRET.encode() + b"&" + b"x" * (2 << 20)).text)  # 413
            seen.append(c.get(f"{api}/{SECRET}").text)  # a key in a path: a 404 page
            seen.append(c.get(f"{base}/{SECRET}?key={SECRET}").text)
            for path in (f"/_mock/keys/{SECRET}/topup", f"/_mock/keys/{NEVER}/topup", f"/_mock/keys/{NEVER}/ledger"):
                seen.append(c.post(base + path, json={"amount": "1"}).text)
                seen.append(c.get(base + path).text)
            seen.append(c.get(base + f"/_mock/keys/{SECRET}/ledger").text)
            seen.append(c.get(base + f"/_mock/journal?key={SECRET}").text)
            seen.append(c.get(base + "/_mock/journal").text)
            seen.append(c.get(base + "/_mock/state").text)
            seen.append(c.get(base + "/_mock/orders/10001").text)
            for page in ("", "/orders/10001", "/live?order=10001", "/download/journal.har", "/download/state.json"):
                seen.append(c.get(base + "/_mock/ui" + page).text)  # the dashboard's pages and files
            journal = c.get(base + "/_mock/journal").json()
    finally:
        proc.terminate()
        proc.wait(10)
    state_text = b"".join(p.read_bytes() for p in tmp_path.glob("state.log*")).decode("latin-1")  # any format, binary too
    outputs = {"server log": log.read_text(), "state file": state_text, **{f"answer {i}": s for i, s in enumerate(seen)}}
    for key in (SECRET, SECOND, NEVER):
        for spelling in {key, quote_plus(key), json.dumps(key)[1:-1]}:
            for name, text in outputs.items():
                assert spelling not in text, f"{name} contains a key: {text[:300]}"
    # And the journal did record those requests, under redacted names.
    entries = journal["entries"] if isinstance(journal, dict) else journal
    assert len(entries) >= len(requests) * 3
    # The log that was searched is a real one: the banner, and uvicorn's own lines at debug level.
    assert "API: http://127.0.0.1:" in outputs["server log"] and "INFO:" in outputs["server log"]


def test_keys_and_the_admin_token_from_the_environment_stay_out_of_the_process_list(monkeypatch) -> None:
    from tests.helpers.common import serving

    token = "tok-env-5d0c8f1e"
    monkeypatch.setenv("MOCKPANEL_KEYS", f"{SECRET},{SECOND}")
    monkeypatch.setenv("MOCKPANEL_ADMIN_TOKEN", token)
    with serving() as origin:
        servers = []
        for pid in (p for p in Path("/proc").iterdir() if p.name.isdigit()):
            try:
                parent = int((pid / "stat").read_text().rsplit(")", 1)[1].split()[1])
                argv = (pid / "cmdline").read_bytes().split(b"\0")
            except (OSError, ValueError, IndexError):
                continue  # a process that ended meanwhile
            if parent == os.getpid() and argv[1:4] == [b"-m", b"mockpanel", b"serve"]:  # ours: serving() started it
                servers.append(argv)
        assert len(servers) == 1, "the mockpanel serve process was not found in /proc"
        for argv in servers:
            for secret in (SECRET, SECOND, token):
                assert not any(secret.encode() in arg for arg in argv), argv
        with httpx.Client(timeout=5) as c:
            for key in (SECRET, SECOND):
                assert set(c.post(origin + "/api/v2", data={"key": key, "action": "balance"}).json()) == {"balance", "currency"}
            assert c.get(origin + "/_mock/clock").status_code == 401  # the token is in force
            assert c.get(origin + "/_mock/clock", headers={"X-Mock-Token": token}).status_code == 200


def test_a_key_pasted_into_a_link_a_comment_or_a_username_never_shows(tmp_path: Path) -> None:
    """A client pastes its own key and another tenant's into free text; every surface that shows the order
    or the request shows the redacted forms instead: the control API, the dashboard and its downloads, the
    HAR, the log lines in both formats. The snapshot (GET /_mock/state) keeps the text exactly."""
    import logging
    from urllib.parse import quote

    from mockpanel import ServerThread, VirtualClock, build_panel, create_app
    from mockpanel._domain.accounts import redact
    from mockpanel._powers import logs

    own, other = "sk-own/3c9e1f77aa", "sk-other-8d21b0c4ee"  # own: a slash, so its escaped forms differ
    panel = build_panel(clock=VirtualClock(speed=0, start=1_700_000_000), seed=1)
    panel.create_account(own, balance="500")
    panel.create_account(other, balance="5")
    link = f"https://x.test/p?mine={own}&theirs={quote(other)}&again={quote(own, safe='')}"
    orders = [
        {"service": "1", "link": link, "quantity": "100"},
        {"service": "2", "link": "https://x.test/c", "comments": "\n".join([f"my key {own}", f"theirs {other}", *"abcdefgh"])},
        {"service": "10", "link": "https://x.test/m", "usernames": f"{other}\n{own}\nalice"},
    ]
    lines: list[str] = []

    class Lines(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.extend((logs.JsonLines().format(record), logging.Formatter().format(record)))

    handler, level = Lines(), logs.LOG.level
    logs.LOG.addHandler(handler)
    logs.LOG.setLevel(logging.DEBUG)  # the debug lines show each request's fields
    seen: dict[str, str] = {}
    try:
        with ServerThread(create_app(panel)) as server, httpx.Client(base_url=server.url, timeout=5) as c:
            ids = []
            for fields in orders:
                answer = c.post("/api/v2", data={"key": own, "action": "add", **fields}).json()
                assert "order" in answer, answer
                ids.append(answer["order"])
            c.post("/_mock/clock", json={"advance": "30d"})
            assert "refill" in c.post("/api/v2", data={"key": own, "action": "refill", "order": ids[0]}).json()
            paths = ["/_mock/orders", "/_mock/refills", "/_mock/journal", "/_mock/journal.har", "/_mock/keys",
                     f"/_mock/keys/{other}/ledger", "/_mock/ui", "/_mock/ui/live", "/_mock/ui/download/journal.har",
                     "/_mock/ui/download/state.json", "/_mock/ui/services?q=a"]
            for i in ids:
                paths += [f"/_mock/orders/{i}", f"/_mock/ui/orders/{i}", f"/_mock/ui/live?order={i}"]
            for path in paths:
                got = c.get(path)
                assert got.status_code == 200, (path, got.text[:300])
                seen[path] = got.text
            forced = c.post(f"/_mock/orders/{ids[0]}", json={"status": "Completed"})
            seen["POST /_mock/orders/ID"] = forced.text
            # Error words quote what was sent: a key sent where a fault kind goes, on the API and on the page.
            seen["POST /_mock/faults"] = c.post("/_mock/faults", json={"kind": other}).text
            seen["POST /_mock/ui/act/faults"] = c.post("/_mock/ui/act/faults", json={"kind": own},
                                                       headers={"X-Mockpanel-UI": "1"}).text
            assert "unknown fault kind" in seen["POST /_mock/faults"] + seen["POST /_mock/ui/act/faults"]
            state = c.get("/_mock/state").json()  # the snapshot: exactly as stored, so that PUT takes it back
            assert c.put("/_mock/state", json=state).status_code == 200
            assert c.get("/_mock/state").json() == state  # settings too: a float setting comes back a float
            placed = c.post("/api/v2", data={"key": own, "action": "add", "service": "1", "link": "https://x.test/z",
                                             "quantity": "100"})
            assert "order" in placed.json(), placed.text  # the panel PUT back places orders (its odds are floats)
    finally:
        logs.LOG.removeHandler(handler)
        logs.LOG.setLevel(level)
    seen["log lines"] = "\n".join(lines)
    assert any("fields" in line and "comments" in line for line in lines)  # the debug lines were there
    spellings = {form for key in (own, other) for form in
                 (key, quote(key, safe=""), quote_plus(key), json.dumps(key)[1:-1], key.replace("/", "\\/"))}
    for name, text in seen.items():
        for spelling in spellings:
            assert spelling not in text, f"{name} shows a key ({spelling}): {text[:300]}"
    # ... and what shows them shows their redacted forms.
    for name in ("/_mock/orders", f"/_mock/orders/{ids[0]}", f"/_mock/ui/orders/{ids[0]}", "/_mock/journal",
                 "/_mock/journal.har", "/_mock/ui/download/state.json", "log lines"):
        for key in (own, other):  # in a HAR's form body, percent-encoded
            assert redact(key) in seen[name] or quote(redact(key)) in seen[name], name
    assert other in json.dumps(state["orders"]) and own in json.dumps(state["orders"])  # the text as it was sent


def test_a_failed_journal_check_quotes_the_requests_with_every_key_hidden(mock) -> None:  # type: ignore[no-untyped-def]
    """``assert_requested`` and its kind list the closest requests, fields and all: a key pasted into a
    link shows redacted there, another tenant's as well as the sender's own."""
    import pytest

    from mockpanel._domain.accounts import redact

    other = mock.new_key(key="sk-tenant-e-" + "93a7c1d0f2")
    link = f"https://x.test/p?mine={mock.key}&theirs={other}"
    assert "order" in httpx.post(mock.url, data={"key": mock.key, "action": "add", "service": "1", "link": link,
                                                 "quantity": "100"}, timeout=5).json()
    with pytest.raises(AssertionError) as failed:
        mock.assert_requested("add", quantity="999")
    with pytest.raises(AssertionError) as refused:
        mock.assert_not_requested("add", service="1")
    for words in (str(failed.value), str(refused.value)):
        assert other not in words and mock.key not in words and redact(other) in words, words
