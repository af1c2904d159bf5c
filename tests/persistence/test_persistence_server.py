"""State files through a real ``mockpanel serve``: kill -9 at speed 600, a full disk, two servers
on one file, files that are refused, an idle server."""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from tests.helpers.common import HTTP

KEY = "persist-server-key-1"
RANK = {"Pending": 0, "In progress": 1, "Completed": 2, "Partial": 2, "Canceled": 2}
SERVE = [sys.executable, "-m", "mockpanel", "serve", "--port", "0", "--seed", "3"]


class Server:
    """``mockpanel serve`` in a subprocess, its output in a file (nobody reads a pipe while it runs)."""

    def __init__(self, *args: str, wrap: list[str] | None = None, log: Path) -> None:
        self.log = log
        with open(log, "w") as out:
            self.proc = subprocess.Popen([*(wrap or []), *SERVE, *args], stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        self.origin = ""
        while time.monotonic() < deadline and not self.origin:
            match = re.search(r"API: (http://[^/\s]+)", log.read_text())
            if match:
                self.origin = match.group(1)
            elif self.proc.poll() is not None:
                raise AssertionError(f"the server exited: {log.read_text()}")
            else:
                time.sleep(0.02)
        assert self.origin, "the server did not start"
        for _ in range(200):
            try:
                HTTP.get(self.origin + "/")
                break
            except httpx.TransportError:
                time.sleep(0.02)

    def api(self, **fields: str) -> httpx.Response:
        return HTTP.post(self.origin + "/api/v2", data={"key": KEY, **fields})

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
        self.proc.wait(10)


def serve(path: Path, *args: str) -> Server:
    return Server("--state", str(path), "--key", KEY, "--balance", "1000", *args, log=path.with_suffix(".out"))


def test_kill_9_at_speed_600_with_clock_moves_nothing_answered_goes_back(tmp_path):
    path = tmp_path / "state.db"
    seen: dict[int, tuple[int, str, int]] = {}  # order -> (rank, status, remains) as answered last
    clock_seen = [0.0]
    balances: list[Decimal] = []
    lock = threading.Lock()
    rng = random.Random(5)
    for round_ in range(3):
        server = serve(path, "--speed", "600")
        stop = threading.Event()

        def work(worker: int) -> None:
            with httpx.Client(timeout=2) as client:
                for n in range(400):  # bounded
                    if stop.is_set():
                        return
                    try:
                        if n % 3 == 0:
                            r = client.post(server.origin + "/api/v2", data={
                                "key": KEY, "action": "add", "service": "1", "quantity": "100",
                                "link": f"https://x.test/{round_}/{worker}/{n}"})
                            with lock:
                                seen.setdefault(r.json()["order"], (0, "Pending", -100))
                        elif n % 3 == 1 and seen:
                            ids = sorted(seen)[-100:]
                            r = client.post(server.origin + "/api/v2",
                                            data={"key": KEY, "action": "status", "orders": ",".join(map(str, ids))})
                            with lock:
                                for order, state in r.json().items():
                                    rank = RANK[state["status"]]
                                    seen[int(order)] = max(seen[int(order)], (rank, state["status"], -int(state["remains"])))
                        elif worker == 0:
                            r = client.post(server.origin + "/_mock/clock", json={"advance": rng.choice(["30s", "5m", "1h"])})
                            with lock:
                                clock_seen[0] = max(clock_seen[0], r.json()["now"])
                        else:
                            r = client.post(server.origin + "/api/v2", data={"key": KEY, "action": "balance"})
                            with lock:
                                balances.append(Decimal(r.json()["balance"]))
                    except (httpx.HTTPError, ValueError, KeyError):
                        return  # the server died under us

        workers = [threading.Thread(target=work, args=(w,)) for w in range(3)]
        for w in workers:
            w.start()
        deadline = time.monotonic() + 20  # a busy machine is slow: wait for some answers, then a moment more
        while (len(seen) < 10 * (round_ + 1) or clock_seen[0] == 0) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.random() * 0.3)
        server.stop(signal.SIGKILL)
        stop.set()
        for w in workers:
            w.join(10)
    assert len(seen) >= 30 and clock_seen[0] > 0
    server = serve(path, "--speed", "0")
    try:
        now = HTTP.get(server.origin + "/_mock/clock").json()["now"]
        assert now >= clock_seen[0], "a clock move that was answered was lost"
        ids = sorted(seen)
        for i in range(0, len(ids), 100):
            statuses = server.api(action="status", orders=",".join(map(str, ids[i : i + 100]))).json()
            for order in ids[i : i + 100]:
                state = statuses[str(order)]
                assert "error" not in state, f"order {order} was answered, then lost"
                rank, status, remains = seen[order]
                assert RANK[state["status"]] >= rank, f"order {order} went back from {status} to {state['status']}"
                assert rank < 2 or state["status"] == status
                assert int(state["remains"]) <= -remains, f"order {order}: remains went up"
        ledger = HTTP.get(f"{server.origin}/_mock/keys/{KEY}/ledger").json()
        total = sum(Decimal(e["amount"]) * (1 if e["kind"] in ("deposit", "refund") else -1) for e in ledger["entries"])
        assert Decimal(ledger["balance"]) == total
    finally:
        server.stop()


def test_a_second_server_on_the_same_file_refuses_to_start(tmp_path):
    path = tmp_path / "state.db"
    first = serve(path)
    try:
        second = subprocess.run([*SERVE, "--state", str(path)], capture_output=True, text=True, timeout=30)
        assert second.returncode != 0
        assert "in use by another mockpanel serve" in second.stderr and "Traceback" not in second.stderr
        assert first.api(action="add", service="1", link="https://x.test/a", quantity="100").json()["order"] == 10001
    finally:
        first.stop()
    assert not Path(f"{path}-wal").exists()  # SIGTERM closed the file: checkpointed, its WAL gone
    again = serve(path)  # the lock went with the first server
    try:
        assert again.api(action="add", service="1", link="https://x.test/b", quantity="100").json()["order"] == 10002
    finally:
        again.stop()


def test_reset_is_recorded_and_the_file_loads_after_keys_are_made_again(tmp_path):
    path = tmp_path / "state.db"
    server = serve(path)
    try:
        server.api(action="add", service="1", link="https://x.test/a", quantity="100")
        assert HTTP.post(server.origin + "/_mock/reset").status_code == 200
        assert HTTP.post(server.origin + "/_mock/keys", json={"key": "made-after-reset", "balance": "7"}).status_code == 201
        HTTP.post(server.origin + "/_mock/services",
                  json={"service": 77, "name": "New", "type": "Default", "rate": "1", "min": 1, "max": 100})
    finally:
        server.stop(signal.SIGKILL)
    server = serve(path)
    try:
        assert server.api(action="balance").json()["balance"].startswith("1000")
        assert server.api(action="status", order="10001").json().get("error")  # reset forgot it
        assert HTTP.post(server.origin + "/api/v2", data={"key": "made-after-reset", "action": "balance"}).json()["balance"].startswith("7")
        assert any(s["service"] == 77 for s in HTTP.get(server.origin + "/_mock/services").json())
    finally:
        server.stop()


def test_an_idle_server_does_not_grow_its_file(tmp_path):
    path = tmp_path / "state.db"
    server = serve(path, "--speed", "600")
    try:
        for i in range(20):
            server.api(action="add", service="1", link=f"https://x.test/{i}", quantity="100")
        server.api(action="status", order="10001")

        def size() -> int:
            return sum(p.stat().st_size for p in tmp_path.glob("state.db*"))

        before = size()
        time.sleep(2.5)  # 25 virtual minutes at speed 600
        assert size() == before
    finally:
        server.stop()


@pytest.mark.parametrize("kind", ["directory", "fifo", "foreign", "cut", "old"])
def test_serve_refuses_a_file_it_cannot_use_with_a_message(tmp_path, kind):
    path = tmp_path / "state.db"
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "foreign":
        path.write_bytes(b"PK\x03\x04 a zip file")
    elif kind == "old":
        path.write_text('mockpanel-state 1 {"seed": 3, "dialect": "standard", "catalog": "default", "start": 1.0}\n')
    else:
        server = serve(path)
        server.api(action="add", service="1", link="https://x.test/a", quantity="100")
        server.stop()
        path.write_bytes(path.read_bytes()[:6000])
    before = None if kind in ("directory", "fifo") else path.read_bytes()
    result = subprocess.run([*SERVE, "--state", str(path)], capture_output=True, text=True, timeout=30)
    words = {
        "directory": "is a directory", "fifo": "is a FIFO", "foreign": "not a mockpanel state file",
        "cut": "is damaged", "old": "mockpanel state convert",
    }[kind]
    assert result.returncode != 0 and words in result.stderr and "Traceback" not in result.stderr
    if before is not None:
        assert path.read_bytes() == before
    if kind == "old":
        new = tmp_path / "new.db"
        done = subprocess.run([sys.executable, "-m", "mockpanel", "state", "convert", str(path), str(new)],
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0 and "0 changes converted" in done.stdout
        serve(new).stop()


# --- a full disk ----------------------------------------------------------------------------------


def _can_mount() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _can_mount(), reason="needs root and unshare -m (a small tmpfs in a mount namespace)")
def test_a_full_disk_answers_503_charges_nothing_and_loses_nothing(tmp_path):
    small, out = tmp_path / "small", tmp_path / "out"
    small.mkdir()
    out.mkdir()
    pidfile = tmp_path / "pid"
    script = (
        f'mount -t tmpfs -o size=160k tmpfs {small} && '
        f'"$@" & echo $! > {pidfile}; wait $!; cp {small}/state.db* {out}/'
    )
    wrap = ["unshare", "-m", "sh", "-c", script, "sh"]
    server = Server("--state", str(small / "state.db"), "--key", KEY, "--balance", "1000", "--speed", "0",
                    wrap=wrap, log=tmp_path / "serve.out")
    pid = int(pidfile.read_text())
    ok, refused = [], 0
    try:
        for i in range(120):
            r = server.api(action="add", service="1", link=f"https://x.test/{i}", quantity="100")
            body = r.json()
            if r.status_code == 200 and "order" in body:
                ok.append(body["order"])
                continue
            assert r.status_code == 503 and "cannot be written" in body["error"], (r.status_code, body)
            refused += 1
            # Nothing was charged, in memory: the balance is what the answers said.
            assert Decimal(server.api(action="balance").json()["balance"]) == Decimal("1000") - len(ok) * Decimal("0.09")
        topup = HTTP.post(f"{server.origin}/_mock/keys/{KEY}/topup", json={"amount": "5"})
        assert topup.status_code == 503 and "error" in topup.json()
        assert ok and refused > 10, (len(ok), refused)
        assert ok == list(range(10001, 10001 + len(ok)))
    finally:
        os.kill(pid, signal.SIGKILL)  # the server (our child's child); the shell then copies its files out
        server.proc.wait(10)
    restarted = serve(out / "state.db")
    try:
        assert Decimal(restarted.api(action="balance").json()["balance"]) == Decimal("1000") - len(ok) * Decimal("0.09")
        statuses = restarted.api(action="status", orders=",".join(map(str, ok[-100:]))).json()
        assert all("error" not in statuses[str(o)] for o in ok[-100:])
        assert restarted.api(action="add", service="1", link="https://x.test/next", quantity="100").json()["order"] == 10001 + len(ok)
    finally:
        restarted.stop()
