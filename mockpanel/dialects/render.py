"""Domain results to JSON-able values, as a dialect spells them."""

from __future__ import annotations

import json
import weakref
from decimal import ROUND_DOWN, Decimal
from typing import Any, Callable

import orjson

from ..domain.catalog import Service
from ..domain.errors import PanelError
from ..domain.lifecycle import RefillStatus, Status
from ..domain.money import quantize
from ..domain.orders import OrderState
from .parse import is_digits
from .profile import Dialect

# Service attributes behind the wire names that differ from them.
_SERVICE_SOURCE = {"service": "id", "desc": "description"}


def money(dialect: Dialect, amount: Decimal) -> str:
    return str(quantize(amount, dialect.money_decimals))


def as_id(kind: str, value: int | str) -> int | str:
    if kind == "str":
        return str(value)
    # Only what parse_id accepts becomes a number: a 20-digit echo of the client's
    # token would not fit JSON's int64.
    if isinstance(value, int):
        return value
    return int(value) if is_digits(value) else value


def error(dialect: Dialect, exc: PanelError) -> dict[str, Any]:
    return dialect.error_body(exc.code, exc.values)


def item_error(dialect: Dialect, exc: PanelError) -> Any:
    """An error inside a batch result: nested object or plain string, per dialect."""
    message = dialect.message(exc.code, exc.values)
    return {"error": message} if dialect.batch_item_error == "nested" else message


def envelope(dialect: Dialect, action: str, body: dict[str, Any]) -> dict[str, Any]:
    """A single-object success answer with the fields the dialect adds (e.g. "status": "success")."""
    extra = dialect.success_envelope.get(action)
    return {**extra, **body} if extra else body


def service(dialect: Dialect, item: Service) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, kind in dialect.service_fields.items():
        value = getattr(item, _SERVICE_SOURCE.get(name, name))
        if kind == "type_name":
            value = item.type.name
        elif kind == "type_slug":
            value = item.type.slug
        elif kind == "int":
            value = int(value)
        elif kind == "int01":
            value = 1 if value else 0
        elif kind == "bool":
            value = bool(value)
        else:  # str, rate: as entered ("0.90", "8")
            value = str(value)
        out[name] = value
    return out


def services(dialect: Dialect, items: list[Service]) -> Any:
    if not items:
        return dialect.services_empty
    return [service(dialect, s) for s in items]


def encode(dialect: Dialect, payload: Any) -> bytes:
    """JSON bytes as the panel writes them: compact, or PHP's JSON_PRETTY_PRINT with its escapes."""
    if dialect.json_indent is None and not dialect.json_php:
        return orjson.dumps(payload)
    text = json.dumps(payload, indent=dialect.json_indent, ensure_ascii=dialect.json_php,
                      separators=(",", ": ") if dialect.json_indent else (",", ":"))
    if dialect.json_php:
        text = text.replace("/", "\\/")  # JSON has "/" only inside strings
    return text.encode()


def add(dialect: Dialect, order_id: int) -> dict[str, Any]:
    return envelope(dialect, "add", {"order": as_id(dialect.add_order_kind, order_id)})


def status(dialect: Dialect, state: OrderState, order_id: int | str, currency: str) -> dict[str, Any]:
    return status_renderer(dialect)(state, order_id, currency)


StatusRenderer = Callable[[OrderState, "int | str", str], dict[str, Any]]
# id(dialect) -> (the dialect, its renderer); an entry leaves when its dialect is collected
# (a Dialect holds dicts, so it is not hashable and cannot key a WeakKeyDictionary).
_renderers: dict[int, tuple["weakref.ref[Dialect]", StatusRenderer]] = {}


def status_renderer(dialect: Dialect) -> StatusRenderer:
    """The dialect's status object as one compiled function (the multi-status hot path).

    Generated once per dialect from ``status.fields``: a dict literal with one
    expression per field, instead of a loop over the fields for every order.
    """
    cached = _renderers.get(id(dialect))
    if cached is not None and cached[0]() is dialect:
        return cached[1]
    money_cache: dict[Decimal, str] = {}
    places = dialect.money_decimals

    def fmt(amount: Decimal) -> str:
        text = money_cache.get(amount)
        if text is None:
            text = str(quantize(amount, places))
            if len(money_cache) < 50_000:
                money_cache[amount] = text
        return text

    remains = "state[3]"
    if dialect.pending_remains == "zero":
        remains = "(0 if state[0] is PENDING else state[3])"
    exprs = {
        "money": "fmt(state[1])",
        "status": "words[state[0]]",
        "currency": "currency",
        "id_str": "str(order_id)",
        "id_int": "as_id('int', order_id)",
    }
    items = []
    for name, kind in dialect.status_fields.items():
        if kind in exprs:
            expr = exprs[kind]
        else:
            value = "state[2]" if name == "start_count" else remains
            expr = value if kind == "int" else f"str({value})"
        items.append(f"{name!r}: {expr}")
    source = f"def render(state, order_id, currency):\n    return {{{', '.join(items)}}}\n"
    scope: dict[str, Any] = {"fmt": fmt, "words": dict(dialect.statuses), "PENDING": Status.PENDING, "as_id": as_id}
    exec(compile(source, f"<status renderer for {dialect.name}>", "exec"), scope)
    renderer: StatusRenderer = scope["render"]
    _renderers[id(dialect)] = (weakref.ref(dialect), renderer)
    weakref.finalize(dialect, _forget, id(dialect), renderer)
    return renderer


def _forget(dialect_id: int, renderer: StatusRenderer) -> None:
    cached = _renderers.get(dialect_id)
    if cached is not None and cached[1] is renderer:  # not a newer dialect's entry at a reused id
        del _renderers[dialect_id]


def refill_status(dialect: Dialect, value: RefillStatus) -> str:
    return dialect.refill_statuses[value]


def balance(dialect: Dialect, amount: Decimal, currency: str) -> dict[str, Any]:
    """The balance rounded down: what it shows can always be spent (0.0011996 shows 0.00119)."""
    out: dict[str, Any] = {}
    shown = str(quantize(amount, dialect.balance_decimals, ROUND_DOWN))
    for name, kind in dialect.balance_fields.items():
        out[name] = shown if kind == "money" else currency
    return envelope(dialect, "balance", out)
