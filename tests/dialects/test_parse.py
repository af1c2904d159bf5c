"""_dialects/parse.py: id tokens from the wire to the panel's ints."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import pytest

from mockpanel._dialects.parse import MAX_ID, MYSQL_CAST, PHP_CAST, parse_id, parse_ids, split_ids


def test_parse_id_reads_plain_ids():
    assert parse_id("10001") == 10001
    assert parse_id(" 42 ") == 42
    assert parse_id("0") == 0
    assert parse_id("007") == 7
    assert parse_id("9" * 18) == 10**18 - 1


def test_parse_id_refuses_what_is_not_an_id():
    for raw in [None, "", " ", "-1", "+1", "1.0", "1e3", "0x10", "1_000", "1 2", "abc", "9" * 19, "²", "١٢", "１２", "1,2", "[1]"]:
        assert parse_id(raw) is None, raw


@given(st.text(max_size=25))
def test_parse_id_never_raises_and_only_gives_what_int_agrees_with(raw):
    value = parse_id(raw)
    if value is not None:
        assert value == int(raw.strip())
        assert 0 <= value < 10**18


@given(st.lists(st.integers(0, 10**18 - 1), min_size=1, max_size=120))
def test_split_ids_reads_a_comma_list_and_a_json_array(ids):
    text = ",".join(map(str, ids))
    assert [parse_id(t) for t in split_ids(text)] == ids
    assert [parse_id(t) for t in split_ids(" , ".join(map(str, ids)))] == ids
    assert [parse_id(t) for t in split_ids("[" + text + "]")] == ids
    assert [parse_id(t) for t in split_ids("[" + ",".join(f'"{i}"' for i in ids) + "]")] == ids


def test_split_ids_drops_empty_tokens_and_keeps_bad_ones_for_their_errors():
    assert split_ids("1,,2, ,3,") == ["1", "2", "3"]
    assert split_ids("") == []
    assert split_ids(" , ") == []
    assert split_ids("[]") == []
    assert split_ids("1,abc,-5") == ["1", "abc", "-5"]  # each gets its own per-item error later
    assert split_ids("7") == ["7"]


@settings(max_examples=200)
@given(st.text(max_size=60))
def test_split_ids_never_raises_and_tokens_are_stripped_and_non_empty(raw):
    tokens = split_ids(raw)
    assert all(t and t == t.strip() and "," not in t for t in tokens)


@given(st.lists(st.text(max_size=25).map(str.strip), max_size=20))
def test_parse_ids_is_parse_id_for_each_token(tokens):
    assert parse_ids(tokens) == [parse_id(t) for t in tokens]


def test_parse_int_takes_ascii_digits_in_range_only():
    from mockpanel._dialects.parse import MAX_ID, parse_int

    assert parse_int(" 42 ") == 42 and parse_int("+42", plus=True) == 42 and parse_int(7) == 7
    assert parse_int("9" * 18) == MAX_ID
    for raw in ["+42", "9" * 19, "\u0661\u0662", "\uff11\uff12", "\u00b2", "1_000", "1e3", "0x1", "-1", "", True, 1.0, None, b"12"]:
        assert parse_int(raw) is None, raw
    assert parse_int("11", low=1, high=10) is None and parse_int("10", low=1, high=10) == 10
    assert parse_int(-5, low=-10) == -5 and parse_int(-5) is None


@given(st.text(max_size=30))
def test_parse_int_never_raises_and_agrees_with_int(raw):
    from mockpanel._dialects.parse import parse_int

    value = parse_int(raw, plus=True)
    if value is not None:
        assert value == int(raw.strip()) and raw.strip().lstrip("+").isascii()


# One reader, two casts: what each takes at the edges (spaces, signs, exponents, fractions, overflow, junk).
CASTS = [
    # sent,            MySQL (a service id), PHP (a quantity)
    ("100", 100, 100),
    (" 100", 100, 100),
    ("100 ", 100, 100),  # MySQL reads the start; PHP allows white space after
    ("\t\n\r7", 7, 7),
    ("\v7", None, 7),  # \v and \f: PHP's white space, not MySQL's
    ("7\f", 7, 7),
    ("+7", 7, 7),
    ("-7", -7, -7),  # a negative number is read; the panel refuses it as an id or a quantity
    ("-0", 0, 0),
    ("1e2", 100, 100),
    ("1E+2", 100, 100),
    ("1000e-1", 100, 100),
    (".5e1", 5, 5),
    ("5.", 5, 5),
    ("100.0", 100, 100),
    ("1.5", None, None),  # a fraction is no whole number
    ("1e-1", None, None),
    ("1e1000", None, None),  # exponents of 1 to 3 digits: MySQL reads "1e100" (past an id's bound), PHP nothing
    ("2e1x", 20, None),
    ("1abc", 1, None),  # MySQL reads the start; PHP wants the whole text
    ("12 34", 12, None),
    ("abc", None, None),
    ("", None, None),
    (" ", None, None),
    ("e5", None, None),
    ("0x1A", 0, None),
    ("1_000", 1, None),
    ("١٢", None, None),  # digits of other scripts are not numbers to either
    (str(MAX_ID), MAX_ID, None),  # past a quantity's bound (10**15)
    (str(MAX_ID + 1), None, None),  # past an id's
    ("1e15", 10**15, 10**15),
    ("1e16", 10**16, None),
    ("1e999", None, None),
]


@pytest.mark.parametrize("sent, mysql, php", CASTS)
def test_one_number_reader_casts_as_mysql_and_as_php(sent: str, mysql: int | None, php: int | None) -> None:
    assert (MYSQL_CAST.read(sent), PHP_CAST.read(sent)) == (mysql, php)
