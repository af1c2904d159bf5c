"""The list endpoints of the control API: ``GET /_mock/orders``, ``/_mock/keys``, ``/_mock/refills``,
entries of the control API's one registry (``ENDPOINTS`` in control_http.py).

Each endpoint is described once, declaratively (``ListEndpoint``: its query parameters
and its answer); the same description checks the query and yields its OpenAPI entry.
Orders are read straight from the order book's columns, newest first, paged by id
(``before``/``after``), so a page of a 100,000-order panel costs one pass over the
columns at most. Keys are shown redacted, never as keys.

Finding and counting orders by their columns, fast enough for 100,000 orders a page.

Filters become masks (a bool per row) built by ``map`` over the order book's typed
columns with C-level predicates (``now.__ge__``, ``set.__contains__``...), so no Python
code runs per row; ``itertools.compress`` then picks the rows. Without a filter, a page
reads just its rows, newest first.
"""

from __future__ import annotations

import math
import operator
import weakref
from dataclasses import dataclass
from itertools import chain, compress, repeat
from typing import Any, Callable, Iterator, Mapping, TYPE_CHECKING

from starlette.requests import Request as HttpRequest

from .._dialects.profile import Dialect
from .._domain.accounts import key_id, redact_id
from .._domain.money import shown_text
from .._domain.lifecycle import RefillStatus, Status
from .._domain.numbers import parse_int
from .._domain.orderbook import OUTCOMES, OUTCOME_INDEX, REMOVED
from .._domain.orders import state_of
from .._panel.panel import Panel
from .registry import Endpoint
from .schema import SchemaError, iso, time_schema

if TYPE_CHECKING:  # pragma: no cover
    from .._powers.control import Control


MAX_PAGE = 500


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # "string" or "integer"
    description: str
    enum: tuple[str, ...] | None = None
    default: int | None = None
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True, kw_only=True)
class ListEndpoint(Endpoint):
    """A GET endpoint of the registry whose query is ``params`` (checked by ``parse``, not a Struct)."""

    params: tuple[Param, ...]

    async def read(self, request: HttpRequest) -> Any:
        return self.parse(request.query_params)

    def parse(self, query: Mapping[str, str]) -> dict[str, Any]:
        """The query's values, typed; a wrong one is a ValueError naming it and what it expects."""
        known = {p.name: p for p in self.params}
        unknown = sorted(set(query) - set(known))
        if unknown:
            raise ValueError(f"unknown query parameter(s) {unknown}; {self.path} takes {sorted(known)}")
        out: dict[str, Any] = {}
        for p in self.params:
            given = query.get(p.name, "")
            raw = given.strip()
            if not given or (not raw and p.type != "integer"):  # absent or empty: the default
                out[p.name] = p.default
            elif p.type == "integer":
                value = parse_int(raw)
                if value is None:
                    raise BadQuery(p.name, f"query parameter {p.name!r} is a whole number, got {raw!r}")
                if (p.minimum is not None and value < p.minimum) or (p.maximum is not None and value > p.maximum):
                    raise BadQuery(p.name, f"query parameter {p.name!r} is between {p.minimum} and {p.maximum}, got {value}")
                out[p.name] = value
            elif p.enum is not None:
                wanted = _norm(raw)
                match = next((e for e in p.enum if _norm(e) == wanted), None)
                if match is None:
                    raise BadQuery(p.name, f"query parameter {p.name!r} is one of {list(p.enum)}, got {raw!r}")
                out[p.name] = match
            else:
                out[p.name] = raw[:2048]
        return out

    def operation(self) -> dict[str, Any]:
        params = []
        for p in self.params:
            schema: dict[str, Any] = {"type": p.type}
            for name in ("enum", "default", "minimum", "maximum"):
                value = getattr(p, name)
                if value is not None:
                    schema[name] = list(value) if name == "enum" else value
            params.append({"name": p.name, "in": "query", "required": False, "description": p.description, "schema": schema})
        return {
            "summary": self.summary, "parameters": params,
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": dict(self.answer or {})}}},
                "400": {"description": "a query parameter is wrong: {\"error\": ...} names it"},
            },
        }


def list_endpoint(path: str, summary: str, params: tuple[Param, ...], answer: Mapping[str, Any],
                  handler: Callable[[Panel, dict[str, Any], Dialect], Any]) -> ListEndpoint:
    """``GET /_mock{path}``: ``handler`` reads the panel with the parsed query (money shown as the dialect's)."""
    def read(c: Control, r: HttpRequest, query: dict[str, Any]) -> Any:
        return handler(c.panel, query, c.dialect)

    return ListEndpoint("GET", path, read, summary, answer=answer, params=params)


class BadQuery(SchemaError):
    """A query parameter with a wrong value; ``field`` names it (as the control API's 400s do)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field)


def _norm(text: str) -> str:
    return text.lower().replace(" ", "").replace("_", "").replace("-", "")


# --- orders ------------------------------------------------------------------------------

def _money(dialect: Dialect | None, amount: Any, balance: bool = False) -> str:
    """An amount with the dialect's decimals (API v2's 5 without one), never an exponent."""
    if dialect is None:
        return shown_text(amount, 5)
    return dialect.show_balance(amount) if balance else dialect.show_money(amount)


def order_json(panel: Panel, i: int, now: float, dialect: Dialect | None = None) -> dict[str, Any]:
    book = panel.orders
    state = state_of(book, i, now)
    service = book.services.values[book.service_ix[i]]
    kid = book.accounts.values[book.account_ix[i]]
    return {
        "order": book.first_id + i, "key": redact_id(kid),
        "service": service.id, "service_name": service.name, "link": book.links[i], "quantity": book.quantity[i],
        "status": state.status.value, "remains": state.remains, "start_count": state.start_count,
        "charge": _money(dialect, state.charge), "created": book.created[i], "created_iso": iso(book.created[i]),
    }


def list_orders(panel: Panel, q: dict[str, Any], dialect: Dialect | None = None) -> dict[str, Any]:
    limit = q.get("limit") or 50
    with panel.lock:
        now = panel.clock.now()
        rows: list[int] = []
        more = False
        for i in order_rows(panel, q, now):
            if len(rows) == limit:
                more = True
                break
            rows.append(i)
        if q.get("after") is not None:
            rows.reverse()  # pages read newest first, whichever way they were reached
        first = panel.orders.first_id
        page = [order_json(panel, i, now, dialect) for i in rows]
    newer = older = None
    if rows:
        top, bottom = first + rows[0], first + rows[-1]
        older = bottom if (more or q.get("after") is not None) and bottom > first else None
        newer = top if q.get("before") is not None or (q.get("after") is not None and more) else None
    return {"orders": page, "older": older, "newer": newer, "limit": limit}


# --- keys and refills -------------------------------------------------------------------

def list_keys(panel: Panel, q: dict[str, Any], dialect: Dialect | None = None) -> dict[str, Any]:
    with panel.lock:
        accounts = panel.accounts()
        page = accounts[q["offset"] or 0:][: q["limit"] or 100]
        out = []
        for a in page:
            balance, currency = panel.balance(a.key)
            out.append({"key": redact_id(a.id), "key_id": a.id, "balance": _money(dialect, balance, True), "currency": currency,
                        "orders": len(a.order_ids), "created": a.created, "created_iso": iso(a.created)})
    return {"keys": out, "total": len(accounts)}


def list_refills(panel: Panel, q: dict[str, Any], dialect: Dialect | None = None) -> dict[str, Any]:
    limit = q.get("limit") or 50
    ids = {key_id(q["key"]), q["key"]} if q.get("key") else None
    prefix = q["key"][4:] if q.get("key", "") and q["key"].startswith("key#") else None
    out: list[dict[str, Any]] = []
    older = None
    with panel.lock:
        now = panel.clock.now()
        for refill_id in reversed(panel.refills):
            if q.get("before") is not None and refill_id >= q["before"]:
                continue
            r = panel.refills[refill_id]
            if ids is not None and r.key not in ids and not (prefix and r.key.startswith(prefix)):
                continue
            if q.get("order") is not None and r.order_id != q["order"]:
                continue
            status = r.status_at(now)
            if q.get("status") and status.value != q["status"]:
                continue
            if len(out) == limit:
                older = out[-1]["refill"]
                break
            out.append({"refill": r.id, "order": r.order_id, "key": redact_id(r.key), "status": status.value,
                        "created": r.created, "created_iso": iso(r.created)})
    return {"refills": out, "older": older, "limit": limit}


# --- the descriptions ---------------------------------------------------------------------

_KEY = Param("key", "string", "only this key's: the key, its key id or its redacted form key#xxxxxxxx")
_LIMIT = Param("limit", "integer", "entries per page", default=50, minimum=1, maximum=MAX_PAGE)
_BEFORE = Param("before", "integer", "the page after: entries with ids below this (the answer's 'older')", minimum=0)
_CREATED = time_schema("created", "when it was made")
_ORDER = {"type": "object", "properties": {
    "order": {"type": "integer"}, "key": {"type": "string", "description": "redacted"}, "service": {"type": "integer"},
    "service_name": {"type": "string"}, "link": {"type": "string"}, "quantity": {"type": "integer"},
    "status": {"type": "string", "enum": [s.value for s in Status]}, "remains": {"type": "integer"},
    "start_count": {"type": "integer"}, "charge": {"type": "string"}, **_CREATED,
}}
_PAGE_IDS = {"older": {"type": ["integer", "null"]}, "newer": {"type": ["integer", "null"]}, "limit": {"type": "integer"}}

ORDERS = list_endpoint(
    "/orders", "Orders, newest first, filtered and paged by id",
    (_KEY, Param("status", "string", "only orders in this status now", enum=tuple(s.value for s in Status)),
     Param("service", "integer", "only orders of this service id", minimum=0),
     Param("link", "string", "only orders whose link contains this text"),
     _LIMIT, _BEFORE, Param("after", "integer", "the page before: entries with ids above this (the answer's 'newer')", minimum=0)),
    {"type": "object", "properties": {"orders": {"type": "array", "items": _ORDER}, **_PAGE_IDS}},
    list_orders,
)
KEYS = list_endpoint(
    "/keys", "API keys (redacted) with their balances, in creation order",
    (Param("limit", "integer", "keys per page", default=100, minimum=1, maximum=1000),
     Param("offset", "integer", "keys to skip", default=0, minimum=0)),
    {"type": "object", "properties": {"total": {"type": "integer"}, "keys": {"type": "array", "items": {"type": "object", "properties": {
        "key": {"type": "string"}, "key_id": {"type": "string"}, "balance": {"type": "string"},
        "currency": {"type": "string"}, "orders": {"type": "integer"}, **_CREATED}}}}},
    list_keys,
)
REFILLS = list_endpoint(
    "/refills", "Refills, newest first, filtered and paged by id",
    (_KEY, Param("status", "string", "only refills in this status now", enum=tuple(s.value for s in RefillStatus)),
     Param("order", "integer", "only refills of this order id", minimum=0), _LIMIT, _BEFORE),
    {"type": "object", "properties": {"refills": {"type": "array", "items": {"type": "object", "properties": {
        "refill": {"type": "integer"}, "order": {"type": "integer"}, "key": {"type": "string"},
        "status": {"type": "string"}, **_CREATED}}}, "older": {"type": ["integer", "null"]},
        "limit": {"type": "integer"}}},
    list_refills,
)
LIST_ENDPOINTS: tuple[ListEndpoint, ...] = (ORDERS, KEYS, REFILLS)


def openapi_paths(prefix: str = "/_mock") -> dict[str, Any]:
    """The OpenAPI ``paths`` entries of the list endpoints."""
    return {prefix + e.path: {"get": e.operation()} for e in LIST_ENDPOINTS}



def key_rows(panel: Panel, wanted: str) -> set[int]:
    """The order book's account indexes a key filter matches: the key, its key id or ``key#xxxxxxxx``."""
    ids = {wanted, key_id(wanted)}
    prefix = wanted[4:] if wanted.startswith("key#") and len(wanted) > 4 else None
    return {
        ix for ix, kid in enumerate(panel.orders.accounts.values)
        if kid in ids or (prefix is not None and kid.startswith(prefix))
    }


def _and(mask: list[bool] | None, more: Any) -> list[bool]:
    return list(more) if mask is None else list(map(operator.and_, mask, more))


def filter_mask(panel: Panel, q: Mapping[str, Any]) -> list[bool] | None:
    """A bool per row: live and matching key, service and link; None when every row matches."""
    book = panel.orders
    mask: list[bool] | None = None
    if book.removed:
        mask = _and(mask, map(REMOVED.__ne__, book.account_ix))
    if q.get("key"):
        mask = _and(mask, map(key_rows(panel, q["key"]).__contains__, book.account_ix))
    if q.get("service") is not None:
        services = {ix for ix, s in enumerate(book.services.values) if s.id == q["service"]}
        mask = _and(mask, map(services.__contains__, book.service_ix))
    if q.get("link"):
        mask = _and(mask, map(str.__contains__, book.links, repeat(q["link"])))
    return mask


def status_mask(panel: Panel, status: Status, now: float) -> list[bool]:
    """A bool per row: in ``status`` at ``now`` (what orders.state_of decides, column-wise)."""
    book = panel.orders
    if status.final:
        ended = map(now.__ge__, book.done_at)
        return list(map(operator.and_, ended, map(OUTCOME_INDEX[status].__eq__, book.outcome)))
    running = map(operator.not_, map(now.__ge__, book.done_at))
    started = map(now.__lt__, book.start_at) if status is Status.PENDING else map(now.__ge__, book.start_at)
    return list(map(operator.and_, running, started))


def order_rows(panel: Panel, q: Mapping[str, Any], now: float) -> Iterator[int]:
    """Rows matching the filters, newest first (or, with ``after``, oldest first from it)."""
    book = panel.orders
    n, first = len(book.links), book.first_id
    if q.get("after") is not None:
        rows: range = range(max(0, q["after"] - first + 1), n)
    else:
        top = n if q.get("before") is None else max(0, min(n, q["before"] - first))
        rows = range(top - 1, -1, -1)
    mask = filter_mask(panel, q)
    if q.get("status"):
        mask = _and(mask, status_mask(panel, Status(q["status"]), now))
    if mask is None:
        return iter(rows)
    if rows.step < 0:  # compress runs forwards: read the mask backwards
        return compress(rows, reversed(mask[: rows.start + 1]))
    return compress(rows, mask[rows.start:])


# The last counts per order book: a page polled every second re-reads them only when an order
# was added or changed, or the clock passed an order's next start or end.
# Keyed by id(book), with a weak reference to tell a new book at the same address; at most _KEPT books.
_COUNTS: dict[int, tuple[Any, Any, float, dict[str, int]]] = {}
_KEPT = 64


def count_statuses(panel: Panel, q: Mapping[str, Any]) -> dict[str, int]:
    """How many orders match the filters (but ``status``), by status, at the panel's now."""
    with panel.lock:
        book = panel.orders
        now = panel.clock.now()
        stamp = (len(book.links), book.removed, sum(book.version), q.get("key"), q.get("service"), q.get("link"))
        cached = _COUNTS.get(id(book))
        if cached is not None and cached[0]() is book and cached[1] == stamp and now < cached[2]:
            return dict(cached[3])
        mask = filter_mask(panel, q)
        done_at = book.done_at if mask is None else list(compress(book.done_at, mask))
        start_at = book.start_at if mask is None else list(compress(book.start_at, mask))
        outcome = book.outcome if mask is None else compress(book.outcome, mask)
        ended = list(map(now.__ge__, done_at))
        finals = bytes(compress(outcome, ended))
        pending = sum(compress(map(now.__lt__, start_at), map(operator.not_, ended)))
        total = len(done_at)
        horizon = min(filter(now.__lt__, chain(start_at, done_at)), default=math.inf)
    counts = {status.value: finals.count(i) for i, status in enumerate(OUTCOMES)}
    counts[Status.PENDING.value] = pending
    counts[Status.IN_PROGRESS.value] = total - len(finals) - pending
    out = {s.value: counts[s.value] for s in Status}
    _COUNTS.pop(id(book), None)
    _COUNTS[id(book)] = (weakref.ref(book), stamp, horizon, out)
    while len(_COUNTS) > _KEPT:
        del _COUNTS[next(iter(_COUNTS))]
    return dict(out)
