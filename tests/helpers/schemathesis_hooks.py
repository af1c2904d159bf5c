"""Schemathesis hooks for tests/endpoint/test_openapi_schemathesis.py (loaded by ``schemathesis run`` through
``SCHEMATHESIS_HOOKS``): most generated requests carry a key and ids the panel has, so the run reaches the
actions' answers, not only the invalid-key error; and a body labelled text/html is read as the JSON it is
(the SmartPanel family's, docs/openapi.md)."""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis

# {"key": KEY, "order": [ids], "refill": [ids], "service": [ids]}: what the test's panel has (never a real key).
KNOWN: dict[str, Any] = json.loads(os.environ.get("MOCKPANEL_SCHEMATHESIS_KNOWN", "{}"))
_LISTS = {"orders": "order", "refills": "refill"}


def _known(fields: Any) -> Any:
    """``fields`` with most of the key and ids replaced by known ones (chosen by the generated value's
    length: deterministic for a seed, and about a quarter left as generated)."""
    if not isinstance(fields, dict) or not KNOWN:
        return fields
    out = dict(fields)
    for name, value in fields.items():
        if not isinstance(value, str) or len(value) % 4 == 3:
            continue
        if name == "key":
            out[name] = KNOWN["key"]
        elif name in KNOWN and name != "key":
            out[name] = KNOWN[name][len(value) % len(KNOWN[name])]
        elif name in _LISTS:
            ids = KNOWN[_LISTS[name]]
            out[name] = ",".join(ids[: 1 + len(value) % len(ids)])
    return out


@schemathesis.hook
def map_case(context: schemathesis.HookContext, case: schemathesis.Case) -> schemathesis.Case:
    # Every phase's cases (coverage's included), unlike map_body, which only sees generated bodies.
    if isinstance(case.body, dict):
        case.body = _known(case.body)
    query = case.query
    if isinstance(query, dict):
        inner = query.get("fields")
        case.query = {**query, "fields": _known(inner)} if isinstance(inner, dict) else _known(query)
    return case


@schemathesis.deserializer("text/html")
def text_html(ctx: schemathesis.DeserializationContext, response: schemathesis.Response) -> Any:
    text = response.content.decode("utf-8")
    return json.loads(text) if text.strip() else text
