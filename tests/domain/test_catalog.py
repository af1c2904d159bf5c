"""The catalogue: the default one, loading your own, and errors that name the bad field."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from mockpanel._catalogs import load_catalog
from mockpanel._domain.catalog import Catalog, Service, service_from_json
from mockpanel._domain.servicetypes import SERVICE_TYPES

GOOD: dict[str, Any] = {"service": 7, "name": "Likes", "type": "Default", "rate": "0.25", "min": 10, "max": 5000}


def test_the_default_catalogue_sells_every_service_type() -> None:
    catalog = load_catalog()
    services = list(catalog)
    assert [s.id for s in services] == list(range(1, len(services) + 1))
    assert {s.type.name for s in services} == set(SERVICE_TYPES)
    for s in services:
        assert isinstance(s.rate, Decimal) and s.rate >= 0
        assert 0 < s.min <= s.max
        assert s.name and s.category
    # Some services refill, some cancel, some drip-feed; not all.
    for flag in ("refill", "cancel", "dripfeed"):
        values = {getattr(s, flag) for s in services}
        assert values == {True, False}, flag


def test_the_default_catalogue_starts_with_the_seed_services() -> None:
    catalog = load_catalog("default")
    one, two = catalog.get(1), catalog.get(2)
    assert one is not None and two is not None
    assert (one.name, one.type.name, one.category, one.rate, one.min, one.max, one.refill, one.cancel) == (
        "Followers", "Default", "First Category", Decimal("0.90"), 50, 10000, True, True,
    )
    assert (two.name, two.type.name, two.rate, two.min, two.max, two.refill, two.cancel) == (
        "Comments", "Custom Comments", Decimal("8"), 10, 1500, False, True,
    )


def test_a_seed_services_answer_loads_as_a_catalogue(tmp_path: Path) -> None:
    # The exact JSON of seed 000's `services` example (min/max as strings).
    seed = [
        {"service": 1, "name": "Followers", "type": "Default", "category": "First Category", "rate": "0.90",
         "min": "50", "max": "10000", "refill": True, "cancel": True},
        {"service": 2, "name": "Comments", "type": "Custom Comments", "category": "Second Category", "rate": "8",
         "min": "10", "max": "1500", "refill": False, "cancel": True},
    ]
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(seed), encoding="utf-8")
    catalog = load_catalog(str(path))
    assert [(s.id, s.min, s.max, s.refill) for s in catalog] == [(1, 50, 10000, True), (2, 10, 1500, False)]


def test_load_from_a_file_with_a_services_envelope(tmp_path: Path) -> None:
    path = tmp_path / "cat.json"
    path.write_text(json.dumps({"services": [GOOD]}), encoding="utf-8")
    (service,) = load_catalog(str(path))
    assert service.id == 7 and service.rate == Decimal("0.25")
    assert service.dripfeed is True  # Default takes runs/interval unless the entry says otherwise
    assert service.refill is False and service.cancel is False and service.enabled is True


def test_load_errors_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no catalogue named 'nope'.*path of a .json file"):
        load_catalog("nope")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.json: not valid JSON"):
        load_catalog(str(bad))
    with pytest.raises(ValueError, match="expected a list of services"):
        Catalog.from_json({"items": []})


@pytest.mark.parametrize(
    "change, message",
    [
        ({"type": "Likes"}, r"catalogue\[0\]: unknown service type 'Likes'"),
        ({"min": 600, "max": 500}, r"catalogue\[0\]: need 0 < min <= max, got min=600, max=500"),
        ({"min": 0}, r"need 0 < min <= max"),
        ({"rate": "-0.01"}, r"catalogue\[0\]: 'rate' must not be negative"),
        ({"rate": 0.25}, r"catalogue\[0\]\.rate must be given as a string or an int"),
        ({"rate": "cheap"}, r"catalogue\[0\]\.rate must be a number"),
        ({"speed": "fast"}, r"catalogue\[0\]: unknown field\(s\) \['speed'\]"),
        ({"service": -3}, r"'service' must be a positive integer, got -3"),
        ({"service": "seven"}, r"'service' must be an integer, got 'seven'"),
        ({"min": 1.5}, r"'min' must be an integer, got 1.5"),
        ({"max": True}, r"'max' must be an integer, got True"),
        ({"max": None}, r"'max' must be an integer, got None"),
        ({"refill": "yes"}, r"'refill' must be true or false, got 'yes'"),
        ({"cancel": [1]}, r"'cancel' must be true or false"),
    ],
)
def test_validation_names_the_bad_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Catalog.from_json([{**GOOD, **change}])


@pytest.mark.parametrize("missing", ["service", "name", "type", "rate", "min", "max"])
def test_a_missing_required_field_is_named(missing: str) -> None:
    entry = {k: v for k, v in GOOD.items() if k != missing}
    with pytest.raises(ValueError, match=rf"catalogue\[1\]: missing required field '{missing}'"):
        Catalog.from_json([GOOD, entry])


def test_an_entry_that_is_not_an_object() -> None:
    with pytest.raises(ValueError, match=r"catalogue\[0\]: expected an object, got str"):
        Catalog.from_json(["Likes"])


def test_duplicate_ids_are_named() -> None:
    with pytest.raises(ValueError, match=r"duplicate service ids \[7\]"):
        Catalog.from_json([GOOD, {**GOOD, "name": "Other"}, {**GOOD, "service": 8}])


@pytest.mark.parametrize("value, expected", [(True, True), (False, False), ("false", False), ("TRUE", True), (0, False), (1, True)])
def test_flags_read_as_booleans(value: object, expected: bool) -> None:
    assert service_from_json({**GOOD, "refill": value}).refill is expected


def test_to_json_round_trips() -> None:
    catalog = load_catalog()
    again = Catalog.from_json(json.loads(json.dumps(catalog.to_json())))
    assert list(again) == list(catalog)


def test_update_reprices_and_disables() -> None:
    catalog = load_catalog()
    updated = catalog.update(1, rate="1.25")
    assert updated.rate == Decimal("1.25") and catalog.get(1) == updated
    catalog.update(3, enabled=False)
    assert 3 not in {s.id for s in catalog.listed()}
    assert len(catalog.listed()) == len(catalog) - 1
    assert catalog.get(3) is not None  # still known, only not on sale


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"rate": "-1"}, "'rate' must not be negative"),
        ({"rate": 1.5}, "rate must be given as a string or an int"),
        ({"min": 20000}, "need 0 < min <= max, got min=20000, max=10000"),
    ],
)
def test_update_is_validated_like_a_catalogue_file(changes: dict[str, Any], message: str) -> None:
    catalog = load_catalog()
    before = catalog.get(1)
    with pytest.raises(ValueError, match=message):
        catalog.update(1, **changes)
    assert catalog.get(1) == before


def test_update_of_an_unknown_service() -> None:
    with pytest.raises(KeyError, match="no service 999"):
        load_catalog().update(999, rate="1")


def test_put_replaces_by_id_and_keeps_listing_order() -> None:
    catalog = Catalog([service_from_json(GOOD), service_from_json({**GOOD, "service": 3})])
    catalog.put(service_from_json({**GOOD, "name": "Likes v2"}))
    assert [(s.id, s.name) for s in catalog] == [(7, "Likes v2"), (3, "Likes")]
    assert isinstance(catalog.get(7), Service) and catalog.get(99) is None


@pytest.mark.parametrize("field", ["name", "category", "description"])
def test_service_text_that_cannot_be_shown_is_refused(field: str) -> None:
    entry = {"service": 1, "name": "n", "type": "Default", "rate": "1", "min": 1, "max": 10, field: "a\ud800b"}
    with pytest.raises(ValueError, match=f"'{field}' must be text"):
        service_from_json(entry)
