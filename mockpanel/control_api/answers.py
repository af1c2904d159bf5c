"""What the control API answers: its times, and the JSON Schemas of its answers (for /_mock/openapi.json).

Every time is Unix seconds (virtual time, a number), as it always was, and has an ISO-8601 UTC
companion named ``<name>_iso``: ``"2023-11-14T22:13:20.000Z"``, to the millisecond, as JavaScript's
``Date.toISOString`` writes it. The companion is null where the time is none or infinite (an order
held in Pending has no start), or past year 9999.
"""

from __future__ import annotations

from typing import Any

from ..domain.lifecycle import Status
from ..powers.control import iso as iso

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
