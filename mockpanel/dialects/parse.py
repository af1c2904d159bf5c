"""Wire values to domain values: the one integer parser, id lists, single ids.

Every integer the mock reads from a client (ids, quantities, runs, trigger numbers,
catalogue fields) goes through ``parse_int``: ASCII digits only (``int()`` would also
take "١٢", "１２" and "1_000", and raises on "²", which ``str.isdigit`` admits), at most
18 of them (every value fits a signed 64-bit column and JSON's int64), and a range.
"""

from __future__ import annotations

MAX_DIGITS = 18
MAX_ID = 10**MAX_DIGITS - 1


def is_digits(text: str) -> bool:
    """1 to 18 ASCII digits, nothing else."""
    return 0 < len(text) <= MAX_DIGITS and text.isascii() and text.isdigit()


def parse_int(raw: object, *, low: int = 0, high: int = MAX_ID, plus: bool = False) -> int | None:
    """A whole number in [low, high] from a str (spaces around it allowed; a leading "+"
    if ``plus``) or an int; None for anything else (bools, floats, other digits, too long)."""
    if raw.__class__ is int:
        value: int = raw
    elif isinstance(raw, str):
        text = raw.strip()
        if plus and text[:1] == "+":
            text = text[1:]
        if not is_digits(text):
            return None
        value = int(text)
    else:
        return None
    return value if low <= value <= high else None


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
