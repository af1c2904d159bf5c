"""dialects/parse.py: id tokens from the wire to the panel's ints."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mockpanel.dialects.parse import parse_id, parse_ids, split_ids


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
