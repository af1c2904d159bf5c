"""State files (SQLite): a panel rebuilt from its file is the panel that wrote it; a failed
write changes nothing; foreign, damaged and old files are refused and left as they were."""

from __future__ import annotations

import json
import os
import random
import sqlite3
import time
import zlib
from decimal import Decimal
from pathlib import Path

import pytest

from mockpanel import PanelError, VirtualClock, build_panel, create_app
from mockpanel._panel import snapshot
from mockpanel._domain.accounts import KeyDigest
from mockpanel._persistence import Identity, StateFile, StateFileError, StateUnavailable
from mockpanel._persistence import chunks
from mockpanel._persistence.legacy import convert
from mockpanel._state_cli import replaying_panel

IDENTITY = Identity(seed=3, dialect="standard", catalog="default")
KEY_A, KEY_B = "persist-key-alpha-1", "persist-key-beta-2"
ADDS = {
    "1": {"quantity": "150"},
    "3": {"quantity": "900", "runs": "3", "interval": "10"},
    "2": {"comments": "\n".join(f"c{i}" for i in range(12))},
    "18": {"username": "someone", "min": "100", "max": "200", "delay": "0", "posts": "3"},
    "19": {"quantity": "600", "type_of_traffic": "1", "google_keyword": "kw", "country": "US"},
    "20": {"quantity": "100"},
}


def fresh():
    panel = build_panel(clock=VirtualClock(speed=0, start=1_700_000_000), seed=3)
    create_app(panel)  # in-band triggers, as a server has them
    return panel


def recording(path: Path, **options):
    panel = fresh()
    state = StateFile(path, IDENTITY, **options)
    state.load(panel)
    state.attach(panel)
    return panel, state


def crash(state: StateFile) -> None:
    """What a kill -9 leaves: the connection gone, no checkpoint at close (the panel lives on, unrecorded)."""
    state._close_quietly()
    if state._panel is not None:
        state._panel.recording.detach()
        state._panel.clock.set_guard(None)


def picture(panel):
    """The whole state, exactly (the snapshot holds every field of every order, key and refill).

    The duplicate-link index is compared by what it decides (the links of active orders):
    dropping finished links from it is housekeeping that even a refused add may do."""
    data = snapshot.dump(panel.core)
    data["clock"] = None
    now = panel.clock.now()
    for account in data["accounts"]:
        account["latest_by_link"] = sorted(
            e for e in account["latest_by_link"] if e[2] in panel.orders and not panel.orders[e[2]].status_at(now).final
        )
    return data


def drive(panel, rng: random.Random, steps: int) -> None:
    """A random mix of everything that changes a panel; errors are part of the mix."""
    for step in range(steps):
        key = rng.choice([KEY_A, KEY_B])
        roll = rng.random()
        ids = list(panel.orders)
        try:
            if roll < 0.35:
                service = rng.choice(sorted(ADDS))
                panel.add(key, service, {"link": f"https://x.test/{step}?mockpanel=" * (step % 7 == 0), **ADDS[service]})
            elif roll < 0.45 and ids:
                panel.cancel(key, rng.choice(ids))
            elif roll < 0.55 and ids:
                panel.refill(key, rng.choice(ids))
            elif roll < 0.62 and ids:
                panel.set_order(rng.choice(ids), status=rng.choice(["Partial", "Canceled", "Completed"]))
            elif roll < 0.64 and ids:
                panel.set_outcome(rng.choice(ids), "Partial")
            elif roll < 0.68:
                panel.deposit(key, str(rng.randint(1, 5)))
            elif roll < 0.70:
                panel.withdraw(key, "0.5")
            elif roll < 0.72:
                panel.update_service(3, rate=str(Decimal(rng.randint(10, 90)) / 100))
            else:
                panel.clock.advance(seconds=rng.choice([1, 30, 300, 3600]))
        except (PanelError, ValueError, KeyError):
            pass


@pytest.mark.parametrize("seed, every, chunk", [(0, 10_000, 1 << 19), (1, 10_000, 64), (2, 25, 64), (3, 7, 8)])
def test_a_panel_rebuilt_from_its_file_is_the_panel_that_wrote_it(tmp_path, monkeypatch, seed, every, chunk):
    monkeypatch.setattr(chunks, "CHUNK", chunk)  # small chunks: checkpoints rewrite some, keep others
    path = tmp_path / "state.db"
    panel, state = recording(path, checkpoint_every=every)
    panel.create_account(KEY_A, balance="40")
    panel.create_account(KEY_B, balance="15", currency="EUR")
    drive(panel, random.Random(seed), 150)
    crash(state)
    again, replay = recording(path, checkpoint_every=every)
    assert 0 < replay.replayed <= (150 if every > 150 else every)
    assert picture(again) == picture(panel)
    assert again.clock.now() >= panel.clock.now()  # never back
    # And it goes on the same way: the same requests from here give the same results.
    again.clock.set_time(panel.clock.now())
    drive(panel, random.Random(seed + 100), 40)
    drive(again, random.Random(seed + 100), 40)
    assert picture(again) == picture(panel)
    replay.close()


def test_checkpoints_keep_the_tail_short_and_a_clean_close_leaves_none(tmp_path):
    path = tmp_path / "state.db"
    panel, state = recording(path, checkpoint_every=20)
    panel.create_account(KEY_A, balance="1000")
    for i in range(300):
        panel.add(KEY_A, "1", {"link": f"https://x.test/{i}", "quantity": "100"})
        tail = state._conn.execute("SELECT count(*) FROM ops").fetchone()[0]
        assert tail < 20
    state.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM ops").fetchone()[0] == 0
    db.close()
    again, replay = recording(path)
    assert replay.replayed == 0 and picture(again) == picture(panel)
    replay.close()


def test_the_file_holds_no_key_and_no_field_the_add_does_not_use(tmp_path):
    path = tmp_path / "state.db"
    panel, state = recording(path)
    panel.create_account(KEY_A, balance="10")
    junk = "junk-field-value-" * 20
    panel.add(KEY_A, "1", {"key": KEY_A, "action": "add", "link": "https://x.test/a", "quantity": "100", "comments": junk, "extra": junk})
    ops = state._conn.execute("SELECT op, args FROM ops").fetchall()
    raw = path.read_bytes() + (path.parent / "state.db-wal").read_bytes()
    assert KEY_A.encode() not in raw and b"junk-field" not in raw
    add = json.loads(ops[-1][1])
    assert ops[-1][0] == "place_order"  # the typed request, not the wire fields it was read from
    assert add["args"][1:] == [1, {"$order": {"link": "https://x.test/a", "quantity": 100}}]
    crash(state)
    again, replay = recording(path)
    assert again.balance(KEY_A) == panel.balance(KEY_A)  # the digest opens the same account
    replay.close()


def test_a_file_with_adds_of_wire_fields_replays_to_the_same_panel(tmp_path):
    """Files written before orders were typed hold ``add`` with the wire fields its type read: they
    load, and replay to the state the typed records give."""
    path = tmp_path / "state.db"
    panel, state = recording(path, checkpoint_every=10**6)
    panel.create_account(KEY_A, balance="400")
    panel.create_account(KEY_B, balance="150", currency="EUR")
    wire: dict[int, tuple[str, dict[str, str]]] = {}  # change number -> the add's service and fields
    typed_add = panel.add

    def add(key, service, fields):
        before = state._seq
        try:
            return typed_add(key, service, fields)
        finally:
            if state._seq == before + 1:
                wire[state._seq] = (service, dict(fields))

    panel.add = add
    for i, (service, fields) in enumerate(ADDS.items()):  # every kind of field, then a random mix
        try:
            panel.add(KEY_A, service, {"link": f"https://x.test/wire-{i}", **fields})
        except PanelError:
            pass  # refused (as some of ADDS are): nothing recorded
    drive(panel, random.Random(5), 150)
    for username, expiry in (("sub-expiring", "01/01/2031"), ("sub-unlimited", None)):  # a typed expiry, too
        fields = {"username": username, "min": "100", "max": "200", "delay": "0"}
        panel.add(KEY_A, "18", {**fields, "expiry": expiry} if expiry else fields)
    crash(state)
    assert len(wire) > 12
    db = sqlite3.connect(path)
    for seq, (service, fields) in wire.items():
        op, blob = db.execute("SELECT op, args FROM ops WHERE seq = ?", (seq,)).fetchone()
        digest = json.loads(blob)["args"][0]
        old = {"args": [digest, service, fields], "kwargs": {}}  # as the wire-field add was written
        assert op == "place_order"
        db.execute("UPDATE ops SET op = 'add', args = ? WHERE seq = ?", (json.dumps(old).encode(), seq))
    db.commit()
    db.close()
    again, replay = recording(path)
    assert replay.replayed > len(wire)
    assert picture(again) == picture(panel)
    again.clock.set_time(panel.clock.now())  # and it goes on as the panel that wrote it would
    drive(panel, random.Random(6), 40)
    drive(again, random.Random(6), 40)
    assert picture(again) == picture(panel)
    replay.close()


def test_a_clock_move_is_durable_before_it_returns(tmp_path):
    path = tmp_path / "state.db"
    panel, state = recording(path)
    panel.create_account(KEY_A, balance="10")
    order = panel.add(KEY_A, "1", {"link": "https://x.test/a", "quantity": "100"})
    panel.clock.advance(days=1)  # no change after this
    crash(state)
    again, replay = recording(path)
    assert again.clock.now() == panel.clock.now()
    assert again.status(KEY_A, order).status.final
    replay.close()


def test_a_state_file_guards_the_clock_it_is_given_and_gives_it_back(tmp_path):
    clock = VirtualClock(speed=0, start=1_700_000_000)
    panel = build_panel(clock=clock, seed=3)
    state = StateFile(tmp_path / "state.db", IDENTITY)
    state.load(panel)
    state.attach(panel)
    # The same object of the same class: fixtures and journals that hold it see durable time.
    assert panel.clock is clock and type(clock) is VirtualClock and state.horizon is not None
    clock.advance(hours=1)
    assert state.horizon.at >= clock.natural() == 1_700_003_600
    state.close()
    clock.set_speed(600)  # no guard any more: nothing is committed, and nothing refuses
    assert state.horizon is None and panel.recording.recorder is None


def test_a_running_clock_resumes_at_or_after_every_reading(tmp_path):
    path = tmp_path / "state.db"
    clock = VirtualClock(speed=600, start=1_700_000_000)
    panel = build_panel(clock=clock, seed=3)
    state = StateFile(path, IDENTITY)
    state.load(panel)
    state.attach(panel)
    readings = [panel.clock.now() for _ in range(2000)]
    crash(state)
    again = build_panel(clock=VirtualClock(speed=600), seed=3)
    replay = StateFile(path, IDENTITY)
    replay.load(again)
    assert again.clock.now() >= max(readings)
    assert again.clock.now() <= max(readings) + 600 * 1.5  # at most about a lease ahead
    replay.close()


# --- a write that fails changes nothing ------------------------------------------------------


class FailingConnection:
    """The state file's connection, with writes that fail on demand (a full disk)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn, self.fail = conn, False

    def execute(self, sql: str, *args):
        if self.fail and sql.split()[0] in ("INSERT", "UPDATE", "DELETE", "COMMIT"):
            raise sqlite3.OperationalError("database or disk is full")
        return self.conn.execute(sql, *args)

    def executemany(self, sql: str, *args):
        return self.conn.executemany(sql, *args)

    def close(self) -> None:
        self.conn.close()


def test_a_failed_write_changes_nothing_in_memory_or_on_disk(tmp_path):
    from mockpanel._powers.control import Control

    path = tmp_path / "state.db"
    panel, state = recording(path)
    control = Control(panel, create_app(panel).state.dialect)
    panel.create_account(KEY_A, balance="10")
    first = panel.add(KEY_A, "1", {"link": "https://x.test/a", "quantity": "100"})
    control.remember_opening()
    conn = state._conn = FailingConnection(state._conn)
    before, now = picture(panel), panel.clock.now()
    conn.fail = True
    changes = [
        lambda: panel.add(KEY_A, "1", {"link": "https://x.test/b", "quantity": "100"}),
        lambda: panel.cancel(KEY_A, first),
        lambda: panel.deposit(KEY_A, "5"),
        lambda: panel.create_account(KEY_B, balance="5"),
        lambda: panel.set_order(first, status="Completed"),
        lambda: control.reset(),
        lambda: control.set_clock(advance="1h"),
        lambda: panel.clock.advance(hours=1),
        lambda: panel.put_service({"service": 99, "name": "n", "type": "Default", "rate": "1", "min": 1, "max": 9}),
    ]
    for change in changes:
        with pytest.raises(StateUnavailable, match="cannot be written.*nothing was changed"):
            change()
        assert picture(panel) == before and panel.clock.now() == now == panel.clock.natural()  # not even held
    conn.fail = False  # the disk has room again
    second = panel.add(KEY_A, "1", {"link": "https://x.test/b", "quantity": "100"})
    assert second == first + 1  # no id was used up by the failed adds
    crash(state)
    again, replay = recording(path)
    assert again.balance(KEY_A) == panel.balance(KEY_A) == (Decimal("10") - 2 * Decimal("0.09"), "USD")
    assert picture(again) == picture(panel)
    replay.close()


# --- control changes are recorded ------------------------------------------------------------


def test_reset_is_one_recorded_change_and_keys_made_after_it_load(tmp_path):
    from mockpanel._powers.control import Control

    path = tmp_path / "state.db"
    panel, state = recording(path)
    control = Control(panel, create_app(panel).state.dialect)
    panel.create_account(KEY_A, balance="10")
    control.remember_opening()
    panel.add(KEY_A, "1", {"link": "https://x.test/a", "quantity": "100"})
    panel.create_account(KEY_B, balance="3")
    clock_before = panel.clock.now()
    assert control.reset() == {"reset": True, "keys": 1}
    assert panel.clock.now() == clock_before and not panel.orders
    control.create_key(KEY_B, balance="4")  # made the file unloadable before
    control.update_service(1, rate="1.50")
    order = panel.add(KEY_A, "20", {"link": "https://x.test/r", "quantity": "100"})
    control.set_order(order, status="Completed")
    refill = panel.refill(KEY_A, order)
    control.set_refill(refill, "Rejected")
    other = panel.add(KEY_A, "1", {"link": "https://x.test/o", "quantity": "1000"})
    control.set_order(other, status="In progress", remains=600, outcome={"status": "Partial", "remains": 300})
    with pytest.raises(ValueError):  # refused before anything changes: the speed stays
        control.set_clock(speed=5, advance="soon")
    assert panel.clock.speed == 0
    control.set_clock(advance="2h", speed="0")
    crash(state)
    again, replay = recording(path)
    assert picture(again) == picture(panel)
    assert again.balance(KEY_B)[0] == Decimal("4") and again.refill_status(KEY_A, refill).value == "Rejected"
    assert again.status(KEY_A, other) == panel.status(KEY_A, other) and again.status(KEY_A, other).remains == 300
    assert again.catalog.get(1).rate == Decimal("1.50")
    assert again.clock.now() == clock_before + 7200
    replay.close()


def test_an_imported_state_is_kept_across_a_restart(tmp_path):
    source = fresh()
    source.create_account(KEY_B, balance="7")
    order = source.add(KEY_B, "1", {"link": "https://x.test/imported", "quantity": "100"})
    source.clock.advance(hours=1)
    exported = json.loads(json.dumps(snapshot.dump(source.core)))

    path = tmp_path / "state.db"
    panel, state = recording(path)
    clock = panel.clock
    panel.restore_snapshot(exported)
    assert panel.clock is clock and panel.clock.now() == pytest.approx(source.clock.now())
    panel.add(KEY_B, "1", {"link": "https://x.test/after", "quantity": "100"})
    crash(state)
    again, replay = recording(path)
    assert picture(again) == picture(panel)
    assert again.status(KEY_B, order) == source.status(KEY_B, order)
    replay.close()


# --- files that are refused ------------------------------------------------------------------


def _our_file(tmp_path: Path) -> Path:
    path = tmp_path / "ours.db"
    panel, state = recording(path)
    panel.create_account(KEY_A, balance="10")
    for i in range(40):
        panel.add(KEY_A, "1", {"link": f"https://x.test/{i}", "quantity": "100"})
    state.close()
    return path


def _sqlite_of_another_program(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda p: p.write_bytes(b"GIF89a\x00\x01binary"), "is not a mockpanel state file"),
        (lambda p: p.write_bytes(b'{"some": "json"}\n'), "is not a mockpanel state file"),
        (lambda p: _sqlite_of_another_program(p), "another program"),
        (lambda p: p.write_bytes(b"mockpanel-state 1 {}\n"), "old line-log format.*mockpanel state convert"),
    ],
)
def test_a_foreign_file_is_refused_and_left_as_it_is(tmp_path, make, words):
    path = tmp_path / "state.db"
    make(path)
    content = path.read_bytes()
    with pytest.raises(StateFileError, match=words):
        recording(path)
    assert path.read_bytes() == content and not (tmp_path / "state.db-wal").exists()


@pytest.mark.parametrize("cut", [100, 4096, 0.5, -1])
def test_a_file_cut_short_is_refused_and_left_as_it_is(tmp_path, cut):
    path = _our_file(tmp_path)
    whole = path.read_bytes()
    size = int(len(whole) * cut) if isinstance(cut, float) else (len(whole) + cut if cut < 0 else cut)
    path.write_bytes(whole[:size])
    with pytest.raises(StateFileError, match="is damaged"):
        recording(path)
    assert path.read_bytes() == whole[:size]


def test_a_damaged_page_is_refused(tmp_path):
    path = _our_file(tmp_path)
    data = bytearray(path.read_bytes())
    for i in range(4096 + 200, len(data), 4096):  # a little garbage in every page after the first
        data[i : i + 64] = os.urandom(64)
    path.write_bytes(bytes(data))
    with pytest.raises(StateFileError, match="damaged"):
        recording(path)
    assert path.read_bytes() == bytes(data)


def test_a_missing_change_is_refused(tmp_path):
    path = tmp_path / "state.db"
    panel, state = recording(path)
    panel.create_account(KEY_A, balance="10")
    for i in range(5):
        panel.add(KEY_A, "1", {"link": f"https://x.test/{i}", "quantity": "100"})
    state._conn.execute("DELETE FROM ops WHERE seq = 3")
    crash(state)
    with pytest.raises(StateFileError, match="change 3 is missing"):
        recording(path)


def test_other_settings_are_refused(tmp_path):
    path = _our_file(tmp_path)
    other = StateFile(path, Identity(seed=4, dialect="standard", catalog="default"))
    with pytest.raises(StateFileError, match=r"seed 3 \(now 4\)"):
        other.load(fresh())


@pytest.mark.parametrize("kind", ["directory", "fifo", "device"])
def test_what_is_not_a_regular_file_is_refused(tmp_path, kind):
    path = tmp_path / "thing"
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        path = Path("/dev/null")
    words = {"directory": "is a directory", "fifo": "is a FIFO", "device": "is a character device"}[kind]
    with pytest.raises(StateFileError, match=words):
        recording(path)


def test_a_file_in_use_is_refused(tmp_path):
    path = tmp_path / "state.db"
    panel, state = recording(path)
    with pytest.raises(StateFileError, match="in use by another mockpanel serve"):
        recording(path)
    panel.create_account(KEY_A, balance="1")  # the first one carries on
    state.close()


# --- the old line-log format -------------------------------------------------------------------


def _line(record: dict) -> str:
    body = json.dumps(record, separators=(",", ":"))
    return f"{zlib.crc32(body.encode()):08x} {body}\n"


def test_an_old_line_log_converts_to_the_same_panel(tmp_path):
    old = tmp_path / "state.log"
    digest = {"$key": KeyDigest.of(KEY_A)}
    header = json.dumps({"seed": 3, "dialect": "standard", "catalog": "default", "start": 1_700_000_000.0})
    old.write_text(
        f"mockpanel-state 1 {header}\n"
        + _line({"at": 1_700_000_000.0, "op": "_open_account", "args": [digest], "kwargs": {"balance": "10", "currency": None}})
        + _line({"at": 1_700_000_010.0, "op": "add", "args": [digest, "1", {"link": "https://x.test/a", "quantity": "100"}], "kwargs": {}})
        + _line({"at": 1_700_090_000.0, "tick": True})
        + '1234abcd {"at": 17000'  # torn by a kill: skipped
    )
    content = old.read_bytes()
    new = tmp_path / "state.db"
    count, identity = convert(old, new, replaying_panel)
    assert count == 2 and identity == IDENTITY and old.read_bytes() == content
    panel, state = recording(new)
    assert panel.clock.now() == 1_700_090_000.0
    assert panel.balance(KEY_A)[0] == Decimal("10") - Decimal("0.09")
    assert panel.status(KEY_A, 10001).status.final
    state.close()
    with pytest.raises(StateFileError, match="exists already"):
        convert(old, new, replaying_panel)


def test_a_clock_that_cannot_be_made_durable_waits_at_its_horizon(tmp_path):
    path = tmp_path / "state.db"
    panel = build_panel(clock=VirtualClock(speed=600, start=1_700_000_000), seed=3)
    state = StateFile(path, IDENTITY)
    state.load(panel)
    state.attach(panel)
    conn = state._conn = FailingConnection(state._conn)
    conn.fail = True
    readings = []
    for _ in range(30):
        readings.append(panel.clock.now())
        time.sleep(0.05)  # 1.5 s real: past the lease
    assert state.horizon is not None and max(readings) <= state.horizon.at and readings[-1] == readings[-2]  # it stopped
    conn.fail = False
    time.sleep(0.05)
    assert panel.clock.now() > readings[-1]  # and goes on once the file can be written
    crash(state)
    again = build_panel(clock=VirtualClock(speed=0), seed=3)
    replay = StateFile(path, IDENTITY)
    replay.load(again)
    assert again.clock.now() >= max(readings)
    replay.close()


def test_panel_reset_and_an_import_with_junk_are_recorded_as_what_the_panel_holds(tmp_path):
    from mockpanel._domain.catalog import Catalog

    path = tmp_path / "state.db"
    panel, state = recording(path)
    source = fresh()
    source.create_account(KEY_B, balance="7")
    exported = {**json.loads(json.dumps(snapshot.dump(source.core))), "junk": "junk-field-value"}
    panel.restore_snapshot(exported)
    with pytest.raises(snapshot.StateError):  # refused before anything changes
        panel.restore_snapshot({"format": "mockpanel-state", "version": 1})
    panel.create_account(KEY_A, balance="10")
    panel.reset(Catalog(list(panel.catalog)[:3]))
    panel.create_account(KEY_A, balance="2")
    panel.reset()
    assert b"junk-field" not in path.read_bytes() + (tmp_path / "state.db-wal").read_bytes()
    crash(state)
    again, replay = recording(path)
    assert picture(again) == picture(panel) and len(again.catalog) == 3 and not again.accounts()
    replay.close()


def test_a_checkpoint_rewrites_only_the_chunks_that_changed(tmp_path, monkeypatch):
    monkeypatch.setattr(chunks, "CHUNK", 256)
    path = tmp_path / "state.db"
    panel, state = recording(path, checkpoint_every=10**9)
    panel.create_account(KEY_A, balance="1000")
    for i in range(400):
        panel.add(KEY_A, "1", {"link": f"https://x.test/{i}", "quantity": "100"})
    assert state.checkpoint()
    total = state._conn.execute("SELECT count(*) FROM book").fetchone()[0]
    panel.add(KEY_A, "1", {"link": "https://x.test/one-more", "quantity": "100"})
    before = state._conn.total_changes
    assert state.checkpoint()
    rewritten = state._conn.total_changes - before - 2  # less the checkpoint row and the one change dropped
    assert total > 100 and 0 < rewritten < total / 5, (rewritten, total)
    crash(state)
    again, replay = recording(path)
    assert replay.replayed == 0 and picture(again) == picture(panel)
    replay.close()
