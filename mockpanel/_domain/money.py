"""Money is Decimal, never float. Quantizing for the wire is the dialect's business."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Context, Decimal, InvalidOperation

ZERO = Decimal(0)
THOUSAND = Decimal(1000)

# Charges are stored to this many places: enough for every dialect's rendering
# (4 or 5 decimals) and for rates like "0.0012" per 1000.
PLACES = Decimal("0.0000001")
# Any amount a client or a test gives (a balance, a deposit, a rate) is at most this: with
# quantities up to 10^15 every product and sum fits the wide context below, exactly.
MAX_AMOUNT = Decimal(10) ** 15
# Enough digits for 10^15 x 10^15 to 7 places: the default context (28) would raise on quantize.
_WIDE = Context(prec=60)


def parse_amount(value: object, *, name: str = "amount") -> Decimal:
    """A finite Decimal of at most 10^15 (either sign) from a str, int or Decimal (never a float: it is not exact)."""
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(
            f"{name} must be given as a string or an int (e.g. \"10.50\"), not {type(value).__name__}: "
            "floats cannot hold money exactly."
        )
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{name} must be a number such as \"10.50\", got {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"{name} must be finite, got {value!r}")
    if abs(amount) > MAX_AMOUNT:
        raise ValueError(f"{name} must be at most 10^15, got {value!r}")
    return amount


def price(rate: Decimal, quantity: int) -> Decimal:
    """rate x quantity / 1000, rounded half up to the stored precision."""
    product = _WIDE.divide(_WIDE.multiply(rate, quantity), THOUSAND)
    return product.quantize(PLACES, rounding=ROUND_HALF_UP, context=_WIDE)


def share(amount: Decimal, part: int, whole: int) -> Decimal:
    """amount x part / whole, rounded down: a refund never exceeds what was charged."""
    if whole <= 0:
        return ZERO
    return _WIDE.divide(_WIDE.multiply(amount, part), whole).quantize(PLACES, rounding=ROUND_DOWN, context=_WIDE)


def quantize(amount: Decimal, places: int, rounding: str = ROUND_HALF_UP) -> Decimal:
    """``amount`` to ``places`` decimals: half up for a charge, down for a balance (never more than is there)."""
    return amount.quantize(Decimal(1).scaleb(-places), rounding=rounding, context=_WIDE)


def shown(amount: Decimal, places: int) -> Decimal:
    """``amount`` as people are shown it: exact, with at least ``places`` decimals and no exponent.

    Stored amounts carry seven places ("49.9100000", and zero as "0E-7"); a panel of four
    decimals shows "49.9100" and "0.0000". Digits past ``places`` stay when they are not zero
    (a charge of 0.0000450 stays 0.000045): what is shown still adds up to the balance."""
    exact = amount.normalize(context=_WIDE)
    exponent = exact.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -places:
        return exact.quantize(Decimal(1).scaleb(-places), context=_WIDE)
    return exact


def shown_text(amount: Decimal, places: int) -> str:
    """``shown`` as text: "0.00000", never "0E-7"."""
    return f"{shown(amount, places):f}"
