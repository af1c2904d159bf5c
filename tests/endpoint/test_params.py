"""_endpoint/params.py: a request's fields as one flat dict[str, str], whatever the encoding."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import parse_qsl, quote, urlencode

from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from mockpanel import ErrorCode, load_dialect
from mockpanel._endpoint.params import FORM, is_form, json_fields, media_type, query_fields, urlencoded_fields
from tests.helpers.common import KEY

names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=10)
values = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


def test_query_fields():
    assert query_fields(b"") == {}
    assert query_fields(b"key=k&action=balance") == {"key": "k", "action": "balance"}
    assert query_fields(b"a=&b") == {"a": "", "b": ""}  # blank values are kept, as PHP does
    assert query_fields(b"a=1&a=2") == {"a": "2"}  # the last repeat wins, as in PHP's $_GET
    assert query_fields(b"link=https%3A%2F%2Fx.test%2F%3Fa%3D1%26b%3D2") == {"link": "https://x.test/?a=1&b=2"}
    assert query_fields(b"q=a+b%20c") == {"q": "a b c"}
    assert query_fields("u=%C3%BC".encode()) == {"u": "ü"}


def test_urlencoded_fields():
    assert urlencoded_fields(b"") == {}
    assert urlencoded_fields(b"key=k&comments=a%0Ab%0Ac") == {"key": "k", "comments": "a\nb\nc"}
    assert urlencoded_fields(b"x=1&x=2&x=3") == {"x": "3"}
    assert urlencoded_fields("name=ü".encode()) == {"name": "ü"}  # raw UTF-8, not percent-encoded
    assert urlencoded_fields(b"name=\xfc") == {"name": "ü"}  # not UTF-8: read as Latin-1
    assert urlencoded_fields(b"bad=%ff%fe") == {"bad": "\ufffd\ufffd"}  # broken escapes do not raise
    assert urlencoded_fields(b"&&=&==&a=1") == {"": "=", "a": "1"}  # junk separators do not lose fields


@settings(max_examples=200)
@given(st.lists(st.tuples(names, values), max_size=10))
def test_urlencoded_round_trip_like_phps_hand_built_body(pairs):
    """What the panels' PHP example sends (name=urlencode(value) joined by &) reads back, last wins."""
    body = "&".join(f"{quote(n, safe='')}={quote(v, safe='').replace('%20', '+')}" for n, v in pairs).encode()
    assert urlencoded_fields(body) == dict(pairs)
    assert query_fields(urlencode(pairs).encode()) == dict(pairs)


def test_json_fields_flattens_to_form_strings():
    body = json.dumps({
        "key": "k", "service": 1, "quantity": 100, "rate": 1.5, "orders": [1, 2, "3"],
        "yes": True, "no": False, "none": None, "nested": {"a": 1}, "mixed": [1, {"a": 2}],
    }).encode()
    assert json_fields(body) == {
        "key": "k", "service": "1", "quantity": "100", "rate": "1.5", "orders": "1,2,3",
        "yes": "1", "no": "",  # PHP's casts of true and false
    }


def test_json_fields_keep_numbers_beyond_64_bits():
    body = b'{"key": "k", "action": "add", "quantity": 123456789012345678901234567890, "runs": 1e400}'
    assert json_fields(body) == {"key": "k", "action": "add", "quantity": "123456789012345678901234567890", "runs": "inf"}


def test_a_huge_json_quantity_is_an_error_about_the_quantity_not_the_key(client):
    body = (b'{"key": "%s", "action": "add", "service": 1, "link": "https://p.test", '
            b'"quantity": 123456789012345678901234567890}' % KEY.encode())
    r = client.post("/api/v2", content=body, headers={"Content-Type": "application/json"})
    assert r.json() == {"error": load_dialect("standard").message(ErrorCode.INVALID_FIELD, {"field": "quantity"})}


def test_json_fields_that_are_not_an_object_give_nothing():
    for body in [b"", b"[1,2]", b"3", b'"key"', b"null", b"{", b"{'key': 'k'}", b"\xff\xfe", b"[" * 5000, b"[" * 100_000,
                 b'{"a":' * 100_000]:
        assert json_fields(body) == {}, body


@given(st.dictionaries(names, st.one_of(values, st.integers(-(2**63), 2**63 - 1), st.booleans(), st.none()), max_size=8))
def test_json_fields_never_raise_and_keep_scalars(obj):
    out = json_fields(json.dumps(obj).encode())
    for name, value in obj.items():
        if value is None:
            assert name not in out
        elif isinstance(value, bool):
            assert out[name] == ("1" if value else "")
        else:
            assert out[name] == str(value)


def test_media_type():
    assert media_type("") == ""
    assert media_type("application/json") == "application/json"
    assert media_type("Application/JSON; charset=UTF-8") == "application/json"
    assert media_type(" multipart/form-data ; boundary=x") == "multipart/form-data"
    assert media_type(";;;") == ""


_ESCAPES = ["%2C", "%2c", "%E2", "%82%AC", "%%", "%zz", "%3A", "%2F", "%2f", "%2B", "%25", "%00", "%ff", "%7F", "%41", "%7e",
            "%26", "%3D", "%2", "%C3%A9", "%F0%9F%98%80", "%ED%A0%80"]
_FORM_ALPHABET = st.sampled_from(list("ab=&+%2Cc,; é\u00ff0") + _ESCAPES + ["\ud800"])


@settings(max_examples=500)
@given(st.lists(_FORM_ALPHABET, max_size=30).map("".join))
def test_the_form_parser_reads_every_body_as_parse_qsl_does(text):
    body = text.encode("utf-8", "surrogatepass")  # a lone surrogate: invalid UTF-8, read as latin-1
    try:
        decoded = body.decode("utf-8")
    except UnicodeDecodeError:
        decoded = body.decode("latin-1")
    expected = dict(parse_qsl(decoded, keep_blank_values=True, encoding="utf-8", errors="replace"))
    assert urlencoded_fields(body) == expected


def _starlette_form(body: bytes) -> dict[str, str]:
    """What Starlette's own form parser reads from a urlencoded body (the last of repeated names)."""
    scope = {"type": "http", "method": "POST", "headers": [(b"content-type", FORM.encode())]}

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def read() -> dict[str, str]:
        form = await Request(scope, receive).form()
        return {name: value for name, value in form.multi_items() if isinstance(value, str)}

    return asyncio.run(read())


@settings(max_examples=300)
@given(st.lists(st.sampled_from(list("ab=&+%2Cc,;0") + _ESCAPES[:-3]), max_size=30).map("".join))
def test_percent_escapes_read_as_starlettes_form_parser_reads_them(text):
    # ASCII bodies (as every client library percent-encodes them): "+" a space, "%XX" a byte, the
    # bytes UTF-8 with U+FFFD for what is not, a "%" that starts no escape kept as it is.
    body = text.encode("ascii")
    assert urlencoded_fields(body) == _starlette_form(body)


def test_what_clients_send_is_read_back():
    fields = {"key": KEY, "action": "add", "service": "1", "quantity": "100",
              "link": "https://www.instagram.com/p/C8x_y-z/?utm_source=ig_web_copy_link&igsh=MzRl==#top",
              "comments": "nice +1 %25 100%\nsecond, line é", "orders": "1,2,3"}
    body = urlencode(fields).encode()  # what PHP's http_build_query, requests and httpx send
    assert urlencoded_fields(body) == fields == _starlette_form(body)
    assert urlencoded_fields(b"a=%2B%25%zz%ff%00%2") == {"a": "+%%zz\ufffd\x00%2"} == _starlette_form(b"a=%2B%25%zz%ff%00%2")


def test_the_form_parser_on_an_id_list_and_repeated_fields():
    assert urlencoded_fields(b"orders=1%2C2%2c3&a=1&a=2&b&=x&c=%2C%41+") == {
        "orders": "1,2,3", "a": "2", "b": "", "": "x", "c": ",A "}


@given(st.sampled_from(["application/x-www-form-urlencoded", "Application/X-WWW-Form-Urlencoded", "application/json",
                        "multipart/form-data", "text/plain", ""]),
       st.sampled_from(["", "; charset=UTF-8", ";charset=utf-8", " ", "  ; q=1", "x", " foo"]),
       st.sampled_from(["", " ", "\t"]))
def test_is_form_says_what_media_type_says(kind, rest, lead):
    header = lead + kind + rest
    assert is_form(header.encode("latin-1")) is (media_type(header) == FORM)
