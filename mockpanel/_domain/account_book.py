"""AccountBook: a panel's accounts: keys, balances, the ledger, and refunds credited as orders end.

It holds no lock and reads no clock: the panel calls it under its lock, at the instant it gives.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterator
from decimal import Decimal

from .accounts import Account, LedgerEntry, key_digest
from .errors import ErrorCode, PanelError
from .money import parse_amount
from .orderbook import OrderBook
from .order_rows import refund_of
from .orders import Order

MAX_BALANCE = Decimal(10) ** 18  # a balance's bound: sums stay exact in Decimal's 28 digits

_DIGESTS: dict[str, bytes] = {}  # key -> digest: a client sends the same few keys again and again
_DIGESTS_MAX = 4096


def _digest(key: str) -> bytes:
    """``key_digest``, computed once per distinct key (a bounded cache: cleared when full)."""
    digest = _DIGESTS.get(key) if key.__class__ is str else None  # a KeyDigest equals its hex text
    if digest is None:
        digest = key_digest(key)
        if key.__class__ is str:
            if len(_DIGESTS) >= _DIGESTS_MAX:
                _DIGESTS.clear()
            _DIGESTS[key] = digest
    return digest


def _is_text(text: str) -> bool:
    """Writable as UTF-8 (no lone surrogate) and free of NUL: safe to store and to show."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def _positive(amount: object, what: str) -> Decimal:
    value = parse_amount(amount, name="amount")
    if value <= 0:
        raise ValueError(f"{what} must be positive, got {value}")
    return value


def new_key() -> str:
    """A made-up API key, for an account opened without one."""
    return secrets.token_hex(16)


class AccountBook:
    """The accounts of a panel, by key digest and by key id, and the money that moves on them.

    Charges and refunds are derived from the orders (``orders``, the panel's order book)."""

    def __init__(self, orders: OrderBook[Order]) -> None:
        self.orders = orders
        self.by_digest: dict[bytes, Account] = {}  # key digest -> account, in the order they were opened
        self.by_id: dict[str, Account] = {}  # key id (a digest's prefix) -> account
        self.changes = 0  # keys opened or removed so far: what an index over the keys is rebuilt on

    def __iter__(self) -> Iterator[Account]:
        """Every account, in the order they were opened."""
        return iter(self.by_digest.values())

    def __len__(self) -> int:
        return len(self.by_digest)

    def open(self, key: str, *, balance: object, currency: str, seed: int, now: float) -> Account:
        """A new account for ``key`` with an opening deposit; ValueError if the key is taken or not one."""
        if not isinstance(key, str) or not key or len(key) > 512 or not _is_text(key):
            raise ValueError("an API key must be a non-empty string of at most 512 characters (valid UTF-8 text)")
        if not (isinstance(currency, str) and 0 < len(currency) <= 16 and _is_text(currency)):
            raise ValueError(f"a currency is a short code such as \"USD\" (1 to 16 characters), got {currency!r}")
        amount = parse_amount(balance, name="balance")
        if amount < 0:
            raise ValueError(f"an opening balance cannot be negative, got {amount}")
        digest = _digest(key)
        if digest in self.by_digest:
            raise ValueError("that API key already exists; choose another or omit it")
        account = Account(key=key, currency=currency, seed=seed, created=now)
        self.by_digest[digest] = account
        self.by_id[account.id] = account
        self.changes += 1
        if amount:
            account.credit(LedgerEntry(now, "deposit", amount, note="opening balance"))
        return account

    def account(self, key: object) -> Account:
        """The account for ``key``, or INVALID_KEY. Keys are compared by digest."""
        if not isinstance(key, str) or not key:
            raise PanelError(ErrorCode.INVALID_KEY)
        account = self.by_digest.get(_digest(key))
        if account is None or account.disabled:
            raise PanelError(ErrorCode.INVALID_KEY)
        return account

    def with_id(self, account_id: str) -> Account:
        """The account with this key id, for a change that reaches it through an order; KeyError if none."""
        return self.by_id[account_id]

    def remove(self, key: str) -> Account:
        """Forget the key's account (its orders stay in the book until the panel removes them)."""
        account = self.account(key)
        del self.by_digest[_digest(key)]
        del self.by_id[account.id]
        self.changes += 1
        return account

    def deposit(self, key: str, amount: object, *, note: str, now: float) -> Decimal:
        """Add money to the key's account; returns the new balance."""
        value = _positive(amount, "a deposit")
        account = self.account(key)
        if account.balance + value > MAX_BALANCE:
            raise ValueError(f"a balance is at most 10^18; this deposit would make it {account.balance + value}")
        account.credit(LedgerEntry(now, "deposit", value, note=note))
        return account.balance

    def withdraw(self, key: str, amount: object, *, note: str, now: float) -> Decimal:
        """Take money out (a balance drained by "another client"); never below zero."""
        value = _positive(amount, "a withdrawal")
        account = self.account(key)
        self.settle(account, now)
        value = min(value, account.balance)
        if value:
            account.credit(LedgerEntry(now, "withdrawal", value, note=note))
        return account.balance

    def settle(self, account: Account, now: float) -> None:
        """Credit the refunds of orders that have ended by ``now`` (lazily, no background loop)."""
        due = account.due
        if not due or due[0][0] > now:  # none due yet: the soonest comes first
            return
        book = self.orders
        for _done_at, order_id, version in account.pop_due(now):
            row = book.row(order_id)
            if row < 0 or book.version[row] != version or book.refunded[row]:
                continue  # gone; its trajectory rewritten (a newer entry exists); or credited already
            refund = refund_of(book, row)  # read from the row: no view made (Order.refunded's rule)
            if refund > 0:
                # Like a charge, the ledger's refund entry is derived from the order: its flag.
                book.refunded[row] = 1
                book.changes += 1
                account.balance += refund

    def schedule(self, account: Account, order: Order, now: float) -> None:
        """Note when the order's refund falls due (credited at once if that is ``now``)."""
        self.schedule_row(account, order.id - self.orders.first_id, now)

    def schedule_row(self, account: Account, row: int, now: float) -> None:
        """``schedule`` for the order in ``row`` of the book, read from its columns (an add has its row:
        no view is made, and no property read)."""
        book = self.orders
        done_at = book.done_at[row]
        # What it refunds, less what was refunded (all of it once credited: Order.refunded), is due.
        if done_at < math.inf and not book.refunded[row] and refund_of(book, row) > 0:
            account.schedule_refund(done_at, book.first_id + row, book.version[row])
            if done_at <= now:
                self.settle(account, now)

    def ledger(self, account: Account, now: float) -> list[LedgerEntry]:
        """Every movement of the balance, oldest first: deposits, charges, refunds."""
        self.settle(account, now)
        # Charges and refunds are derived from the orders; deposits and withdrawals are stored.
        derived: list[LedgerEntry] = []
        for order in (self.orders[i] for i in account.order_ids):
            if order.charge:
                derived.append(LedgerEntry(order.created, "charge", order.charge, order=order.id, note=order.service.name))
            refunded = order.refunded
            if refunded:
                derived.append(LedgerEntry(order.done_at, "refund", refunded, order=order.id, note=order.outcome.value))
        return sorted(account.entries + derived, key=lambda e: (e.at, e.kind != "deposit"))
