"""The one integer parser: every whole number the mock reads (ids, quantities, runs, trigger numbers,
catalogue fields) goes through ``parse_int``.

ASCII digits only (``int()`` would also take "١٢", "１２" and "1_000", and raises on "²", which
``str.isdigit`` admits), at most 18 of them (every value fits a signed 64-bit column and JSON's
int64), and a range. It lives in the domain, which needs it; the dialect re-exports it.
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
    elif raw.__class__ is str and 0 < len(raw) <= MAX_DIGITS and raw.isdigit() and raw.isascii():
        value = int(raw)  # the common case, digits alone: nothing to strip
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
