"""Opening the accounts that ``mockpanel serve`` starts with."""

from __future__ import annotations

from .domain.accounts import redact
from .domain.panel import Panel

# The built-in demo key: documented in the README, so showing it leaks nothing.
DEFAULT_KEY = "test-key"
DEFAULT_BALANCE = "1000"


def open_accounts(panel: Panel, keys: tuple[str, ...] | list[str], balance: str, currency: str) -> list[str]:
    """Create each key; return how to show each one (a key given by the user is redacted)."""
    shown = []
    for key in keys:
        account = panel.create_account(key, balance=balance, currency=currency)
        name = key if key == DEFAULT_KEY else redact(key)
        shown.append(f"{name}: balance {account.balance} {account.currency}")
    return shown
