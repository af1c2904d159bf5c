"""StateFile: a panel kept in a SQLite file, ``mockpanel serve --state FILE``.

The file holds a checkpoint (the whole panel at one change) and the changes since,
each an operation with the instant it ran at. The panel is deterministic given its
seed and the operations it received at their virtual times, so the checkpoint plus a
replay of the changes rebuilds it exactly.

- A change is committed, with the clock, before its answer leaves. If the commit fails
  (disk full, read-only, I/O error) the panel is rebuilt from the file, which holds
  everything answered before, and the request is answered 503: nothing changed.
  (Rebuilding was chosen over undoing each change by hand: it is exact by
  construction, and costs a restart's time only when the disk fails.)
- Checkpoints keep the tail of changes short, so a restart replays at most about
  ``checkpoint_every`` changes, however long the history.
- Keys are written as SHA-256 digests; an order as its typed request, never its wire fields.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from contextlib import contextmanager
from typing import Any, Iterator

from .._panel import snapshot
from .._panel.panel import Panel
from .book import book_from, book_parts
from .chunks import Sums, read_parts, write_parts
from .clock import Horizon
from .codec import dumps, encode, loads
from .errors import StateFileError, StateUnavailable
from .records import RECORDED, Identity, StoredChange, apply, stored_args, stored_change
from .sqlfile import open_database

CHECKPOINT_MIN = 10_000  # changes between checkpoints, at least; more for a big panel (see _due)


class StateFile:
    """Load a panel from its file, then record every change to it (its recording's recorder)."""

    def __init__(self, path: str | os.PathLike[str], identity: Identity, *, checkpoint_every: int = CHECKPOINT_MIN) -> None:
        self.path = os.path.abspath(path)
        self.identity = identity
        self.checkpoint_every = checkpoint_every
        self.replayed = 0
        self._conn: sqlite3.Connection | None = None
        self._db = threading.RLock()  # one connection, used from the server's threads
        self._panel: Panel | None = None
        self.horizon: Horizon | None = None  # the clock's guard, while attached
        self._seq = 0  # the last change written
        self._tail = 0  # changes since the checkpoint
        self._failing = False  # the last write failed: probe before the next change
        self._broken: str | None = None  # the panel could not be rebuilt: refuse every change
        self._written: Sums = {}  # the checkpoint's chunks in the file (a checkpoint rewrites only changed ones)

    # --- loading ------------------------------------------------------------------

    def load(self, panel: Panel) -> int:
        """Open (and lock) the file and rebuild ``panel`` (fresh) from it; the number of changes replayed."""
        from pathlib import Path

        conn, new = open_database(Path(self.path))
        self._conn = conn
        try:
            if new:
                self._start(panel)
                return 0
            saved = json.loads(self._meta("identity"))
            different = self.identity.differences(saved)
            if different:
                words = ", ".join(f"{k} {old!r} (now {new!r})" for k, (old, new) in different.items())
                raise StateFileError(
                    f"{self.path} was written by a panel with {words}. Start with the same settings "
                    "to continue it, or give --state a new file."
                )
            self.replayed = self._rebuild(panel)
            (horizon,) = conn.execute("SELECT horizon FROM clock").fetchone()
            panel.clock.start_over_at(horizon)  # resume where readings stopped: never before anything answered
            return self.replayed
        except StateFileError:
            self._close_quietly()
            raise
        except Exception as exc:  # whatever the file holds (nesting past the recursion limit, wrong types ...)
            self._close_quietly()
            reason = str(exc)[:300] if isinstance(exc, (sqlite3.DatabaseError, ValueError, KeyError, TypeError)) \
                else f"{type(exc).__name__}: {str(exc)[:300]}"
            raise StateFileError(
                f"the state file {self.path} is damaged ({reason}). Restore a copy, or give --state a new file; "
                "this one is left as it is."
            ) from None

    def _start(self, panel: Panel) -> None:
        assert self._conn is not None
        with self._transaction() as conn:
            conn.execute("INSERT INTO meta VALUES ('identity', ?)", (json.dumps(self.identity.as_json()),))
            conn.execute("INSERT INTO clock VALUES (1, ?)", (panel.clock.now(),))
            written = self._write_checkpoint(conn, panel, 0)
        self._written = written

    def _meta(self, name: str) -> str:
        assert self._conn is not None
        row = self._conn.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise KeyError(f"no {name}")
        return str(row[0])

    def _rebuild(self, panel: Panel) -> int:
        """Put the file's state into ``panel`` (its lock, hooks and clock stay); the changes replayed."""
        assert self._conn is not None
        conn, clock = self._conn, panel.clock
        with panel.lock, self._db:
            seq, state = conn.execute("SELECT seq, state FROM checkpoint").fetchone()
            parts, written = read_parts(conn.execute("SELECT name, chunk, data FROM book"))
            data = loads(state)
            ids = _order_ids(data, parts)
            loaded = snapshot.load(data, book=book_from(parts))
            for digest, account in loaded.account_book.by_digest.items():
                account.order_ids = ids.get(digest.hex(), account.order_ids)
            with panel.recording.replay():
                panel.core.adopt(loaded)
                count = 0
                for number, at, op, args in conn.execute("SELECT seq, at, op, args FROM ops ORDER BY seq").fetchall():
                    if number != seq + 1:
                        raise StateFileError(f"the state file {self.path} is damaged: change {seq + 1} is missing")
                    with clock.pinned_at(at):  # the instant it ran (a pin is per thread)
                        self._apply(panel, number, op, args)
                    seq, count = number, count + 1
            self._seq, self._tail, self._written = seq, count, written
        return count

    def _apply(self, panel: Panel, number: int, op: str, blob: bytes) -> None:
        try:
            apply(panel, op, blob)
        except Exception as exc:  # the same operation succeeded when it was recorded
            raise StateFileError(
                f"{self.path}, change {number}: replaying {op} failed ({exc!r}); the file does not match "
                "this panel (another catalogue file, or a changed mockpanel version?)"
            ) from None

    # --- recording ----------------------------------------------------------------

    def attach(self, panel: Panel) -> None:
        """Record every change from now on; the clock becomes durable (the file's horizon guards it)."""
        assert self._conn is not None, "load() opens the file"
        (horizon,) = self._conn.execute("SELECT horizon FROM clock").fetchone()
        self.horizon = Horizon(panel.clock, max(horizon, panel.clock.now()), self._commit_horizon)
        panel.clock.set_guard(self.horizon)
        self._panel = panel
        panel.recording.attach(self)

    def prepare(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> StoredChange:
        """The change as it will be stored; raises StateUnavailable before anything changes."""
        if self._broken:
            raise StateUnavailable(self._broken)
        if self._failing:  # the disk failed a moment ago: try it before changing anything
            try:
                with self._transaction() as conn:
                    conn.execute("UPDATE clock SET horizon = horizon")
            except sqlite3.Error as exc:
                raise self._unavailable(exc) from None
            self._failing = False
        if name not in RECORDED:  # fail loudly: an unrecorded change would be lost at restart
            raise RuntimeError(f"Panel.{name} changes the panel, but state files do not record it yet (mark it @mutation)")
        kwargs = dict(kwargs)
        if name == "reset" and "catalog" in kwargs:
            args = (kwargs.pop("catalog"),)
        args = stored_args(name, args)
        return stored_change(name, dumps({"args": encode(list(args)), "kwargs": encode(kwargs)}))

    def commit(self, change: StoredChange, at: float) -> None:
        """Make the change durable, with the clock; if that fails, undo it and raise StateUnavailable."""
        guard, horizon = self.horizon, None
        if guard is not None:
            natural = guard.clock.natural()
            if natural > guard.at:  # the change moved the clock (a restored state's time)
                horizon = guard.ahead(natural)
        row = (self._seq + 1, at, change.name, change.args)
        try:
            if horizon is None:  # one statement: SQLite commits it on its own, in one transaction
                with self._db:
                    self._execute("INSERT INTO ops VALUES (?, ?, ?, ?)", row)
            else:
                with self._transaction() as conn:
                    conn.execute("INSERT INTO ops VALUES (?, ?, ?, ?)", row)
                    conn.execute("UPDATE clock SET horizon = ?", (horizon,))
        except sqlite3.Error as exc:
            self._failing = True
            self._undo()
            raise self._unavailable(exc) from None
        self._seq += 1
        self._tail += 1
        if horizon is not None and guard is not None:
            guard.extend(horizon)  # already committed: only moves the bound
        if self._tail >= self._due():
            self.checkpoint()

    def _commit_horizon(self, horizon: float) -> None:
        try:
            with self._transaction() as conn:
                conn.execute("UPDATE clock SET horizon = ?", (horizon,))
        except sqlite3.Error as exc:
            self._failing = True
            raise self._unavailable(exc) from None

    def _unavailable(self, exc: BaseException) -> StateUnavailable:
        return StateUnavailable(
            f"the state file cannot be written ({exc}); nothing was changed. Free space on its disk "
            "(or make it writable) and retry."
        )

    def _undo(self) -> None:
        """Put the panel back as the file has it: as it was before the change that failed."""
        panel = self._panel
        assert panel is not None
        try:
            with panel.clock.held():  # a replayed restore moves the clock: the clock stays as it was
                self._rebuild(panel)
        except Exception as exc:  # nothing can be trusted now
            self._broken = (
                f"the state file could not be read back after a failed write ({exc}); "
                "restart the server (it loads what was answered)"
            )

    # --- checkpoints ----------------------------------------------------------------

    def _due(self) -> int:
        panel = self._panel
        # A replay costs about as much per change as a checkpoint per order: keep the two balanced.
        return max(self.checkpoint_every, len(panel.orders) // 50) if panel is not None else self.checkpoint_every

    def checkpoint(self) -> bool:
        """Write the whole panel and drop the changes it covers; False if the disk refused (kept as it was)."""
        panel = self._panel
        if panel is None or self._conn is None:
            return False
        with panel.lock:
            try:
                with self._transaction() as conn:
                    written = self._write_checkpoint(conn, panel, self._seq)
                self._written = written
            except sqlite3.Error:
                self._failing = True
                self._tail = 0  # try again after as many changes, not at every one
                return False  # the changes are still in the file: nothing is lost
            self._tail = 0
        with self._db:
            try:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # move it into the file, shrink the WAL
            except sqlite3.Error:
                pass
        return True

    def _write_checkpoint(self, conn: sqlite3.Connection, panel: Panel, seq: int) -> Sums:
        """Write the checkpoint; returns the chunks written (kept once the transaction commits)."""
        data = snapshot.dump(panel.core, orders=False)
        parts = book_parts(panel.orders)
        for digest, account in panel.account_book.by_digest.items():  # order ids grow like the book: stored in chunks
            parts[f"order_ids:{digest.hex()}"] = account.order_ids.tobytes()
        conn.execute("INSERT OR REPLACE INTO checkpoint VALUES (1, ?, ?)", (seq, dumps(data)))
        written = write_parts(conn, parts, self._written)
        conn.execute("DELETE FROM ops WHERE seq <= ?", (seq,))
        return written

    # --- the file -----------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._db:
            conn = self._conn
            if conn is None:
                raise sqlite3.OperationalError("the state file is closed")
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # a failed COMMIT may have rolled back already
                raise

    def _execute(self, sql: str, params: tuple[Any, ...]) -> None:
        if self._conn is None:
            raise sqlite3.OperationalError("the state file is closed")
        self._conn.execute(sql, params)

    def sync(self) -> None:
        """Every change is committed as it happens; kept for callers of the line-log format."""

    def close(self) -> None:
        panel = self._panel
        if panel is not None:
            if self._tail and not self._broken:
                self.checkpoint()  # the next start replays nothing
            panel.recording.detach()
            panel.clock.set_guard(None)
            self.horizon = None
            self._panel = None
        self._close_quietly()

    def _close_quietly(self) -> None:
        with self._db:
            if self._conn is not None:
                try:
                    self._conn.close()
                except sqlite3.Error:
                    pass
                self._conn = None


def _order_ids(data: dict[str, Any], parts: dict[str, bytes]) -> dict[str, Any]:
    """Each account's order ids, from their chunks (the checkpoint's JSON holds null for them)."""
    from array import array

    ids = {}
    for item in data.get("accounts", []):
        if item.get("order_ids") is None:
            column = array("q")
            column.frombytes(parts.pop(f"order_ids:{item['digest']}"))
            ids[item["digest"]] = column
            item["order_ids"] = []
    return ids
