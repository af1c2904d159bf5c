"""Opening the accounts that ``mockpanel serve`` starts with."""

from __future__ import annotations

from ._domain.accounts import redact
from ._domain.errors import PanelError
from ._domain.money import shown_text
from ._panel.panel import Panel

# The built-in demo key: documented in the README, so showing it leaks nothing.
DEFAULT_KEY = "test-key"
DEFAULT_BALANCE = "1000"


def open_accounts(panel: Panel, keys: tuple[str, ...] | list[str], balance: str, currency: str,
                  places: int = 2) -> list[str]:
    """Create each key; return how to show each one (a key given by the user is redacted), its balance
    with ``places`` decimals (the dialect's)."""
    repeated = sorted({redact(k) if k != DEFAULT_KEY else k for k in keys if list(keys).count(k) > 1})
    if repeated:
        raise ValueError(f"key {', '.join(repeated)} is given more than once (--key or MOCKPANEL_KEYS); give each key once")
    shown = []
    for key in keys:
        name = key if key == DEFAULT_KEY else redact(key)
        try:
            amount, currency_now = panel.balance(key)  # restored from a state file: keep it as it is
            shown.append(f"{name}: balance {shown_text(amount, places)} {currency_now} (restored)")
        except PanelError:
            account = panel.create_account(key, balance=balance, currency=currency)
            shown.append(f"{name}: balance {shown_text(account.balance, places)} {account.currency}")
    return shown
