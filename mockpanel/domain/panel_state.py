"""What a panel holds: the attributes its parts (accounts, placing orders, the actions) share.

Public: snapshots, persistence and the control side read them; they change only under the
lock, through the panel's methods or a whole-state restore.
"""

from __future__ import annotations

import threading

from .accounts import Account
from .catalog import Catalog
from .clock import VirtualClock
from .orderbook import OrderBook
from .orders import Order
from .refills import Refill
from .settings import PanelSettings


class PanelState:
    """The attributes of a panel, declared once for the classes that make up ``Panel``."""

    catalog: Catalog
    clock: VirtualClock
    settings: PanelSettings
    lock: threading.RLock
    key_accounts: dict[bytes, Account]  # key digest -> account
    accounts_by_id: dict[str, Account]  # key id (digest) -> account
    orders: OrderBook[Order]
    refills: dict[int, Refill]
    refill_of: dict[int, int]  # order id -> its newest refill id
    next_refill: int
