"""The mock's journal shows a key echoed in an answer redacted however JSON escaped it (PHP's ``\\/``,
``\\uXXXX``): the check for an echo is made on each escaped form, not only on the raw bytes."""

from __future__ import annotations

import json

import orjson
import pytest

from mockpanel._domain.accounts import redact
from mockpanel._powers.journal import kept_answer, shown_answer

KEY = "key/with-é-and-\"quote\""


@pytest.mark.parametrize("echoed", [
    json.dumps(KEY)[1:-1],
    json.dumps(KEY)[1:-1].replace("/", "\\/"),
    json.dumps(KEY, ensure_ascii=False)[1:-1].replace("/", "\\/"),
    orjson.dumps(KEY).decode()[1:-1],
])
def test_an_echoed_key_is_redacted_in_every_json_spelling(echoed):
    body = ('{"error": "unknown key ' + echoed + '"}').encode()
    assert json.loads(body)["error"].endswith(KEY)  # the body does echo it
    kept, _ = kept_answer(KEY, None, body)
    shown = kept.decode() if hasattr(kept, "decode") and not isinstance(kept, dict) else kept
    assert KEY not in json.dumps(shown, ensure_ascii=False) and redact(KEY) in shown["error"]
    assert shown_answer(KEY, body)["error"] == f"unknown key {redact(KEY)}"
