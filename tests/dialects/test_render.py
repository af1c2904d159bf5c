"""_dialects/render.py: domain values to the JSON a dialect writes."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockpanel import ErrorCode, PanelError, RefillStatus, Status, load_catalog, load_dialect
from mockpanel._dialects import render
from mockpanel._domain.orders import OrderState

STANDARD = load_dialect("standard")
CATALOG = load_catalog("default")


@pytest.fixture(scope="module")
def php_like(tmp_path_factory) -> object:
    """A dialect that changes every rendering knob the profile has."""
    path: Path = tmp_path_factory.mktemp("dialects") / "php-like.json"
    path.write_text(json.dumps({
        "name": "php-like", "extends": "standard", "description": "every knob turned",
        "money_decimals": 4,
        "statuses": {"Pending": "pending", "In progress": "processing", "Completed": "completed",
                     "Partial": "partial", "Canceled": "canceled"},
        "success_envelope": {"add": {"status": "success"}, "balance": {"status": "success"}},
        "services": {"fields": {"service": "str", "type": "type_slug", "dripfeed": "int01", "refill": "bool",
                                "desc": "str", "min": "int"},
                     "empty": {"status": "success", "data": "Empty Data"}},
        "add": {"order": "str"},
        "status": {"fields": {"order": "id_str", "id": "id_int", "status": "status", "charge": "money",
                              "start_count": "int", "remains": "str"},
                   "pending_remains": "zero"},
        "batch": {"limit": 100, "item_error": "string"},
        "balance": {"balance": "money", "currency": "currency", "decimals": 2},
        "json": {"indent": 4, "php_escapes": True, "content_type": "text/html; charset=UTF-8"},
    }))
    return load_dialect(str(path))


def test_money_is_quantized_half_up_to_the_dialects_places(php_like):
    assert render.money(STANDARD, Decimal("0.09")) == "0.09000"
    assert render.money(STANDARD, Decimal("0.000005")) == "0.00001"
    assert render.money(STANDARD, Decimal("0.0000049")) == "0.00000"
    assert render.money(STANDARD, Decimal("1234567.5")) == "1234567.50000"
    assert render.money(php_like, Decimal("0.00005")) == "0.0001"


@given(st.decimals(min_value=0, max_value=10**9, places=7))
def test_money_always_shows_exactly_the_places(amount):
    text = render.money(STANDARD, amount)
    assert len(text.split(".")[1]) == 5
    assert abs(Decimal(text) - amount) <= Decimal("0.000005")


def test_as_id():
    assert render.as_id("int", 10001) == 10001
    assert render.as_id("int", "10001") == 10001
    assert render.as_id("str", 10001) == "10001"
    # Tokens that are not ids are echoed as sent, never turned into a bad int.
    for token in ("abc", "²", "١٢", "-1", "", "9" * 19):
        assert render.as_id("int", token) == token


def test_errors_nested_and_flat(php_like):
    exc = PanelError(ErrorCode.QUANTITY_BELOW_MIN, min=50)
    assert render.error(STANDARD, exc) == {"error": "Quantity less than minimal 50"}
    assert render.item_error(STANDARD, exc) == {"error": "Quantity less than minimal 50"}
    assert render.item_error(php_like, exc) == "Quantity less than minimal 50"


def test_envelope_adds_the_dialects_fields_per_action(php_like):
    assert render.envelope(STANDARD, "add", {"order": 1}) == {"order": 1}
    assert render.envelope(php_like, "add", {"order": "1"}) == {"status": "success", "order": "1"}
    assert render.envelope(php_like, "status", {"status": "pending"}) == {"status": "pending"}
    assert render.add(php_like, 7) == {"status": "success", "order": "7"}
    assert render.add(STANDARD, 7) == {"order": 7}


def test_service_rendering_follows_the_field_kinds(php_like):
    service = CATALOG.get(1)
    assert render.service(STANDARD, service) == {
        "service": 1, "name": service.name, "type": "Default", "category": service.category,
        "rate": str(service.rate), "min": str(service.min), "max": str(service.max), "refill": True, "cancel": True,
    }
    assert list(render.service(STANDARD, service)) == list(STANDARD.service_fields)  # wire order
    assert render.service(php_like, CATALOG.get(2)) == {
        "service": "2", "type": "custom_comments", "dripfeed": 0, "refill": False,
        "desc": CATALOG.get(2).description, "min": CATALOG.get(2).min,
    }


def test_a_flag_written_as_a_string_is_true_or_false_as_panels_write_it(tmp_path) -> None:
    # A recorded panel sending "refill": "true" records the kind "str": served as "true", not Python's "True".
    path = tmp_path / "flags.json"
    path.write_text(json.dumps({"name": "flags", "extends": "standard", "description": "x",
                                "services": {"fields": {"service": "int", "refill": "str", "cancel": "str"}}}))
    assert render.service(load_dialect(str(path)), CATALOG.get(1)) == {"service": 1, "refill": "true", "cancel": "true"}
    assert render.service(load_dialect(str(path)), CATALOG.get(3))["refill"] == "false"


def test_services_empty_is_the_dialects_empty_answer(php_like):
    assert render.services(STANDARD, []) == []
    assert render.services(php_like, []) == {"status": "success", "data": "Empty Data"}
    assert len(render.services(STANDARD, CATALOG.listed())) == len(CATALOG.listed())


def state(status: Status, remains: int = 40, charge: str = "0.09") -> OrderState:
    return OrderState(status, Decimal(charge), 1234, remains, 100 - remains)


def test_status_standard():
    assert render.status(STANDARD, state(Status.IN_PROGRESS), 10001, "USD") == {
        "charge": "0.09000", "start_count": "1234", "status": "In progress", "remains": "40", "currency": "USD",
    }


def test_status_every_kind(php_like):
    out = render.status(php_like, state(Status.PARTIAL, charge="0.05"), "10001", "EUR")
    assert out == {"order": "10001", "id": 10001, "status": "partial", "charge": "0.0500", "start_count": 1234, "remains": "40"}
    # This dialect shows remains 0 while pending (SmartPanel's documents do).
    assert render.status(php_like, state(Status.PENDING, remains=100), 1, "EUR")["remains"] == "0"
    assert render.status(STANDARD, state(Status.PENDING, remains=100), 1, "USD")["remains"] == "100"


def test_the_compiled_status_renderer_is_cached_per_dialect(php_like):
    assert render.status_renderer(STANDARD) is render.status_renderer(STANDARD)
    assert render.status_renderer(php_like) is not render.status_renderer(STANDARD)


@given(st.sampled_from(list(Status)), st.integers(0, 10**6), st.integers(0, 10**6),
       st.decimals(min_value=0, max_value=10**6, places=7))
def test_the_compiled_renderer_matches_the_fields_one_by_one(status, start_count, remains, charge):
    out = render.status(STANDARD, OrderState(status, charge, start_count, remains, 0), 5, "USD")
    assert out == {
        "charge": render.money(STANDARD, charge), "start_count": str(start_count),
        "status": STANDARD.statuses[status], "remains": str(remains), "currency": "USD",
    }


def test_refill_status_and_balance(php_like):
    assert [render.refill_status(STANDARD, s) for s in RefillStatus] == ["Pending", "In progress", "Completed", "Rejected"]
    # Rounded down: the balance shown can always be spent.
    assert render.balance(STANDARD, (Decimal("100.842915"), "USD")) == {"balance": "100.84291", "currency": "USD"}
    assert render.balance(php_like, (Decimal("0.034"), "USD")) == {"status": "success", "balance": "0.03", "currency": "USD"}


def test_encode_compact_and_php_pretty(php_like):
    payload = {"link": "https://x.test/ü", "n": 1}
    assert render.encode(STANDARD, payload) == '{"link":"https://x.test/ü","n":1}'.encode()
    pretty = render.encode(php_like, payload).decode()
    assert pretty == '{\n    "link": "https:\\/\\/x.test\\/\\u00fc",\n    "n": 1\n}'
    assert json.loads(pretty) == payload


def test_the_renderer_cache_forgets_dialects_that_are_gone():
    import gc

    from mockpanel._dialects.profile import load_dialect

    before = len(render._renderers)
    for _ in range(50):
        render.status_renderer(load_dialect("smmprime"))  # a fresh Dialect object each time
    gc.collect()
    assert len(render._renderers) <= before + 1
    kept = load_dialect("smmprime")
    assert render.status_renderer(kept) is render.status_renderer(kept)
