"""One handler per API action: wire fields in, the dialect's JSON out.

Handlers read fields by their standard names, call the panel, and render. A
``PanelError`` from the domain becomes the dialect's ``{"error": ...}``. ``dispatch``
checks the key once (a bad key is reported before anything else) and hands the
account to the handler.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable, Mapping

from ..dialects import render
from ..dialects.parse import parse_id, parse_ids, parse_object_id, parse_object_ids, split_ids
from ..dialects.profile import Dialect
from ..domain.accounts import Account
from ..domain.errors import ErrorCode, PanelError
from ..control.panel import Panel
from .family import idempotent
from .multistatus import FinalStatuses
from .params import clean_fields

Params = Mapping[str, str]
Handler = Callable[[Panel, Dialect, str, Account, Params], Any]


def _one(dialect: Dialect, raw: str | None) -> int | None:
    """An id as the dialect writes it (decimal digits, or a 24-hex ObjectId)."""
    return parse_id(raw) if dialect.family.id_format == "decimal" else parse_object_id(raw)


def _many(dialect: Dialect, tokens: list[str]) -> list[int | None]:
    return parse_ids(tokens) if dialect.family.id_format == "decimal" else parse_object_ids(tokens)


def _services(panel: Panel, dialect: Dialect, key: str, account: Account, params: Params) -> Any:
    return render.services(dialect, panel.services(key))


def _balance(panel: Panel, dialect: Dialect, key: str, account: Account, params: Params) -> Any:
    amount, currency = panel.balance(key)
    return render.balance(dialect, amount, currency)


def _add(panel: Panel, dialect: Dialect, key: str, account: Account, params: Params) -> Any:
    service = params.get("service")
    if service is None or not service.strip():
        raise PanelError(ErrorCode.INCORRECT_SERVICE_ID)
    # The panel reads only what the type takes (dialects/order_fields.py) and keeps the typed request:
    # the key, the action and junk reach neither the order nor a state file.
    if dialect.family.idempotency is not None:  # a retried add with the same request id: the first order
        return render.add(dialect, idempotent(panel, dialect.family.idempotency, key, params,
                                              lambda: panel.add(key, service, params)))
    return render.add(dialect, panel.add(key, service, params))


def _batch(params: Params, name: str) -> list[str] | None:
    """The tokens of a batch field, or None when the request is a single one."""
    raw = params.get(name)
    if raw is None:
        return None
    tokens = split_ids(raw)
    if not tokens:
        raise PanelError(ErrorCode.INCORRECT_ORDER_ID)
    return tokens


def _status(panel: Panel, dialect: Dialect, key: str, account: Account, params: Params) -> Any:
    tokens = _batch(params, "orders")
    if tokens is None:
        token = (params.get("order") or "").strip()
        if dialect.family.single_status == "keyed":  # {"<id>": {...}}, an error keyed too
            try:
                return render.single(dialect, token, _single_status(panel, dialect, key, account, token))
            except PanelError as exc:
                return render.single(dialect, token, render.item_error(dialect, exc))
        return _single_status(panel, dialect, key, account, token)
    currency = account.currency
    results = panel.statuses(key, _many(dialect, tokens))
    status_of = render.status_renderer(dialect)
    out: dict[str, Any] = {}
    for token, result in zip(tokens, results):
        if isinstance(result, PanelError):
            out[token] = render.item_error(dialect, result)
        else:
            out[token] = status_of(result, token, currency)
    return out


def _single_status(panel: Panel, dialect: Dialect, key: str, account: Account, token: str) -> Any:
    order_id = _one(dialect, token)
    if order_id is None:
        raise PanelError(ErrorCode.INCORRECT_ORDER_ID)
    state = panel.status(key, order_id)
    shown: int | str = order_id if dialect.family.id_format == "decimal" else token
    return render.envelope(dialect, "status", render.status(dialect, state, shown, account.currency))


def _refill(panel: Panel, dialect: Dialect, key: str, account: Account, params: Params) -> Any:
    tokens = _batch(params, "orders")
    if tokens is None:
        refill_id = panel.refill(key, _one(dialect, params.get("order")))
        return render.envelope(dialect, "refill", {"refill": render.as_id(dialect.refill_single, refill_id)})
    results = panel.refill_many(key, _many(dialect, tokens))
    return [
        {
            "order": render.as_id(dialect.refill_batch_order, token),
            "refill": render.item_error(dialect, r)
            if isinstance(r, PanelError)
            else render.as_id(dialect.refill_batch_refill, r),
        }
        for token, r in zip(tokens, results)
    ]


def _refill_status(panel: Panel, dialect: Dialect, key: str, account: Account, params: Params) -> Any:
    tokens = _batch(params, "refills")
    if tokens is None:
        value = panel.refill_status(key, _one(dialect, params.get("refill")))
        return render.envelope(dialect, "refill_status", {"status": render.refill_status(dialect, value)})
    results = panel.refill_statuses(key, _many(dialect, tokens))
    return [
        {
            "refill": render.as_id(dialect.refill_batch_refill, token),
            "status": render.item_error(dialect, r)
            if isinstance(r, PanelError)
            else render.refill_status(dialect, r),
        }
        for token, r in zip(tokens, results)
    ]


def _cancel(panel: Panel, dialect: Dialect, key: str, account: Account, params: Params) -> Any:
    tokens = _batch(params, "orders")
    if tokens is None:  # a single ``order`` (some clones take it) gets the batch shape
        if params.get("order") is None:
            raise PanelError(ErrorCode.INCORRECT_ORDER_ID)
        tokens = [params["order"].strip()]
    return render.cancels(dialect, tokens, panel.cancel_many(key, _many(dialect, tokens)))


def _any_case(panel: Panel, key: str | None) -> str | None:
    """The key as an account has it, if it differs only in letter case (all lower or all upper)."""
    for candidate in (key, key.lower(), key.upper()) if key else ():
        try:
            panel.account(candidate)
            return candidate
        except PanelError:
            continue
    return key


HANDLERS: dict[str, Handler] = {
    "services": _services,
    "add": _add,
    "status": _status,
    "refill": _refill,
    "refill_status": _refill_status,
    "cancel": _cancel,
    "balance": _balance,
}


def dispatch(panel: Panel, dialect: Dialect, params: Params) -> Any:
    """Answer one API request. Never raises for bad input: errors are JSON."""
    try:
        params, key, account, action = _caller(panel, dialect, params)
        return _handler(dialect, action)(panel, dialect, key, account, params)
    except PanelError as exc:
        return render.error(dialect, exc)


def _caller(panel: Panel, dialect: Dialect, params: Params) -> tuple[Params, Any, Account, str]:
    """The cleaned fields, the key as the panel knows it, its account and the action; INVALID_KEY if none."""
    params = clean_fields(params)  # what a multipart charset or a JSON escape let through
    key = params.get("key")
    if dialect.family.key_case == "insensitive":
        key = _any_case(panel, key)
    return params, key, panel.account(key), (params.get("action") or "").strip()


def _handler(dialect: Dialect, action: str) -> Any:
    handler = HANDLERS.get(action) if action in dialect.actions else None
    if handler is None:
        raise PanelError(ErrorCode.INCORRECT_REQUEST)
    return handler


_BALANCES_MAX = 4096  # accounts whose balance answer is kept; the cache starts over when full


class Answers:
    """The panel's answers as the JSON bytes sent. Those that depend only on a version come
    from a cache: ``services`` per catalogue (object and version) and dialect, ``balance`` per
    account, balance (the Decimal object: any ledger entry makes a new one), currency and dialect."""

    def __init__(self, panel: Panel) -> None:
        self.panel = panel
        self._services: tuple[Any, ...] | None = None  # (catalog, version, dialect, payload, body)
        self._balances: dict[Account, tuple[Decimal, str, Dialect, Any, bytes]] = {}
        self._finals = FinalStatuses()

    def answer(self, dialect: Dialect, params: Params) -> tuple[Any, bytes]:
        """``dispatch``'s answer and its bytes (``render.encode``), never raising for bad input."""
        panel = self.panel
        try:
            params, key, account, action = _caller(panel, dialect, params)
            if action == "balance" and "balance" in dialect.actions:
                return self._balance(dialect, key, account)
            if action == "services" and "services" in dialect.actions:
                return self._listing(dialect, key)
            handler = _handler(dialect, action)
            if handler is _status and dialect.family.id_format == "decimal":  # final orders' entries are kept
                if "orders" in params:
                    return self._finals.answer(panel, dialect, key, account, params["orders"])
                hit = None if dialect.family.single_status == "keyed" else self._finals.single(
                    panel, dialect, account, params.get("order"))
                if hit is not None:
                    return hit
            payload = handler(panel, dialect, key, account, params)
        except PanelError as exc:
            payload = render.error(dialect, exc)
        return payload, render.encode(dialect, payload)

    def _balance(self, dialect: Dialect, key: str, account: Account) -> tuple[Any, bytes]:
        amount, currency = self.panel.balance(key)  # settles refunds now due
        hit = self._balances.get(account)
        if hit is not None and hit[0] is amount and hit[1] == currency and hit[2] is dialect:
            return hit[3], hit[4]
        payload = render.balance(dialect, amount, currency)
        body = render.encode(dialect, payload)
        if len(self._balances) >= _BALANCES_MAX:
            self._balances.clear()
        self._balances[account] = (amount, currency, dialect, payload, body)
        return payload, body

    def _listing(self, dialect: Dialect, key: str) -> tuple[Any, bytes]:
        panel = self.panel
        with panel.lock:
            catalog = panel.catalog
            version = catalog.version
            hit = self._services
            if hit is not None and hit[0] is catalog and hit[1] == version and hit[2] is dialect:
                return hit[3], hit[4]
            payload = render.services(dialect, panel.services(key))
        body = render.encode(dialect, payload)
        self._services = (catalog, version, dialect, payload, body)
        return payload, body
