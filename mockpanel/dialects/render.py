"""Domain results to JSON-able values, as a dialect spells them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..domain.catalog import Service
from ..domain.errors import PanelError
from ..domain.lifecycle import RefillStatus
from ..domain.money import quantize
from ..domain.orders import OrderState
from .profile import Dialect

# Service attributes behind the wire names that differ from them.
_SERVICE_SOURCE = {"service": "id", "desc": "description"}


def money(dialect: Dialect, amount: Decimal) -> str:
    return str(quantize(amount, dialect.money_decimals))


def as_id(kind: str, value: int | str) -> int | str:
    if kind == "str":
        return str(value)
    return int(value) if isinstance(value, int) or str(value).isdigit() else value


def error(dialect: Dialect, exc: PanelError) -> dict[str, str]:
    return {"error": dialect.message(exc.code, exc.values)}


def item_error(dialect: Dialect, exc: PanelError) -> Any:
    """An error inside a batch result: nested object or plain string, per dialect."""
    message = dialect.message(exc.code, exc.values)
    return {"error": message} if dialect.batch_item_error == "nested" else message


def envelope(dialect: Dialect, body: dict[str, Any]) -> dict[str, Any]:
    if not dialect.success_envelope:
        return body
    return {**dialect.success_envelope, **body}


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


def add(dialect: Dialect, order_id: int) -> dict[str, Any]:
    return envelope(dialect, {"order": as_id(dialect.add_order_kind, order_id)})


def status(dialect: Dialect, state: OrderState, order_id: int | str, currency: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, kind in dialect.status_fields.items():
        if kind == "money":
            out[name] = money(dialect, state.charge)
        elif kind == "status":
            out[name] = dialect.statuses[state.status]
        elif kind == "currency":
            out[name] = currency
        elif kind == "id_str":
            out[name] = str(order_id)
        elif kind == "id_int":
            out[name] = as_id("int", order_id)
        else:
            value = state.start_count if name == "start_count" else state.remains
            out[name] = value if kind == "int" else str(value)
    return out


def refill_status(dialect: Dialect, value: RefillStatus) -> str:
    return dialect.refill_statuses[value]


def balance(dialect: Dialect, amount: Decimal, currency: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, kind in dialect.balance_fields.items():
        out[name] = money(dialect, amount) if kind == "money" else currency
    return envelope(dialect, out)
