"""``python -m bench.memory``: what hostile traffic costs a ``mockpanel serve`` in memory, and the bound each reaches.

Each scenario runs its own ``mockpanel serve`` subprocess on 127.0.0.1 and reads its resident memory
(``VmRSS`` in ``/proc/PID/status``) before, at the end and after the client left; every loop is bounded.

  flood    one client pipelines ``--flood`` MiB of API requests (``services``: large answers, so the
           socket buffers fill and its answers stop draining) and never reads an answer; on each HTTP path
           (the direct one and uvicorn's public one behind the guard). Bound: 64 requests waiting, plus one
           read (docs/http.md).
  headers  ``--heads`` requests of ``--headers`` tiny headers each, all different, then
           ``GET /_mock/journal.har``. Bound: the journal's 32 MiB, counted as what its rows hold
           (docs/limits.md); the HAR is sent as it is made.
  orders   "Mentions with Hashtags" orders with every field at its limit, placed until the order book's
           bound answers 507 (``--book-mib``, a small bound so the run is short; the default is 512 MiB).
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

KEY = "bench-memory-key"
MIB = 1 << 20


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


@contextmanager
def serve(*args: str, env: dict[str, str] | None = None) -> Iterator[tuple[str, int]]:
    """``mockpanel serve`` on a free loopback port: its origin and pid, stopped (by pid) afterwards."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockpanel", "serve", "--port", "0", "--speed", "0", "--key", KEY,
         "--balance", "1000000000", *args],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    try:
        origin = None
        deadline = time.monotonic() + 30
        while origin is None and time.monotonic() < deadline and proc.stdout is not None:
            match = re.search(r"API: (http://[^/\s]+)", proc.stdout.readline())
            origin = match.group(1) if match else None
        if origin is None:
            raise RuntimeError("mockpanel serve did not start")
        for _ in range(500):
            try:
                httpx.get(origin + "/_mock/", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.02)
        yield origin, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        if proc.stdout is not None:
            proc.stdout.close()


def _port(origin: str) -> int:
    return int(origin.rsplit(":", 1)[1])


def flood(path: str, mib: int) -> dict[str, float]:
    env = {"MOCKPANEL_HTTP": "public"} if path == "public" else {}
    body = f"key={KEY}&action=services".encode()
    request = (b"POST /api/v2 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
               b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    chunk = request * ((256 << 10) // len(request))
    with serve(env=env) as (origin, pid):
        before = rss(pid)
        sock = socket.create_connection(("127.0.0.1", _port(origin)))
        sock.setblocking(False)
        sent, view, stalled, peak = 0, memoryview(chunk), None, before
        deadline = time.monotonic() + 60
        while sent < mib * MIB and time.monotonic() < deadline:
            try:
                n = sock.send(view)
            except BlockingIOError:
                stalled = stalled or time.monotonic()
                if time.monotonic() - stalled > 2.0:
                    break  # the server stopped reading
                time.sleep(0.01)
                peak = max(peak, rss(pid))
                continue
            stalled = None
            sent += n
            view = view[n:] if n < len(view) else memoryview(chunk)
        time.sleep(1.0)
        peak = max(peak, rss(pid))
        sock.close()
        time.sleep(2.0)
        return {"sent_mib": sent / MIB, "before_mib": before / MIB, "peak_mib": peak / MIB, "after_mib": rss(pid) / MIB}


def headers(heads: int, count: int) -> dict[str, float]:
    with serve() as (origin, pid):
        port = _port(origin)
        body = f"key={KEY}&action=balance".encode()
        before = rss(pid)
        for n in range(heads):
            head = b"x: 1\r\n" * count + b"n: %d\r\n" % n  # within the 32 KiB head limit; each head its own
            with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                sock.sendall(b"POST /api/v2 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                             + head + b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
                while sock.recv(65536):
                    pass
        journalled = rss(pid)
        kept = len(httpx.get(origin + "/_mock/journal", timeout=60).json())
        size, peak = 0, journalled
        with httpx.stream("GET", origin + "/_mock/journal.har", timeout=120) as har:
            for part in har.iter_bytes():
                size += len(part)
                peak = max(peak, rss(pid))
        return {"before_mib": before / MIB, "journalled_mib": journalled / MIB, "rows_kept": kept,
                "har_mib": size / MIB, "har_peak_mib": peak / MIB}


def orders(book_mib: int, limit: int = 100_000) -> dict[str, float]:
    from mockpanel import build_panel

    rules = build_panel("standard").settings.rules
    line = max(1, rules.max_list_text // rules.max_lines - 1)
    names = "\n".join("u" * line for _ in range(rules.max_lines))
    with serve("--book-bytes", str(book_mib * MIB)) as (origin, pid), httpx.Client(timeout=60) as client:
        before = rss(pid)
        placed = 0
        status = 200
        for i in range(limit):
            head = f"https://instagram.com/p/{i}/?"
            answer = client.post(origin + "/api/v2", data={
                "key": KEY, "action": "add", "service": "9", "link": head + "u" * (rules.max_link - len(head)),
                "quantity": "100", "usernames": names, "hashtags": names})
            status = answer.status_code
            if status != 200 or "order" not in answer.json():
                break
            placed += 1
        return {"placed": placed, "refused_with": status, "before_mib": before / MIB, "after_mib": rss(pid) / MIB}


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--flood", type=int, default=30, help="MiB of pipelined requests (default 30)")
    parser.add_argument("--heads", type=int, default=1200, help="requests with many headers (default 1200)")
    parser.add_argument("--headers", type=int, default=3500, help="headers in each (default 3500)")
    parser.add_argument("--book-mib", type=int, default=64, help="the order book's bound for the orders run (default 64)")
    parser.add_argument("--only", choices=["flood", "headers", "orders"], default=None)
    args = parser.parse_args(argv)
    results: dict[str, dict[str, float]] = {}
    if args.only in (None, "flood"):
        for path in ("direct", "public"):
            results[f"flood-{path}"] = flood(path, args.flood)
    if args.only in (None, "headers"):
        results["headers"] = headers(args.heads, args.headers)
    if args.only in (None, "orders"):
        results["orders"] = orders(args.book_mib)
    for name, figures in results.items():
        print(f"{name:<14} " + "  ".join(f"{k} {v:,.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in figures.items()))
    return results


if __name__ == "__main__":
    main()
