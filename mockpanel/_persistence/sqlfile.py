"""Opening a state file: a SQLite database (WAL), held by one server, checked before use.

Nothing here writes to a file that is not already a mockpanel state file: a foreign,
damaged or old-format file is refused with a message and left as it was.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path
from urllib.parse import quote

from .errors import StateFileError

APPLICATION_ID = 0x6D6B706C  # "mkpl" in the SQLite header: marks the file as mockpanel's
FORMAT = 2  # PRAGMA user_version; the line log before it was format 1
SQLITE_MAGIC = b"SQLite format 3\x00"
LEGACY_MAGIC = b"mockpanel-state "

SCHEMA = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE clock (id INTEGER PRIMARY KEY CHECK (id = 1), horizon REAL NOT NULL);
CREATE TABLE checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, state BLOB NOT NULL);
CREATE TABLE book (name TEXT NOT NULL, chunk INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (name, chunk));
CREATE TABLE ops (seq INTEGER PRIMARY KEY, at REAL NOT NULL, op TEXT NOT NULL, args BLOB NOT NULL);
"""
TABLES = {"meta", "clock", "checkpoint", "book", "ops"}


def _schema() -> set[tuple[str, str, str, str | None]]:
    """Every object a state file holds, as ``sqlite_master`` lists it (the tables and their keys' indexes)."""
    conn = sqlite3.connect(":memory:")
    try:
        for statement in SCHEMA.strip().split(";"):
            if statement.strip():
                conn.execute(statement)
        return set(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"))
    finally:
        conn.close()


OBJECTS = _schema()

_KINDS = {
    stat.S_IFDIR: "a directory", stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket",
}


def converted_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}-sqlite.db") if path.suffix == ".db" else path.with_suffix(".db")


def convert_hint(path: Path) -> str:
    return f"mockpanel state convert {path} {converted_path(path)}"


def open_database(path: Path) -> tuple[sqlite3.Connection, bool]:
    """The open database and whether it is new. Holds the file's lock until closed."""
    head = _check_file(path)
    new = not head
    try:
        conn = sqlite3.connect(
            f"file:{quote(str(path))}?mode={'rwc' if new else 'rw'}", uri=True, timeout=0,
            isolation_level=None, check_same_thread=False,
        )
    except sqlite3.Error as exc:
        raise StateFileError(f"cannot open the state file {path}: {exc}") from None
    try:
        # A file may carry SQL of its author's (triggers, views, functions in its schema): none of it runs
        # here. A file with anything beyond mockpanel's own tables is refused (_check) before any write.
        conn.execute("PRAGMA trusted_schema=OFF")
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")  # held from the first access until close
        if new:
            _create(conn)
        else:
            _check(conn, path)
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL: a commit is in the kernel before it returns
        conn.execute("PRAGMA journal_size_limit=4194304")  # the WAL shrinks back after a big checkpoint
        conn.execute("BEGIN IMMEDIATE")  # take the write lock now: a second server is refused at start
        conn.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        conn.close()
        if "locked" in str(exc) or "busy" in str(exc):
            raise StateFileError(
                f"the state file {path} is in use by another mockpanel serve (or another program): "
                "one file serves one server. Stop the other server, or give this one another --state FILE."
            ) from None
        raise StateFileError(f"cannot use the state file {path}: {exc}") from None
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StateFileError(
            f"the state file {path} is damaged ({exc}): it may have been cut short or overwritten. "
            "Restore a copy, or give --state a new file; this one is left as it is."
        ) from None
    except BaseException:
        conn.close()
        raise
    return conn, new


def _check_file(path: Path) -> bytes:
    """The file's first bytes (b"" if it does not exist or is empty); refuses what is not a state file."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if not path.parent.exists():
            raise StateFileError(f"cannot create the state file {path}: the folder {path.parent} does not exist; "
                                 "create it first, or give --state a file in a folder that exists") from None
        if not path.parent.is_dir():
            raise StateFileError(f"cannot create the state file {path}: {path.parent} is not a folder") from None
        return b""
    except OSError as exc:
        raise StateFileError(f"cannot use the state file {path}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
        raise StateFileError(f"{path} is {kind}, not a state file: give --state the path of a regular file")
    try:
        with open(path, "rb") as f:
            head = f.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise StateFileError(f"cannot read the state file {path}: {exc.strerror}") from None
    if head and head.startswith(LEGACY_MAGIC):
        raise StateFileError(
            f"{path} is a state file of the old line-log format. Convert it once with "
            f"`{convert_hint(path)}`, then start with --state {converted_path(path)}."
        )
    if head and head != SQLITE_MAGIC:
        raise StateFileError(
            f"{path} is not a mockpanel state file. Give --state a new path, or a file "
            "an earlier `mockpanel serve --state` wrote; this one is left as it is."
        )
    return head


def _create(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("BEGIN IMMEDIATE")
    for statement in SCHEMA.strip().split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version={FORMAT}")
    conn.execute("COMMIT")


def _check(conn: sqlite3.Connection, path: Path) -> None:
    if conn.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
        raise StateFileError(
            f"{path} is a SQLite database of another program, not a mockpanel state file. "
            "Give --state a new path; this one is left as it is."
        )
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version != FORMAT:
        raise StateFileError(f"{path} is a state file of format {version}; this mockpanel reads format {FORMAT}")
    _check_size(conn, path)
    problems = [row[0] for row in conn.execute("PRAGMA quick_check")]
    if problems != ["ok"]:
        raise sqlite3.DatabaseError("; ".join(problems[:3]))
    objects = set(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"))
    if objects != OBJECTS:
        names = {(kind, name) for kind, name, _, _ in OBJECTS}
        strangers = sorted(f"{kind} {name}" for kind, name, _, _ in objects if (kind, name) not in names)
        if not strangers:  # its own tables, missing or not as this mockpanel makes them
            changed = sorted({name for _, name, _, _ in objects ^ OBJECTS})
            raise sqlite3.DatabaseError(f"its tables are not the ones this mockpanel writes ({', '.join(changed)})")
        raise StateFileError(
            f"{path} holds SQL objects a mockpanel state file never has ({', '.join(strangers)[:300]}): a trigger "
            "or view in it could change or lose what the server writes. It is refused and left as it is; give "
            "--state a new file"
        )


def _check_size(conn: sqlite3.Connection, path: Path) -> None:
    """A file cut short can lose only unused pages and still pass quick_check: its size tells.

    Only without a WAL: a kill during a checkpoint may leave the file short, and the WAL
    that completes it is replayed on open."""
    wal = Path(f"{path}-wal")
    if wal.exists() and wal.stat().st_size:
        return
    with open(path, "rb") as f:
        header = f.read(100)
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    size = path.stat().st_size
    if not page_size or size % page_size or size < pages * page_size:
        raise sqlite3.DatabaseError(f"it is {size} bytes, not the {pages} pages of {page_size} bytes its header counts")
