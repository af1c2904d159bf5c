"""The service types of API v2 and the parameters each one takes for ``add``.

Every type declares its fields; ``read_order_request``
checks raw field strings against the type and returns an ``OrderRequest``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Callable, Literal, Mapping

from .errors import ErrorCode, PanelError
from .numbers import parse_int

# How the quantity of an order is found.
QuantityFrom = Literal["field", "comments", "usernames", "package", "subscription"]


@dataclass(frozen=True)
class ServiceType:
    name: str  # the exact string in ``services.type``, e.g. "Custom Comments"
    slug: str  # the SmartPanel spelling, e.g. "custom_comments"
    type_id: int | None  # Perfect Panel's internal id, where known
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    quantity_from: QuantityFrom = "field"
    flat_price: bool = False  # packages: the rate is the price of the whole order
    dripfeed: bool = False  # takes runs/interval


def _t(name: str, type_id: int | None, required: str, optional: str = "", **kw: object) -> ServiceType:
    slug = name.lower().replace(" ", "_")
    return ServiceType(name, slug, type_id, tuple(required.split()), tuple(optional.split()), **kw)  # type: ignore[arg-type]


SERVICE_TYPES: dict[str, ServiceType] = {
    t.name: t
    for t in [
        _t("Default", 0, "link quantity", "runs interval", dripfeed=True),
        _t("Package", 10, "link", quantity_from="package", flat_price=True),
        _t("SEO", 1, "link quantity keywords"),
        _t("Custom Comments", 2, "link comments", quantity_from="comments"),
        _t("Custom Comments Package", 14, "link comments", quantity_from="comments", flat_price=True),
        _t("Mentions", 9, "link quantity usernames"),
        _t("Mentions with Hashtags", 3, "link quantity usernames hashtags"),
        _t("Mentions Custom List", 4, "link usernames", quantity_from="usernames"),
        _t("Mentions Hashtag", 6, "link quantity hashtag"),
        _t("Mentions User Followers", 7, "link quantity username"),
        _t("Mentions Media Likers", 8, "link quantity media"),
        _t("Comment Likes", 15, "link quantity username"),
        _t("Comment Replies", None, "link username comments", quantity_from="comments"),
        _t("Poll", 17, "link quantity answer_number"),
        _t("Invites from Groups", 20, "link quantity groups"),
        _t(
            "Subscriptions",
            100,
            "username min max delay",
            "posts old_posts expiry",
            quantity_from="subscription",
        ),
        _t(
            "Web Traffic",
            102,
            "link quantity country device type_of_traffic",
            "runs interval google_keyword referring_url",
            dripfeed=True,
        ),
    ]
}

SLUGS: dict[str, ServiceType] = {t.slug: t for t in SERVICE_TYPES.values()}


def service_type(name: str) -> ServiceType:
    try:
        return SERVICE_TYPES[name]
    except KeyError:
        try:
            return SLUGS[name]
        except KeyError:
            raise ValueError(
                f"unknown service type {name!r}; known types: {', '.join(SERVICE_TYPES)}"
            ) from None


@dataclass(frozen=True)
class OrderRules:
    """Panel-wide rules that differ between dialects (the profile's ``limits`` and drip-feed lists)."""

    max_runs: int = 1000
    max_interval: int = 43200  # minutes (30 days)
    intervals: tuple[int, ...] | None = None  # allowed drip-feed intervals; None: 1..max_interval
    delays: tuple[int, ...] = (0, 5, 10, 15, 20, 30, 40, 50, 60, 90, 120, 150, 180, 210, 240, 270, 300, 360, 420, 480, 540, 600)
    # Free text is bounded so an order's memory is (docs/limits.md); past a limit: "Incorrect <field>".
    max_link: int = 2048  # characters in the link
    max_text: int = 500  # characters in a one-line field (username, hashtag, media, country, ...)
    max_list_text: int = 100_000  # characters in a list field (comments, usernames, hashtags, keywords, groups)
    max_lines: int = 10_000  # lines in a list field
    # PHP panels cast with (int): an optional number sent "", "undefined" or "null" is absent.
    lenient_optional: bool = True
    # Field lists that differ from the standard, by type name: {"Subscriptions": (required, optional)}.
    type_fields: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)


@dataclass(frozen=True)
class OrderRequest:
    """A checked ``add``: what to deliver, and how much of it to charge for."""

    link: str
    quantity: int  # units to deliver in total (drip-feed: quantity x runs)
    runs: int | None = None
    interval: int | None = None  # minutes between runs
    details: dict[str, object] = field(default_factory=dict)  # type-specific fields, checked


# How many existing posts an "old posts only" subscription (posts=0, no old_posts) serves.
OLD_POSTS_FOUND = 10

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


def _expiry(raw: str) -> str:
    expiry_time(raw)
    return raw.strip()


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


def read_order_request(
    stype: ServiceType,
    params: Mapping[str, str],
    *,
    min_quantity: int,
    max_quantity: int,
    dripfeed_allowed: bool,
    rules: OrderRules = OrderRules(),
) -> OrderRequest:
    """Check an ``add``'s fields for one service type; raise the documented error."""
    if stype.name in rules.type_fields:
        required, optional = rules.type_fields[stype.name]
        stype = replace(stype, required=required, optional=optional)
    link = ""
    if "link" in stype.required:
        link = _text(params, "link", rules, rules.max_link)

    if stype.quantity_from == "subscription":
        return _read_subscription(stype, params, min_quantity, max_quantity, rules)

    details: dict[str, object] = {}
    for name in stype.required + stype.optional:
        if name in ("link", "quantity", "runs", "interval") or name not in _DETAIL_READERS:
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
        if stype.dripfeed and given(params, "runs", rules):
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
            return OrderRequest(link, quantity * runs, runs, interval, details)
    elif stype.quantity_from == "package":
        quantity = 1
    else:
        quantity = len(details[stype.quantity_from])  # type: ignore[arg-type]
    _check_range(quantity, min_quantity, max_quantity)
    return OrderRequest(link, quantity, runs, interval, details)


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
    if "expiry" in stype.optional and given(params, "expiry", rules):
        details["expiry"] = _expiry(params["expiry"])
    # A subscription's quantity is the number of posts it serves (0: unlimited, when posts is absent);
    # it is charged nothing at creation.
    posts = int(details.get("posts", 0)) + int(details.get("old_posts", 0))  # type: ignore[call-overload]
    if details.get("posts") == 0 and not details.get("old_posts"):
        # posts=0 means "old posts only" (the panels' PHP example), as many as the panel finds.
        posts = OLD_POSTS_FOUND
    return OrderRequest(link=username, quantity=posts, details=details)
