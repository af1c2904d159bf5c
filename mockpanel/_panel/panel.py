"""The panel users and the server get (``mockpanel.Panel``, ``build_panel``, the pytest fixture).

It owns three parts and answers for them:

- ``core``: the domain's panel (_domain/panel.py, ``PanelCore``): the API's actions over
  typed values, and the accounts, orders, refills, catalogue, clock and settings it owns;
- ``forcing``: the test's hand on orders and refills (_panel/forcing.py);
- ``recording``: the wrapper every operation the domain lists in ``MUTATIONS`` runs through,
  so that a state file misses no change (_panel/recording.py).

What it adds itself: ``add(key, service, fields)``, an ``add``'s wire fields read as the
panel's dialect reads them (_dialects/order_fields.py), then placed with the core's
``place_order``; and whole-state snapshots (_panel/snapshot.py).
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from .._dialects.order_fields import read_order_request
from .._domain.account_book import AccountBook, new_key
from .._domain.accounts import Account, LedgerEntry
from .._domain.catalog import Catalog, Service
from .._domain.clock import VirtualClock
from .._domain.errors import PanelError
from .._domain.lifecycle import RefillStatus, Status
from .._domain.mutations import mutation
from .._domain.orderbook import OrderBook
from .._domain.orders import Order, OrderState
from .._domain.panel import PanelCore, PlanHook, RefillHook
from .._domain.refills import Refills
from .._domain.servicetypes import OrderRequest
from .._domain.settings import PanelSettings
from . import snapshot
from .forcing import Forcing
from .recording import Recording


BOOK_BYTES = 512 << 20  # the order book's default bound: ~2 million typical orders, ~2,500 of the largest kind
ORDER_BYTES = 160  # an order's row in the book's columns beside its text (bench.order_memory: ~210 in all)


class OrderBookFull(Exception):
    """An add refused because the order book holds ``max_book_bytes`` already (answered 507; nothing changed)."""


def order_bytes(link: str, details: Mapping[str, object] | None) -> int:
    """About the memory one order takes: its row, its link and its type's fields, as CPython stores their
    text (1, 2 or 4 bytes a character; a list as one string of lines, as the book packs it)."""
    size = ORDER_BYTES + sys.getsizeof(link)
    if not details:  # the common order: a link and a quantity
        return size
    for value in details.values():
        if isinstance(value, str):
            size += sys.getsizeof(value)
        elif isinstance(value, (list, tuple)):
            size += sys.getsizeof("\n".join(item if isinstance(item, str) else str(item) for item in value))
        else:
            size += 32
    return size


class Panel:
    """One mock panel: the domain's core, with wire ``add``, forcing, snapshots and recording."""

    max_book_bytes: int = BOOK_BYTES  # adds past it are refused (OrderBookFull); serve --book-bytes sets it

    def __init__(
        self,
        *,
        catalog: Catalog | None = None,
        clock: VirtualClock | None = None,
        settings: PanelSettings | None = None,
        **overrides: Any,
    ) -> None:
        self.core = PanelCore(catalog=catalog, clock=clock, settings=settings, **overrides)
        self.forcing = Forcing(self.core)
        self.recording = Recording(self.core.lock, self.core.clock)
        self._book_bytes = 0  # of the orders of ``_counted`` (a reset, a restore or a load replaces the book)
        self._counted: OrderBook[Order] | None = self.core.orders

    # --- the core's, read through it (a reset or a restore replaces its parts) -------------------

    @property
    def lock(self) -> threading.RLock:
        """The panel's lock: every action holds it; hold it to read several parts at one instant."""
        return self.core.lock

    @property
    def clock(self) -> VirtualClock:
        """The panel's virtual clock (never replaced: fixtures, journals and state files hold it)."""
        return self.core.clock

    @property
    def plan_hooks(self) -> list[PlanHook]:
        """Hooks that may change the plan of each new order (in-band triggers use this)."""
        return self.core.plan_hooks

    @property
    def refill_hooks(self) -> list[RefillHook]:
        """Hooks that may change the plan of each new refill."""
        return self.core.refill_hooks

    @property
    def settings(self) -> PanelSettings:
        """The panel's settings (a restored state brings its own)."""
        return self.core.settings

    @property
    def catalog(self) -> Catalog:
        """The services on sale."""
        return self.core.catalog

    @property
    def orders(self) -> OrderBook[Order]:
        """Every order, by id (``OrderBook``: columns, each order a view of its row)."""
        return self.core.orders

    @property
    def account_book(self) -> AccountBook:
        """The accounts, by key digest and by key id, and the money that moves on them."""
        return self.core.account_book

    @property
    def refills(self) -> Refills:
        """Every refill, by id (``Refills``), with each order's newest."""
        return self.core.refills

    # --- changes: each runs through the recording ----------------------------------------

    @mutation
    def restore_snapshot(self, data: Mapping[str, Any]) -> None:
        """Replace the whole state with an exported one (``snapshot.dump``)."""
        self.recording.run("restore_snapshot", functools.partial(snapshot.restore, self.core), data)

    def reset(self, catalog: Catalog | None = None) -> None:
        """Forget every account, order and refill; the clock, settings and hooks stay."""
        self.recording.run("reset", self.core.reset, catalog)

    def create_account(
        self, key: str | None = None, *, balance: object = "0", currency: str | None = None
    ) -> Account:
        """A new API key with an opening deposit. A key is made up if none is given."""
        return self.open_account(new_key() if key is None else key, balance=balance, currency=currency)

    def open_account(self, key: str, *, balance: object = "0", currency: str | None = None) -> Account:
        """A new account for ``key`` (``create_account`` with the key given)."""
        return self.recording.run("open_account", self.core.open_account, key, balance=balance, currency=currency)

    def remove_account(self, key: str) -> None:
        """Delete an account; its key is then refused."""
        self.recording.run("remove_account", self.core.remove_account, key)

    def deposit(self, key: str, amount: object, note: str = "top up") -> Decimal:
        """Add money to an account; returns the new balance."""
        return self.recording.run("deposit", self.core.deposit, key, amount, note)

    def withdraw(self, key: str, amount: object, note: str = "withdrawal") -> Decimal:
        """Take money out (a balance drained by "another client"); never below zero."""
        return self.recording.run("withdraw", self.core.withdraw, key, amount, note)

    def add(self, key: str, service_id: object, params: Mapping[str, str]) -> int:
        """Place an order from an ``add``'s fields; returns its id. Charges the price at once, or raises."""
        core = self.core
        with core.lock:
            account = core.account_book.account(key)  # a bad key is reported before the service, the service before its fields
            service = core.find_service(service_id)
            request = read_order_request(
                service.type,
                params,
                min_quantity=service.min,
                max_quantity=service.max,
                dripfeed_allowed=service.dripfeed,
                rules=core.settings.rules,
            )
            if self.recording.recorder is None:  # nothing records: placed at once, as the recording would
                size = self._size_within_bound(request)
                order_id = core.place_found(account, service, request)
                self._book_bytes += size
                return order_id
            # Recorded as place_order(key, service id, request); placed with what was found above, under the same lock.
            return self._place(key, service.id, request,
                               lambda _key, _service_id, _request: core.place_found(account, service, request))

    def place_order(self, key: str, service_id: int, request: OrderRequest) -> int:
        """Place a typed order; returns its id. Charges the price at once, or raises ``PanelError``
        (``OrderBookFull`` past ``max_book_bytes``, before anything changes)."""
        return self._place(key, service_id, request, self.core.place_order)

    def _place(self, key: str, service_id: int, request: OrderRequest,
               change: Callable[[str, int, OrderRequest], int]) -> int:
        """``place_order``: the book's bound, then ``change`` (the core's) through the recording."""
        size = self._size_within_bound(request)
        order_id = self.recording.run("place_order", change, key, service_id, request)
        self._book_bytes += size
        return order_id

    def _size_within_bound(self, request: OrderRequest) -> int:
        """The order's ``order_bytes``, or ``OrderBookFull`` if the book cannot take it."""
        size = order_bytes(request.link, request.details)
        total = self.book_bytes + size
        if total > self.max_book_bytes:
            raise OrderBookFull(
                f"the order book holds about {self.book_bytes} bytes of orders, and this one ({size} bytes) would "
                f"pass its bound of {self.max_book_bytes}: start the server with a larger --book-bytes, or reset "
                "the panel (POST /_mock/reset); nothing was changed"
            )
        return size

    @property
    def book_bytes(self) -> int:
        """About the memory the order book's orders take (``order_bytes``, summed)."""
        book = self.core.orders
        if book is not self._counted:  # replaced since counted: counted once again, in full
            with self.lock:
                total = 0
                for order_id in book:
                    order = book[order_id]
                    total += order_bytes(order.link, order.details)
                self._book_bytes, self._counted = total, book
        return self._book_bytes

    def cancel(self, key: str, order_id: int | None) -> None:
        """Ask to cancel; the order ends Canceled (or Partial if some was delivered)."""
        self.recording.run("cancel", self.core.cancel, key, order_id)

    def cancel_many(self, key: str, order_ids: Sequence[int | None]) -> list[PanelError | None]:
        """Cancel each order (None: not an id); per order, None if accepted or the error."""
        return self.core.each(key, order_ids, self.cancel)  # each cancel is a change of its own

    def refill(self, key: str, order_id: int | None) -> int:
        """Ask for a refill of a completed order of a refill service; returns the refill id."""
        return self.recording.run("refill", self.core.refill, key, order_id)

    def refill_many(self, key: str, order_ids: Sequence[int | None]) -> list[int | PanelError]:
        """Ask a refill of each order (None: not an id); per order, the refill id or the error."""
        return self.core.each(key, order_ids, self.refill)

    def put_service(self, service: Mapping[str, Any]) -> Service:
        """Add a service, or replace the one with its id (a catalogue entry's JSON)."""
        return self.recording.run("put_service", self.core.put_service, service)

    def update_service(self, service_id: int, **changes: Any) -> Service:
        """Change a service from now on (reprice, disable...); orders placed keep their price."""
        return self.recording.run("update_service", self.core.update_service, service_id, **changes)

    # --- forcing: the test's hand --------------------------------------------------------

    def find_order(self, order_id: int) -> Order:
        """An order by id, whatever its key; raises KeyError if there is none."""
        return self.forcing.find_order(order_id)

    def set_order(
        self,
        order_id: int,
        *,
        status: str | Status | None = None,
        remains: int | None = None,
        start_count: int | None = None,
    ) -> OrderState:
        """Force an order's status, remains or start_count from now on (``Forcing.set_order``)."""
        return self.recording.run(
            "set_order", self.forcing.set_order, order_id, status=status, remains=remains, start_count=start_count
        )

    def set_outcome(self, order_id: int, status: str | Status, remains: int | None = None) -> None:
        """Choose how a running order will end, without ending it now."""
        self.recording.run("set_outcome", self.forcing.set_outcome, order_id, status, remains)

    def set_refill(self, refill_id: int, status: str | RefillStatus) -> RefillStatus:
        """Force a refill's status now."""
        return self.recording.run("set_refill", self.forcing.set_refill, refill_id, status)

    # --- reads: the core's, as they are ----------------------------------------------------

    def account(self, key: object) -> Account:
        """The account for ``key``, or INVALID_KEY. Keys are compared by digest."""
        return self.core.account_book.account(key)  # the core's account(), one call less: every request asks it

    def account_by_id(self, account_id: str) -> Account:
        """The account with this key id (a digest), for a change that reaches it through an order."""
        return self.core.account_by_id(account_id)

    def accounts(self) -> list[Account]:
        """Every account, in the order they were opened."""
        return self.core.accounts()

    def ledger(self, key: str) -> list[LedgerEntry]:
        """Every movement of the balance, oldest first: deposits, charges, refunds."""
        return self.core.ledger(key)

    def settle(self, account: Account) -> None:
        """Credit the refunds of the account's orders that have ended by now."""
        self.core.settle(account)

    def schedule(self, account: Account, order: Order) -> None:
        """Note when the order's refund falls due (credited at once if that is now)."""
        self.core.schedule(account, order)

    def keys_orders(self, key: str) -> Iterable[Order]:
        """The orders placed with this key, oldest first."""
        return self.core.keys_orders(key)

    def services(self, key: str) -> list[Service]:
        """What the ``services`` action lists for this key: the enabled services."""
        return self.core.services(key)

    def balance(self, key: str) -> tuple[Decimal, str]:
        """The key's balance and currency."""
        return self.core.balance(key)

    def find_service(self, service_id: object) -> Service:
        """The service with this id, on sale; PanelError if the id is not one or the service is disabled."""
        return self.core.find_service(service_id)

    def status(self, key: str, order_id: int) -> OrderState:
        """The state of one of the key's orders now; another key's order is an unknown id."""
        return self.core.status(key, order_id)

    def statuses(self, key: str, order_ids: Sequence[int | None]) -> list[OrderState | PanelError]:
        """One result per id, in order; None stands for an id that did not parse."""
        return self.core.statuses(key, order_ids)

    def check_batch(self, ids: Sequence[object]) -> None:
        """Refuse an empty batch or one past the dialect's limit (before any item is read)."""
        self.core.check_batch(ids)

    def refill_status(self, key: str, refill_id: int | None) -> RefillStatus:
        """The status of one of the key's refills now."""
        return self.core.refill_status(key, refill_id)

    def refill_statuses(self, key: str, refill_ids: Sequence[int | None]) -> list[RefillStatus | PanelError]:
        """``refill_status`` for each id (None: not an id), an error in place of an unknown one."""
        return self.core.refill_statuses(key, refill_ids)
