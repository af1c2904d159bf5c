"""The mock's side of the action table: per action, a handler (wire fields in, typed values out)
and a renderer (those values in, the dialect's JSON out), in ``SERVED``.

Handlers read fields by their standard names and call the panel; renderers live in
``_dialects/render.py``. A ``PanelError`` from the domain becomes the dialect's ``{"error": ...}``.
``_route`` is the one dispatch: it checks the key once (a bad key is reported before anything
else), then finds the action in the table and the dialect.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Mapping
from weakref import WeakKeyDictionary

from conformance import actions as action_table

from .._dialects import render
from .._dialects.frozen import thawed
from .._dialects.parse import MYSQL_CAST, PHP_CAST, parse_id, parse_ids, parse_object_id, parse_object_ids, split_ids
from .._dialects.profile import Dialect
from .._dialects.settings import Family
from .._domain.account_book import AccountBook
from .._domain.accounts import Account
from .._domain.catalog import Service
from .._domain.errors import ErrorCode, PanelError
from .._domain.lifecycle import RefillStatus
from .._domain.orders import OrderState
from .._panel.panel import Panel
from .family import idempotent
from .multistatus import FinalStatuses
from .params import clean_fields

Params = Mapping[str, str]
Handler = Callable[[Panel, Dialect, str, Account, Params], Any]  # wire fields in, typed values out
Renderer = Callable[[Dialect, Any], Any]  # the handler's values in, the dialect's JSON out
Kept = Callable[["Answers", Dialect, str, Account, Params], "tuple[Any, bytes] | None"]


def _one(dialect: Dialect, raw: str | None) -> int | None:
    """An id as the dialect writes it (decimal digits, or a 24-hex ObjectId)."""
    return parse_id(raw) if dialect.family.id_format == "decimal" else parse_object_id(raw)


def _many(dialect: Dialect, tokens: list[str]) -> list[int | None]:
    return parse_ids(tokens) if dialect.family.id_format == "decimal" else parse_object_ids(tokens)


def _services(panel: Panel, dialect: Dialect, key: str, account: Account, params: Params) -> list[Service]:
    return panel.services(key)


def _balance(panel: Panel, dialect: Dialect, key: str, account: Account, params: Params) -> tuple[Decimal, str]:
    return panel.balance(key)


def _add(panel: Panel, dialect: Dialect, key: str, account: Account, params: Params) -> int:
    service = params.get("service")
    if service is None or not service.strip():
        if "missing_field.service" in dialect.field_errors:  # a panel with words of its own for it
            raise PanelError(ErrorCode.MISSING_FIELD, field="service")
        raise PanelError(ErrorCode.INCORRECT_SERVICE_ID)
    if dialect.service_cast == "mysql":  # the id column compared with the string as MySQL casts it
        service = _mysql_number(service)
    if dialect.quantity_cast == "php" and params.get("quantity"):  # compared and charged as PHP reads the string
        params = {**params, "quantity": _php_whole(params["quantity"])}
    if dialect.comment_separators and params.get("comments"):  # split on more than new lines
        comments = params["comments"]
        for separator in dialect.comment_separators:
            comments = comments.replace(separator, "\n")
        params = {**params, "comments": comments}
    # The panel reads only what the type takes (_dialects/order_fields.py) and keeps the typed request:
    # the key, the action and junk reach neither the order nor a state file.
    if dialect.family.idempotency is not None:  # a retried add with the same request id: the first order
        return idempotent(panel, dialect.family.idempotency, key, params,
                          lambda: panel.add(key, service, params))
    return panel.add(key, service, params)


def _mysql_number(raw: str) -> str:
    """The id a string names where MySQL compares it with an integer column: the longest number at
    its start, after spaces ("1abc" and " 7 " are 1 and 7, "1e1" is 10; "1.5" and "abc" no id: "0")."""
    value = MYSQL_CAST.read(raw)
    return "0" if value is None else str(value)


def _php_whole(raw: str) -> str:
    """A PHP numeric string ("1e2", " 100 ", "100.0") as the whole number it is; anything else as sent
    (refused as the mock reads it: its quantities are whole numbers, where PHP would take "12.5")."""
    value = PHP_CAST.read(raw)
    return raw if value is None else str(value)


def _batch(params: Params, name: str) -> list[str] | None:
    """The tokens of a batch field, or None when the request is a single one."""
    raw = params.get(name)
    if raw is None:
        return None
    tokens = split_ids(raw)
    if not tokens:
        raise PanelError(ErrorCode.INCORRECT_ORDER_ID)
    return tokens


def _status(panel: Panel, dialect: Dialect, key: str, account: Account,
            params: Params) -> render.Statuses | render.Empty:
    if dialect.status_no_id == "empty" and not params.get("order") and not params.get("orders"):
        return render.EMPTY  # the script answers neither branch: nothing at all
    tokens = _batch(params, "orders") if dialect.batch_read else None
    if tokens is not None:
        ids = _many(dialect, tokens)
        results = panel.statuses(key, ids)
        return render.Statuses(tokens, results, account.currency, None, _runs(panel, dialect, ids, results))
    token = (params.get("order") or "").strip()
    order_id = _one(dialect, token)
    try:
        if order_id is None:
            raise PanelError(ErrorCode.INCORRECT_ORDER_ID)
        state: OrderState | PanelError = panel.status(key, order_id)
    except PanelError as exc:
        if dialect.family.single_status != "keyed":  # {"<id>": {"error": ...}}: an error keyed too
            raise
        return render.Statuses((token,), (exc,), account.currency, token)
    return render.Statuses((token,), (state,), account.currency,
                           order_id if dialect.family.id_format == "decimal" else token,
                           _runs(panel, dialect, [order_id], [state]))


def _runs(panel: Panel, dialect: Dialect, ids: list[int | None], results: list[Any]) -> list[int | None] | None:
    """Each found order's drip-feed runs, where the dialect shows drip-feed orders apart; else None."""
    if not dialect.dripfeed_fields:
        return None
    return [panel.find_order(i).runs if i is not None and not isinstance(r, PanelError) else None
            for i, r in zip(ids, results)]


def _refill(panel: Panel, dialect: Dialect, key: str, account: Account, params: Params) -> int | render.Batch:
    tokens = _batch(params, "orders") if dialect.batch_read else None
    if tokens is None:
        return panel.refill(key, _one(dialect, params.get("order")))
    return render.Batch(tokens, panel.refill_many(key, _many(dialect, tokens)))


def _refill_status(panel: Panel, dialect: Dialect, key: str, account: Account,
                   params: Params) -> RefillStatus | render.Batch:
    tokens = _batch(params, "refills") if dialect.batch_read else None
    if tokens is None:
        return panel.refill_status(key, _one(dialect, params.get("refill")))
    return render.Batch(tokens, panel.refill_statuses(key, _many(dialect, tokens)))


def _cancel(panel: Panel, dialect: Dialect, key: str, account: Account, params: Params) -> render.Batch:
    tokens = _batch(params, "orders") if dialect.batch_read else None
    if tokens is None:  # a single ``order`` (some clones take it) gets the batch shape
        if params.get("order") is None:
            raise PanelError(ErrorCode.INCORRECT_ORDER_ID)
        tokens = [params["order"].strip()]
    return render.Batch(tokens, panel.cancel_many(key, _many(dialect, tokens)))


# Per account book: (its changes, the family, folded key -> the key as stored). Rebuilt only when a key is
# opened or removed, so a key sent in another spelling (or a wrong one) costs one lookup, not a scan.
_FOLDED: WeakKeyDictionary[AccountBook, tuple[int, Family, dict[str, str]]] = WeakKeyDictionary()


def _collated(panel: Panel, family: Family, key: str | None) -> str | None:
    """The key as an account has it, where the family compares keys as a collation does (MySQL's
    case-insensitive ``_ci`` collations; PAD SPACE ignoring trailing spaces): the first account
    opened whose key folds as ``key`` does; ``key`` itself when none does."""
    if not key:
        return key
    try:
        panel.account(key)
        return key  # the common case: the key as stored
    except PanelError:
        pass
    book = panel.core.account_book
    known = _FOLDED.get(book)
    if known is None or known[0] != book.changes or known[1] is not family:
        folded: dict[str, str] = {}
        for account in panel.accounts():
            # A key restored from a state file is known only by its digest (a KeyDigest): a client
            # sending the digest's hex must not open it, so only keys known as text compare.
            if account.key.__class__ is str:
                folded.setdefault(family.key_folded(account.key), account.key)
        known = _FOLDED[book] = (book.changes, family, folded)
    return known[2].get(family.key_folded(key), key)


def dispatch(panel: Panel, dialect: Dialect, params: Params) -> Any:
    """Answer one API request afresh (nothing kept: what ``Answers.answer`` must equal). Never raises
    for bad input: errors are JSON."""
    try:
        params, key, account, served = _route(panel, dialect, params)
        return served.render(dialect, served.handle(panel, dialect, key, account, params))
    except PanelError as exc:
        return render.error(dialect, exc, _action_of(dialect, params))


def _action_of(dialect: Dialect, params: Params) -> str:
    """The action a request names, if the dialect has it (an error body may be that action's own)."""
    action = params.get("action")
    action = action.strip() if isinstance(action, str) else ""
    return action if action in dialect.actions else ""


def _route(panel: Panel, dialect: Dialect, params: Params) -> tuple[Params, Any, Account, Served]:
    """The one dispatch: the cleaned fields, the key as the panel knows it, its account (INVALID_KEY if
    none: a bad key is reported before anything else) and what serves the action (INCORRECT_REQUEST
    unless the table has it and the dialect has it)."""
    params = clean_fields(params)  # what a multipart charset or a JSON escape let through
    key = params.get("key")
    action = (params.get("action") or "").strip()
    if dialect.empty_request is not None and (not key or not params.get("action")):  # before the key is looked up
        raise PanelError(dialect.empty_request)
    if dialect.family.key_collated:
        key = _collated(panel, dialect.family, key)
    account = panel.account(key)
    served = SERVED.get(action) if action in dialect.actions else None
    if served is None:
        if dialect.unknown_action is not None:
            return params, key, account, UNKNOWN_ACTION
        raise PanelError(ErrorCode.INCORRECT_REQUEST)
    return params, key, account, served


_BALANCES_MAX = 4096  # accounts whose balance answer is kept; the cache starts over when full


class Answers:
    """The panel's answers as the JSON bytes sent, through the one dispatch (``_route``). An action
    with a kept answer (``Served.kept``) is answered from it while it holds: ``services`` per catalogue
    (object and version) and dialect; ``balance`` per account, balance (the Decimal object: any ledger
    entry makes a new one), currency and dialect; ``status`` of final orders (multistatus.py)."""

    def __init__(self, panel: Panel) -> None:
        check_served()  # an action of the table without its handler is an error now, not at its first request
        self.panel = panel
        self._services: tuple[Any, ...] | None = None  # (catalog, version, dialect, payload, body)
        self._balances: dict[Account, tuple[Decimal, str, Dialect, Any, bytes]] = {}
        self._finals = FinalStatuses()

    def answer(self, dialect: Dialect, params: Params) -> tuple[Any, bytes]:
        """``dispatch``'s answer and its bytes (``render.encode``), never raising for bad input."""
        panel = self.panel
        try:
            params, key, account, served = _route(panel, dialect, params)
            if served.kept is not None:
                hit = served.kept(self, dialect, key, account, params)
                if hit is not None:
                    return hit
            payload = served.render(dialect, served.handle(panel, dialect, key, account, params))
        except PanelError as exc:
            payload = render.error(dialect, exc, _action_of(dialect, params))
        return payload, render.encode(dialect, payload)

    def balance(self, dialect: Dialect, key: str, account: Account, params: Params) -> tuple[Any, bytes]:
        result = self.panel.balance(key)  # settles refunds now due
        amount, currency = result
        hit = self._balances.get(account)
        if hit is not None and hit[0] is amount and hit[1] == currency and hit[2] is dialect:
            return hit[3], hit[4]
        payload = render.balance(dialect, result)
        body = render.encode(dialect, payload)
        if len(self._balances) >= _BALANCES_MAX:
            self._balances.clear()
        self._balances[account] = (amount, currency, dialect, payload, body)
        return payload, body

    def listing(self, dialect: Dialect, key: str, account: Account, params: Params) -> tuple[Any, bytes]:
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

    def final_status(self, dialect: Dialect, key: str, account: Account, params: Params) -> tuple[Any, bytes] | None:
        """Statuses with final orders' entries kept, where ids are numbers; None: answer it afresh."""
        if dialect.family.id_format != "decimal" or dialect.dripfeed_fields:  # kept entries know no runs
            return None
        if dialect.status_no_id == "empty" and not params.get("order") and not params.get("orders"):
            return None
        if "orders" in params and dialect.batch_read:
            return self._finals.answer(self.panel, dialect, key, account, params["orders"])
        if dialect.family.single_status == "keyed":
            return None
        return self._finals.single(self.panel, dialect, account, params.get("order"))


@dataclass(frozen=True)
class Served:
    """The mock's side of one action of the action table (conformance/actions.py)."""

    handle: Handler
    render: Renderer
    kept: Kept | None = None  # an earlier answer, while it is still the answer (None from it: answer afresh)


# The mock's actions, one entry per action of the table (conformance/actions.py); ``check_served``
# holds the two to each other at import and whenever an endpoint starts.
SERVED: dict[str, Served] = {
    "services": Served(_services, render.services, Answers.listing),
    "add": Served(_add, render.add),
    "status": Served(_status, render.statuses, Answers.final_status),
    "refill": Served(_refill, render.refills),
    "refill_status": Served(_refill_status, render.refill_statuses),
    "cancel": Served(_cancel, render.cancels),
    "balance": Served(_balance, render.balance, Answers.balance),
}


# An action the dialect lacks, where the profile gives its answer (``unknown_action``): that JSON value.
UNKNOWN_ACTION = Served(lambda panel, dialect, key, account, params: None,
                        lambda dialect, _: thawed(dialect.unknown_action[0]) if dialect.unknown_action else None)


class ActionTableError(RuntimeError):
    """The mock's actions and the action table differ; the message names the action and what to do."""


def check_served() -> None:
    """Every action of the table has a handler and a renderer in ``SERVED``, and nothing else has."""
    missing = [name for name in action_table.names() if name not in SERVED]
    if missing:
        raise ActionTableError(
            f"the action table (conformance/actions.py) has {missing}, but the mock has no handler and renderer "
            "for it: add Served(handler, renderer) to SERVED in mockpanel/_endpoint/actions.py")
    extra = [name for name in SERVED if name not in action_table.ACTIONS]
    if extra:
        raise ActionTableError(
            f"mockpanel/_endpoint/actions.py serves {extra}, which the action table (conformance/actions.py) does not "
            "have: add an Action there (read or write, its errors), or remove it from SERVED")
    broken = [name for name, s in SERVED.items() if not (callable(s.handle) and callable(s.render))]
    if broken:
        raise ActionTableError(f"SERVED in mockpanel/_endpoint/actions.py gives {broken} a handler or renderer that "
                               "is not a function")


check_served()
