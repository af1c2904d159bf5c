"""Answers are read as RFC 8259 asks: each way a body is not valid JSON is named."""

from __future__ import annotations

import pytest

from conformance._exchange import NOT_JSON
from conformance._json_text import read_json


@pytest.mark.parametrize(("body", "said"), [
    (b'{"balance": "1.0", "balance": "2.0"}', "name 'balance' more than once"),
    (b'[{"a": 1}, {"b": {"c": 1, "c": 1}}]', "name 'c' more than once"),
    (b'\xef\xbb\xbf{"balance": "1.0"}', "byte order mark"),
    (b'{"charge": NaN}', "NaN is not a JSON number"),
    (b'{"charge": -Infinity}', "-Infinity is not a JSON number"),
    (b'{"order": 1} <!-- 0.01s -->', "content after the JSON document"),
])
def test_each_way_of_not_being_json_is_named(body: bytes, said: str) -> None:
    data, defect = read_json(body)
    assert defect is not None and said in defect, defect


def test_a_duplicate_name_or_a_bom_is_still_read_and_nan_is_not() -> None:
    assert read_json(b'{"a": 1, "a": 2}')[0] == {"a": 2}
    assert read_json(b'\xef\xbb\xbf[1]')[0] == [1]
    assert read_json(b'{"a": NaN}')[0] is NOT_JSON


@pytest.mark.parametrize("body", [b'{"a": 1, "b": {"a": 2}}', b'[{"a": 1}, {"a": 1}]', b'null', b'"{}"', b'{"a": "{\\"a\\": 1}"}'])
def test_valid_json_has_no_defect(body: bytes) -> None:
    assert read_json(body)[1] is None
