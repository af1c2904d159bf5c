"""OrderBook: every order of a panel, stored in columns.

A million orders must fit in a few hundred megabytes and be found in O(1): ids are
issued in sequence, so an order's row is ``id - first_id``, and its numbers live in
typed arrays (8 bytes a number) rather than in Python objects (24-28 bytes each, plus
the object). What few orders carry more (drip-feed runs, type-specific details,
refunds, a forced hold) keeps it in ``extras``. ``Order`` is a view of one row.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Generic, Iterator, TypeVar

from .lifecycle import Status

if TYPE_CHECKING:
    from .catalog import Service

OUTCOMES: tuple[Status, ...] = (Status.COMPLETED, Status.PARTIAL, Status.CANCELED)
OUTCOME_INDEX = {status: i for i, status in enumerate(OUTCOMES)}
REMOVED = -1  # the account column of a row whose key was removed
# The typed columns, in the order append_row fills them.
COLUMNS = (
    "created", "start_at", "per_second", "done_at", "quantity", "start_count", "delivered_from",
    "delivered_to", "outcome", "refunded", "version", "service_ix", "account_ix", "charge_ix",
)
V = TypeVar("V")  # the view of one row the book hands out (orders.Order)
MAX_INT = 2**63 - 1  # an "q" column's largest value
_LEAST = -MAX_INT  # the smallest value a row takes (negated once here, not three times per row)
_NOTHING = object()  # no value asked for yet


class _Interned:
    """A list of distinct values and their indexes: 4 bytes a row instead of a pointer and an object."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self._index: dict[Any, int] = {}
        # The value asked for last and its index: rows come with the same object again and again (the
        # service, the key id, a shared price), and a service's hash is worked out from all its fields.
        # (Public: ``append_row`` reads them itself, one call less per column.)
        self.last: Any = _NOTHING
        self.last_index = -1

    def index(self, value: Any) -> int:
        if value is self.last:
            return self.last_index
        i = self._index.get(value)
        if i is None:
            i = self._index[value] = len(self.values)
            self.values.append(value)
        self.last, self.last_index = value, i
        return i

    def find(self, value: Any) -> int | None:
        """The index of ``value``, or None if it was never added (adds nothing)."""
        return self._index.get(value)

    def truncate(self, n: int) -> None:
        """Forget the values added after the first ``n`` (a change taken back)."""
        for value in self.values[n:]:
            del self._index[value]
        del self.values[n:]
        if self.last_index >= n:
            self.last, self.last_index = _NOTHING, -1


class OrderBook(Mapping[int, V], Generic[V]):
    """A mapping of order id -> a view of its row (``Order``, given as ``view``), backed by columns."""

    def __init__(self, first_id: int = 1, *, view: Callable[[OrderBook[V], int], V]) -> None:
        self.first_id = first_id
        self._view = view
        self.created = array("d")
        self.start_at = array("d")
        self.per_second = array("d")
        self.done_at = array("d")
        self.quantity = array("q")
        self.start_count = array("q")
        self.delivered_from = array("q")
        self.delivered_to = array("q")
        self.outcome = array("b")
        self.refunded = array("b")  # 1 once the outcome's refund is credited
        self.version = array("l")
        self.service_ix = array("l")
        self.account_ix = array("l")
        self.charge_ix = array("l")
        self.links: list[str] = []
        self.services = _Interned()  # Service objects (a repriced service is a new object)
        self.accounts = _Interned()  # account key ids
        self.charges = _Interned()  # Decimal prices
        self.extras: dict[int, dict[str, Any]] = {}  # row -> rare fields
        self.removed = 0
        # Bumped by every change to a row already in the book (not by a new row): an answer made
        # from rows stays exact while it is unchanged.
        self.changes = 0

    # --- rows ---------------------------------------------------------------------

    @property
    def next_id(self) -> int:
        return self.first_id + len(self.links)

    def append_row(
        self, key: str, service: "Service", link: str, quantity: int, charge: Decimal, created: float,
        start_count: int, start_at: float, per_second: float, outcome: Status, delivered_to: int,
        done_at: float | None = None,
    ) -> int:
        """Add a row whole, or nothing (a value a column cannot hold raises ValueError first);
        returns its index. ``done_at`` is derived (orders.finish_time_of): the caller gives it, or sets
        it after (None: ``start_at`` until then)."""
        if not (quantity.__class__ is int and start_count.__class__ is int and delivered_to.__class__ is int
                and _LEAST <= quantity <= MAX_INT and _LEAST <= start_count <= MAX_INT
                and _LEAST <= delivered_to <= MAX_INT):
            for name, value in (("quantity", quantity), ("start_count", start_count), ("delivered_to", delivered_to)):
                if not (value.__class__ is int and -MAX_INT <= value <= MAX_INT):
                    raise ValueError(f"an order's {name} must be an int that fits 64 bits, got {value!r}")
        i = len(self.links)
        mark = i, len(self.services.values), len(self.accounts.values), len(self.charges.values)  # self.mark(), one call less
        try:
            self.created.append(created)
            self.start_at.append(start_at)
            self.per_second.append(per_second)
            self.done_at.append(start_at if done_at is None else done_at)
            self.quantity.append(quantity)
            self.start_count.append(start_count)
            self.delivered_from.append(0)
            self.delivered_to.append(delivered_to)
            self.outcome.append(OUTCOMES.index(outcome))  # not OUTCOME_INDEX: an Enum hashes in Python
            self.refunded.append(0)
            self.version.append(0)
            # _Interned.index, the last value's index read here first (a row is the request path)
            interned = self.services
            self.service_ix.append(interned.last_index if service is interned.last else interned.index(service))
            interned = self.accounts
            self.account_ix.append(interned.last_index if key is interned.last else interned.index(key))
            interned = self.charges
            self.charge_ix.append(interned.last_index if charge is interned.last else interned.index(charge))
            self.links.append(link)
        except BaseException:
            self.rollback(mark)
            raise
        return i

    # --- taking a change back (a change is all or nothing) ---------------------------

    def mark(self) -> tuple[int, int, int, int]:
        """Where the book is now, for ``rollback``."""
        return len(self.links), len(self.services.values), len(self.accounts.values), len(self.charges.values)

    def rollback(self, mark: tuple[int, int, int, int]) -> None:
        """Drop every row (and interned value) added since ``mark``."""
        rows, services, accounts, charges = mark
        self.changes += 1
        for name in COLUMNS:
            del getattr(self, name)[rows:]
        del self.links[rows:]
        for i in [i for i in self.extras if i >= rows]:
            del self.extras[i]
        self.services.truncate(services)
        self.accounts.truncate(accounts)
        self.charges.truncate(charges)

    def save_row(self, i: int) -> tuple[tuple[Any, ...], dict[str, Any] | None]:
        """One row's values, for ``restore_row``."""
        extra = self.extras.get(i)
        return tuple(getattr(self, name)[i] for name in COLUMNS), None if extra is None else dict(extra)

    def restore_row(self, i: int, saved: tuple[tuple[Any, ...], dict[str, Any] | None]) -> None:
        values, extra = saved
        self.changes += 1
        for name, value in zip(COLUMNS, values):
            getattr(self, name)[i] = value
        if extra is None:
            self.extras.pop(i, None)
        else:
            self.extras[i] = extra

    def row(self, order_id: object) -> int:
        """The row of a live order, or -1."""
        if order_id.__class__ is not int:
            return -1
        i = order_id - self.first_id
        if 0 <= i < len(self.links) and self.account_ix[i] != REMOVED:
            return i
        return -1

    def remove_account(self, key: str) -> None:
        """Forget the rows of one key: they answer as unknown ids from now on."""
        ix = self.accounts.find(key)
        if ix is None:
            return
        column = self.account_ix
        self.changes += 1
        for i in range(len(column)):
            if column[i] == ix:
                column[i] = REMOVED
                self.extras.pop(i, None)
                self.removed += 1

    # --- the mapping --------------------------------------------------------------

    def get(self, order_id: object, default: Any = None) -> V | Any:
        i = self.row(order_id)
        return default if i < 0 else self.view(i)

    def view(self, i: int) -> V:
        return self._view(self, i)

    def __getitem__(self, order_id: int) -> V:
        i = self.row(order_id)
        if i < 0:
            raise KeyError(order_id)
        return self.view(i)

    def __contains__(self, order_id: object) -> bool:
        return self.row(order_id) >= 0

    def __len__(self) -> int:
        return len(self.links) - self.removed

    def __iter__(self) -> Iterator[int]:
        first, column = self.first_id, self.account_ix
        return (first + i for i in range(len(column)) if column[i] != REMOVED)
