"""A panel's accounts: keys, balances, the ledger, and refunds credited as orders end."""

from __future__ import annotations

import math
import secrets
from decimal import Decimal

from .accounts import Account, LedgerEntry, key_digest
from .errors import ErrorCode, PanelError
from .money import parse_amount
from .mutations import mutation
from .orders import Order
from .panel_state import PanelState

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


class Accounts(PanelState):
    """The accounts part of ``Panel``."""

    def create_account(
        self, key: str | None = None, *, balance: object = "0", currency: str | None = None
    ) -> Account:
        """A new API key with an opening deposit. A key is made up if none is given."""
        key = secrets.token_hex(16) if key is None else key
        return self._open_account(key, balance=balance, currency=currency)

    @mutation
    def _open_account(self, key: str, *, balance: object, currency: str | None) -> Account:
        if not isinstance(key, str) or not key or len(key) > 512 or not _is_text(key):
            raise ValueError("an API key must be a non-empty string of at most 512 characters (valid UTF-8 text)")
        if currency and not (isinstance(currency, str) and len(currency) <= 16 and _is_text(currency)):
            raise ValueError(f"a currency is a short code such as \"USD\" (1 to 16 characters), got {currency!r}")
        amount = parse_amount(balance, name="balance")
        if amount < 0:
            raise ValueError(f"an opening balance cannot be negative, got {amount}")
        with self.lock:
            digest = _digest(key)
            if digest in self.key_accounts:
                raise ValueError("that API key already exists; choose another or omit it")
            now = self.clock.now()
            account = Account(
                key=key, currency=currency or self.settings.currency, seed=self.settings.seed, created=now
            )
            self.key_accounts[digest] = account
            self.accounts_by_id[account.id] = account
            if amount:
                account.credit(LedgerEntry(now, "deposit", amount, note="opening balance"))
            return account

    def account(self, key: object) -> Account:
        """The account for ``key``, or INVALID_KEY. Keys are compared by digest."""
        if not isinstance(key, str) or not key:
            raise PanelError(ErrorCode.INVALID_KEY)
        account = self.key_accounts.get(_digest(key))
        if account is None or account.disabled:
            raise PanelError(ErrorCode.INVALID_KEY)
        return account

    def accounts(self) -> list[Account]:
        """Every account, in the order they were opened."""
        with self.lock:
            return list(self.key_accounts.values())

    @mutation
    def remove_account(self, key: str) -> None:
        """Delete an account; its key is then refused."""
        with self.lock:
            account = self.account(key)
            del self.key_accounts[_digest(key)]
            del self.accounts_by_id[account.id]
            self.orders.remove_account(account.id)
            for order_id in account.order_ids:
                self.refill_of.pop(order_id, None)
            # Every refill of the account, not only each order's newest one.
            for refill_id in [r.id for r in self.refills.values() if r.key == account.id]:
                del self.refills[refill_id]

    @mutation
    def deposit(self, key: str, amount: object, note: str = "top up") -> Decimal:
        """Add money to an account; returns the new balance."""
        value = _positive(amount, "a deposit")
        with self.lock:
            account = self.account(key)
            if account.balance + value > MAX_BALANCE:
                raise ValueError(f"a balance is at most 10^18; this deposit would make it {account.balance + value}")
            account.credit(LedgerEntry(self.clock.now(), "deposit", value, note=note))
            return account.balance

    @mutation
    def withdraw(self, key: str, amount: object, note: str = "withdrawal") -> Decimal:
        """Take money out (a balance drained by "another client"); never below zero."""
        value = _positive(amount, "a withdrawal")
        with self.lock:
            account = self.account(key)
            self.settle(account)
            value = min(value, account.balance)
            if value:
                account.credit(LedgerEntry(self.clock.now(), "withdrawal", value, note=note))
            return account.balance

    def settle(self, account: Account) -> None:
        """Credit the refunds of orders that have ended by now (lazily, no background loop)."""
        if not account.due:
            return
        for _done_at, order_id, version in account.pop_due(self.clock.now()):
            order = self.orders.get(order_id)
            if order is None or order.version != version:
                continue  # the trajectory was rewritten; a newer entry exists
            refund = order.refund_due() - order.refunded
            if refund > 0:
                # Like a charge, the ledger's refund entry is derived from the order.
                order.refunded += refund
                account.balance += refund

    def schedule(self, account: Account, order: Order) -> None:
        """Note when the order's refund falls due (credited at once if that is now)."""
        if order.refund_due() > order.refunded and order.done_at < math.inf:
            account.schedule_refund(order.done_at, order.id, order.version)
            if order.done_at <= self.clock.now():
                self.settle(account)

    def ledger(self, key: str) -> list[LedgerEntry]:
        """Every movement of the balance, oldest first: deposits, charges, refunds."""
        with self.lock:
            account = self.account(key)
            self.settle(account)
            # Charges and refunds are derived from the orders; deposits and withdrawals are stored.
            derived: list[LedgerEntry] = []
            for order in (self.orders[i] for i in account.order_ids):
                if order.charge:
                    derived.append(LedgerEntry(order.created, "charge", order.charge, order=order.id, note=order.service.name))
                refunded = order.refunded
                if refunded:
                    derived.append(LedgerEntry(order.done_at, "refund", refunded, order=order.id, note=order.outcome.value))
            return sorted(account.entries + derived, key=lambda e: (e.at, e.kind != "deposit"))

    def account_by_id(self, account_id: str) -> Account:
        """The account with this key id (a digest), for a change that reaches it through an order."""
        return self.accounts_by_id[account_id]
