"""Keeping a panel's state on disk: ``mockpanel serve --state FILE``.

The file is a log of what changed the panel, not a picture of it. The panel is
deterministic given its seed and the operations it received at their virtual times,
so replaying the log rebuilds it exactly, balances, plans and outcomes included.

    mockpanel-state 1 {"seed": 0, "dialect": "standard", "catalog": "default", ...}
    <crc32> {"at": 1700000000.5, "op": "add", "args": [...], "kwargs": {...}}
    <crc32> {"at": 1700000060.0, "tick": true}

- Each operation is written (to the kernel) before its answer is sent, so a
  ``kill -9`` loses nothing that was answered; the file is fsynced at least every
  second, so a crash of the machine loses at most about a second.
- A line torn by a kill in mid-write is the last one: it is dropped on load. Any
  other line that does not check out means the file is corrupt: a clear error, not
  a silent reset.
- Keys are written as SHA-256 digests (``KeyDigest``): the file opens the same
  accounts without holding a single key.
- Ticks keep the clock's position, so a restart never moves time backwards.
"""

from __future__ import annotations

import json
import os
import threading
import zlib
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, Callable

from .domain.accounts import KeyDigest
from .domain.panel import Panel

MAGIC = "mockpanel-state"
VERSION = 1

# The recorded operations and how each one's key arguments are found.
KEYED = {"_open_account", "remove_account", "deposit", "withdraw", "add", "cancel", "refill"}
OPERATIONS = KEYED | {
    "reset", "set_order", "set_outcome", "set_refill", "put_service", "update_service", "restore_snapshot",
}


class StateFileError(Exception):
    """A state file that cannot be used; the message says what is wrong and what to do."""


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "items"):  # a Mapping of request fields
        return {k: _encode(v) for k, v in value.items()}
    raise TypeError(f"cannot record a {type(value).__name__} in a state file")


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$decimal"}:
            return Decimal(value["$decimal"])
        if set(value) == {"$key"}:
            return KeyDigest(value["$key"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _line(record: dict[str, Any]) -> str:
    body = json.dumps(record, separators=(",", ":"), allow_nan=False)
    return f"{zlib.crc32(body.encode()):08x} {body}\n"


def _parse(line: str) -> dict[str, Any] | None:
    """A record, or None if the line does not check out."""
    crc, _, body = line.rstrip("\n").partition(" ")
    try:
        if len(crc) != 8 or int(crc, 16) != zlib.crc32(body.encode()):
            return None
        record = json.loads(body)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


@dataclass(frozen=True)
class Identity:
    """What the log can only be replayed against: the same seed, dialect and catalogue."""

    seed: int
    dialect: str
    catalog: str

    def as_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "dialect": self.dialect, "catalog": self.catalog}

    def differences(self, saved: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
        return {k: (saved.get(k), v) for k, v in self.as_json().items() if saved.get(k) != v}


class StateFile:
    """Attach to a panel: replay the file into it, then record every change to it."""

    def __init__(self, path: str | os.PathLike[str], identity: Identity, *, fsync_every: float = 1.0) -> None:
        self.path = Path(path)
        self.identity = identity
        self.fsync_every = fsync_every
        self._file: Any = None
        self._panel: Panel | None = None
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None
        self._last_tick = 0.0
        self.replayed = 0

    # --- loading ------------------------------------------------------------------

    def load(self, panel: Panel) -> int:
        """Replay the file into a fresh ``panel``; returns the number of operations replayed."""
        if not self.path.exists():
            return 0
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            raise StateFileError(f"cannot read the state file {self.path}: {exc.strerror}") from None
        if not raw:
            return 0  # created but never written: a kill before the header
        text = raw.decode("utf-8", errors="replace")
        lines = text.splitlines(keepends=True)
        start = self._check_header(lines[0])
        records: list[dict[str, Any]] = []
        for number, line in enumerate(lines[1:], start=2):
            record = _parse(line)
            if record is None:
                if number == len(lines) and not line.endswith("\n"):
                    self._truncate_to(len("".join(lines[:-1]).encode("utf-8", errors="replace")))
                    break  # the last line, torn by a kill in mid-write
                raise StateFileError(
                    f"the state file {self.path} is corrupt at line {number}: it fails its checksum. "
                    "Restore a copy, or start with a new file (the mock will not silently forget state)."
                )
            records.append(record)
        clock = panel.clock
        speed = clock.speed
        clock.start_over_at(start)  # the panel is fresh: its clock resumes the file's past
        clock.freeze()
        panel._replaying = True
        try:
            latest = clock.now()
            for number, record in enumerate(records, start=2):
                at = float(record.get("at", latest))
                if at > clock.now():
                    clock.set_time(at)
                latest = max(latest, at)
                if record.get("tick"):
                    continue
                self._apply(panel, record, number)
        finally:
            panel._replaying = False
            clock.set_speed(speed)
        self.replayed = sum(1 for r in records if not r.get("tick"))
        return self.replayed

    def _check_header(self, line: str) -> float:
        magic, _, rest = line.partition(" ")
        version, _, meta = rest.partition(" ")
        if magic != MAGIC:
            raise StateFileError(
                f"{self.path} is not a mockpanel state file (it does not start with {MAGIC!r}). "
                "Give --state a new path, or the file an earlier `mockpanel serve --state` wrote."
            )
        if version != str(VERSION):
            raise StateFileError(f"{self.path} is a state file of version {version}; this mockpanel reads version {VERSION}")
        try:
            saved = json.loads(meta)
        except ValueError:
            raise StateFileError(f"{self.path}: its header is damaged; the file cannot be trusted") from None
        if not isinstance(saved, dict) or not isinstance(saved.get("start"), (int, float)):
            raise StateFileError(f"{self.path}: its header is damaged; the file cannot be trusted")
        different = self.identity.differences(saved)
        if different:
            words = ", ".join(f"{k} {old!r} (now {new!r})" for k, (old, new) in different.items())
            raise StateFileError(
                f"{self.path} was written by a panel with {words}. Start with the same settings "
                "to continue it, or give --state a new file."
            )
        return float(saved["start"])

    def _truncate_to(self, size: int) -> None:
        with open(self.path, "r+b") as f:
            f.truncate(size)

    def _apply(self, panel: Panel, record: dict[str, Any], number: int) -> None:
        op = record.get("op")
        if op not in OPERATIONS:
            raise StateFileError(f"{self.path}, line {number}: unknown operation {op!r}")
        args = _decode(record.get("args", []))
        kwargs = _decode(record.get("kwargs", {}))
        method: Callable[..., Any] = getattr(panel, op)
        try:
            method(*args, **kwargs)
        except Exception as exc:  # the same operation succeeded when it was recorded
            raise StateFileError(
                f"{self.path}, line {number}: replaying {op} failed ({exc!r}); the file does not match "
                "this panel (another catalogue file, or a changed mockpanel version?)"
            ) from None

    # --- recording ----------------------------------------------------------------

    def attach(self, panel: Panel) -> None:
        """Record every change from now on; writes a header first if the file is new."""
        new = not self.path.exists() or self.path.stat().st_size == 0
        self._file = open(self.path, "a", encoding="utf-8")
        if new:
            meta = json.dumps({**self.identity.as_json(), "start": panel.clock.now()}, separators=(",", ":"))
            self._file.write(f"{MAGIC} {VERSION} {meta}\n")
            self._file.flush()
            os.fsync(self._file.fileno())
        self._panel = panel
        panel.recorder = self._record
        self._last_tick = panel.clock.now()
        self._flusher = threading.Thread(target=self._flush_loop, name="mockpanel-state", daemon=True)
        self._flusher.start()

    def _record(self, name: str, at: float, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if name not in OPERATIONS:
            return
        if name in KEYED and args:
            args = (KeyDigest.of(args[0]),) + tuple(args[1:])
        if name == "add" and len(args) > 2:
            # The request's fields came along whole; the key among them must not reach the disk.
            args = args[:2] + ({k: v for k, v in args[2].items() if k not in ("key", "action")},) + args[3:]
        record = {"at": at, "op": name, "args": [_key(a) for a in _encode(list(args))], "kwargs": _encode(kwargs)}
        self._file.write(_line(record))
        self._file.flush()  # in the kernel before the answer goes out: a kill -9 cannot lose it
        self._dirty.set()

    def _flush_loop(self) -> None:
        while not self._stop.wait(self.fsync_every):
            self.sync()

    def sync(self) -> None:
        """Write the clock's position and make everything durable."""
        panel, f = self._panel, self._file
        if panel is None or f is None or f.closed:
            return
        with panel.lock:
            now = panel.clock.now()
            if now > self._last_tick:
                f.write(_line({"at": now, "tick": True}))
                self._last_tick = now
                self._dirty.set()
            if self._dirty.is_set():
                f.flush()
                os.fsync(f.fileno())
                self._dirty.clear()

    def close(self) -> None:
        self._stop.set()
        if self._flusher is not None:
            self._flusher.join(5)
        self.sync()
        if self._panel is not None:
            self._panel.recorder = None
        if self._file is not None and not self._file.closed:
            self._file.close()


def _key(value: Any) -> Any:
    """Key digests travel as {"$key": hex} so that replay hands them back as KeyDigest."""
    return {"$key": str(value)} if isinstance(value, KeyDigest) else value
