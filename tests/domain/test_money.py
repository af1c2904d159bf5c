"""Money: Decimal prices rounded half up, refund shares rounded down, no floats."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from mockpanel._domain.money import PLACES, ZERO, parse_amount, price, quantize, share

D = Decimal


@pytest.mark.parametrize(
    "rate, quantity, expected",
    [
        ("0.90", 100, "0.0900000"),  # seed example: service 1
        ("8", 10, "0.0800000"),
        ("0.012", 1_000_000, "12.0000000"),
        ("1.23", 1, "0.0012300"),
        ("0.00005", 1, "0.0000001"),  # 5e-8: half up (half even would give 0)
        ("0.00004", 1, "0.0000000"),
        ("0", 5000, "0.0000000"),
    ],
)
def test_price_is_rate_times_quantity_per_thousand_half_up(rate: str, quantity: int, expected: str) -> None:
    result = price(D(rate), quantity)
    assert result == D(expected)
    assert result.as_tuple().exponent == PLACES.as_tuple().exponent


def test_share_rounds_down() -> None:
    assert share(D("1"), 1, 3) == D("0.3333333")
    assert share(D("2"), 2, 3) == D("1.3333333")
    assert share(D("0.0000002"), 1, 3) == ZERO  # 0.0000000666.. rounds down, not up
    assert share(D("0.0000001"), 9, 10) == ZERO
    assert share(D("0.09"), 30, 100) == D("0.027")


def test_share_of_nothing_or_of_a_zero_whole() -> None:
    assert share(D("5"), 0, 10) == ZERO
    assert share(D("5"), 3, 0) == ZERO


@given(
    amount=st.decimals(min_value=0, max_value=10**6, places=7),
    whole=st.integers(min_value=1, max_value=10**9),
    data=st.data(),
)
def test_share_never_exceeds_the_amount(amount: Decimal, whole: int, data: st.DataObject) -> None:
    part = data.draw(st.integers(min_value=0, max_value=whole))
    refund = share(amount, part, whole)
    assert ZERO <= refund <= amount
    assert refund + share(amount, whole - part, whole) <= amount
    assert share(amount, whole, whole) == amount


@pytest.mark.parametrize(
    "value, expected",
    [("10.50", "10.50"), (" 3 ", "3"), (7, "7"), (D("1.2345678"), "1.2345678"), ("-2", "-2"), ("1e2", "100")],
)
def test_parse_amount_accepts_strings_ints_and_decimals(value: object, expected: str) -> None:
    assert parse_amount(value) == D(expected)


@pytest.mark.parametrize("value", [0.1, 10.0, float("nan"), float("inf")])
def test_parse_amount_refuses_floats(value: float) -> None:
    with pytest.raises(ValueError, match=r"balance must be given as a string or an int .*not float.*floats cannot hold money exactly"):
        parse_amount(value, name="balance")


def test_parse_amount_refuses_bools() -> None:
    with pytest.raises(ValueError, match="not bool"):
        parse_amount(True)


@pytest.mark.parametrize("value", ["NaN", "nan", "sNaN", "inf", "-Infinity"])
def test_parse_amount_refuses_non_finite(value: str) -> None:
    with pytest.raises(ValueError, match=r"rate must be finite, got"):
        parse_amount(value, name="rate")


@pytest.mark.parametrize("value", ["", "abc", "1,5", "10 USD", None, [1]])
def test_parse_amount_refuses_non_numbers_naming_the_field(value: object) -> None:
    with pytest.raises(ValueError, match=r"amount must be a number such as \"10.50\""):
        parse_amount(value)


@pytest.mark.parametrize(
    "amount, places, expected",
    [("0.0900000", 5, "0.09000"), ("1", 5, "1.00000"), ("0.000005", 5, "0.00001"), ("0.123449", 4, "0.1234"), ("2.5", 0, "3")],
)
def test_quantize_half_up(amount: str, places: int, expected: str) -> None:
    result = quantize(D(amount), places)
    assert str(result) == expected


def test_a_shown_balance_can_always_be_spent(live, panel):
    """0.0011996 shows 0.00119 (rounded down): an add costing what is shown goes through."""
    from tests.helpers.common import HTTP

    panel.create_account("tiny", balance="0.0011996")
    panel.put_service({"service": 77, "name": "Cheap", "type": "Default", "rate": "0.0119", "min": 1, "max": 1000})
    api = f"http://127.0.0.1:{live.port}/api/v2"
    shown = HTTP.post(api, data={"key": "tiny", "action": "balance"}).json()["balance"]
    assert shown == "0.00119"
    placed = HTTP.post(api, data={"key": "tiny", "action": "add", "service": "77", "link": "https://m.test/1", "quantity": "100"})
    assert "order" in placed.json(), placed.text  # 0.0119 x 100 / 1000 = 0.00119, what the balance showed
    assert HTTP.post(api, data={"key": "tiny", "action": "balance"}).json()["balance"] == "0.00000"


def test_quantize_rounds_down_when_asked() -> None:
    from decimal import ROUND_DOWN

    assert str(quantize(D("0.0011996"), 5, ROUND_DOWN)) == "0.00119"
    assert str(quantize(D("0.0011996"), 5)) == "0.00120"


def test_amounts_past_the_bound_are_refused_and_big_ones_stay_exact() -> None:
    from mockpanel._panel.panel import Panel

    for value in ("1e16", "-1e16", "1e30"):
        with pytest.raises(ValueError, match="at most 10\\^15"):
            parse_amount(value)
    assert price(D("1e15"), 10**15) == D(10) ** 27  # the wide context: no InvalidOperation
    assert str(quantize(D("1" + "0" * 25 + ".123456"), 5)) == "1" + "0" * 25 + ".12346"  # 31 digits
    panel = Panel()
    panel.create_account("rich", balance="1e15")
    for _ in range(999):
        panel.deposit("rich", "1e15")
    with pytest.raises(ValueError, match="at most 10\\^18"):
        panel.deposit("rich", "1e15")
    assert panel.balance("rich")[0] == D(10) ** 18
