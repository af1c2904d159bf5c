"""Wire values to domain values: id lists and single ids, read with the domain's one integer
parser (``_domain/numbers.py``, re-exported here)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cached_property

from .._domain.numbers import MAX_DIGITS, MAX_ID, is_digits, parse_int

__all__ = [
    "MAX_DIGITS", "MAX_ID", "MYSQL_CAST", "NumberCast", "OBJECT_ID", "PHP_CAST", "is_digits", "object_id", "parse_id",
    "parse_ids", "parse_int", "parse_object_id", "parse_object_ids", "split_ids",
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


_NUMBER = r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?)"  # a sign, digits, a fraction, an exponent


@dataclass(frozen=True)
class NumberCast:
    """How a panel's language reads a string it compares with, or computes as, a whole number: after
    white space (``spaces``), a decimal number with an optional sign, fraction and exponent of 1 to 3
    digits ("1e2", "100.0", "+7"); taken when it is whole and within ``bound``, else None (no fraction
    is an id or a quantity, nor is a number that large).

    The casts differ in two things: the white space they skip, and whether the number must be the whole
    text (``whole_text``: PHP's numeric string, white space after it allowed) or only its start, the rest
    ignored (MySQL: "1abc" is 1)."""

    spaces: str
    whole_text: bool
    bound: int

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        space = f"[{re.escape(self.spaces)}]*"
        return re.compile(space + _NUMBER + (space if self.whole_text else ""))

    def read(self, raw: str) -> int | None:
        """The whole number ``raw`` names under this cast, or None."""
        match = self._pattern.fullmatch(raw) if self.whole_text else self._pattern.match(raw)
        if match is None:
            return None
        try:
            value = Decimal(match.group(1))
        except InvalidOperation:
            return None
        if not value.is_finite() or value != value.to_integral_value() or abs(value) > self.bound:
            return None
        return int(value)


# MySQL comparing a string with an integer column: the longest number at the start, after spaces.
MYSQL_CAST = NumberCast(" \t\n\r", whole_text=False, bound=MAX_ID)
# A PHP numeric string (" 100 ", "1e2"): the whole text, white space on either side (a quantity's bound).
PHP_CAST = NumberCast(" \t\n\r\v\f", whole_text=True, bound=10**15)
