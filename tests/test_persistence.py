"""State files: a panel rebuilt from its log is the panel that wrote it; kill -9 loses nothing answered."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from mockpanel import PanelError, VirtualClock, build_panel
from mockpanel.persistence import Identity, StateFile, StateFileError

IDENTITY = Identity(seed=3, dialect="standard", catalog="default")
KEY_A, KEY_B = "persist-key-alpha-1", "persist-key-beta-2"


def fresh():
    return build_panel(clock=VirtualClock(speed=0, start=1_700_000_000), seed=3)


def recording(path: Path):
    panel = fresh()
    state = StateFile(path, IDENTITY)
    state.load(panel)
    state.attach(panel)
    return panel, state


def restored(path: Path):
    panel = fresh()
    state = StateFile(path, IDENTITY)
    state.load(panel)
    return panel, state


def picture(panel, keys=(KEY_A, KEY_B)):
    """Everything a client or the control API can see of the panel."""
    out = {}
    for key in keys:
        out[key] = (
            panel.balance(key),
            [(e.kind, e.amount, e.order, round(e.at, 6)) for e in panel.ledger(key)],
            [(o.id, panel.status(key, o.id)) for o in panel.keys_orders(key)],
        )
    out["refills"] = sorted((r.id, r.order_id, r.status_at(panel.clock.now())) for r in panel.refills.values())
    out["catalog"] = [s.to_json() for s in panel.catalog]
    out["now"] = panel.clock.now()
    return out


def drive(panel, rng: random.Random, steps: int) -> None:
    """A random mix of everything that changes a panel; errors are part of the mix."""
    for step in range(steps):
        key = rng.choice([KEY_A, KEY_B])
        roll = rng.random()
        try:
            if roll < 0.35:
                service = rng.choice(["1", "3", "2", "20"])
                params = {"link": f"https://x.test/{step}", "quantity": str(rng.choice([5, 60, 150, 900]))}
                if service == "2":
                    params = {"link": f"https://x.test/{step}", "comments": "\n".join(f"c{i}" for i in range(12))}
                panel.add(key, service, params)
            elif roll < 0.45 and panel.orders:
                panel.cancel(key, rng.choice(list(panel.orders)))
            elif roll < 0.55 and panel.orders:
                panel.refill(key, rng.choice(list(panel.orders)))
            elif roll < 0.62 and panel.orders:
                panel.set_order(rng.choice(list(panel.orders)), status=rng.choice(["Partial", "Canceled", "Completed"]), remains=None)
            elif roll < 0.67:
                panel.deposit(key, str(rng.randint(1, 5)))
            elif roll < 0.70:
                panel.withdraw(key, "0.5")
            elif roll < 0.72:
                panel.update_service(3, rate=str(Decimal(rng.randint(10, 90)) / 100))
            else:
                panel.clock.advance(seconds=rng.choice([1, 30, 300, 3600]))
        except (PanelError, ValueError, KeyError):
            pass


@pytest.mark.parametrize("seed", range(4))
def test_a_replayed_panel_is_the_panel_that_wrote_the_file(tmp_path, seed):
    path = tmp_path / "state.log"
    panel, state = recording(path)
    panel.create_account(KEY_A, balance="40")
    panel.create_account(KEY_B, balance="15", currency="EUR")
    drive(panel, random.Random(seed), 120)
    state.close()
    again, replay = restored(path)
    assert replay.replayed > 30
    assert picture(again) == picture(panel)
    # And it goes on the same way: the same requests from here give the same results.
    drive(panel, random.Random(seed + 100), 40)
    drive(again, random.Random(seed + 100), 40)
    assert picture(again) == picture(panel)


def test_the_file_holds_no_key(tmp_path):
    path = tmp_path / "state.log"
    panel, state = recording(path)
    panel.create_account(KEY_A, balance="10")
    panel.add(KEY_A, "1", {"link": "https://x.test/a", "quantity": "100"})
    state.close()
    text = path.read_text()
    assert KEY_A not in text and "persist-key" not in text
    again, _ = restored(path)
    assert again.balance(KEY_A) == panel.balance(KEY_A)  # the digest opens the same account


def test_the_clock_never_goes_back_across_a_restart(tmp_path):
    path = tmp_path / "state.log"
    panel, state = recording(path)
    panel.create_account(KEY_A, balance="10")
    order = panel.add(KEY_A, "1", {"link": "https://x.test/a", "quantity": "100"})
    panel.clock.advance(days=1)  # no operation after this: only a tick keeps it
    state.sync()
    state.close()
    again, _ = restored(path)
    assert again.clock.now() == pytest.approx(panel.clock.now())
    assert again.status(KEY_A, order).status.final


def test_a_torn_last_line_is_dropped_and_the_rest_kept(tmp_path):
    path = tmp_path / "state.log"
    panel, state = recording(path)
    panel.create_account(KEY_A, balance="10")
    first = panel.add(KEY_A, "1", {"link": "https://x.test/a", "quantity": "100"})
    state.close()
    whole = path.read_bytes()
    with open(path, "ab") as f:
        f.write(b'1234abcd {"at": 17000000')  # a kill in the middle of a write
    again, replay = restored(path)
    assert again.status(KEY_A, first).status.value == "Pending"
    assert path.read_bytes() == whole  # the torn tail is cut off, so new lines start clean


@pytest.mark.parametrize(
    "content, words",
    [
        (b"GIF89a\x00\x01binary", "is not a mockpanel state file"),
        (b'{"some": "json"}\n', "is not a mockpanel state file"),
        (b"mockpanel-state 9 {}\n", "version 9"),
        (b"mockpanel-state 1 {broken\n", "header is damaged"),
    ],
)
def test_a_foreign_or_damaged_file_is_a_clear_error(tmp_path, content, words):
    path = tmp_path / "state.log"
    path.write_bytes(content)
    with pytest.raises(StateFileError, match=words):
        restored(path)
    assert path.read_bytes() == content  # never overwritten or reset


def test_a_corrupt_line_in_the_middle_is_a_clear_error(tmp_path):
    path = tmp_path / "state.log"
    panel, state = recording(path)
    panel.create_account(KEY_A, balance="10")
    for i in range(3):
        panel.add(KEY_A, "1", {"link": f"https://x.test/{i}", "quantity": "100"})
    state.close()
    lines = path.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace('"quantity":"100"', '"quantity":"900"')  # checksum no longer matches
    path.write_text("".join(lines))
    with pytest.raises(StateFileError, match="corrupt at line 3"):
        restored(path)


def test_other_settings_are_refused(tmp_path):
    path = tmp_path / "state.log"
    panel, state = recording(path)
    state.close()
    other = StateFile(path, Identity(seed=4, dialect="standard", catalog="default"))
    with pytest.raises(StateFileError, match=r"seed 3 \(now 4\)"):
        other.load(fresh())


# --- a real server, killed with -9 in the middle of a load -------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(path: Path, port: int) -> subprocess.Popen:
    log = path.with_suffix(".out")
    with open(log, "a") as out:  # a file, not a pipe: nobody reads it while the server runs
        proc = subprocess.Popen(
            [sys.executable, "-m", "mockpanel.cli", "serve", "--port", str(port), "--state", str(path),
             "--seed", "3", "--key", KEY_A, "--balance", "1000", "--speed", "30"],
            stdout=out, stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.post(f"http://127.0.0.1:{port}/api/v2", data={"key": "x", "action": "balance"}, timeout=1)
            return proc
        except httpx.TransportError:
            if proc.poll() is not None:
                raise AssertionError(f"the server exited: {log.read_text()}")
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("the server did not start")


def test_kill_9_mid_load_loses_nothing_that_was_answered(tmp_path):
    path = tmp_path / "state.log"
    port = _free_port()
    answered: dict[int, str] = {}  # order id -> its charge, as the client saw it
    lock = threading.Lock()
    for round_ in range(2):  # kill, restart, load again, kill again
        proc = _serve(path, port)
        url = f"http://127.0.0.1:{port}/api/v2"
        stop = threading.Event()

        def load(worker: int) -> None:
            with httpx.Client(timeout=2) as client:
                n = 0
                while not stop.is_set() and n < 2000:  # bounded
                    n += 1
                    try:
                        r = client.post(url, data={"key": KEY_A, "action": "add", "service": "1",
                                                   "link": f"https://x.test/{round_}/{worker}/{n}", "quantity": "100"})
                        order = r.json()["order"]
                    except (httpx.HTTPError, ValueError, KeyError):
                        return  # the server died under us
                    with lock:
                        answered[order] = "0.09000"

        workers = [threading.Thread(target=load, args=(w,)) for w in range(4)]
        for w in workers:
            w.start()
        target = 30 * (round_ + 1) + 10 * round_  # kill mid-load, once enough orders were answered
        deadline = time.monotonic() + 20
        while len(answered) < target and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        stop.set()
        for w in workers:
            w.join(10)
        proc.wait(10)
        assert len(answered) >= target, f"only {len(answered)} orders answered before the kill"
    proc = _serve(path, port)  # the file is not corrupt: it loads
    try:
        url = f"http://127.0.0.1:{port}/api/v2"
        ids = sorted(answered)
        for i in range(0, len(ids), 100):
            batch = ids[i : i + 100]
            statuses = httpx.post(url, data={"key": KEY_A, "action": "status", "orders": ",".join(map(str, batch))}).json()
            for order in batch:
                assert "error" not in statuses[str(order)], f"order {order} was answered, then lost"
        ledger = httpx.get(f"http://127.0.0.1:{port}/_mock/keys/{KEY_A}/ledger")
        if ledger.status_code == 200:  # the control API (issue 3) shows the ledger
            data = ledger.json()
            total = sum(Decimal(e["amount"]) * (1 if e["kind"] in ("deposit", "refund") else -1) for e in data["entries"])
            assert Decimal(data["balance"]) == total
    finally:
        proc.terminate()
        proc.wait(10)


def test_an_imported_state_is_kept_across_a_restart(tmp_path):
    from mockpanel.domain import snapshot

    source = fresh()
    source.create_account(KEY_B, balance="7")
    order = source.add(KEY_B, "1", {"link": "https://x.test/imported", "quantity": "100"})
    source.clock.advance(hours=1)
    exported = snapshot.dump(source)

    path = tmp_path / "state.log"
    panel, state = recording(path)
    clock = panel.clock
    panel.restore_snapshot(exported)
    assert panel.clock is clock and panel.clock.now() == pytest.approx(source.clock.now())
    panel.add(KEY_B, "1", {"link": "https://x.test/after", "quantity": "100"})
    state.close()
    assert KEY_B not in path.read_text()
    again, _ = restored(path)
    assert picture(again, keys=(KEY_B,)) == picture(panel, keys=(KEY_B,))
    assert again.status(KEY_B, order) == source.status(KEY_B, order)
