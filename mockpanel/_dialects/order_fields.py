"""Reading an ``add``'s wire fields into a typed ``OrderRequest``, as the dialect spells them.

This is the one place that decides which fields an ``add`` reads (the type's lists, or the
dialect's own in ``OrderRules.type_fields``) and how: given/absent ("undefined"/"null" when
lenient), whole numbers, bounded text, list fields of lines, a d/m/Y expiry, the drip-feed
runs and interval. Errors come in a fixed order, the first wrong field first (tests pin them).
The panel then applies the domain's own rules to the typed request (``Panel.place_order``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from typing import Callable, Mapping, cast

from .._domain.errors import ErrorCode, PanelError
from .._domain.numbers import parse_int
from .._domain.servicetypes import OLD_POSTS_FOUND, OrderDetails, OrderRequest, ServiceType
from .._domain.settings import OrderRules

__all__ = ["OrderRules", "expiry_time", "given", "lines", "read_order_request", "type_spec"]

# What a JavaScript or PHP client sends for an argument it left out.
_ABSENT = frozenset({"", "undefined", "null"})


def given(params: Mapping[str, str], name: str, rules: OrderRules) -> bool:
    """Whether an optional field is there: not blank (nor "undefined"/"null" when lenient)."""
    raw = params.get(name)
    if raw is None:
        return False
    text = raw.strip()
    return text.lower() not in _ABSENT if rules.lenient_optional and len(text) <= 9 else text != ""


def _integer(params: Mapping[str, str], name: str, *, low: int = 0, high: int = 10**15, absent: bool = False) -> int:
    raw = params.get(name)
    if absent or raw is None or raw.strip() == "":
        raise PanelError(ErrorCode.MISSING_FIELD, field=name)
    value = parse_int(raw, low=low, high=high, plus=True)
    if value is None:
        raise PanelError(ErrorCode.INVALID_FIELD, field=name)
    return value


def _encodable(text: str) -> bool:
    """No NUL and no lone surrogate: what is stored can always be written as UTF-8 JSON."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _text(params: Mapping[str, str], name: str, rules: OrderRules, limit: int | None = None) -> str:
    raw = params.get(name)
    if raw is None or raw.strip() == "":
        raise PanelError(ErrorCode.MISSING_FIELD, field=name)
    if len(raw) > (rules.max_text if limit is None else limit) or not _encodable(raw):
        raise PanelError(ErrorCode.INVALID_FIELD, field=name)
    return raw.strip()


def lines(text: str) -> list[str]:
    """A list field: lines separated by \\r\\n or \\n; blank lines do not count."""
    return [line.strip() for line in text.replace("\r\n", "\n").split("\n") if line.strip()]


def _list(params: Mapping[str, str], name: str, rules: OrderRules) -> list[str]:
    items = lines(_text(params, name, rules, rules.max_list_text))
    if not items or len(items) > rules.max_lines:
        raise PanelError(ErrorCode.INVALID_FIELD, field=name)
    return items


def expiry_time(raw: str) -> float:
    """An expiry date (d/m/Y) as the Unix time of its midnight, UTC."""
    try:
        return datetime.strptime(raw.strip(), "%d/%m/%Y").replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        raise PanelError(ErrorCode.INVALID_FIELD, field="expiry") from None


def _check_range(quantity: int, low: int, high: int) -> None:
    if quantity < low:
        raise PanelError(ErrorCode.QUANTITY_BELOW_MIN, min=low)
    if quantity > high:
        raise PanelError(ErrorCode.QUANTITY_ABOVE_MAX, max=high)


# Readers for the type-specific fields, by field name.
_DETAIL_READERS: dict[str, Callable[[Mapping[str, str], str, OrderRules], object]] = {
    "keywords": _list,
    "usernames": _list,
    "hashtags": _list,
    "groups": _list,
    "comments": _list,
    "hashtag": _text,
    "username": _text,
    "media": _text,
    "country": _text,
    "answer_number": lambda p, n, r: _integer(p, n, low=1, high=1000),
    "device": lambda p, n, r: _integer(p, n, low=1, high=5),
    "type_of_traffic": lambda p, n, r: _integer(p, n, low=1, high=3),
    "google_keyword": _text,
    "referring_url": lambda p, n, r: _text(p, n, r, r.max_link),  # a URL: the link's limit
}
_NUMBERS = frozenset({"answer_number", "device", "type_of_traffic"})


STANDARD_RULES = OrderRules()  # the standard dialect's


def type_spec(stype: ServiceType, rules: OrderRules) -> ServiceType:
    """The type as this dialect takes it: its own required/optional lists where it has them."""
    if stype.name in rules.type_fields:
        required, optional = rules.type_fields[stype.name]
        return replace(stype, required=required, optional=optional)
    return stype


def read_order_request(
    stype: ServiceType,
    params: Mapping[str, str],
    *,
    min_quantity: int,
    max_quantity: int,
    dripfeed_allowed: bool,
    rules: OrderRules = STANDARD_RULES,
) -> OrderRequest:
    """Check an ``add``'s fields for one service type; raise the documented error."""
    if rules.type_fields:
        stype = type_spec(stype, rules)
    elif stype.plain and "runs" not in params:
        # The common add (a link and a quantity, no drip-feed): what the general way below reads, and its
        # errors in its order (the link's, the quantity's, the range), with _text's and _integer's checks
        # inline (an add is the request path).
        raw = params.get("link")
        if raw is None or not (link := raw.strip()):
            raise PanelError(ErrorCode.MISSING_FIELD, field="link")
        if len(raw) > rules.max_link or "\x00" in raw or not (raw.isascii() or _encodable(raw)):
            raise PanelError(ErrorCode.INVALID_FIELD, field="link")
        raw = params.get("quantity")
        if raw is None or raw.strip() == "":
            raise PanelError(ErrorCode.MISSING_FIELD, field="quantity")
        quantity = parse_int(raw, high=10**12, plus=True)
        if quantity is None:
            raise PanelError(ErrorCode.INVALID_FIELD, field="quantity")
        if not min_quantity <= quantity <= max_quantity:
            _check_range(quantity, min_quantity, max_quantity)
        return OrderRequest(link, quantity)
    link = ""
    if "link" in stype.required:
        link = _text(params, "link", rules, rules.max_link)
    if "quantity" in stype.required and stype.quantity_from != "field" and not (params.get("quantity") or "").strip():
        # A dialect that asks a quantity of a type priced flat or counted from its list (the SmartPanel
        # script reads every type but Custom Comments through one branch that needs it): given, not used.
        raise PanelError(ErrorCode.MISSING_FIELD, field="quantity")

    if stype.quantity_from == "subscription":
        return _read_subscription(stype, params, min_quantity, max_quantity, rules)

    details: dict[str, object] = {}
    for name in stype.detail_fields:
        if name not in _DETAIL_READERS:
            continue
        if name in stype.required or (given(params, name, rules) if name in _NUMBERS else (params.get(name) or "").strip()):
            details[name] = _DETAIL_READERS[name](params, name, rules)
    if stype.name == "Web Traffic":
        needs = {1: "google_keyword", 2: "referring_url"}.get(details["type_of_traffic"])  # type: ignore[call-overload]
        if needs and needs not in details:
            raise PanelError(ErrorCode.MISSING_FIELD, field=needs)

    runs = interval = None
    if stype.quantity_from == "field":
        if "quantity" not in stype.required and not given(params, "quantity", rules):
            quantity = min_quantity  # a dialect where quantity is optional for this type
        else:
            quantity = _integer(params, "quantity", high=10**12)
        if stype.dripfeed and "runs" in params and given(params, "runs", rules):
            if not dripfeed_allowed:
                raise PanelError(ErrorCode.DRIPFEED_NOT_SUPPORTED)
            runs = _integer(params, "runs", low=1, high=rules.max_runs)
            interval = _integer(
                params, "interval", absent=not given(params, "interval", rules),
                low=0 if rules.intervals else 1, high=rules.max_interval,
            )
            if rules.intervals is not None and interval not in rules.intervals:
                raise PanelError(ErrorCode.INVALID_FIELD, field="interval")
            _check_range(quantity * runs, min_quantity, max_quantity)
            return OrderRequest(link, quantity * runs, runs, interval, cast(OrderDetails, details))
    elif stype.quantity_from == "package":
        quantity = 1
    else:
        quantity = len(details[stype.quantity_from])  # type: ignore[arg-type]
    if not min_quantity <= quantity <= max_quantity:
        _check_range(quantity, min_quantity, max_quantity)
    return OrderRequest(link, quantity, runs, interval, cast(OrderDetails, details))


def _read_subscription(
    stype: ServiceType, params: Mapping[str, str], min_quantity: int, max_quantity: int, rules: OrderRules
) -> OrderRequest:
    username = _text(params, "username", rules)
    low = _integer(params, "min", high=10**12)
    high = _integer(params, "max", high=10**12)
    _check_range(low, min_quantity, max_quantity)
    _check_range(high, min_quantity, max_quantity)
    if low > high:
        raise PanelError(ErrorCode.INVALID_FIELD, field="max")
    delay = _integer(params, "delay", high=100_000)
    if delay not in rules.delays:
        raise PanelError(ErrorCode.INVALID_FIELD, field="delay")
    details: dict[str, object] = {"username": username, "min": low, "max": high, "delay": delay}
    for name in ("posts", "old_posts"):
        if name in stype.optional and given(params, name, rules):
            details[name] = _integer(params, name, high=100_000)
    expires_at = None
    if "expiry" in stype.optional and given(params, "expiry", rules):
        expires_at = expiry_time(params["expiry"])
        details["expiry"] = params["expiry"].strip()  # kept with the order as given
    # A subscription's quantity is the number of posts it serves (0: unlimited, when posts is absent);
    # it is charged nothing at creation.
    posts = int(details.get("posts", 0)) + int(details.get("old_posts", 0))  # type: ignore[call-overload]
    if details.get("posts") == 0 and not details.get("old_posts"):
        # posts=0 means "old posts only" (the panels' PHP example), as many as the panel finds.
        posts = OLD_POSTS_FOUND
    return OrderRequest(link=username, quantity=posts, details=cast(OrderDetails, details), expires_at=expires_at)
