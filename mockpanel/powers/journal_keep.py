"""What a journal entry keeps of a request and its answer: every field but the key, the key
redacted wherever else it appears (field names, values, the answer), and each part bounded.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any, Mapping

import orjson

from ..domain.accounts import redact

FIELD_BYTES = 16 << 10  # of one field's value; the rest is cut
FIELDS_BYTES = 64 << 10  # of all the fields of one request; further fields are left out
ANSWER_BYTES = 1 << 20  # of one answer; a longer one is replaced by a note


def kept_fields(key: str, fields: Mapping[str, str]) -> tuple[dict[str, str], int]:
    """The fields an entry keeps, and their size: all but the key, the key redacted anywhere
    else, each bounded."""
    params = {k: v for k, v in fields.items() if k != "key"}
    # One C-level join and search for the common case: small fields, no key pasted anywhere.
    joined = "\0".join(params) + "\0" + "\0".join(params.values())
    if len(joined) <= FIELD_BYTES and not (key and key in joined):
        return params, len(joined)
    shown = redact(key) if key else ""
    out: dict[str, str] = {}
    total = 0
    for name, value in params.items():
        if key and key in name:
            name = name.replace(key, shown)
        if key and key in value:
            value = value.replace(key, shown)
        if len(value) > FIELD_BYTES:
            value = f"{value[:FIELD_BYTES]}... ({len(value)} characters, {FIELD_BYTES} kept)"
        total += len(name) + len(value)
        if total > FIELDS_BYTES:
            out["..."] = f"{len(params) - len(out)} more field(s) not kept (journal limit {FIELDS_BYTES} bytes)"
            break
        out[name] = value
    return out, total


def _scrub_answer(key: str, value: Any) -> Any:
    """An answer that echoes the key (or holds it in a string) shows it redacted."""
    if isinstance(value, str):
        return value.replace(key, redact(key)) if key in value else value
    if isinstance(value, dict):
        return {_scrub_answer(key, k): _scrub_answer(key, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub_answer(key, v) for v in value]
    return value


class Encoded(bytes):
    """An answer kept as the JSON bytes that were sent."""

    def decode(self) -> Any:  # type: ignore[override]
        return json.loads(bytes(self))


def kept_answer(key: str, payload: Any, body: bytes | None) -> tuple[Any, int]:
    """What an entry keeps of an answer, and its size in bytes."""
    if body is not None:
        if key and any(form in body for form in _forms(key)):
            body = orjson.dumps(_scrub_answer(key, json.loads(body)))
        if len(body) > ANSWER_BYTES:
            return {"journal": f"an answer of {len(body)} bytes, not kept (limit {ANSWER_BYTES})"}, 100
        # The bytes as sent: one object the garbage collector never scans (entries() decodes them).
        return Encoded(body), len(body)
    if payload is None:
        return None, 0
    if key:
        payload = _scrub_answer(key, payload)
    size = len(orjson.dumps(payload, default=str))
    if size > ANSWER_BYTES:
        return {"journal": f"an answer of {size} bytes, not kept (limit {ANSWER_BYTES})"}, 100
    return payload, size


def shown_answer(key: str, body: bytes | None) -> Any:
    """The answer a row of references shows: its bytes decoded, the key redacted where it is echoed."""
    if body is None:
        return None
    value = json.loads(body)
    if key and any(form in body for form in _forms(key)):
        return _scrub_answer(key, value)
    return value


_ESCAPED = re.compile(r'["\\\x00-\x1f]')  # characters JSON writes escaped: the key's bytes differ in an answer


@lru_cache(maxsize=256)  # a client sends the same key again and again
def _forms(key: str) -> tuple[bytes, ...]:
    """How ``key`` looks inside a JSON answer: its UTF-8 bytes, and its escaped form if that differs."""
    raw = key.encode("utf-8", "surrogatepass")
    return (raw, orjson.dumps(key)[1:-1]) if _ESCAPED.search(key) else (raw,)
