"""Reading the old line-log state files, to convert them: ``mockpanel state convert OLD NEW``.

The old format was a header line, then one checksummed JSON line per change or clock tick:

    mockpanel-state 1 {"seed": 0, "dialect": "standard", "catalog": "default", "start": ...}
    <crc32> {"at": 1700000000.5, "op": "add", "args": [...], "kwargs": {...}}
    <crc32> {"at": 1700000060.0, "tick": true}

The old file is only read, never changed; a torn last line (a kill in mid-write) is skipped.
"""

from __future__ import annotations

import json
import os
import stat
import zlib
from pathlib import Path
from typing import Any, Callable

from .._panel.panel import Panel
from .codec import decode
from .errors import StateFileError
from .records import OPERATIONS, Identity, run
from .store import StateFile

MAGIC = "mockpanel-state"


def _parse(line: str) -> dict[str, Any] | None:
    crc, _, body = line.rstrip("\n").partition(" ")
    try:
        if len(crc) != 8 or int(crc, 16) != zlib.crc32(body.encode()):
            return None
        record = json.loads(body)
    except (ValueError, RecursionError):  # a checksummed line may still be nested past any depth
        return None
    return record if isinstance(record, dict) else None


MAX_FILE = 1 << 30  # an old log larger than this is not one the old server could have written in a day's tests


def read_header(path: Path) -> tuple[Identity, float, list[str]]:
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):  # a FIFO would be read forever, a device without end
            raise StateFileError(f"{path} is not a regular file: give the path of a state file of the old format")
        if info.st_size > MAX_FILE:
            raise StateFileError(f"{path} is {info.st_size} bytes, more than an old state file holds ({MAX_FILE})")
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise StateFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    lines = text.splitlines(keepends=True)
    magic, _, rest = (lines[0] if lines else "").partition(" ")
    version, _, meta = rest.partition(" ")
    if magic != MAGIC or version != "1":
        raise StateFileError(f"{path} is not a state file of the old line-log format (version 1)")
    try:
        saved = json.loads(meta)
        identity = Identity(seed=int(saved["seed"]), dialect=str(saved["dialect"]), catalog=str(saved["catalog"]))
        return identity, float(saved["start"]), lines[1:]
    except (ValueError, LookupError, TypeError, RecursionError):
        raise StateFileError(f"{path}: its header is damaged; the file cannot be trusted") from None


def replay(path: Path, panel: Panel, start: float, lines: list[str]) -> int:
    """Replay the old log into a fresh ``panel`` (its clock is moved: it is the converter's own)."""
    records = []
    for number, line in enumerate(lines, start=2):
        record = _parse(line)
        if record is None:
            if number == len(lines) + 1 and not line.endswith("\n"):
                break  # the last line, torn by a kill in mid-write: never answered
            raise StateFileError(f"{path} is corrupt at line {number}: it fails its checksum, or is not a JSON object")
        records.append((number, record))
    clock = panel.clock
    clock.start_over_at(start)
    clock.freeze()
    count = 0
    for number, record in records:
        try:
            at = float(record.get("at", clock.now()))
        except (TypeError, ValueError, OverflowError):
            raise StateFileError(f"{path}, line {number}: its time {record.get('at')!r} is not a number") from None
        if at > clock.now():
            clock.set_time(at)
        if record.get("tick"):
            continue
        op = record.get("op")
        if not isinstance(op, str) or op not in OPERATIONS:
            raise StateFileError(f"{path}, line {number}: unknown operation {op!r}")
        try:
            run(panel, op, list(decode(record.get("args", []))), decode(record.get("kwargs", {})))
        except Exception as exc:
            raise StateFileError(f"{path}, line {number}: replaying {op} failed ({exc!r})") from None
        count += 1
    return count


def convert(old: Path, new: Path, build: Callable[[Identity], Panel]) -> tuple[int, Identity]:
    """Write ``new`` (a SQLite state file) holding what the line log ``old`` holds; ``build`` makes the
    panel the old server replayed into, from the file's identity (the server's layer knows how)."""
    if new.exists() and (not new.is_file() or new.stat().st_size):
        raise StateFileError(f"{new} exists already; give the converted file a new path")
    identity, start, lines = read_header(old)
    try:
        panel = build(identity)
    except Exception as exc:  # a dialect or catalogue the header names that is not here, or not one
        raise StateFileError(
            f"{old}: its header names dialect {identity.dialect!r} and catalogue {identity.catalog!r}, which cannot "
            f"be loaded here ({str(exc)[:300]}); convert it where they are"
        ) from None
    count = replay(old, panel, start, lines)
    state = StateFile(new, identity)
    state.load(panel)  # a new file: its first checkpoint is this panel
    state.close()
    return count, identity
