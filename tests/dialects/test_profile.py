"""Dialect profiles: loading, inheritance, validation that names the bad field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conformance.profile import load_dialect as judge_dialect

from mockpanel import DialectError, Status, available_dialects, load_dialect
from mockpanel._domain.errors import ErrorCode

BUILTIN = ["standard", "smartpanel-v1", "smmprime", "smmprovider", "smm.plus", "smmpro.in", "smmpanel.ru"]


def test_every_builtin_profile_loads_and_is_listed():
    listed = available_dialects()
    for name in BUILTIN:
        dialect = load_dialect(name)
        assert dialect.name == name
        assert listed[name] == dialect.description
        assert set(dialect.errors) == set(ErrorCode)


def test_seed_panels_follow_their_seeds():
    assert load_dialect("smmpanel.ru").endpoints == ("/api/v1",)
    assert load_dialect("smmpro.in").service_types is not None
    assert "Web Traffic" in load_dialect("smmpro.in").service_types
    assert load_dialect("smm.plus").service_types == frozenset({"Default", "Custom Comments"})
    for name in ("smmprime", "smmprovider", "smm.plus", "smmpro.in"):
        assert load_dialect(name).endpoints == ("/api/v2",)
        assert load_dialect(name).money_decimals == 5


def test_extends_merges_and_overrides():
    v1 = load_dialect("smartpanel-v1")
    assert v1.statuses[Status.IN_PROGRESS] == "processing"
    assert v1.errors[ErrorCode.INCORRECT_ORDER_ID] == "Incorrect order ID"  # inherited
    assert v1.errors[ErrorCode.INVALID_KEY].startswith("API is Disable")  # overridden
    assert list(v1.status_fields) == ["order", "status", "charge", "start_count", "remains"]  # replaced whole
    ru = load_dialect("smmpanel.ru")
    assert ru.statuses == v1.statuses and ru.catalog == "smmpanel.ru"


def _write(tmp_path: Path, data: dict) -> str:
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(data))
    return str(path)


def test_a_file_path_works_wherever_a_name_does(tmp_path):
    path = _write(tmp_path, {"name": "mine", "extends": "standard", "description": "x", "money_decimals": 2})
    dialect = load_dialect(path)
    assert dialect.name == "mine" and dialect.money_decimals == 2


@pytest.mark.parametrize(
    "change, words",
    [
        ({"money_decimals": "five"}, "'money_decimals' must be int"),
        ({"money_decimals": 11}, "'money_decimals' must be 0 to 8"),
        ({"actions": ["balance", "teleport"]}, "unknown action(s) ['teleport']"),
        ({"endpoints": ["api/v2"]}, "'endpoints'"),
        ({"statuses": {"Pending": ""}}, "'statuses' must spell 'Pending'"),
        ({"statuses": {"Queued": "q"}}, "unknown status(es) ['Queued']"),
        ({"status": {"fields": {"charge": "euros"}}}, "status.fields.charge has kind 'euros'"),
        ({"batch": {"limit": 0, "item_error": "nested"}}, "'batch.limit' must be >= 1"),
        ({"batch": {"limit": 100, "item_error": "loud"}}, "'batch.item_error'"),
        ({"errors": {"not_a_code": "x"}}, "unknown code(s) ['not_a_code']"),
        ({"service_types": ["Teleports"]}, "'service_types'"),
        ({"type_fields": {"Teleports": {}}}, "unknown service type 'Teleports'"),
        ({"duplicate_links": "always"}, "'duplicate_links'"),
        ({"colour": "blue"}, "unknown field(s) ['colour']"),
        ({"extends": 3}, "'extends' names another dialect"),
    ],
)
def test_validation_names_the_bad_field(tmp_path, change, words):
    path = _write(tmp_path, {"name": "mine", "extends": "standard", "description": "x", **change})
    with pytest.raises(DialectError) as info:
        load_dialect(path)
    assert words in str(info.value)
    assert str(tmp_path) in str(info.value)  # says which file


def test_missing_error_string_is_named(tmp_path):
    data = json.loads((Path(__file__).resolve().parents[2] / "fixtures" / "dialects" / "standard.json").read_text())
    del data["errors"]["not_enough_funds"]
    with pytest.raises(DialectError, match="errors.not_enough_funds' is missing"):
        load_dialect(_write(tmp_path, data))


def test_unknown_name_lists_the_builtins():
    with pytest.raises(DialectError) as info:
        load_dialect("perfectpanel-classic")
    assert "standard" in str(info.value) and "path" in str(info.value)


def test_invalid_json_is_reported(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{nope")
    with pytest.raises(DialectError, match="not valid JSON"):
        load_dialect(str(path))


def test_extends_loop_is_reported(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps({"extends": str(b)}))
    b.write_text(json.dumps({"extends": str(a)}))
    with pytest.raises(DialectError, match="loop"):
        load_dialect(str(a))


def test_error_bodies_give_another_shape(tmp_path):
    path = _write(
        tmp_path,
        {"name": "m", "extends": "standard", "description": "x",
         "error_bodies": {"invalid_field": {"status": "error", "message": "Invalid {field}!"}}},
    )
    dialect = load_dialect(path)
    assert dialect.error_body(ErrorCode.INVALID_FIELD, {"field": "interval"}) == {"status": "error", "message": "Invalid interval!"}
    assert dialect.error_body(ErrorCode.NOT_ENOUGH_FUNDS, {}) == {"error": "Not enough funds on balance"}


def test_an_error_body_may_be_one_actions_only(tmp_path):
    path = _write(tmp_path, {"name": "m", "extends": "standard", "description": "x",
                             "error_bodies": {"refill:incorrect_order_id": {"refill": "0"}}})
    dialect = load_dialect(path)
    assert dialect.error_body(ErrorCode.INCORRECT_ORDER_ID, {}, "refill") == {"refill": "0"}
    assert dialect.error_body(ErrorCode.INCORRECT_ORDER_ID, {}, "status") == {"error": "Incorrect order ID"}
    assert dialect.error_body(ErrorCode.INCORRECT_ORDER_ID, {}) == {"error": "Incorrect order ID"}
    judged = judge_dialect(path)  # the judge reads the same key
    assert judged.error_bodies["refill:incorrect_order_id"] == {"refill": "0"}


DIALECTS_DOC = Path(__file__).resolve().parents[2] / "docs" / "dialects.md"


def test_readme_table_lists_every_builtin_profile():
    readme = DIALECTS_DOC.read_text()
    table = readme.split("## The built-in profiles", 1)[1].split("##", 1)[0]
    for name in available_dialects():
        assert f"| `{name}`" in table, f"docs/dialects.md's table is missing {name}"


def test_readme_example_profile_loads(tmp_path):
    readme = DIALECTS_DOC.read_text()
    example = readme.split("## Your own profile", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    dialect = load_dialect(_write(tmp_path, json.loads(example)))
    assert dialect.statuses[Status.IN_PROGRESS] == "Processing"
    assert dialect.statuses[Status.PENDING] == "Pending"  # merged from standard
    assert dialect.batch_limit == 50 and dialect.batch_item_error == "string"


@pytest.mark.parametrize("limits, message", [
    ({"link": 0}, "limits.link"),
    ({"text": "500"}, "limits.text"),
    ({"list_lines": True}, "limits.list_lines"),
    ({"lenient_optional": "yes"}, "limits.lenient_optional"),
    ({"words": 5}, "field 'limits' is an object"),
])
def test_bad_limits_are_named(tmp_path, limits, message):
    import json

    from mockpanel._dialects.profile import DialectError, load_dialect

    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"extends": "standard", "name": "bad", "limits": limits}))
    with pytest.raises(DialectError, match=message):
        load_dialect(str(path))


def test_the_standard_limits():
    from mockpanel._dialects.profile import load_dialect

    assert dict(load_dialect("standard").limits) == {
        "max_link": 2048, "max_text": 500, "max_list_text": 100_000, "max_lines": 10_000, "lenient_optional": True,
    }
