"""Deliberately broken variants of the mock panel, one defect each.

Each ``Defect`` builds a real mock (``build_panel`` + ``create_app``) and breaks it in
one way, mostly with an ASGI middleware that rewrites the API's requests or answers
(so the defect does not depend on the panel's internals), or through the panel's
public API. ``flags`` are the requirement ids the conformance suite must report for
it; ``also`` are ids it may report as well, because the same defect really does
break them too (a charge that disagrees with the rate also breaks the Partial
refund arithmetic). ``tier`` is the cheapest tier that must catch it.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlencode

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from mockpanel import Panel, VirtualClock, build_panel, create_app
from mockpanel._endpoint.params import query_fields, urlencoded_fields
from mockpanel._endpoint.api import replaying
from conformance.rules import TYPE_RULES

START = 1_700_000_000
Fields = dict[str, str]


async def read_all(receive: Receive) -> bytes:
    """A request's whole body (the broken panels read it before the mock does)."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


@dataclass
class Raw:
    """An answer that is not the panel's JSON: any status, content type and body."""

    status: int
    content_type: str
    body: bytes


RequestHook = Callable[[Panel, Fields], Fields]
ResponseHook = Callable[[Panel, Fields, Any], Any]  # returns a new payload or a Raw


class Rewrite:
    """ASGI middleware: rewrite the API request's fields before, and its JSON answer after."""

    def __init__(self, app: ASGIApp, panel: Panel, *, request: RequestHook | None = None,
                 response: ResponseHook | None = None) -> None:
        self.app, self.panel, self.on_request, self.on_response = app, panel, request, response

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        body = await read_all(receive)
        fields = {**query_fields(scope.get("query_string", b"")), **urlencoded_fields(body)}
        if self.on_request is not None:
            fields = self.on_request(self.panel, dict(fields))
            body = urlencode(fields).encode()
            headers = [(k, v) for k, v in scope["headers"] if k not in (b"content-type", b"content-length")]
            headers += [(b"content-type", b"application/x-www-form-urlencoded"), (b"content-length", str(len(body)).encode())]
            scope = {**scope, "headers": headers, "query_string": b""}
        replay = replaying(body)
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            else:
                chunks.append(message.get("body", b""))

        await self.app(scope, replay, capture)
        raw = b"".join(chunks)
        status = start.get("status", 200)
        out: Any = None
        if self.on_response is not None:
            try:
                payload = orjson.loads(raw)
            except orjson.JSONDecodeError:
                payload = None
            if payload is not None:
                out = self.on_response(self.panel, fields, payload)
        if isinstance(out, Raw):
            status, ctype, raw = out.status, out.content_type.encode(), out.body
        elif out is not None:
            ctype, raw = b"application/json", orjson.dumps(out)
        else:
            ctype = dict(start.get("headers", [])).get(b"content-type", b"application/json")
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", ctype), (b"content-length", str(len(raw)).encode())]})
        await send({"type": "http.response.body", "body": raw})


@dataclass
class Defect:
    name: str
    description: str
    tier: str  # the tier that must catch it: "read-only" or "orders"
    flags: set[str]
    also: set[str] = field(default_factory=set)
    request: RequestHook | None = None
    response: ResponseHook | None = None
    panel_class: type[Panel] | None = None
    wrap: Callable[[ASGIApp, Panel], ASGIApp] | None = None  # an ASGI middleware of its own
    settings: dict[str, Any] = field(default_factory=dict)
    raw_app: Callable[[], ASGIApp] | None = None  # not a panel at all
    dialect: str = "standard"  # the dialect it speaks, and is judged by

    def build(self, seed: int = 1) -> tuple[Panel, ASGIApp]:
        panel = build_panel(self.dialect, clock=VirtualClock(speed=0, start=START), seed=seed, **self.settings)
        if self.panel_class is not None:
            panel.__class__ = self.panel_class  # the same state, one method broken
        app: ASGIApp = create_app(panel, self.dialect)
        if self.raw_app is not None:
            return panel, self.raw_app()
        if self.request or self.response:
            app = Rewrite(app, panel, request=self.request, response=self.response)
        if self.wrap is not None:
            app = self.wrap(app, panel)
        return panel, app


# --- helpers -------------------------------------------------------------------------------


def _action(fields: Fields) -> str:
    return (fields.get("action") or "").strip().lower()


def _is_batch_status(fields: Fields) -> bool:
    return _action(fields) == "status" and "orders" in fields


def _status_items(fields: Fields, payload: Any) -> list[tuple[str, dict[str, Any]]]:
    """(order id, status object) for each status in a status answer, single or batch."""
    if _action(fields) != "status" or not isinstance(payload, dict) or "error" in payload:
        return []
    if "orders" in fields:
        return [(k, v) for k, v in payload.items() if isinstance(v, dict) and "status" in v]
    return [(fields.get("order", "").strip(), payload)] if "status" in payload else []


def _owner_key(panel: Panel, order_id: str) -> str | None:
    try:
        order = panel.find_order(int(order_id))
    except (KeyError, ValueError):
        return None
    for account in panel.accounts():
        if account.id == order.key:
            return account.key
    return None


def _valid(panel: Panel, key: str | None) -> bool:
    try:
        panel.account(key)
        return True
    except Exception:  # noqa: BLE001 - PanelError: not a key
        return False


# --- read-only defects ----------------------------------------------------------------------


def _drop_cancel(panel: Panel, fields: Fields, payload: Any) -> Any:
    if _action(fields) == "services" and isinstance(payload, list):
        return [{k: v for k, v in s.items() if k != "cancel"} for s in payload]
    return None


def _id_as_string(panel: Panel, fields: Fields, payload: Any) -> Any:
    if _action(fields) == "services" and isinstance(payload, list):
        return [{**s, "service": str(s["service"])} for s in payload]
    return None


def _balance_number(panel: Panel, fields: Fields, payload: Any) -> Any:
    if _action(fields) == "balance" and isinstance(payload, dict) and "balance" in payload:
        return {**payload, "balance": float(payload["balance"])}
    return None


def _balance_two_decimals(panel: Panel, fields: Fields, payload: Any) -> Any:
    if _action(fields) == "balance" and isinstance(payload, dict) and "balance" in payload:
        return {**payload, "balance": f"{float(payload['balance']):.2f}"}
    return None


def _batch_as_list(panel: Panel, fields: Fields, payload: Any) -> Any:
    if _is_batch_status(fields) and isinstance(payload, dict) and "error" not in payload:
        return [{"order": k, **v} for k, v in payload.items()]
    return None


def _drop_unknown(panel: Panel, fields: Fields, payload: Any) -> Any:
    if _is_batch_status(fields) and isinstance(payload, dict) and "error" not in payload:
        return {k: v for k, v in payload.items() if not (isinstance(v, dict) and "error" in v)}
    return None


def _any_key(panel: Panel, fields: Fields) -> Fields:
    if not _valid(panel, fields.get("key")):
        first = panel.accounts()[0]
        fields["key"] = first.key
    return fields


def _crash_on_words(panel: Panel, fields: Fields, payload: Any) -> Any:
    order = fields.get("order")
    if _action(fields) == "status" and order is not None and order.strip() and not order.strip().lstrip("-").isdigit():
        return Raw(500, "text/html", b"<html><body><h1>500 Internal Server Error</h1></body></html>")
    return None


CLOUDFLARE = (b"<!DOCTYPE html><html><head><title>Just a moment...</title></head>"
              b"<body><h1>Checking your browser before accessing the panel.</h1></body></html>")


def _html_on_unknown_action(panel: Panel, fields: Fields, payload: Any) -> Any:
    if isinstance(payload, dict) and payload.get("error") == "Incorrect request":
        return Raw(200, "text/html; charset=UTF-8", CLOUDFLARE)
    return None


def _wrong_key_words(panel: Panel, fields: Fields, payload: Any) -> Any:
    if isinstance(payload, dict) and payload.get("error") == "Invalid API key":
        return {"error": "Wrong API key"}
    return None


def _errors_400(panel: Panel, fields: Fields, payload: Any) -> Any:
    if isinstance(payload, dict) and set(payload) == {"error"}:
        return Raw(400, "application/json", orjson.dumps(payload))
    return None


def _refill_words(panel: Panel, fields: Fields, payload: Any) -> Any:
    if _action(fields) == "refill_status":
        text = orjson.dumps(payload).replace(b"Refill not found", b"Refill ID not found")
        return orjson.loads(text)
    return None


def _echo_key(panel: Panel, fields: Fields, payload: Any) -> Any:
    if _action(fields) == "balance" and isinstance(payload, dict) and "balance" in payload:
        return {**payload, "api_key": fields.get("key")}  # an extra field: allowed, but a secret
    return None


# --- orders defects ------------------------------------------------------------------------


def _processed(panel: Panel, fields: Fields, payload: Any) -> Any:
    for _, item in _status_items(fields, payload):
        if item.get("status") == "In progress":
            item["status"] = "Processed"
    return payload if _status_items(fields, payload) else None


def _lowercase(panel: Panel, fields: Fields, payload: Any) -> Any:
    items = _status_items(fields, payload)
    for _, item in items:
        item["status"] = str(item["status"]).lower()
    return payload if items else None


def _double_charge(panel: Panel, fields: Fields, payload: Any) -> Any:
    items = _status_items(fields, payload)
    for _, item in items:
        item["charge"] = f"{float(item['charge']) * 2:.5f}"
    return payload if items else None


class _Backwards:
    """A Completed order reads In progress on every other read: the status moves back."""

    def __init__(self) -> None:
        self.reads: dict[str, int] = {}

    def __call__(self, panel: Panel, fields: Fields, payload: Any) -> Any:
        items = _status_items(fields, payload)
        for oid, item in items:
            if item.get("status") == "Completed":
                self.reads[oid] = self.reads.get(oid, 0) + 1
                if self.reads[oid] % 2 == 0:
                    item["status"] = "In progress"
        return payload if items else None


def _full_charge_if(word: str) -> ResponseHook:
    def hook(panel: Panel, fields: Fields, payload: Any) -> Any:
        items = _status_items(fields, payload)
        for oid, item in items:
            if item.get("status") == word:
                item["charge"] = f"{panel.find_order(int(oid)).charge:.5f}"
        return payload if items else None

    return hook


def _remains_over(panel: Panel, fields: Fields, payload: Any) -> Any:
    items = _status_items(fields, payload)
    for oid, item in items:
        if item.get("status") == "In progress":
            item["remains"] = str(panel.find_order(int(oid)).quantity + 5)
    return payload if items else None


def _single_disagrees(panel: Panel, fields: Fields, payload: Any) -> Any:
    if _action(fields) == "status" and "orders" not in fields and isinstance(payload, dict) and "start_count" in payload:
        return {**payload, "start_count": str(int(payload["start_count"]) + 1)}
    return None


def _order_as_string(panel: Panel, fields: Fields, payload: Any) -> Any:
    if _action(fields) == "add" and isinstance(payload, dict) and isinstance(payload.get("order"), int):
        return {**payload, "order": str(payload["order"])}
    return None


def _refill_as_int(panel: Panel, fields: Fields, payload: Any) -> Any:
    if _action(fields) == "refill" and "order" in fields and isinstance(payload, dict) and isinstance(payload.get("refill"), str):
        return {**payload, "refill": int(payload["refill"])}
    return None


def _list_lower_min(panel: Panel, fields: Fields, payload: Any) -> Any:
    """The list claims ten times the minimum the panel enforces: orders below it go through."""
    if _action(fields) == "services" and isinstance(payload, list):
        return [{**s, "min": str(int(s["min"]) * 10)} if int(s["min"]) * 10 <= int(s["max"]) else s for s in payload]
    return None


def _list_lower_max(panel: Panel, fields: Fields, payload: Any) -> Any:
    """The list claims a tenth of the maximum the panel enforces: orders above it go through."""
    if _action(fields) == "services" and isinstance(payload, list):
        return [{**s, "max": str(int(s["max"]) // 10)} if int(s["max"]) // 10 >= int(s["min"]) else s for s in payload]
    return None


def _owner_sees(panel: Panel, fields: Fields) -> Fields:
    """Any key acts on any order: the request is run with the order owner's key."""
    ids = (fields.get("order") or fields.get("orders") or "").split(",")
    if _action(fields) in ("status", "cancel", "refill") and _valid(panel, fields.get("key")):
        for oid in ids:
            owner = _owner_key(panel, oid.strip())
            if owner is not None:
                fields["key"] = owner
                break
    return fields


class _CancelAnything:
    """cancel ignores the service's cancel flag: the panel cancels the order and answers 1."""

    def __init__(self) -> None:
        self.forced: set[str] = set()

    def request(self, panel: Panel, fields: Fields) -> Fields:
        if _action(fields) == "cancel" and _valid(panel, fields.get("key")):
            for oid in (fields.get("orders") or fields.get("order") or "").split(","):
                try:
                    order = panel.find_order(int(oid))
                except (KeyError, ValueError):
                    continue
                if not order.service.cancel and not order.status_at(panel.clock.now()).final:
                    panel.set_order(order.id, status="Canceled")
                    self.forced.add(oid.strip())
        return fields

    def response(self, panel: Panel, fields: Fields, payload: Any) -> Any:
        if _action(fields) == "cancel" and isinstance(payload, list):
            return [{**i, "cancel": 1} if str(i.get("order")) in self.forced else i for i in payload]
        return None


_CANCEL_ANYTHING = _CancelAnything()


class NeverCharged(Panel):
    """add takes the money and gives it straight back: the balance never moves."""

    def add(self, key: str, service_id: object, params: Any) -> int:  # type: ignore[override]
        order_id = super().add(key, service_id, params)
        charge = self.status(key, order_id).charge
        if charge:
            self.deposit(key, charge, note="broken: never charged")
        return order_id


# --- precision: defects the suite once missed, and panel shapes it once misjudged ----------------


def _slug_types(panel: Panel, fields: Fields, payload: Any) -> Any:
    if _action(fields) == "services" and isinstance(payload, list):
        return [{**s, "type": "_".join(str(s["type"]).lower().split())} for s in payload]
    return None


def _key_any_case(panel: Panel, fields: Fields) -> Fields:
    key = fields.get("key")
    if key is not None and not _valid(panel, key):
        match = [a.key for a in panel.accounts() if a.key.lower() == key.lower()]
        if match:
            fields["key"] = match[0]
    return fields


def _key_spaces(panel: Panel, fields: Fields) -> Fields:
    key = fields.get("key")
    if key is not None and not _valid(panel, key) and _valid(panel, key.strip()):
        fields["key"] = key.strip()
    return fields


def _fraction_quantity(panel: Panel, fields: Fields) -> Fields:
    """'12.5' and '1e2' are read as numbers (rounded down, raised to the minimum), and charged."""
    q = (fields.get("quantity") or "").strip()
    if _action(fields) == "add" and not q.lstrip("-").isdigit() and _valid(panel, fields.get("key")):
        try:
            units = int(float(q))
        except ValueError:
            return fields
        service = next((s for s in panel.services(fields["key"]) if str(s.id) == fields.get("service", "").strip()), None)
        if service is not None and units > 0:
            fields["quantity"] = str(min(max(units, service.min), service.max))
    return fields


def _foreign_errors(panel: Panel, fields: Fields, payload: Any) -> Any:
    if isinstance(payload, dict) and set(payload) == {"error"}:
        return {"status": "error", "message": payload["error"]}
    return None


def _refuse_dripfeed(panel: Panel, fields: Fields) -> Fields:
    if _action(fields) == "add" and "runs" in fields:
        fields["service"] = "0"  # refused by the panel; the answer is rewritten below
        fields["dripfeed-refused"] = "1"
    return fields


def _dripfeed_foreign(panel: Panel, fields: Fields, payload: Any) -> Any:
    if fields.get("dripfeed-refused") and isinstance(payload, dict) and "error" in payload:
        return {"status": "error", "message": "Invalid Interval in minutes"}  # SmartPanel's other error shape
    return None


def _dripfeed_status_short(panel: Panel, fields: Fields, payload: Any) -> Any:
    items = _status_items(fields, payload)
    for oid, item in items:
        if panel.find_order(int(oid)).runs:
            item.pop("charge", None)
            item.pop("remains", None)
    return payload if items else None


def _charge_one_unit_short(panel: Panel, fields: Fields, payload: Any) -> Any:
    """The charge shown is truncated one unit of the last decimal below the charge taken."""
    items = _status_items(fields, payload)
    for _, item in items:
        charge = float(item["charge"])
        if charge > 0:
            item["charge"] = f"{charge - 0.00001:.5f}"
    return payload if items else None


def _status_in_euro(panel: Panel, fields: Fields, payload: Any) -> Any:
    items = _status_items(fields, payload)
    for _, item in items:
        item["currency"] = "EUR"
    return payload if items else None


def _json_as_html(panel: Panel, fields: Fields, payload: Any) -> Any:
    return Raw(200, "text/html; charset=UTF-8", orjson.dumps(payload))


class _RefillAnything:
    """refill ignores the service's refill flag: a completed order of a "refill": false service gets a refill."""

    def __init__(self) -> None:
        self.made: dict[str, str] = {}

    def response(self, panel: Panel, fields: Fields, payload: Any) -> Any:
        action = _action(fields)
        if action == "refill" and "order" in fields and isinstance(payload, dict) and "error" in payload:
            try:
                order = panel.find_order(int(fields["order"]))
            except (KeyError, ValueError):
                return None
            completed = order.status_at(panel.clock.now()).value == "Completed"
            if not order.service.refill and completed and _owner_key(panel, str(order.id)) == fields.get("key"):
                refill_id = str(900_000 + len(self.made))
                self.made[refill_id] = str(order.id)
                return {"refill": refill_id}
        if action == "refill_status" and fields.get("refill", "").strip() in self.made:
            return {"status": "Completed"}
        return None


_REFILL_ANYTHING = _RefillAnything()
SMARTPANEL_UNKNOWN = "This action is Invalid"


def _smartpanel_request(panel: Panel, fields: Fields) -> Fields:
    if _action(fields) in ("refill", "refill_status", "cancel"):
        fields["action"] = "smartpanel-has-no-such-action"
    return fields


def _smartpanel_response(panel: Panel, fields: Fields, payload: Any) -> Any:
    """SmartPanel 4.0's shapes on the standard words: four actions, plain-string batch errors, string ids."""
    if isinstance(payload, dict) and payload.get("error") == "Incorrect request":
        return {"error": SMARTPANEL_UNKNOWN}
    action = _action(fields)
    if action == "services" and isinstance(payload, list):
        return [{**s, "service": str(s["service"])} for s in payload]
    if action == "add" and isinstance(payload, dict) and "order" in payload:
        return {**payload, "order": str(payload["order"])}
    if _is_batch_status(fields) and isinstance(payload, dict) and "error" not in payload:
        return {k: (v["error"] if isinstance(v, dict) and set(v) == {"error"} else v) for k, v in payload.items()}
    return None


def _batch_ignored(panel: Panel, fields: Fields) -> Fields:
    """status reads only ``order``: a batch (``orders``) is a status with no order, one flat error."""
    if _is_batch_status(fields) and "order" not in fields:
        fields.pop("orders")
    return fields


NULL_ANSWERED = ("refill", "refill_status", "cancel")


def _no_such_actions(panel: Panel, fields: Fields) -> Fields:
    if _action(fields) in NULL_ANSWERED:
        fields["action"] = "panel-has-no-such-action"
    return fields


def _null_for_unknown(panel: Panel, fields: Fields, payload: Any) -> Any:
    """A PHP switch with no default: an unknown action (and a missing one) is answered ``null``."""
    if isinstance(payload, dict) and payload.get("error") == "Incorrect request":
        return Raw(200, "application/json", b"null")
    return None


def _floor_fractions(panel: Panel, fields: Fields) -> Fields:
    """A PHP panel's (int) cast: '100.5' is read as 100 (accepted at a minimum of 100); '12.5' as 12, below it."""
    q = (fields.get("quantity") or "").strip()
    if _action(fields) == "add" and "." in q:
        try:
            fields["quantity"] = str(int(float(q)))
        except ValueError:
            pass
    return fields


def _service_type(panel: Panel, fields: Fields) -> str | None:
    key = fields.get("key")
    if not _valid(panel, key):
        return None
    for service in panel.services(str(key)):
        if str(service.id) == (fields.get("service") or "").strip():
            return service.type.name
    return None


def _seo_keywords_optional(panel: Panel, fields: Fields) -> Fields:
    """SEO's second required field, keywords, is never enforced: an SEO order without it is placed all the same."""
    if _action(fields) == "add" and "keywords" not in fields and _service_type(panel, fields) == "SEO":
        fields["keywords"] = "seo"
    return fields


def _max_when_quantity_missing(panel: Panel, fields: Fields) -> Fields:
    """An add that leaves out the quantity of a type that takes one is placed at the service's max quantity (and
    charged for it): the panel, not the client, picks the count."""
    key = fields.get("key")
    if _action(fields) != "add" or "quantity" in fields or not _valid(panel, key):
        return fields
    service = next((s for s in panel.services(str(key)) if str(s.id) == (fields.get("service") or "").strip()), None)
    if service is not None and "quantity" in TYPE_RULES[service.type.name].required:
        fields["quantity"] = str(service.max)
    return fields


def _interval_error_foreign(panel: Panel, fields: Fields, payload: Any) -> Any:
    """A drip-feed order with an invalid interval is refused in SmartPanel's other envelope."""
    if _action(fields) == "add" and isinstance(payload, dict) and payload.get("error") == "Incorrect interval":
        return {"status": "error", "message": "Invalid Interval in minutes"}
    return None


def _add_without_id(panel: Panel, fields: Fields, payload: Any) -> Any:
    """An accepted add answers success, but no order id: the order is placed and charged all the same."""
    if _action(fields) == "add" and isinstance(payload, dict) and "order" in payload:
        return {"status": "success"}
    return None


def _duplicate_names(panel: Panel, fields: Fields, payload: Any) -> Any:
    """balance answers an object with "currency" twice (the same value): RFC 8259 wants names unique."""
    if _action(fields) == "balance" and isinstance(payload, dict) and "balance" in payload:
        body = orjson.dumps(payload)[:-1] + b',"currency":' + orjson.dumps(payload.get("currency")) + b"}"
        return Raw(200, "application/json", body)
    return None


def _batch_by_position(panel: Panel, fields: Fields, payload: Any) -> Any:
    """multi-status keys each status by its position in the answer ("0", "1"…), not by the id asked."""
    if _is_batch_status(fields) and isinstance(payload, dict) and "error" not in payload:
        return {str(i): item for i, item in enumerate(payload.values())}
    return None


class _FeeOnCompletion:
    """The first status that shows an order Completed takes a hidden fee of 0.01 from its owner's balance: the
    balance moves with no charge or refund to explain it (the order's charge stays as it was)."""

    def __init__(self) -> None:
        self.taken: set[tuple[int, str]] = set()  # (panel, order id): a variant is built once per run

    def __call__(self, panel: Panel, fields: Fields, payload: Any) -> Any:
        for oid, item in _status_items(fields, payload):
            if item.get("status") == "Completed" and (id(panel), oid) not in self.taken:
                owner = _owner_key(panel, oid)
                if owner is not None:
                    self.taken.add((id(panel), oid))
                    panel.withdraw(owner, "0.01", note="broken: a fee no order charges")
        return None


def _status_echoes_another_id(panel: Panel, fields: Fields, payload: Any) -> Any:
    """A status's "order" field is the order placed before it (the id asked, minus one)."""
    items = _status_items(fields, payload)
    for _, item in items:
        if "order" in item:
            item["order"] = str(int(item["order"]) - 1)
    return payload if items else None


def _add_answers_unknown_id(panel: Panel, fields: Fields, payload: Any) -> Any:
    """add places and charges the order, but answers an id no order has (the real one plus 500000)."""
    if _action(fields) == "add" and isinstance(payload, dict) and isinstance(payload.get("order"), int):
        return {**payload, "order": payload["order"] + 500_000}
    return None


def _cancel_ended_accepted(panel: Panel, fields: Fields, payload: Any) -> Any:
    """A cancel of an order that has ended is answered 1 (accepted), and nothing happens to the order."""
    if _action(fields) == "cancel" and isinstance(payload, list):
        return [{**i, "cancel": 1} if i.get("cancel") == {"error": "Order cannot be canceled"} else i for i in payload]
    return None


def _service_id_leading_digits(panel: Panel, fields: Fields) -> Fields:
    """The service id is read as PHP's (int) reads it: "20abc" is the service 20."""
    sid = (fields.get("service") or "").strip()
    digits = sid[: len(sid) - len(sid.lstrip("0123456789"))]
    if _action(fields) == "add" and digits and digits != sid and sid[len(digits)].isalpha():
        fields["service"] = digits
    return fields


class SessionCookie:
    """ASGI middleware: a panel that sets a session cookie on every answer to a valid key, and then serves
    the session's account to a request that brings the cookie back, whatever key it sends."""

    def __init__(self, app: ASGIApp, panel: Panel) -> None:
        self.app, self.panel = app, panel
        self.sessions: dict[str, str] = {}  # cookie -> the key it was set for
        self.cookies_seen = 0  # requests that brought a cookie back

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        body = await read_all(receive)
        fields = urlencoded_fields(body)
        cookie = dict(scope["headers"]).get(b"cookie", b"").decode()
        token = cookie.partition("panel_session=")[2].split(";")[0]
        if cookie:
            self.cookies_seen += 1
        if token in self.sessions:  # the session wins over the key
            fields["key"] = self.sessions[token]
            body = urlencode(fields).encode()
            headers = [(k, v) for k, v in scope["headers"] if k != b"content-length"]
            scope = {**scope, "headers": headers + [(b"content-length", str(len(body)).encode())]}
        key = fields.get("key")
        set_cookie: list[tuple[bytes, bytes]] = []
        if not token and _valid(self.panel, key):
            token = f"s{len(self.sessions) + 1}"
            self.sessions[token] = str(key)
            set_cookie = [(b"set-cookie", f"panel_session={token}; Path=/".encode())]

        async def add_cookie(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": list(message.get("headers", [])) + set_cookie}
            await send(message)

        await self.app(scope, replaying(body), add_cookie)


def _refund_outside_the_run(panel: Panel, fields: Fields) -> Fields:
    """Once the panel's clock has moved on, an order placed before the run is refunded: 1.50 comes back."""
    key = fields.get("key")
    if panel.clock.now() > START + 60 and _valid(panel, key) and key == panel.accounts()[0].key \
            and not any(e.note == "refund of an order outside the run" for e in panel.ledger(str(key))):
        panel.deposit(str(key), "1.50", note="refund of an order outside the run")
    return fields


class Fickle:
    """A panel whose answers change from one run to the next, whatever the seed (its dice are not seeded): each
    ``services`` lists another part of the catalogue; each ``add`` is at random refused (its link busy, or no
    funds) or placed without an id to follow it by; each multi-status at random ignores ``orders`` (one flat
    error); each cancel is at random refused. What the suite sees, and so which steps it can take, differs every
    run. One defect holds every time (service ids listed as strings), so every run must end the same way: exit 1,
    V2-SVC-02 flagged."""

    BUSY = "You have active order with this link. Please wait until order being completed."

    def __init__(self) -> None:
        self.dice = random.Random(os.urandom(16))

    def request(self, panel: Panel, fields: Fields) -> Fields:
        if _is_batch_status(fields) and self.dice.random() < 0.3:
            fields.pop("orders")
        if _action(fields) in ("add", "cancel") and self.dice.random() < 0.3:
            fields["fickle-refused"] = _action(fields)
            fields["action"] = "balance"  # nothing placed or canceled: the answer is rewritten below
        return fields

    def response(self, panel: Panel, fields: Fields, payload: Any) -> Any:
        refused = fields.get("fickle-refused")
        if refused == "add":
            return {"error": self.dice.choice((self.BUSY, "Not enough funds on balance"))}
        if _action(fields) == "add" and isinstance(payload, dict) and "order" in payload and self.dice.random() < 0.1:
            return {"status": "success"}  # placed and charged, but no id to follow it by
        if refused == "cancel":
            ids = (fields.get("orders") or fields.get("order") or "").split(",")
            return [{"order": int(i) if i.strip().isdigit() else i, "cancel": {"error": "Order cannot be canceled"}}
                    for i in ids]
        if _action(fields) == "services" and isinstance(payload, list) and payload:
            kept = [s for s in payload if self.dice.random() < 0.7]
            return _id_as_string(panel, fields, kept or payload[:1])
        return None


def fickle() -> Defect:
    """A new fickle panel (its dice are its own): see ``Fickle``."""
    dice = Fickle()
    return Defect("fickle", "answers that change between runs of the same seed", "orders", {"V2-SVC-02"},
                  request=dice.request, response=dice.response)


def not_a_panel() -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b"<html><body><h1>Welcome to nginx!</h1></body></html>"
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/html"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    return app


DEFECTS: list[Defect] = [
    # read-only: the read-only tier must catch these
    Defect("services_missing_field", "services items lack the 'cancel' field", "read-only", {"V2-SVC-02"},
           response=_drop_cancel),
    Defect("services_id_as_string", "service ids are strings, not integers", "read-only", {"V2-SVC-02"},
           response=_id_as_string),
    Defect("balance_as_number", "balance is a JSON number, not a decimal string", "read-only", {"V2-BAL-01"},
           response=_balance_number),
    Defect("balance_two_decimals", "balance has 2 decimals, not 5", "read-only", {"V2-BAL-02"},
           response=_balance_two_decimals),
    Defect("batch_status_as_list", "multi-status answers a list, not an object keyed by id", "read-only",
           {"V2-BAT-01"}, response=_batch_as_list),
    Defect("unknown_ids_dropped", "multi-status leaves unknown ids out", "read-only", {"V2-BAT-02"},
           response=_drop_unknown),
    Defect("auth_not_enforced", "any key (or none) acts as the first account", "read-only",
           {"V2-AUTH-01", "V2-AUTH-02"}, also={"V2-AUTH-03", "V2-ERR-03"}, request=_any_key),
    Defect("server_error_on_bad_input", "a non-numeric order id crashes with HTTP 500 and an HTML page",
           "read-only", {"V2-GEN-02"}, also={"V2-GEN-01", "V2-STA-01"}, response=_crash_on_words),
    Defect("html_instead_of_json", "an unknown action gets a Cloudflare HTML page with HTTP 200", "read-only",
           {"V2-GEN-01"}, also={"V2-GEN-04"}, response=_html_on_unknown_action),
    Defect("wrong_key_words", "a wrong key gets 'Wrong API key'", "read-only", {"V2-ERR-03"},
           response=_wrong_key_words),
    Defect("errors_with_http_400", "errors come with HTTP 400", "read-only", {"V2-GEN-03"}, response=_errors_400),
    Defect("refill_not_found_words", "an unknown refill gets 'Refill ID not found'", "read-only", {"V2-ERR-02"},
           response=_refill_words),
    Defect("no_batch_limit", "a batch of more than 100 ids is answered in full", "read-only", {"V2-BAT-04"},
           settings={"batch_limit": 1000}),
    # orders: they need orders to show
    Defect("unknown_status", "In progress reads 'Processed'", "orders", {"V2-STA-03"}, response=_processed),
    Defect("status_lowercase", "statuses in lowercase", "orders", {"V2-STA-04"}, response=_lowercase),
    Defect("balance_never_charged", "add gives the charge straight back", "orders", {"V2-ORD-01"},
           also={"V2-ORD-08"}, panel_class=NeverCharged),
    Defect("status_moves_backwards", "a Completed order reads In progress on every other read", "orders",
           {"V2-ORD-03"}, also={"V2-BAT-06", "V2-ORD-02"}, response=_Backwards()),
    Defect("charge_disagrees_with_rate", "status shows twice the charge", "orders", {"V2-ORD-02"},
           also={"V2-ORD-01", "V2-ORD-06", "V2-ORD-08"}, response=_double_charge),
    Defect("second_key_sees_orders", "any key reads, cancels and refills any order", "orders",
           {"V2-ISO-01", "V2-ISO-02"}, also={"V2-ISO-03"}, request=_owner_sees),
    Defect("minimum_not_enforced", "orders below the listed min are accepted", "orders", {"V2-ADD-02"},
           response=_list_lower_min),
    Defect("maximum_not_enforced", "orders above the listed max are accepted", "orders", {"V2-ADD-03"},
           response=_list_lower_max),
    Defect("partial_keeps_full_charge", "a Partial order still shows its full charge", "orders", {"V2-ORD-06"},
           also={"V2-ORD-08"}, response=_full_charge_if("Partial")),
    Defect("canceled_keeps_charge", "a Canceled order still shows its full charge", "orders", {"V2-ORD-07"},
           also={"V2-ORD-08"}, response=_full_charge_if("Canceled")),
    Defect("remains_over_quantity", "remains is larger than the quantity while In progress", "orders",
           {"V2-ORD-04"}, response=_remains_over),
    Defect("single_and_batch_disagree", "single status shows another start_count than multi-status", "orders",
           {"V2-BAT-06"}, response=_single_disagrees),
    Defect("order_id_as_string", "add answers the order id as a string", "orders", {"V2-ADD-01"},
           response=_order_as_string),
    Defect("refill_id_as_int", "refill answers the refill id as an integer", "orders", {"V2-REF-01"},
           response=_refill_as_int),
    Defect("cancel_flag_ignored", "cancel works on services whose cancel flag is false", "orders", {"V2-CAN-03"},
           # it cancels for any valid key, the second one too; an order it cancels in progress shows its remains
           # back at the quantity (the mock's Canceled), which ORD-04 sees where the run reaches it then
           also={"V2-ISO-02", "V2-ORD-04"},
           request=_CANCEL_ANYTHING.request, response=_CANCEL_ANYTHING.response),
]

# The misses of a more lenient suite: each is run over several seeds.
PRECISION: list[Defect] = [
    Defect("service_type_slugs", "services.type as SmartPanel slugs (custom_comments) where the dialect has names",
           "read-only", {"V2-SVC-04"}, response=_slug_types),
    Defect("key_any_case", "a key in other letter case is taken as the key", "read-only", {"V2-AUTH-03"},
           also={"V2-ERR-03"}, request=_key_any_case),  # taken as the key, a status probe reaches "Incorrect order ID"
    Defect("key_with_spaces", "a key with spaces around it is taken as the key", "read-only", {"V2-AUTH-03"},
           request=_key_spaces),
    Defect("json_as_text_html", "JSON answers come as text/html", "read-only", {"V2-GEN-07"},
           response=_json_as_html),
    Defect("foreign_error_envelope", 'errors as {"status": "error", "message": ...}', "read-only", {"V2-GEN-05"},
           response=_foreign_errors),
    Defect("fraction_quantity_charged", "quantities '12.5' and '1e2' are accepted and charged", "orders",
           {"V2-ADD-07"}, also={"V2-ORD-02", "V2-ORD-04", "V2-ORD-06", "V2-ORD-08", "V2-BAT-06"},
           request=_fraction_quantity),
    Defect("dripfeed_foreign_refusal", 'drip-feed orders refused with {"status": "error", "message": ...}', "orders",
           {"V2-GEN-05", "V2-TYP-02"}, request=_refuse_dripfeed, response=_dripfeed_foreign),
    Defect("dripfeed_status_without_charge", "a drip-feed order's status has no charge and no remains", "orders",
           {"V2-STA-02", "V2-TYP-02"}, response=_dripfeed_status_short),
    Defect("charge_one_unit_short", "status shows the charge one unit of the last decimal short", "orders",
           {"V2-ORD-02"}, also={"V2-ORD-01", "V2-ORD-06", "V2-ORD-08"}, response=_charge_one_unit_short),
    Defect("refill_flag_ignored", 'refill works on services listed "refill": false', "orders", {"V2-REF-06"},
           response=_REFILL_ANYTHING.response),
    Defect("status_currency_differs", "status gives EUR while the balance is in USD", "orders", {"V2-STA-05"},
           response=_status_in_euro),
]
DEFECTS += PRECISION

# Seen on real panel scripts (docs/conformance.md): each run over several seeds, in small runs.
REAL_SCRIPTS: list[Defect] = [
    Defect("multi_status_ignores_orders", "status reads only 'order': every batch gets one flat error", "orders",
           {"V2-BAT-03"}, request=_batch_ignored),  # once, under the requirement it breaks (not BAT-06 too)
    Defect("unknown_action_null", "refill, refill_status and cancel are unknown actions, answered null", "read-only",
           {"V2-GEN-04"}, request=_no_such_actions, response=_null_for_unknown),
    Defect("add_without_order_id", 'an accepted add answers {"status": "success"}, no order id', "orders",
           {"V2-ADD-01"}, also={"V2-ORD-08"},  # the order it placed is charged, and no charge of the run explains it
           response=_add_without_id),
    Defect("fraction_above_minimum", "a fractional quantity is read as its whole part: accepted at or above the "
           "minimum, refused below it", "orders", {"V2-ADD-07"}, request=_floor_fractions),
    Defect("second_required_field_optional", "SEO orders are placed without keywords", "orders", {"V2-TYP-04"},
           request=_seo_keywords_optional),
    Defect("interval_error_foreign_envelope", 'an invalid drip-feed interval is refused as {"status": "error", '
           '"message": ...}', "orders", {"V2-GEN-05"}, response=_interval_error_foreign),
]
DEFECTS += REAL_SCRIPTS

# Every value checked everywhere, against what it must be; refill and cancel judged against the order
# (docs/conformance.md): each run over several seeds, in small runs.
EVERY_VALUE: list[Defect] = [
    Defect("duplicate_json_names", 'balance answers "currency" twice in one object', "read-only", {"V2-GEN-01"},
           response=_duplicate_names),
    Defect("multi_status_other_ids", "multi-status keys each status by its position, not by the id asked",
           "read-only", {"V2-BAT-01"}, response=_batch_by_position),
    Defect("status_echoes_another_id", "a status's \"order\" field names another order than the one asked",
           "orders", {"V2-STA-02"}, response=_status_echoes_another_id, dialect="smartpanel-script"),
    Defect("add_answers_unknown_id", "add answers an order id that status does not know", "orders", {"V2-ADD-01"},
           response=_add_answers_unknown_id),
    Defect("cancel_of_ended_order_accepted", "a cancel of a Completed (or Partial, Canceled) order answers 1",
           "orders", {"V2-CAN-04"}, response=_cancel_ended_accepted),
    Defect("service_id_trailing_letters", 'add takes the service id "20abc" as the service 20', "orders",
           {"V2-ADD-04"}, request=_service_id_leading_digits),
    Defect("balance_moves_without_charge", "a hidden fee of 0.01 leaves the balance when an order completes",
           "orders", {"V2-ORD-08"}, response=_FeeOnCompletion(),
           # the fees may also take more than the worst cases of the adds sent: the spend guard then stops the
           # adds, and says so under ORD-02 (docs/conformance.md, "An overcharge stops the adds")
           also={"V2-ORD-02"}),
]
DEFECTS += EVERY_VALUE

BAD_RATES = ("-1.50", "0", "abc", "99999999")


def _bad_rates(panel: Panel, fields: Fields, payload: Any) -> Any:
    """The first services of the list show rates no one can price by (negative, zero, not numeric, absurd)."""
    if _action(fields) == "services" and isinstance(payload, list):
        return [{**s, "rate": BAD_RATES[i]} if i < len(BAD_RATES) else s for i, s in enumerate(payload)]
    return None


BAD_RATE_LIST = Defect("bad_rates", "services listed at negative, zero, non-numeric and absurd rates", "orders",
                       {"V2-SVC-03"}, response=_bad_rates)

# SmartPanel 4.0 judged as the standard dialect: what it lacks is "action not supported", never passed.
SMARTPANEL_SHAPED = Defect("smartpanel_shaped", "only services, add, status, balance; plain-string batch errors; "
                           "string ids", "orders", set(), request=_smartpanel_request, response=_smartpanel_response)

NOT_A_PANEL = Defect("not_a_panel", "an nginx welcome page for everything", "read-only", set(), raw_app=not_a_panel)
# A session cookie that would carry the first key's account into any later request that brings it back.
SESSION_COOKIE = Defect("session_cookie", "sets a session cookie, and serves the session's account to whoever "
                        "brings it back", "read-only", set(), wrap=SessionCookie)
# A correct panel whose key is also used outside the run: money comes back before the first order.
OUTSIDE_REFUND = Defect("outside_refund", "an order placed before the run is refunded once the clock moves",
                        "orders", set(), request=_refund_outside_the_run)
# Any quantity it likes where the add leaves it out: the suite's probe of that add must fit the cap at the max.
QUANTITY_LEFT_TO_THE_PANEL = Defect("max_quantity_when_left_out", "an add without a quantity is placed at the "
                                    "service's max quantity, and charged for it", "orders", {"V2-TYP-01"},
                                    request=_max_when_quantity_missing)
KEY_ECHO = Defect("key_echo", "balance echoes the API key in an extra field", "read-only", set(), response=_echo_key)


# --- running the suite against a panel (shared by the tests) -------------------------------

MAIN_KEY = "conformance-main-key-7f3a9c"
SECOND_KEY = "conformance-second-key-b41d"
LINK = "https://instagram.com/example_user"


def open_keys(panel: Panel, balance: str = "100") -> None:
    panel.create_account(MAIN_KEY, balance=balance)
    panel.create_account(SECOND_KEY, balance="0")


def run_suite(url: str, panel: Panel | None, tier: str, *, second: bool = True, max_spend: str = "50",
              examples: int = 8, seed: int = 0, control: bool = False, **overrides: Any) -> Any:
    """Run the conformance suite quietly; the clock is driven directly (or by the control API)."""
    import io
    from decimal import Decimal

    from conformance.context import RunConfig
    from conformance.runner import run

    config = RunConfig(url=url, key=MAIN_KEY, second_key=SECOND_KEY if second else None, tier=tier,
                       link=LINK, max_spend=Decimal(max_spend), examples=examples, seed=seed,
                       use_control_api=control, **overrides)
    clock = None if (control or panel is None) else (lambda seconds: panel.clock.advance(seconds))
    return run(config, clock=clock, stream=io.StringIO())
