"""Accounts: one per API key, with a balance explained by its ledger."""

from __future__ import annotations

import hashlib
import heapq
from array import array
from dataclasses import dataclass
from decimal import Decimal

from .draws import Draws
from .money import ZERO

LINK_SWEEP_MIN = 1024  # the duplicate-link index is never swept below this size: a sweep costs its size


class KeyDigest(str):
    """A key known only by its SHA-256, as state files keep it: it opens the account its key opens."""

    __slots__ = ()

    def __new__(cls, hexdigest: str) -> "KeyDigest":
        if len(hexdigest) != 64 or any(c not in "0123456789abcdef" for c in hexdigest):
            raise ValueError(f"a key digest is 64 lowercase hex digits, got {hexdigest[:70]!r}")
        return super().__new__(cls, hexdigest)

    @classmethod
    def of(cls, key: str) -> "KeyDigest":
        if isinstance(key, KeyDigest):
            return key
        return cls(hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest())

    def __repr__(self) -> str:
        return f"KeyDigest({self[:8]}...)"


def key_digest(key: str) -> bytes:
    """The SHA-256 that accounts are found by: keys are never compared as strings."""
    if isinstance(key, KeyDigest):
        return bytes.fromhex(key)
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def key_id(key: str) -> str:
    """A stable, non-reversible id for a key: what logs and journals may show."""
    if isinstance(key, KeyDigest):
        return key[:16]
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def redact(key: str) -> str:
    """How a key is shown to people: never the key, only enough to tell two apart."""
    return redact_id(key_id(key))


def redact_id(kid: str) -> str:
    """``redact`` for a key known only by its ``key_id`` (an order, a journal entry)."""
    return f"key#{kid[:8]}"


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    at: float
    kind: str  # "deposit", "withdrawal", "charge" or "refund"
    amount: Decimal  # positive; the kind gives the sign
    order: int | None = None
    note: str = ""

    @property
    def signed(self) -> Decimal:
        """The entry's effect on the balance: positive for deposits and refunds, negative for charges and withdrawals."""
        return self.amount if self.kind in ("deposit", "refund") else -self.amount


class Account:
    """An API key's tenant: its balance, currency, ledger, orders and seeded randomness.

    Charges are the orders themselves (each order keeps its price), so the ledger
    stores only deposits, withdrawals and refunds; ``ledger()`` in the panel merges them.
    """

    def __init__(self, *, key: str, currency: str, seed: int, created: float) -> None:
        self.key = key
        self.id = key_id(key)
        self.currency = currency
        self.created = created
        self.balance = ZERO
        self.entries: list[LedgerEntry] = []  # deposits, withdrawals, refunds
        # The account's order ids, oldest first: a typed column (8 bytes an order, not a pointer and an
        # int object). A plain attribute, not a property: an add reads it twice.
        self.order_ids: array[int] = array("q")
        self.rng = Draws(f"{seed}:{self.id}")  # random.Random's values, a change's draws taken back in O(1)
        # Refunds that fall due when orders end: (done_at, order id, order version).
        self.due: list[tuple[float, int, int]] = []
        # The newest order per (service, link), for the duplicate-link rule.
        self.latest_by_link: dict[tuple[int, str], int] = {}
        # The index's size at which its finished orders are dropped next (placing.py: swept whole once
        # it has doubled since, so an add pays O(1) for it, amortized).
        self.link_sweep_at = LINK_SWEEP_MIN
        self.disabled = False

    def credit(self, entry: LedgerEntry) -> None:
        """Apply a ledger entry to the balance and keep it in the ledger."""
        self.entries.append(entry)
        self.balance += entry.signed

    def schedule_refund(self, done_at: float, order_id: int, version: int) -> None:
        """Remember that an order's refund falls due at ``done_at``."""
        heapq.heappush(self.due, (done_at, order_id, version))

    def pop_due(self, now: float) -> list[tuple[float, int, int]]:
        """The scheduled refunds due by ``now``, removed from the schedule."""
        out = []
        while self.due and self.due[0][0] <= now:
            out.append(heapq.heappop(self.due))
        return out

    @property
    def deposits(self) -> Decimal:
        """The sum of the account's deposits (its opening balance and top-ups)."""
        return sum((e.amount for e in self.entries if e.kind == "deposit"), ZERO)
