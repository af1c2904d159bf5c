"""PanelCore: the API's actions over the panel's parts: accounts, the catalogue, orders, refills, the clock.

Every public method takes the caller's API key and typed values, and either returns a result
or raises ``PanelError``. Each call holds the panel's lock, so concurrent requests (and a test
thread driving the control API) never see half a change, and never overspend.

The core owns its parts and hands each its share of the work: the ``AccountBook`` (keys,
balances, the ledger, refunds), the ``OrderBook`` (orders as columns), ``Refills``, the
``Catalog``; ``placing.place`` places an order. It reads no wire field, records nothing and
forces nothing: the panel users and the server get is ``mockpanel._panel.panel.Panel``,
which owns a core and adds reading an ``add``'s fields, forcing states, snapshots and
recording every change.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from . import placing
from . import undo as undo_steps
from .account_book import AccountBook, new_key
from .accounts import Account, LedgerEntry
from .catalog import Catalog, Service, service_from_json
from .clock import VirtualClock
from .errors import ErrorCode, PanelError
from .lifecycle import RefillStatus, Status
from .mutations import mutation
from .numbers import parse_int
from .orderbook import OrderBook
from .orders import Order, OrderState, state_of
from .placing import PlanHook as PlanHook  # re-exported: hooks are typed against the panel
from .plans import RefillPlan, draw_refill_plan
from .refills import Refills
from .servicetypes import OrderRequest
from .settings import PanelSettings as PanelSettings  # re-exported: the public name lives here too
from .undo import Undo

RefillHook = Callable[[Order, RefillPlan], RefillPlan]


T = TypeVar("T")


class PanelCore:
    """One panel's parts, and the API's actions over them.

    Every public method takes the caller's API key and returns typed values or raises
    ``PanelError``; each holds the panel's lock, and a failed call changes nothing."""

    def __init__(
        self,
        *,
        catalog: Catalog | None = None,
        clock: VirtualClock | None = None,
        settings: PanelSettings | None = None,
        **overrides: Any,
    ) -> None:
        base = settings or PanelSettings()
        # The lock, the clock and the hooks live as long as the panel; the parts below are its
        # state, replaced whole by ``reset`` and ``adopt``. Public: snapshots, persistence and the
        # control side read them; they change only under the lock.
        self.clock = clock or VirtualClock()
        self.lock = threading.RLock()
        self.plan_hooks: list[PlanHook] = []
        self.refill_hooks: list[RefillHook] = []
        self.settings = PanelSettings(**{**base.__dict__, **overrides}) if overrides else base
        self.catalog = catalog if catalog is not None else Catalog()  # the domain reads no files: catalogs.load_catalog does
        self.orders: OrderBook[Order] = OrderBook(first_id=self.settings.first_order_id, view=Order.of)
        self.account_book = AccountBook(self.orders)
        self.refills = Refills(self.settings.first_refill_id)

    def adopt(self, other: PanelCore) -> None:
        """Take ``other``'s state (its settings, catalogue, accounts, orders, refills) as this panel's.

        The lock, the clock and the hooks stay: whoever holds the panel keeps holding them."""
        with self.lock:
            self.settings, self.catalog = other.settings, other.catalog
            self.orders, self.account_book, self.refills = other.orders, other.account_book, other.refills

    @mutation
    def reset(self, catalog: Catalog | None = None) -> None:
        """Forget every account, order and refill; the clock, settings and hooks stay."""
        with self.lock:
            fresh = PanelCore(catalog=self.catalog if catalog is None else catalog, clock=self.clock, settings=self.settings)
            self.adopt(fresh)

    # --- accounts -----------------------------------------------------------------------

    def create_account(
        self, key: str | None = None, *, balance: object = "0", currency: str | None = None
    ) -> Account:
        """A new API key with an opening deposit. A key is made up if none is given."""
        return self.open_account(new_key() if key is None else key, balance=balance, currency=currency)

    @mutation
    def open_account(self, key: str, *, balance: object = "0", currency: str | None = None) -> Account:
        """A new account for ``key`` (``create_account`` with the key given: what state files replay)."""
        with self.lock:
            return self.account_book.open(
                key, balance=balance, currency=currency or self.settings.currency, seed=self.settings.seed,
                now=self.clock.now(),
            )

    def account(self, key: object) -> Account:
        """The account for ``key``, or INVALID_KEY. Keys are compared by digest."""
        return self.account_book.account(key)

    def account_by_id(self, account_id: str) -> Account:
        """The account with this key id (a digest), for a change that reaches it through an order."""
        return self.account_book.with_id(account_id)

    def accounts(self) -> list[Account]:
        """Every account, in the order they were opened."""
        with self.lock:
            return list(self.account_book)

    @mutation
    def remove_account(self, key: str) -> None:
        """Delete an account; its key is then refused."""
        with self.lock:
            account = self.account_book.remove(key)
            self.orders.remove_account(account.id)
            self.refills.forget(account.id, account.order_ids)

    @mutation
    def deposit(self, key: str, amount: object, note: str = "top up") -> Decimal:
        """Add money to an account; returns the new balance."""
        with self.lock:
            return self.account_book.deposit(key, amount, note=note, now=self.clock.now())

    @mutation
    def withdraw(self, key: str, amount: object, note: str = "withdrawal") -> Decimal:
        """Take money out (a balance drained by "another client"); never below zero."""
        with self.lock:
            return self.account_book.withdraw(key, amount, note=note, now=self.clock.now())

    def settle(self, account: Account) -> None:
        """Credit the refunds of the account's orders that have ended by now."""
        with self.lock:
            self.account_book.settle(account, self.clock.now())

    def schedule(self, account: Account, order: Order) -> None:
        """Note when the order's refund falls due (credited at once if that is now)."""
        with self.lock:
            self.account_book.schedule(account, order, self.clock.now())

    def ledger(self, key: str) -> list[LedgerEntry]:
        """Every movement of the balance, oldest first: deposits, charges, refunds."""
        with self.lock:
            return self.account_book.ledger(self.account_book.account(key), self.clock.now())

    def keys_orders(self, key: str) -> Iterable[Order]:
        """The orders placed with this key, oldest first."""
        with self.lock:  # a list, not a generator: read whole under the lock
            account = self.account_book.account(key)
            return [self.orders[i] for i in account.order_ids]

    # --- the API's actions ------------------------------------------------------------

    # Reads take the lock too: a test thread changes the panel while the server reads it.

    def services(self, key: str) -> list[Service]:
        """What the ``services`` action lists for this key: the enabled services."""
        with self.lock:
            self.account_book.account(key)
            return self.catalog.listed()

    def balance(self, key: str) -> tuple[Decimal, str]:
        """The key's balance and currency."""
        with self.lock:
            account = self.account_book.account(key)
            if account.due:  # the common read: the clock is read only if a refund may be due
                self.account_book.settle(account, self.clock.now())
            return account.balance, account.currency

    @mutation
    def place_order(self, key: str, service_id: int, request: OrderRequest) -> int:
        """Place an order; returns its id. Charges the price at once, or raises ``PanelError``."""
        with self.lock:
            return self.place_found(self.account_book.account(key), self.find_service(service_id), request)

    def place_found(self, account: Account, service: Service, request: OrderRequest) -> int:
        """``place_order`` for the key's account and the service on sale, as the caller found them
        under the lock, which it still holds (``Panel.add`` finds both before it reads the fields: not
        three times; and takes the lock once)."""
        return placing.place(
            self.account_book, account, service, request,
            settings=self.settings, plan_hooks=self.plan_hooks, now=self.clock.now(),
        )

    def find_service(self, service_id: object) -> Service:
        """The service with this id, on sale; PanelError if the id is not one or the service is disabled."""
        # An int as the core is handed it, a str as the wire sends it; anything else by its text (not a bool).
        number = parse_int(service_id if service_id.__class__ in (int, str) else str(service_id))
        if number is None:
            raise PanelError(ErrorCode.INCORRECT_SERVICE_ID)
        service = self.catalog.by_id.get(number)  # Catalog.get, one call less
        if service is None:
            raise PanelError(ErrorCode.INCORRECT_SERVICE_ID)
        if not service.enabled:
            raise PanelError(ErrorCode.SERVICE_DISABLED)
        return service

    def _own_order(self, account: Account, order_id: object) -> Order:
        book = self.orders
        row = book.row(order_id)
        if row < 0 or book.account_ix[row] != book.accounts.index(account.id):
            raise PanelError(ErrorCode.INCORRECT_ORDER_ID)
        return book.view(row)

    def status(self, key: str, order_id: int) -> OrderState:
        """The state of one of the key's orders now; another key's order is an unknown id."""
        with self.lock:
            account = self.account_book.account(key)
            return self._own_order(account, order_id).state(self.clock.now())

    def statuses(self, key: str, order_ids: Sequence[int | None]) -> list[OrderState | PanelError]:
        """One result per id, in order; None stands for an id that did not parse."""
        with self.lock:
            account = self.account_book.account(key)
            self.check_batch(order_ids)
            now = self.clock.now()
            book = self.orders
            owner, row_of, account_ix = book.accounts.index(account.id), book.row, book.account_ix
            out: list[OrderState | PanelError] = []
            for order_id in order_ids:
                row = row_of(order_id)
                if row < 0 or account_ix[row] != owner:
                    out.append(PanelError(ErrorCode.INCORRECT_ORDER_ID))
                else:
                    out.append(state_of(book, row, now))
            return out

    def check_batch(self, ids: Sequence[object]) -> None:
        """Refuse an empty batch or one past the dialect's limit (before any item is read)."""
        if not ids:
            raise PanelError(ErrorCode.INCORRECT_ORDER_ID)
        if len(ids) > self.settings.batch_limit:
            raise PanelError(ErrorCode.TOO_MANY_IDS, limit=self.settings.batch_limit)

    @mutation
    def cancel(self, key: str, order_id: int | None) -> None:
        """Ask to cancel; the order ends Canceled (or Partial if some was delivered)."""
        with self.lock:
            account = self.account_book.account(key)
            order = self._own_order(account, order_id)
            if not order.service.cancel:
                raise PanelError(ErrorCode.CANCEL_DISABLED)
            now = self.clock.now()
            if order.status_at(now).final:
                raise PanelError(ErrorCode.CANCEL_NOT_ALLOWED)
            self.account_book.settle(account, now)
            with Undo() as undo:
                undo_steps.save_order(undo, self.orders, account, order.id)
                order.stop(now)
                self.account_book.schedule(account, order, now)

    def cancel_many(self, key: str, order_ids: Sequence[int | None]) -> list[PanelError | None]:
        """Cancel each order (None: not an id); per order, None if accepted or the error."""
        return self.each(key, order_ids, self.cancel)

    @mutation
    def refill(self, key: str, order_id: int | None) -> int:
        """Ask for a refill of a completed order of a refill service; returns the refill id."""
        with self.lock:
            account = self.account_book.account(key)
            order = self._own_order(account, order_id)
            if not order.service.refill:
                raise PanelError(ErrorCode.REFILL_DISABLED)
            now = self.clock.now()
            status = order.status_at(now)
            allowed = {Status.COMPLETED, Status.PARTIAL} if self.settings.refill_after_partial else {Status.COMPLETED}
            if status not in allowed:
                raise PanelError(ErrorCode.REFILL_NOT_ALLOWED)
            previous = self.refills.newest_of(order.id)
            if previous is not None and not previous.status_at(now).final:
                raise PanelError(ErrorCode.REFILL_ALREADY_ACTIVE)
            with Undo() as undo:
                undo_steps.save_refills(undo, self.refills, account, order.id)
                plan = draw_refill_plan(account.rng, self.settings.lifecycle)
                for refill_hook in self.refill_hooks:
                    plan = refill_hook(order, plan)
                refill = self.refills.issue(order_id=order.id, key=account.id, plan=plan, now=now)
            return refill.id

    def refill_many(self, key: str, order_ids: Sequence[int | None]) -> list[int | PanelError]:
        """Ask a refill of each order (None: not an id); per order, the refill id or the error."""
        return self.each(key, order_ids, self.refill)

    def refill_status(self, key: str, refill_id: int | None) -> RefillStatus:
        """The status of one of the key's refills now."""
        with self.lock:
            account = self.account_book.account(key)
            refill = self.refills.by_id.get(refill_id) if refill_id is not None else None
            if refill is None or refill.key != account.id:
                raise PanelError(ErrorCode.INCORRECT_REFILL_ID)
            return refill.status_at(self.clock.now())

    def refill_statuses(self, key: str, refill_ids: Sequence[int | None]) -> list[RefillStatus | PanelError]:
        """``refill_status`` for each id (None: not an id), an error in place of an unknown one."""
        return self.each(key, refill_ids, self.refill_status)

    def each(self, key: str, ids: Sequence[int | None], one: Callable[[str, int | None], T]) -> list[T | PanelError]:
        """``one`` for each id of a batch, an error in place of each refused one; one batch at one
        instant: no other change between its items."""
        with self.lock:
            self.account_book.account(key)
            self.check_batch(ids)
            out: list[T | PanelError] = []
            for item in ids:
                try:
                    out.append(one(key, item))
                except PanelError as exc:
                    out.append(exc)
            return out

    # --- control: the catalogue -------------------------------------------------------

    @mutation
    def put_service(self, service: Mapping[str, Any]) -> Service:
        """Add a service, or replace the one with its id (a catalogue entry's JSON)."""
        item = service_from_json(dict(service), where="service")
        with self.lock:
            self.catalog.put(item)
            return item

    @mutation
    def update_service(self, service_id: int, **changes: Any) -> Service:
        """Change a service from now on (reprice, disable...); orders placed keep their price."""
        with self.lock:
            return self.catalog.update(service_id, **changes)
