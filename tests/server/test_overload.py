"""Under abuse the mock keeps serving: slow clients and huge bodies do not stall others."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.helpers.common import KEY


def _raw(host: str, port: int, payload: bytes, timeout: float = 5.0) -> bytes:
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(payload)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def test_a_flood_of_slow_clients_does_not_stall_the_others(live):
    host, port = "127.0.0.1", live.port
    slow: list[socket.socket] = []
    try:
        for _ in range(150):  # slowloris: each sends half a request, then nothing
            s = socket.create_connection((host, port), timeout=5)
            body = f"key={KEY}&action=balance".encode()
            s.sendall(
                b"POST /api/v2 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                + f"Content-Length: {len(body) + 100}\r\n\r\n".encode() + body[:5]
            )
            slow.append(s)
        worst = 0.0
        with httpx.Client(timeout=5) as client:
            for _ in range(40):
                started = time.perf_counter()
                r = client.post(live.url + "/api/v2", data={"key": KEY, "action": "balance"})
                worst = max(worst, time.perf_counter() - started)
                assert r.json() == {"balance": "100.00000", "currency": "USD"}
        assert worst < 1.0, f"a normal request took {worst:.3f} s among 150 slow clients"
    finally:
        for s in slow:
            s.close()


def test_an_announced_huge_body_is_refused_at_once(live):
    started = time.perf_counter()
    answer = _raw(
        "127.0.0.1", live.port,
        b"POST /api/v2 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 1073741824\r\n\r\nkey=abc",  # claims 1 GiB, sends 7 bytes
    )
    assert time.perf_counter() - started < 2.0  # not waiting for the gigabyte
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert "Request body too large" in json.loads(body)["error"]


def test_huge_bodies_streamed_in_parallel_get_413_and_others_are_served(live, panel):
    url = live.url + "/api/v2"
    results: list[int] = []

    def flood() -> None:
        def chunks():
            for _ in range(64):  # 4 MiB in 64 KiB pieces, no Content-Length
                yield b"x" * 65536

        with httpx.Client(timeout=10) as client:
            try:
                form = {"content-type": "application/x-www-form-urlencoded"}
                results.append(client.post(url, content=chunks(), headers=form).status_code)
            except httpx.HTTPError:
                results.append(-1)  # the server closed on us mid-upload: also a refusal

    threads = [threading.Thread(target=flood) for _ in range(6)]
    for t in threads:
        t.start()
    with httpx.Client(timeout=5) as client:
        for _ in range(20):
            assert client.post(url, data={"key": KEY, "action": "balance"}).status_code == 200
    for t in threads:
        t.join(20)
    assert results and all(code in (413, -1) for code in results), results
    assert 413 in results
    assert panel.balance(KEY)[0] == 100  # nothing happened to the account


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/PID/status")


SLOWLORIS = 1000
READ_TIMEOUT = 4.0  # opening the 1,000 took 0.2-0.6 s on a loaded 2-core machine: 2 s left it too little room


def test_a_thousand_slowloris_connections_pin_neither_memory_nor_the_server():
    """``mockpanel serve``: 1,000 clients trickling request heads; the server answers others
    meanwhile, its memory stays bounded, and each slow client gets a 408 once its time is up."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockpanel", "serve", "--port", "0", "--speed", "0",
         "--read-timeout", str(READ_TIMEOUT)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    slow: list[socket.socket] = []
    try:
        origin = ""
        while not origin:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            assert line, "mockpanel serve exited before its banner"
            match = re.search(r"API: (http://[^/\s]+)", line)
            origin = match.group(1) if match else ""
        port = int(origin.rsplit(":", 1)[1])
        with httpx.Client(timeout=10) as client:
            balance = {"key": "test-key", "action": "balance"}
            for _ in range(50):
                try:
                    assert client.post(origin + "/api/v2", data=balance).status_code == 200
                    break
                except httpx.ConnectError:
                    time.sleep(0.1)
            before = _rss_kib(proc.pid)
            started = time.monotonic()
            for _ in range(SLOWLORIS):  # each: half a head, and a header line now and then
                s = socket.create_connection(("127.0.0.1", port), timeout=10)
                s.sendall(b"POST /api/v2 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + b"p" * 2000 + b"\r\n")
                slow.append(s)
            for s in slow[:100]:
                s.sendall(b"X-Still-Here: 1\r\n")
            assert client.post(origin + "/api/v2", data=balance).json()["currency"] == "USD"
            during = _rss_kib(proc.pid)
            assert time.monotonic() - started < READ_TIMEOUT, "the machine is too slow for this test's timing"
            answers = []
            for s in slow:
                s.settimeout(READ_TIMEOUT + 20)
                try:
                    answers.append(s.recv(4096))
                except ConnectionResetError:
                    answers.append(b"")
            assert all(a.startswith(b"HTTP/1.1 408 ") or a == b"" for a in answers), {a[:40] for a in answers}
            assert sum(a.startswith(b"HTTP/1.1 408 ") for a in answers) >= SLOWLORIS * 0.9
            assert client.post(origin + "/api/v2", data=balance).json()["currency"] == "USD"
            after = _rss_kib(proc.pid)
        print(f"server RSS: {before} KiB before, {during} KiB with {SLOWLORIS} slow clients, {after} KiB after")
        assert during - before < 32 * 1024, f"{SLOWLORIS} slow clients took {(during - before) // 1024} MiB"
    finally:
        for s in slow:
            s.close()
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()  # type: ignore[union-attr]
