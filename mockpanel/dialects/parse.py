"""Wire values to domain values: id lists and single ids, read with the domain's one integer
parser (``domain/numbers.py``, re-exported here)."""

from __future__ import annotations

from ..domain.numbers import MAX_DIGITS, MAX_ID, is_digits, parse_int

__all__ = ["MAX_DIGITS", "MAX_ID", "is_digits", "parse_id", "parse_ids", "parse_int", "split_ids"]


def parse_id(raw: str | None) -> int | None:
    """An id as the panel stores it (1 to 18 ASCII digits), or None if ``raw`` is not one."""
    return None if raw is None else parse_int(raw)


def parse_ids(tokens: list[str]) -> list[int | None]:
    """``parse_id`` for a batch of tokens ``split_ids`` already stripped (one loop: a 100-id status)."""
    # is_digits inlined: a call per token is a fifth of a 100-id status.
    return [int(t) if 0 < len(t) <= MAX_DIGITS and t.isascii() and t.isdigit() else None for t in tokens]


def split_ids(raw: str) -> list[str]:
    """The tokens of an id list: "1,2,3", " 1, 2 ", or a JSON array "[1,2,3]" (old SmartPanel)."""
    raw = raw.strip()
    if raw.startswith("[") and raw.endswith("]"):
        raw = raw[1:-1].replace('"', "")
    return [token.strip() for token in raw.split(",") if token.strip()]
