"""Money is Decimal, never float. Quantizing for the wire is the dialect's business."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

ZERO = Decimal(0)
THOUSAND = Decimal(1000)

# Charges are stored to this many places: enough for every dialect's rendering
# (4 or 5 decimals) and for rates like "0.0012" per 1000.
PLACES = Decimal("0.0000001")


def parse_amount(value: object, *, name: str = "amount") -> Decimal:
    """A finite Decimal from a str, int or Decimal (never a float: it is not exact)."""
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
    return amount


def price(rate: Decimal, quantity: int) -> Decimal:
    """rate x quantity / 1000, rounded half up to the stored precision."""
    return (rate * quantity / THOUSAND).quantize(PLACES, rounding=ROUND_HALF_UP)


def share(amount: Decimal, part: int, whole: int) -> Decimal:
    """amount x part / whole, rounded down: a refund never exceeds what was charged."""
    if whole <= 0:
        return ZERO
    return (amount * part / whole).quantize(PLACES, rounding=ROUND_DOWN)


def quantize(amount: Decimal, places: int, rounding: str = ROUND_HALF_UP) -> Decimal:
    """``amount`` to ``places`` decimals: half up for a charge, down for a balance (never more than is there)."""
    return amount.quantize(Decimal(1).scaleb(-places), rounding=rounding)
