"""Keys are hidden in any encoding (conformance/redaction.py): as they are, JSON-escaped (PHP's ``\\/``,
``\\uXXXX``), percent-encoded, as HTML character references, and any mixture; nothing else changes."""

from __future__ import annotations

import html
import json
from urllib.parse import quote, quote_plus

import pytest

from conformance.redaction import Redactor, redact

KEY = "slash/key+é-42<x> 😀"
FORMS = {
    "as sent": KEY,
    "json": json.dumps(KEY, ensure_ascii=False)[1:-1],
    "json ascii": json.dumps(KEY)[1:-1],
    "php": json.dumps(KEY)[1:-1].replace("/", "\\/"),
    "percent": quote(KEY, safe=""),
    "percent lower": quote(KEY, safe="").lower(),
    "form": quote_plus(KEY),
    "html": html.escape(KEY),
    "html decimal": "".join(f"&#{ord(c)};" for c in KEY),
    "html hex": "".join(f"&#x{ord(c):X};" for c in KEY),
    "every char escaped": "".join(f"\\u{ord(c):04x}" if ord(c) < 0x10000 else json.dumps(c)[1:-1] for c in KEY),
    "mixed": "slash%2Fkey+&eacute;-42\\u003cx&gt;+\\ud83d\\ude00",
}


@pytest.fixture
def red() -> Redactor:
    redactor = Redactor()
    redactor.add(KEY)
    return redactor


@pytest.mark.parametrize("form", sorted(FORMS))
def test_a_key_in_any_encoding_is_hidden_in_text(red, form):
    text = f'{{"error": "bad key {FORMS[form]} given", "n": 1000}}'
    shown = red(text)
    assert FORMS[form] not in shown and redact(KEY) in shown, shown
    assert shown.startswith('{"error": "bad key ') and shown.endswith(' given", "n": 1000}')


@pytest.mark.parametrize("form", sorted(FORMS))
def test_a_key_in_any_encoding_is_hidden_in_parsed_values(red, form):
    data = red.data({"link": f"https://x.test/?k={FORMS[form]}", "balance": "1000.00"})
    assert FORMS[form] not in data["link"] and redact(KEY) in data["link"] and data["balance"] == "1000.00"


def test_text_without_the_key_is_left_as_it_was(red):
    text = "a %2F b &amp; c \\/ d \\u0041 e + f " + quote("slash/key+é-42<y>", safe="")
    assert red(text) == text


def test_a_plain_key_is_still_hidden_only_as_a_key_field(red):
    red.add("1000")
    assert red("key=1000&balance=1000") == f"key={redact('1000')}&balance=1000"
