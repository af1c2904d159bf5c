"""_dialects/parse.py: id tokens from the wire to the panel's ints."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mockpanel._dialects.parse import parse_id, parse_ids, split_ids


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
