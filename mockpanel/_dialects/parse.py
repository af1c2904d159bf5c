"""Wire values to domain values: id lists and single ids, read with the domain's one integer
parser (``_domain/numbers.py``, re-exported here)."""

from __future__ import annotations

from .._domain.numbers import MAX_DIGITS, MAX_ID, is_digits, parse_int

__all__ = [
    "MAX_DIGITS", "MAX_ID", "OBJECT_ID", "is_digits", "object_id", "parse_id", "parse_ids", "parse_int",
    "parse_object_id", "parse_object_ids", "split_ids",
]


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


OBJECT_ID = 24  # hex digits of a MongoDB ObjectId


def parse_object_id(raw: str | None) -> int | None:
    """An id written as a 24-hex ObjectId (as the ObjectId panels write them), or None."""
    if raw is None:
        return None
    text = raw.strip().lower()
    if len(text) != OBJECT_ID or not text.isascii() or any(ch not in "0123456789abcdef" for ch in text):
        return None
    value = int(text, 16)
    return value if 0 < value <= MAX_ID else None


def parse_object_ids(tokens: list[str]) -> list[int | None]:
    return [parse_object_id(t) for t in tokens]


def object_id(value: int) -> str:
    """The 24-hex spelling of a stored id."""
    return format(value, "024x")
