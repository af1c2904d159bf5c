"""Panel: the API's actions over accounts, the catalogue, orders, refills and the clock.

Every public method takes the caller's API key and typed values, and either returns a result
or raises ``PanelError``. Each call holds the panel's lock, so concurrent requests (and a test
thread driving the control API) never see half a change, and never overspend.

This is the domain's panel: it reads no wire field, records nothing and forces nothing. The
panel users and the server get is ``mockpanel.control.panel.Panel``, which adds reading an
``add``'s fields, forcing states, snapshots and recording every change.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from . import undo as undo_steps
from .accounts import Account
from .catalog import Catalog, Service, service_from_json
from .clock import VirtualClock
from .errors import ErrorCode, PanelError
from .lifecycle import RefillStatus, Status
from .mutations import mutation
from .orderbook import OrderBook
from .orders import Order, OrderState, state_of
from .placing import PlanHook as PlanHook  # re-exported: hooks are typed against the panel
from .placing import Placing
from .plans import RefillPlan, draw_refill_plan
from .refills import Refill
from .settings import PanelSettings as PanelSettings  # re-exported: the public name lives here too
from .undo import Undo

RefillHook = Callable[[Order, RefillPlan], RefillPlan]


T = TypeVar("T")


class Panel(Placing):
    """One mock panel: accounts, the catalogue, orders, refills and the clock, behind the API's actions.

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
        self.settings = PanelSettings(**{**base.__dict__, **overrides}) if overrides else base
        self.catalog = catalog if catalog is not None else Catalog()  # the domain reads no files: catalogs.load_catalog does
        self.clock = clock or VirtualClock()
        self.lock = threading.RLock()
        # The state below is public: snapshots, persistence and the control side read it; it changes
        # only under the lock, through the panel's methods or a whole-state restore.
        self.key_accounts: dict[bytes, Account] = {}
        self.accounts_by_id: dict[str, Account] = {}  # key id (digest) -> account
        self.orders: OrderBook[Order] = OrderBook(first_id=self.settings.first_order_id, view=Order.of)
        self.refills: dict[int, Refill] = {}
        self.refill_of: dict[int, int] = {}  # order id -> its newest refill id
        self.next_refill = self.settings.first_refill_id
        self.plan_hooks: list[PlanHook] = []
        self.refill_hooks: list[RefillHook] = []
        self._prices: dict[tuple[Decimal, int], Decimal] = {}

    @mutation
    def reset(self, catalog: Catalog | None = None) -> None:
        """Forget every account, order and refill; the clock, settings and hooks stay."""
        with self.lock:
            # A fresh panel's attributes, so state added to __init__ later is reset too.
            fresh = Panel(
                catalog=self.catalog if catalog is None else catalog, clock=self.clock, settings=self.settings
            )
            # Only the domain's state is replaced: what a subclass adds (the control side's recorder) stays.
            kept = {"lock": self.lock, "plan_hooks": self.plan_hooks, "refill_hooks": self.refill_hooks}
            self.__dict__.update(fresh.__dict__)
            self.__dict__.update(kept)

    # --- the API's actions ------------------------------------------------------------

    # Reads take the lock too: a test thread changes the panel while the server reads it.

    def services(self, key: str) -> list[Service]:
        """What the ``services`` action lists for this key: the enabled services."""
        with self.lock:
            self.account(key)
            return self.catalog.listed()

    def balance(self, key: str) -> tuple[Decimal, str]:
        """The key's balance and currency."""
        with self.lock:
            account = self.account(key)
            self.settle(account)
            return account.balance, account.currency

    def _own_order(self, account: Account, order_id: object) -> Order:
        book = self.orders
        row = book.row(order_id)
        if row < 0 or book.account_ix[row] != book.accounts.index(account.id):
            raise PanelError(ErrorCode.INCORRECT_ORDER_ID)
        return book.view(row)

    def status(self, key: str, order_id: int) -> OrderState:
        """The state of one of the key's orders now; another key's order is an unknown id."""
        with self.lock:
            account = self.account(key)
            return self._own_order(account, order_id).state(self.clock.now())

    def statuses(self, key: str, order_ids: Sequence[int | None]) -> list[OrderState | PanelError]:
        """One result per id, in order; None stands for an id that did not parse."""
        with self.lock:
            account = self.account(key)
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
            account = self.account(key)
            order = self._own_order(account, order_id)
            if not order.service.cancel:
                raise PanelError(ErrorCode.CANCEL_DISABLED)
            now = self.clock.now()
            if order.status_at(now).final:
                raise PanelError(ErrorCode.CANCEL_NOT_ALLOWED)
            self.settle(account)
            with Undo() as undo:
                undo_steps.save_order(undo, self, account, order.id)
                order.stop(now)
                self.schedule(account, order)

    def cancel_many(self, key: str, order_ids: Sequence[int | None]) -> list[PanelError | None]:
        """Cancel each order (None: not an id); per order, None if accepted or the error."""
        return self._each(key, order_ids, self.cancel)

    @mutation
    def refill(self, key: str, order_id: int | None) -> int:
        """Ask for a refill of a completed order of a refill service; returns the refill id."""
        with self.lock:
            account = self.account(key)
            order = self._own_order(account, order_id)
            if not order.service.refill:
                raise PanelError(ErrorCode.REFILL_DISABLED)
            now = self.clock.now()
            status = order.status_at(now)
            allowed = {Status.COMPLETED, Status.PARTIAL} if self.settings.refill_after_partial else {Status.COMPLETED}
            if status not in allowed:
                raise PanelError(ErrorCode.REFILL_NOT_ALLOWED)
            previous = self.refills.get(self.refill_of.get(order.id, 0))
            if previous is not None and not previous.status_at(now).final:
                raise PanelError(ErrorCode.REFILL_ALREADY_ACTIVE)
            with Undo() as undo:
                undo_steps.save_refills(undo, self, account, order.id)
                plan = draw_refill_plan(account.rng, self.settings.lifecycle)
                for refill_hook in self.refill_hooks:
                    plan = refill_hook(order, plan)
                refill = Refill(
                    id=self.next_refill,
                    order_id=order.id,
                    key=account.id,
                    created=now,
                    start_at=now + plan.pending,
                    done_at=now + plan.pending + plan.duration,
                    outcome=plan.outcome,
                )
                self.next_refill += 1
                self.refills[refill.id] = refill
                self.refill_of[order.id] = refill.id
            return refill.id

    def refill_many(self, key: str, order_ids: Sequence[int | None]) -> list[int | PanelError]:
        """Ask a refill of each order (None: not an id); per order, the refill id or the error."""
        return self._each(key, order_ids, self.refill)

    def refill_status(self, key: str, refill_id: int | None) -> RefillStatus:
        """The status of one of the key's refills now."""
        with self.lock:
            account = self.account(key)
            refill = self.refills.get(refill_id) if refill_id is not None else None
            if refill is None or refill.key != account.id:
                raise PanelError(ErrorCode.INCORRECT_REFILL_ID)
            return refill.status_at(self.clock.now())

    def refill_statuses(self, key: str, refill_ids: Sequence[int | None]) -> list[RefillStatus | PanelError]:
        """``refill_status`` for each id (None: not an id), an error in place of an unknown one."""
        return self._each(key, refill_ids, self.refill_status)

    def _each(self, key: str, ids: Sequence[int | None], one: Callable[[str, int | None], T]) -> list[T | PanelError]:
        """``one`` for each id of a batch, an error in place of each refused one; one batch at one
        instant: no other change between its items."""
        with self.lock:
            self.account(key)
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

    def keys_orders(self, key: str) -> Iterable[Order]:
        """The orders placed with this key, oldest first."""
        with self.lock:  # a list, not a generator: read whole under the lock
            account = self.account(key)
            return [self.orders[i] for i in account.order_ids]
