"""Reading an answer's body as JSON the way RFC 8259 asks of it, and saying where it is not.

orjson already refuses NaN and Infinity, a byte order mark and content after the document, but
it takes an object with a name twice (the last value wins) without a word: RFC 8259 section 4
says the names within an object SHOULD be unique, and a client cannot know which value the
panel meant. Each defect is named, so a finding says what is wrong, not only "not JSON".
"""

from __future__ import annotations

from collections import Counter

import json
from typing import Any

import orjson

from ._exchange import NOT_JSON

BOM = b"\xef\xbb\xbf"
RFC = "RFC 8259 (https://www.rfc-editor.org/rfc/rfc8259)"


class _Duplicate(ValueError):
    pass


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) < len(pairs):  # linear: a 10 MB answer may hold an object of 100,000 names
        twice = sorted(name for name, times in Counter(name for name, _ in pairs).items() if times > 1)
        raise _Duplicate(", ".join(repr(n) for n in twice[:3]))
    return found


def _constant(name: str) -> Any:
    raise ValueError(name)


def duplicate_names(raw: bytes) -> str | None:
    """The names an object of ``raw`` (valid JSON) has twice, or None."""
    if b"{" not in raw:
        return None
    try:
        json.loads(raw, object_pairs_hook=_unique)
    except _Duplicate as exc:
        return str(exc)
    except (ValueError, RecursionError):  # what orjson took and the standard library does not: not a duplicate
        return None
    return None


def read_json(raw: bytes) -> tuple[Any, str | None]:
    """(the parsed body or NOT_JSON, what makes it invalid JSON or None).

    A body with a byte order mark or a duplicated name is still read (as a lenient client reads it),
    so the rest of the answer is judged too; the defect is reported all the same."""
    if not raw.strip():
        return NOT_JSON, None
    defect = None
    body = raw
    if raw.startswith(BOM):
        defect = f"the answer starts with a byte order mark, which {RFC} section 8.1 forbids a sender to add"
        body = raw[len(BOM):]
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return NOT_JSON, defect or _why_not(body, exc)
    twice = duplicate_names(body)
    if twice is not None and defect is None:
        defect = (f"an object has the name {twice} more than once ({RFC} section 4: names within an object "
                  "should be unique; which value holds is up to each client)")
    return data, defect


def _why_not(body: bytes, exc: orjson.JSONDecodeError) -> str | None:
    """Why ``body`` is not JSON, where it is almost JSON (NaN, Infinity, content after the document)."""
    try:
        json.loads(body, parse_constant=_constant)
    except json.JSONDecodeError as inner:
        if inner.msg == "Extra data":
            return f"content after the JSON document at byte {inner.pos} ({RFC} section 2: one value)"
        return None
    except ValueError as inner:
        return f"{inner} is not a JSON number ({RFC} section 6)"
    except RecursionError:
        return None
    return f"not JSON: {exc}"
