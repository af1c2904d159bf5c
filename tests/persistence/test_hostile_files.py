"""Hostile files are refused cleanly: a state file with SQL of its author's (a trigger that eats each
change, a view, another table) is refused before anything is written; a file nested past any depth,
of the wrong types or not UTF-8 (a state file, an old line log, a dialect profile, a catalogue, a
recording) gives one line naming the file, never a traceback; ``state convert`` refuses what is
not a regular file instead of reading a FIFO for ever."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from mockpanel import VirtualClock, build_panel, create_app
from mockpanel._cli import main
from mockpanel._persistence import Identity, StateFile, StateFileError

IDENTITY = Identity(seed=3, dialect="standard", catalog="default")
KEY = "hostile-file-key-1"
DEEP = 100_000


def recording(path: Path):
    panel = build_panel(clock=VirtualClock(speed=0, start=1_700_000_000), seed=3)
    create_app(panel)
    state = StateFile(path, IDENTITY)
    state.load(panel)
    state.attach(panel)
    return panel, state


def our_file(tmp_path: Path) -> Path:
    path = tmp_path / "state.db"
    panel, state = recording(path)
    panel.create_account(KEY, balance="10")
    for i in range(3):
        panel.add(KEY, "1", {"link": f"https://x.test/{i}", "quantity": "100"})
    state.close()
    return path


def alter(path: Path, *statements: str) -> None:
    db = sqlite3.connect(path)
    for statement in statements:
        db.execute(statement)
    db.commit()
    db.close()


@pytest.mark.parametrize("statement, named", [
    ("CREATE TRIGGER eat AFTER INSERT ON ops BEGIN DELETE FROM ops WHERE seq = NEW.seq; END", "trigger eat"),
    ("CREATE VIEW seen AS SELECT * FROM ops", "view seen"),
    ("CREATE TABLE extra (x)", "table extra"),
    ("CREATE INDEX by_op ON ops (op)", "index by_op"),
])
def test_a_state_file_with_sql_of_its_own_is_refused_and_left_as_it_is(tmp_path, statement, named):
    path = our_file(tmp_path)
    alter(path, statement)
    content = path.read_bytes()
    with pytest.raises(StateFileError, match=f"SQL objects a mockpanel state file never has \\({named}\\)"):
        recording(path)
    assert path.read_bytes() == content


def test_the_trigger_never_ate_a_change_through_the_command_line(tmp_path):
    path = our_file(tmp_path)
    alter(path, "CREATE TRIGGER eat AFTER INSERT ON ops BEGIN DELETE FROM ops WHERE seq = NEW.seq; END")
    result = CliRunner().invoke(main, ["serve", "--state", str(path), "--port", "0"])
    assert result.exit_code == 1 and "trigger eat" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_checkpoint_nested_past_any_depth_is_damaged_not_a_traceback(tmp_path):
    path = our_file(tmp_path)
    alter(path, f"UPDATE checkpoint SET state = X'{(b'[' * DEEP + b']' * DEEP).hex()}'")
    with pytest.raises(StateFileError, match="is damaged") as refused:
        recording(path)
    assert "\n" not in str(refused.value) and str(path) in str(refused.value)


@pytest.mark.parametrize("args_blob", [b"[" * DEEP + b"]" * DEEP, b'{"args": 5, "kwargs": []}', b"\xff\xfe"])
def test_a_change_of_the_wrong_shape_is_a_one_line_error(tmp_path, args_blob):
    path = our_file(tmp_path)
    alter(path, f"INSERT INTO ops VALUES ((SELECT coalesce(max(seq), 0) + 1 FROM ops), 0, 'deposit', X'{args_blob.hex()}')")
    # a clean close left no changes but the checkpoint's: this one is the first after it, numbered as such
    db = sqlite3.connect(path)
    (seq,) = db.execute("SELECT seq FROM checkpoint").fetchone()
    db.execute("UPDATE ops SET seq = ?", (seq + 1,))
    db.commit()
    db.close()
    with pytest.raises(StateFileError) as refused:
        recording(path)
    assert "\n" not in str(refused.value) and str(path) in str(refused.value)


# --- files read at start: dialects, catalogues, recordings ----------------------------------------


HOSTILE = {
    "nested": b"[" * DEEP + b"]" * DEEP,
    "not-utf8": b'{"name": "\xff\xfe"}',
    "wrong-types": b'{"name": 5, "services": "none", "endpoints": 7}',
}


@pytest.mark.parametrize("what", sorted(HOSTILE))
@pytest.mark.parametrize("option", ["--dialect", "--catalog"])
def test_a_hostile_dialect_or_catalogue_file_is_one_line_naming_it(tmp_path, what, option):
    path = tmp_path / f"{what}.json"
    path.write_bytes(HOSTILE[what])
    result = CliRunner().invoke(main, ["serve", option, str(path), "--port", "0"])
    assert result.exit_code == 2, result.output  # a usage error: an exception would exit 1
    assert str(path) in result.output and "Traceback" not in result.output, result.output


def test_a_fifo_given_as_a_catalogue_or_dialect_is_refused_at_once(tmp_path):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    for option in ("--dialect", "--catalog"):
        done = subprocess.run([sys.executable, "-m", "mockpanel", "serve", option, str(fifo), "--port", "0"],
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 2 and str(fifo) in done.stderr and "Traceback" not in done.stderr, done.stderr


@pytest.mark.parametrize("what", sorted(HOSTILE))
def test_serve_from_a_hostile_recording_is_one_line(tmp_path, what):
    (tmp_path / "dialect.json").write_bytes(HOSTILE[what])
    (tmp_path / "catalog.json").write_bytes(HOSTILE[what])
    result = CliRunner().invoke(main, ["serve", "--from", str(tmp_path), "--port", "0"])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert str(tmp_path) in result.output


# --- mockpanel state convert ---------------------------------------------------------------------


def _line(body: bytes) -> bytes:
    return b"%08x %s\n" % (zlib.crc32(body), body)


def _old(tmp_path: Path, header: dict, *lines: bytes) -> Path:
    old = tmp_path / "state.log"
    old.write_bytes(b"mockpanel-state 1 " + json.dumps(header).encode() + b"\n" + b"".join(lines))
    return old


def _not_a_dialect(tmp_path: Path) -> Path:
    path = tmp_path / "catalog.json"
    path.write_text('{"services": [{"service": 1, "name": "x"}]}')
    return path


HEADER = {"seed": 3, "dialect": "standard", "catalog": "default", "start": 1_700_000_000.0}


def convert(old: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mockpanel", "state", "convert", str(old), str(tmp_path / "new.db")],
                          capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("make, words", [
    (lambda t: _old(t, HEADER, _line(b"[" * DEEP + b"]" * DEEP)), "line 2"),
    (lambda t: _old(t, HEADER, _line(b'{"at": "soon", "op": "deposit"}')), "line 2"),
    (lambda t: _old(t, HEADER, _line(b'{"at": 1, "op": ["deposit"]}')), "line 2"),
    (lambda t: _old(t, {**HEADER, "catalog": "no-such-catalogue"}), "no-such-catalogue"),
    (lambda t: _old(t, {**HEADER, "dialect": str(_not_a_dialect(t))}), "cannot be loaded here"),
])
def test_state_convert_says_what_is_wrong_in_one_line(tmp_path, make, words):
    done = convert(make(tmp_path), tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert words in done.stderr and "state.log" in done.stderr
    assert not (tmp_path / "new.db").exists()


def test_state_convert_refuses_a_fifo_at_once(tmp_path):
    fifo = tmp_path / "state.log"
    os.mkfifo(fifo)
    done = convert(fifo, tmp_path)  # it would read for ever: the timeout fails the test
    assert done.returncode == 1 and "not a regular file" in done.stderr and "Traceback" not in done.stderr
