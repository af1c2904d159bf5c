"""The control API's request bodies and queries, as msgspec Structs: one schema both checks
each request (a wrong type is a 400 naming the field and what it expects) and documents it
(``/_mock/openapi.json``). The meaning of each value is still checked where it is used
(Control, the catalogue, fault specs); these only say what shape it has.

Money fields take a JSON string ("1.50") or number (1.5): both decode exactly to Decimal.

What the control API answers: its times, and the JSON Schemas of its answers (for /_mock/openapi.json).

Every time is Unix seconds (virtual time, a number), as it always was, and has an ISO-8601 UTC
companion named ``<name>_iso``: ``"2023-11-14T22:13:20.000Z"``, to the millisecond, as JavaScript's
``Date.toISOString`` writes it. The companion is null where the time is none or infinite (an order
held in Pending has no start), or past year 9999.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from .._domain.lifecycle import Status
from .._powers.control import iso as iso  # the control API writes every time with it
from .._powers.triggers import parse_duration


INT64 = 2**63 - 1
MAX_MONEY = Decimal(10) ** 12  # far above any real balance; larger ones are typos or attacks
MAX_ADVANCE = 100 * 365.25 * 86400  # one clock move: a century
_DIGITS = r"^\s*[0-9]{1,18}\s*$"
Count = Annotated[int, Meta(ge=0, le=INT64, description="a whole number >= 0")]
Money = Annotated[Decimal, Meta(description=f'an exact amount: a string such as "1.50" (or a JSON number), at most {MAX_MONEY:,}')]
Duration = Annotated[
    Annotated[float, Meta(ge=0, le=MAX_ADVANCE)] | str,
    Meta(description='seconds, or a duration such as "90s", "15m", "2h", "1d" (at most a century)'),
]
Digits = Annotated[
    Annotated[int, Meta(ge=0, le=INT64)] | Annotated[str, Meta(pattern=_DIGITS)],
    Meta(description="a whole number (digit strings are accepted, as in catalogue files)"),
]
Flag = Annotated[bool, Meta(description="true or false")]


class Body(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Base of every body: unknown fields are refused, by name; money is bounded."""

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if isinstance(value, Decimal) and value.is_finite() and abs(value) > MAX_MONEY:
                raise ValueError(f"field {name!r}: an amount of at most {MAX_MONEY:,}, got {value}")

    def given(self) -> dict[str, Any]:
        """The fields the client sent (a null counts as not sent)."""
        return {f: v for f in self.__struct_fields__ if (v := getattr(self, f)) is not None}


class NewKey(Body):
    key: Annotated[str, Meta(min_length=1, max_length=512)] | None = None
    balance: Money | None = None
    currency: Annotated[str, Meta(min_length=1, max_length=16)] | None = None


class Amount(Body):
    amount: Money


class Drain(Body):
    amount: Money | None = None


class ClockChange(Body):
    advance: Duration | None = None
    speed: Annotated[float | str, Meta(description="virtual seconds per real second (0 freezes)")] | None = None
    freeze: Flag | None = None

    def __post_init__(self) -> None:
        if isinstance(self.advance, str):  # "15m": checked here, so a century is the most in either spelling
            try:
                seconds = parse_duration(self.advance)
            except ValueError as exc:
                raise ValueError(f"field 'advance': {exc}") from None
            if not 0 <= seconds <= MAX_ADVANCE:
                raise ValueError(f"field 'advance': at most a century ({MAX_ADVANCE:g} s) at a time, got {self.advance!r}")
            self.advance = seconds


class Outcome(Body):
    status: str
    remains: Count | None = None


class OrderChange(Body):
    status: str | None = None
    remains: Count | None = None
    start_count: Count | None = None
    outcome: Outcome | str | None = None


class RefillChange(Body):
    status: Annotated[str, Meta(description="Pending, In progress, Completed or Rejected")]


class ServiceChange(Body):
    """Fields of a catalogue entry; to add one, service, name, type, rate, min and max are required."""

    service: Digits | None = None
    name: str | None = None
    type: str | None = None
    category: str | None = None
    rate: Money | None = None
    min: Digits | None = None
    max: Digits | None = None
    refill: Flag | None = None
    cancel: Flag | None = None
    dripfeed: Flag | None = None
    description: str | None = None
    enabled: Flag | None = None


class NewService(ServiceChange):
    pass


class FaultSpec(Body):
    """A fault (_powers/faults.py explains each kind)."""

    kind: Annotated[str | int, Meta(description="http, html (or cloudflare), malformed, truncated, empty, drop, "
                                                  "latency, disable, reprice, stuck, cancel, drain; or a status such as 502")]
    action: str | list[str] | None = None
    key: str | None = None
    probability: Annotated[float, Meta(gt=0, le=1)] | str | None = None
    count: Digits | None = None
    skip: Digits | None = None
    status: Digits | None = None
    retry_after: Digits | None = None
    body: str | None = None
    content_type: str | None = None
    seconds: Annotated[float, Meta(gt=0)] | str | None = None
    processed: Flag | None = None
    service: Digits | None = None
    rate: Money | None = None
    amount: Money | None = None
    when: Literal["before", "after"] | None = None


class JournalQuery(Body):
    action: str | None = None
    key: str | None = None
    limit: Count | None = None


class Problem(Struct):
    """Every error answer."""

    error: str
    field: str | None = None


# --- decoding, with errors people can act on ----------------------------------------------------

_AT = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_UNKNOWN = re.compile(r"Object contains unknown field `(?P<name>[^`]*)`")
_OWN = re.compile(r"^field '(?P<name>[^']+)': (?P<rest>.*)$", re.S)
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
_MISSING = re.compile(r"Object missing required field `(?P<name>[^`]*)`")


class SchemaError(ValueError):
    """A body or query of the wrong shape; ``field`` names where (``outcome.remains``), if anywhere."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _explain(exc: msgspec.ValidationError, kind: type[Struct], where: str) -> SchemaError:
    match = _AT.match(str(exc))
    what = match.group("what") if match else str(exc)
    what = what.replace(f"matching regex {_DIGITS!r}", "of 1 to 18 digits (a whole number)")
    path = (match.group("path") or "").lstrip(".") if match else ""
    own = _OWN.match(what)  # raised by a Struct's own check, which names its field
    if own:
        name = f"{path}.{own.group('name')}" if path else own.group("name")
        return SchemaError(f"field {name!r}: {own.group('rest')}", name)
    unknown = _UNKNOWN.match(what)
    if unknown:
        name = f"{path}.{unknown.group('name')}" if path else unknown.group("name")
        return SchemaError(f"unknown field {name!r}; allowed: {list(kind.__struct_fields__)}", name)
    missing = _MISSING.match(what)
    if missing:
        name = f"{path}.{missing.group('name')}" if path else missing.group("name")
        return SchemaError(f"missing required field {name!r}", name)
    if not path:
        return SchemaError(f"the {where}: {what}; send a JSON object, e.g. {{}}")
    return SchemaError(f"field {path!r}: {what}", path)


def decode_body(raw: bytes, kind: type[Struct]) -> Any:
    """``raw`` (an empty body is ``{}``) as a ``kind``, or a SchemaError."""
    try:
        return msgspec.json.decode(raw if raw.strip() else b"{}", type=kind)
    except msgspec.ValidationError as exc:
        raise _explain(exc, kind, "body") from None
    except msgspec.DecodeError as exc:
        if _SURROGATE.search(raw):  # msgspec's words for this one ("truncated") would mislead
            raise SchemaError("the body holds a lone surrogate escape such as \\ud800: text must be valid Unicode") from None
        raise SchemaError(f"the body is not valid JSON ({exc}); send a JSON object with Content-Type: application/json") from None


def decode_query(params: dict[str, str], kind: type[Struct]) -> Any:
    """Query parameters as a ``kind``: digit strings become numbers; an empty value counts as absent."""
    try:
        return msgspec.convert({k: v for k, v in params.items() if v != ""}, kind, strict=False)
    except msgspec.ValidationError as exc:
        raise _explain(exc, kind, "query") from None



def time_schema(name: str, what: str, *, nullable: bool = False, clock: str = "virtual") -> dict[str, Any]:
    """The schema of a time ``name`` (``what`` it is, on the ``clock``) and of its ``name_iso`` companion."""
    kind: Any = ["number", "null"] if nullable else "number"
    return {
        name: {"type": kind, "description": f"{what}, in Unix seconds ({clock} time){'; null if none' if nullable else ''}"},
        f"{name}_iso": {"type": ["string", "null"], "format": "date-time",
                        "description": f"{name} as ISO-8601 UTC (2023-11-14T22:13:20.000Z); null when {name} is none"},
    }


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties)}


_INT, _STR, _MONEY = {"type": "integer"}, {"type": "string"}, {"type": "string", "description": "an exact amount"}
_MAYBE_INT = {"type": ["integer", "null"]}

CLOCK = _object({
    **time_schema("now", "the time now"),
    "speed": {"type": "number", "description": "virtual seconds per real second (0: frozen)"},
    "frozen": {"type": "boolean"},
})

PLAN = _object({
    **time_schema("starts_at", "when it leaves Pending", nullable=True),  # null: held in Pending
    **time_schema("ends_at", "when its outcome shows", nullable=True),
    "outcome": _STR, "remains_at_end": _INT, "per_hour": {"type": ["number", "null"]}, "stuck": {"type": "boolean"},
})

ORDER = _object({
    "order": _INT, "key": {"type": "string", "description": "redacted: key#xxxxxxxx"}, "service": _INT, "link": _STR,
    "quantity": _INT, "status": {"type": "string", "enum": [s.value for s in Status]}, "remains": _INT,
    "start_count": _INT, "delivered": _INT, "charge": _MONEY, "price": _MONEY, "refunded": _MONEY,
    **time_schema("created", "when it was placed"),
    "runs": _MAYBE_INT, "interval": _MAYBE_INT, "refill": _MAYBE_INT, "plan": PLAN,
})

HEALTH = _object({
    "status": {"type": "string", "enum": ["ok"]},
    "version": {"type": "string", "description": "mockpanel's version"},
    "uptime": {"type": "number", "description": "seconds since the server started"},
})

LEDGER = _object({
    "balance": _MONEY, "currency": _STR,
    "entries": {"type": "array", "items": _object({
        **time_schema("at", "when it happened"),
        "kind": {"type": "string", "enum": ["deposit", "withdrawal", "charge", "refund"]},
        "amount": _MONEY, "order": _MAYBE_INT, "note": _STR,
    })},
})

JOURNAL = {"type": "array", "items": _object({
    "seq": _INT, **time_schema("at", "when the request arrived"),
    **time_schema("wall", "when it arrived", clock="real"),
    "action": _STR, "params": {"type": "object", "description": "every field but the key"},
    "key": {"type": "string", "description": "redacted; empty when no key was sent"},
    "status": {"type": ["integer", "null"], "description": "the HTTP status the client saw; null: dropped or not answered yet"},
    "response": {"description": "the panel's answer (any JSON value); null when it never handled it"},
    "latency": {"type": "number", "description": "seconds inside the server"},
    "fault": {"type": ["string", "null"]}, "state": {"type": "string", "enum": ["arrived", "delayed", "abandoned", "answered"]},
})}
