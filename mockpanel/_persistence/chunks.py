"""Big blobs stored in chunks, and only the chunks that changed rewritten.

An order book grows at its end and changes little in the middle, so from one
checkpoint to the next most chunks of its columns are the same bytes: a checkpoint
then writes a few chunks, not the whole book (a million orders are ~130 MB).
A chunk is known unchanged by its length and two checksums (CRC-32 and Adler-32).
"""

from __future__ import annotations

import sqlite3
import zlib
from typing import Iterable

CHUNK = 1 << 19  # bytes a chunk

Sums = dict[tuple[str, int], tuple[int, int, int]]  # (part, chunk) -> (length, crc32, adler32)


def _sums(piece: memoryview) -> tuple[int, int, int]:
    return len(piece), zlib.crc32(piece), zlib.adler32(piece)


def write_parts(conn: sqlite3.Connection, parts: dict[str, bytes], written: Sums) -> Sums:
    """Store ``parts`` in the ``book`` table, skipping chunks ``written`` says are there already.

    Returns what is written after this (the caller keeps it once the transaction commits)."""
    now: Sums = {}
    for name, data in parts.items():
        view = memoryview(data)
        count = max(1, -(-len(view) // CHUNK))
        for i in range(count):
            piece = view[i * CHUNK : (i + 1) * CHUNK]
            sums = _sums(piece)
            if written.get((name, i)) != sums:
                conn.execute("INSERT OR REPLACE INTO book VALUES (?, ?, ?)", (name, i, bytes(piece)))
            now[(name, i)] = sums
    for name, i in set(written) - set(now):
        conn.execute("DELETE FROM book WHERE name = ? AND chunk = ?", (name, i))
    return now


def read_parts(rows: Iterable[tuple[str, int, bytes]]) -> tuple[dict[str, bytes], Sums]:
    """The parts from the ``book`` table's rows, and what is written (for the next ``write_parts``)."""
    pieces: dict[str, list[tuple[int, bytes]]] = {}
    for name, i, data in rows:
        pieces.setdefault(name, []).append((int(i), bytes(data)))
    parts: dict[str, bytes] = {}
    written: Sums = {}
    for name, chunks in pieces.items():
        chunks.sort()
        if [i for i, _ in chunks] != list(range(len(chunks))):
            raise ValueError(f"the order book's part {name!r} has missing chunks")
        parts[name] = b"".join(data for _, data in chunks)
        for i, data in chunks:
            written[(name, i)] = _sums(memoryview(data))
    return parts, written
