"""Domain results to JSON-able values, as a dialect spells them."""

from __future__ import annotations

import json
import weakref
from decimal import ROUND_DOWN, Decimal
from typing import Any, Callable, NamedTuple, Sequence

import orjson

from .._domain.catalog import Service
from .._domain.errors import PanelError
from .._domain.lifecycle import RefillStatus, Status
from .._domain.money import quantize
from .._domain.orders import OrderState
from .frozen import thawed
from .parse import is_digits, object_id
from .profile import Dialect

# Service attributes behind the wire names that differ from them.
_SERVICE_SOURCE = {"service": "id", "desc": "description"}


class Batch(NamedTuple):  # a tuple: made on every request, where a frozen dataclass costs more
    """A batch request's results: per id as the client wrote it, the value or the PanelError it got."""

    tokens: Sequence[str]
    results: Sequence[Any]


class Statuses(NamedTuple):
    """``status``'s result: per order asked for (as the client wrote it), its state or its PanelError,
    in the account's currency. ``shown``: a single ``order``'s id as its answer shows it (None: ``orders``)."""

    tokens: Sequence[str]
    results: Sequence[OrderState | PanelError]
    currency: str
    shown: int | str | None = None
    runs: Sequence[int | None] | None = None  # per order, its drip-feed runs (where the dialect shows those apart)


def money(dialect: Dialect, amount: Decimal) -> str:
    return f"{quantize(amount, dialect.money_decimals):f}"  # "0.00000000", never "0E-8"


def as_id(kind: str, value: int | str) -> int | str:
    if kind == "str":
        return str(value)
    if kind == "objectid":  # a stored id as 24 hex digits; a token the client sent, as sent
        return object_id(value) if isinstance(value, int) else value
    # Only what parse_id accepts becomes a number: a 20-digit echo of the client's
    # token would not fit JSON's int64.
    if isinstance(value, int):
        return value
    return int(value) if is_digits(value) else value


class ErrorAnswer(dict):  # type: ignore[type-arg]
    """An error body that carries the HTTP status its family answers it with."""

    http_status = 200


def error(dialect: Dialect, exc: PanelError, action: str = "") -> dict[str, Any]:
    body = dialect.error_body(exc.code, exc.values, action)
    code = dialect.family.error_status.get(exc.code)
    if code is None:
        return body
    answer = ErrorAnswer(body)
    answer.http_status = code
    return answer


def as_money(kind: str, places: int, amount: Decimal, rounding: str | None = None) -> str | float:
    """Money as a decimal string, or as a JSON number (a float: what those panels send)."""
    shown = quantize(amount, places, rounding) if rounding else quantize(amount, places)
    return float(shown) if kind == "number" else f"{shown:f}"  # "0.00000000", never "0E-8"


def item_error(dialect: Dialect, exc: PanelError) -> Any:
    """An error inside a batch result: nested object or plain string, per dialect."""
    message = dialect.message(exc.code, exc.values)
    return {"error": message} if dialect.batch_item_error == "nested" else message


def envelope(dialect: Dialect, action: str, body: dict[str, Any]) -> dict[str, Any]:
    """A single-object success answer with the fields the dialect adds (e.g. "status": "success")."""
    extra = dialect.success_envelope.get(action)
    return {**thawed(extra), **body} if extra else body


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
        elif kind == "str01":
            value = "1" if value else "0"
        elif kind == "bool":
            value = bool(value)
        elif kind == "str_or_null":  # a column the panel leaves NULL when it has nothing (SmartPanel's desc)
            value = str(value) if value not in (None, "") else None
        elif value.__class__ is bool:  # a flag as a string: "true", as PHP and JavaScript panels write it, never "True"
            value = "true" if value else "false"
        else:  # str, rate: as entered ("0.90", "8")
            value = str(value)
        out[name] = value
    return out


def services(dialect: Dialect, items: list[Service]) -> Any:
    if not items:
        return thawed(dialect.services_empty)  # a fresh value: the profile's is read-only
    return [service(dialect, s) for s in items]


class Empty:
    """An answer with no JSON at all: the script wrote nothing (the body is the profile's prefix alone)."""

    def __repr__(self) -> str:
        return "EMPTY"


EMPTY = Empty()


def encode(dialect: Dialect, payload: Any) -> bytes:
    """JSON bytes as the panel writes them: compact, or PHP's JSON_PRETTY_PRINT with its escapes,
    after the profile's ``json.prefix`` (a stray newline some PHP scripts send first)."""
    if dialect.json_indent is None and not dialect.json_php and not dialect.json_prefix and payload is not EMPTY:
        return orjson.dumps(payload)  # the common answer: compact JSON alone (_json's first case, one call less)
    if dialect.json_prefix:
        prefix = dialect.json_prefix.encode("ascii")
        return prefix if payload is EMPTY else prefix + _json(dialect, payload)
    if payload is EMPTY:
        return b""
    return _json(dialect, payload)


def _json(dialect: Dialect, payload: Any) -> bytes:
    if dialect.json_indent is None and not dialect.json_php:
        return orjson.dumps(payload)
    text = json.dumps(payload, indent=dialect.json_indent, ensure_ascii=dialect.json_php,
                      separators=(",", ": ") if dialect.json_indent else (",", ":"))
    if dialect.json_php:
        text = text.replace("/", "\\/")  # JSON has "/" only inside strings
    return text.encode()


def add(dialect: Dialect, order_id: int) -> dict[str, Any]:
    kind = dialect.add_order_kind
    return envelope(dialect, "add", {"order": order_id if kind == "int" else as_id(kind, order_id)})


def status(dialect: Dialect, state: OrderState, order_id: int | str, currency: str) -> dict[str, Any]:
    return status_renderer(dialect, "status")(state, order_id, currency)


def statuses(dialect: Dialect, result: Statuses | Empty) -> Any:
    """status's answer: one order's object (keyed by its id in some families), or per id asked for."""
    if isinstance(result, Empty):
        return EMPTY
    tokens, results, currency, shown, runs = result
    if shown is not None:
        state = results[0]
        if isinstance(state, PanelError):
            body = item_error(dialect, state)
        elif runs and runs[0]:
            body = dripfeed_status(dialect, state, runs[0])
        else:
            body = envelope(dialect, "status", status(dialect, state, shown, currency))
        return {tokens[0]: body} if dialect.family.single_status == "keyed" else body  # keyed by the id asked for
    status_of = status_renderer(dialect)
    if runs:
        return {token: item_error(dialect, r) if isinstance(r, PanelError) else dripfeed_status(dialect, r, n) if n
                else status_of(r, token, currency) for token, r, n in zip(tokens, results, runs)}
    return {token: item_error(dialect, r) if isinstance(r, PanelError) else status_of(r, token, currency)
            for token, r in zip(tokens, results)}


def dripfeed_status(dialect: Dialect, state: OrderState, runs: int) -> dict[str, Any]:
    """A drip-feed order's status where the dialect shows it apart (``status.dripfeed_fields``)."""
    word = dialect.statuses[state[0]]
    return {name: word if kind == "status" else str(runs) if kind == "runs" else []  # run_orders: the mock places none
            for name, kind in dialect.dripfeed_fields.items()}


def cancels(dialect: Dialect, result: Batch) -> Any:
    """cancel's answer (None: accepted): a list of {"order", "cancel"}, or an object keyed by order."""
    accepted = thawed(dialect.family.cancel_accepted)
    pairs = zip(result.tokens, result.results)
    if dialect.family.cancel_shape == "keyed":
        return {t: ({"cancel": accepted} if r is None else {"error": dialect.message(r.code, r.values)}) for t, r in pairs}
    return [{"order": as_id("int", t), "cancel": accepted if r is None else item_error(dialect, r)} for t, r in pairs]


def refills(dialect: Dialect, result: int | Batch) -> Any:
    """refill's answer: {"refill": id}, or per order asked for {"order", "refill": id or its error}."""
    if not isinstance(result, Batch):
        return envelope(dialect, "refill", {"refill": as_id(dialect.refill_single, result)})
    return [{"order": as_id(dialect.refill_batch_order, token),
             "refill": item_error(dialect, r) if isinstance(r, PanelError) else as_id(dialect.refill_batch_refill, r)}
            for token, r in zip(result.tokens, result.results)]


def refill_statuses(dialect: Dialect, result: RefillStatus | Batch) -> Any:
    """refill_status's answer: {"status": word}, or per refill asked for {"refill", "status": word or its error}."""
    if not isinstance(result, Batch):
        return envelope(dialect, "refill_status", {"status": refill_status(dialect, result)})
    return [{"refill": as_id(dialect.refill_batch_refill, token),
             "status": item_error(dialect, r) if isinstance(r, PanelError) else refill_status(dialect, r)}
            for token, r in zip(result.tokens, result.results)]


StatusRenderer = Callable[[OrderState, "int | str", str], dict[str, Any]]
# id(dialect) -> (the dialect, its renderer); an entry leaves when its dialect is collected
# (a Dialect holds dicts, so it is not hashable and cannot key a WeakKeyDictionary).
_renderers: dict[int, tuple["weakref.ref[Dialect]", StatusRenderer]] = {}


def status_renderer(dialect: Dialect, context: str = "multi_status") -> StatusRenderer:
    """The dialect's status object as one compiled function (the multi-status hot path).

    Generated once per dialect and context (``status`` or ``multi_status``: a family may
    write money differently in each) from ``status.fields``: a dict literal with one
    expression per field, instead of a loop over the fields for every order.
    """
    cache_id = id(dialect) * 2 + (context == "status")
    cached = _renderers.get(cache_id)
    if cached is not None and cached[0]() is dialect:
        return cached[1]
    money_cache: dict[Decimal, str | float] = {}
    money_kind, places = dialect.family.money.get(context, ("str", dialect.money_decimals))

    def fmt(amount: Decimal) -> str | float:
        text = money_cache.get(amount)
        if text is None:
            text = as_money(money_kind, places, amount)
            if len(money_cache) < 50_000:
                money_cache[amount] = text
        return text

    remains = "state[3]"
    if dialect.pending_remains == "zero":
        remains = "(0 if state[0] is PENDING else state[3])"
    shown = dict(dialect.family.remains_words)
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
            if kind == "str_or_null":  # a column not yet set while the order waits (SmartPanel's start_counter)
                expr = f"(None if state[0] is PENDING else {expr})"
            if name == "remains" and shown:  # a word instead of a number in some statuses
                expr = f"shown.get(state[0], {expr})"
        items.append(f"{name!r}: {expr}")
    source = f"def render(state, order_id, currency):\n    return {{{', '.join(items)}}}\n"
    scope: dict[str, Any] = {"fmt": fmt, "words": dict(dialect.statuses), "PENDING": Status.PENDING, "as_id": as_id,
                             "shown": shown}
    exec(compile(source, f"<status renderer for {dialect.name}>", "exec"), scope)
    renderer: StatusRenderer = scope["render"]
    _renderers[cache_id] = (weakref.ref(dialect), renderer)
    weakref.finalize(dialect, _forget, cache_id, renderer)
    return renderer


def _forget(dialect_id: int, renderer: StatusRenderer) -> None:
    cached = _renderers.get(dialect_id)
    if cached is not None and cached[1] is renderer:  # not a newer dialect's entry at a reused id
        del _renderers[dialect_id]


def refill_status(dialect: Dialect, value: RefillStatus) -> str:
    return dialect.refill_statuses[value]


def balance(dialect: Dialect, result: tuple[Decimal, str]) -> dict[str, Any]:
    """balance's answer, the amount rounded down: what it shows can always be spent (0.0011996 shows 0.00119)."""
    amount, currency = result
    out: dict[str, Any] = {}
    kind, places = dialect.family.money.get("balance", ("str", dialect.balance_decimals))
    shown = as_money(kind, places, amount, ROUND_DOWN)
    for name, kind in dialect.balance_fields.items():
        out[name] = shown if kind == "money" else currency
    return envelope(dialect, "balance", out)
