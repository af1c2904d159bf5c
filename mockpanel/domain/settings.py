"""A panel's settings: what a dialect and the command line choose, fixed for the panel's life."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .plans import LifecycleSettings
from .servicetypes import OrderRules

__all__ = ["DuplicateScope", "PanelSettings"]

DuplicateScope = Literal["service", "any", "off"]
@dataclass(frozen=True)
class PanelSettings:
    """How a panel behaves: seed, currency, lifecycle timings, order rules and id ranges."""

    seed: int = 0
    currency: str = "USD"
    lifecycle: LifecycleSettings = LifecycleSettings()  # noqa: RUF009 (frozen: a shared default is safe)
    rules: OrderRules = OrderRules()  # noqa: RUF009
    batch_limit: int = 100
    duplicate_links: DuplicateScope = "service"
    refill_after_partial: bool = False
    first_order_id: int = 10001
    first_refill_id: int = 501
