"""Taking back a change that failed halfway: every change is all or nothing.

The checks of a change come first and change nothing; what follows (drawing a plan,
appending a row, charging, scheduling the refund) could still fail on a bug or a
value nobody foresaw. Before that part the panel saves what it will touch, and if
anything raises, ``Undo`` puts it back as it was, so a failed request leaves nothing
behind. Saving is O(1) (a few fields, one row); putting back may be slower (it only
happens on failure).

A refund heap is compared by its contents: after a take-back it holds the same
entries, maybe in another (equally valid) heap order.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from .accounts import Account
    from .orderbook import OrderBook
    from .refills import Refills


class Undo:
    """A context: if the body raises, the saved steps run, newest first, and the error goes on.

    Steps given to ``on_exit`` run last, whether the body raised or not."""

    __slots__ = ("_steps", "_exits")

    def __init__(self) -> None:
        self._steps: list[Callable[[], None]] = []
        self._exits: list[Callable[[], None]] = []

    def on_failure(self, step: Callable[[], None]) -> None:
        self._steps.append(step)

    def on_exit(self, step: Callable[[], None]) -> None:
        self._exits.append(step)

    def __enter__(self) -> "Undo":
        return self

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:  # None: the error goes on
        if kind is None:
            for step in self._exits:
                step()
            return
        try:
            for step in reversed(self._steps):
                step()
        finally:
            for step in self._exits:
                step()


def _drop_due(account: "Account", keep: Callable[[tuple[float, int, int]], bool]) -> None:
    """Take refunds back out of the account's schedule: those ``keep`` refuses."""
    kept = [entry for entry in account.due if keep(entry)]
    if len(kept) != len(account.due):
        heapq.heapify(kept)
        account.due = kept


class SavedAccount:
    """An account as a change found it: its balance, ledger, draws and order list (the draws by their
    position: O(1)). The one definition of what a change saves of an account; ``NewOrder`` is one.
    Call ``restore`` if the change fails, then ``end`` whatever happened."""

    __slots__ = ("account", "balance", "drawn", "entries", "orders")

    def __init__(self, account: "Account") -> None:
        self.account = account
        self.balance, self.drawn = account.balance, account.rng.mark()
        self.entries, self.orders = len(account.entries), len(account.order_ids)

    def restore(self) -> None:
        account = self.account
        account.balance = self.balance
        account.rng.rewind(self.drawn)
        del account.entries[self.entries:]
        del account.order_ids[self.orders:]

    def end(self) -> None:
        """The change is over (kept or taken back): the account's draws close it."""
        self.account.rng.end()


def save_account(undo: Undo, account: "Account") -> None:
    """Before a change of the account: ``SavedAccount``, put back if the change fails."""
    saved = SavedAccount(account)
    undo.on_exit(saved.end)
    undo.on_failure(saved.restore)


class NewOrder(SavedAccount):
    """Before an add: the account (``SavedAccount``), the book's end and the duplicate-link index entry
    the add may replace, in one object: an add is the request path, and this costs less than an ``Undo``
    with its closures. Call ``restore`` if the add fails, then ``end`` whatever happened."""

    __slots__ = ("book", "link_key", "mark", "first_new", "had", "previous")

    def __init__(self, book: "OrderBook[Any]", account: "Account", link_key: Any, previous: int | None) -> None:
        """``previous``: the order the duplicate-link index holds for ``link_key`` now (None: none), as the
        add has just read it."""
        SavedAccount.__init__(self, account)
        self.book, self.link_key = book, link_key
        self.mark = mark = book.mark()
        self.first_new = book.first_id + mark[0]  # the next id: the book's rows before the add
        self.had, self.previous = previous is not None, previous  # the index holds order ids: never None

    def restore(self) -> None:
        """Take the add back: the book, the refund schedule, the duplicate-link index, then the account."""
        book, account, link_key, first_new = self.book, self.account, self.link_key, self.first_new
        book.rollback(self.mark)
        _drop_due(account, lambda entry: entry[1] < first_new)
        index = account.latest_by_link
        if self.had:
            index[link_key] = self.previous  # type: ignore[assignment]
        else:
            index.pop(link_key, None)
        SavedAccount.restore(self)


def save_order(undo: Undo, book: "OrderBook[Any]", account: "Account", order_id: int) -> None:
    """Before a change of one order (a cancel, a forced status): its row and its refund entries."""
    row = order_id - book.first_id
    saved, version = book.save_row(row), book.version[row]
    save_account(undo, account)

    def restore() -> None:
        book.restore_row(row, saved)
        _drop_due(account, lambda entry: entry[1] != order_id or entry[2] <= version)

    undo.on_failure(restore)


def save_refills(undo: Undo, refills: "Refills", account: "Account", order_id: int) -> None:
    """Before a refill: the next refill id, the order's newest refill and the account's draws."""
    next_id, had, previous = refills.next_id, order_id in refills.of_order, refills.of_order.get(order_id)
    save_account(undo, account)

    def restore() -> None:
        for refill_id in range(next_id, max(refills.next_id, next_id + 1)):
            refills.by_id.pop(refill_id, None)  # ids are issued in sequence from next_id
        refills.next_id = next_id
        if had:
            refills.of_order[order_id] = previous  # type: ignore[assignment]
        else:
            refills.of_order.pop(order_id, None)

    undo.on_failure(restore)
