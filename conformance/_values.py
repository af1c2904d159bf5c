"""Reading values off the wire: JSON kinds, decimal strings, whole numbers, flags, short quotes.

Lenient on purpose where a plan needs a number (a rate, a min), strict where a
check needs the dialect's exact kind (``is_kind``).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from .session import NOT_JSON

_DECIMAL = re.compile(r"-?\d+(\.\d+)?")
WHOLE = re.compile(r"\d+")
OBJECT_ID = re.compile(r"[0-9a-f]{24}")
CURRENCY = re.compile(r"[A-Z]{3}")


def short(value: Any, limit: int = 160) -> str:
    """A value as compact JSON for a message."""
    if value is NOT_JSON:
        return "(not JSON)"
    try:
        text = orjson.dumps(value).decode()
    except TypeError:
        text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def kind_name(kind: str) -> str:
    return {
        "int": "an integer", "str": "a string", "bool": "a boolean", "int01": "0 or 1", "str01": "\"0\" or \"1\"",
        "str_or_null": "a string or null",
        "objectid": "a 24-hex id string",
        "type_name": "a type name string", "type_slug": "a type slug string", "rate": "a decimal string",
        "money": "a money string", "currency": "a currency string", "status": "a status string",
        "id_str": "an id string", "id_int": "an integer id",
    }.get(kind, kind)


def json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return "a list" if isinstance(value, list) else "an object"


def is_kind(value: Any, kind: str) -> bool:
    if kind in ("int", "id_int"):
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int01":
        return isinstance(value, int) and not isinstance(value, bool) and value in (0, 1)
    if kind == "str01":
        return value in ("0", "1")
    if kind == "str_or_null":  # a column the panel may leave NULL
        return value is None or isinstance(value, str)
    return isinstance(value, str)  # str, type_name, type_slug, rate, money, currency, status, id_str


def decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    text = str(value).strip()
    if not _DECIMAL.fullmatch(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def flag(value: Any) -> bool | None:
    """A service flag as a boolean: true, 1, "1", "true" are true; false, 0, "0", "false", "" are false;
    None if absent or unreadable (Python truthiness would read "0" and "false" as true)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0 if value in (0, 1) else None
    if isinstance(value, str):
        word = value.strip().lower()
        return True if word in _TRUE else False if word in _FALSE else None
    return None


def whole(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip() if value is not None else ""
    return int(text) if WHOLE.fullmatch(text) else None


def error_text(body: Any) -> str | None:
    """The words of an error answer (``error``, else ``message``), or None when ``body`` has none."""
    if isinstance(body, dict):
        for name in ("error", "message"):
            text = body.get(name)
            if isinstance(text, str):
                return text
    return None
