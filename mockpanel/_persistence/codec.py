"""Values in state files: JSON, with tags for what JSON lacks (exact money, key digests,
tuples, infinite times, typed order requests), so what is read back is equal and of the same type."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from enum import Enum
from typing import Any

import orjson

from .._domain.accounts import KeyDigest
from .._domain.order_columns import PackedLines
from .._domain.servicetypes import OrderDetails, OrderRequest

_PLAIN = (str, int, bool, type(None))


def encode(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN:  # the common case first: request fields are strings
        return value
    if kind is dict:
        return {str(k): encode(v) for k, v in value.items()}
    if kind is OrderRequest:  # an order placed (place_order): its typed request, not its wire fields
        return {"$order": _request_json(value)}
    if isinstance(value, KeyDigest):
        return {"$key": str(value)}
    if isinstance(value, PackedLines):  # an order's list field, kept as one string: stays a list when read back
        return {"$lines": str(value)}
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, float) and not math.isfinite(value):
        return {"$float": repr(value)}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, tuple):
        return {"$tuple": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if hasattr(value, "items"):  # a dict, or a Mapping of request fields
        return {str(k): encode(v) for k, v in value.items()}
    raise TypeError(f"cannot record a {type(value).__name__} in a state file")


def decode(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1:
            (tag, inner), = value.items()
            if tag == "$key":
                return KeyDigest(inner)
            if tag == "$decimal":
                return Decimal(inner)
            if tag == "$lines":
                return PackedLines(inner)
            if tag == "$float":
                return float(inner)
            if tag == "$tuple":
                return tuple(decode(v) for v in inner)
            if tag == "$order":
                return _request(inner)
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def _request_json(request: OrderRequest) -> dict[str, Any]:
    """The request's fields, those left at their defaults omitted (an add is the commonest record)."""
    out: dict[str, Any] = {"link": request.link, "quantity": request.quantity}
    for name in ("runs", "interval", "expires_at"):
        value = getattr(request, name)
        if value is not None:
            out[name] = value
    if request.details:
        out["details"] = encode(dict(request.details))
    return out


def _request(data: dict[str, Any]) -> OrderRequest:
    details: OrderDetails = decode(data.get("details", {}))
    expires_at = data.get("expires_at")
    return OrderRequest(
        link=str(data["link"]), quantity=int(data["quantity"]), runs=data.get("runs"), interval=data.get("interval"),
        details=details, expires_at=None if expires_at is None else float(expires_at),
    )


def dumps(value: Any) -> bytes:
    """Strict JSON bytes. Text that is not valid Unicode (a lone surrogate) is escaped, not lost."""
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson refuses lone surrogates; json escapes them as \\udXXX
        return json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()


def loads(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:  # escaped lone surrogates: only json reads them back
        return json.loads(data)
