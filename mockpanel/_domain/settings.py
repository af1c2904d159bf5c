"""A panel's settings: what a dialect and the command line choose, fixed for the panel's life."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from .plans import LifecycleSettings

__all__ = ["DuplicateScope", "OrderRules", "PanelSettings"]

DuplicateScope = Literal["service", "any", "off"]


@dataclass(frozen=True)
class OrderRules:
    """How a dialect reads an ``add``'s fields: its limits, drip-feed and delay lists, field lists.

    Fixed for the panel's life and saved with its settings (snapshots and state files hold them), so
    they live here; only the dialect layer reads them (_dialects/order_fields.py): the panel itself
    takes typed ``OrderRequest`` values and never looks at a field's spelling."""

    max_runs: int = 1000
    max_interval: int = 43200  # minutes (30 days)
    intervals: tuple[int, ...] | None = None  # allowed drip-feed intervals; None: 1..max_interval
    delays: tuple[int, ...] = (0, 5, 10, 15, 20, 30, 40, 50, 60, 90, 120, 150, 180, 210, 240, 270, 300, 360, 420, 480, 540, 600)
    # Free text is bounded so an order's memory is (docs/limits.md); past a limit: "Incorrect <field>".
    max_link: int = 2048  # characters in the link
    max_text: int = 500  # characters in a one-line field (username, hashtag, media, country, ...)
    max_list_text: int = 100_000  # characters in a list field (comments, usernames, hashtags, keywords, groups)
    max_lines: int = 10_000  # lines in a list field
    # PHP panels cast with (int): an optional number sent "", "undefined" or "null" is absent.
    lenient_optional: bool = True
    # Field lists that differ from the standard, by type name: {"Subscriptions": (required, optional)}.
    type_fields: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)


@dataclass(frozen=True)
class PanelSettings:
    """How a panel behaves: seed, currency, lifecycle timings, order rules and id ranges."""

    seed: int = 0
    currency: str = "USD"
    lifecycle: LifecycleSettings = LifecycleSettings()  # noqa: RUF009 (frozen: a shared default is safe)
    rules: OrderRules = OrderRules()  # noqa: RUF009 (how the dialect reads an add's fields)
    batch_limit: int = 100
    duplicate_links: DuplicateScope = "service"
    refill_after_partial: bool = False
    first_order_id: int = 10001
    first_refill_id: int = 501
