"""Accounts: key ids that never show the key, a signed ledger, refunds due in time order."""

from __future__ import annotations

import random
import re
from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from mockpanel._domain.accounts import Account, LedgerEntry, key_id, redact
from mockpanel._domain.draws import Draws


@given(st.text(min_size=1, max_size=200))
def test_key_id_and_redact_never_contain_the_key(key: str) -> None:
    kid, shown = key_id(key), redact(key)
    assert re.fullmatch(r"[0-9a-f]{16}", kid)
    assert re.fullmatch(r"key#[0-9a-f]{8}", shown)
    if len(key) >= 8:  # a short key could appear in a hex digest by chance
        assert key not in kid and key not in shown


def test_key_id_is_stable_and_tells_keys_apart() -> None:
    assert key_id("secret-key") == key_id("secret-key")
    assert redact("secret-key") == "key#" + key_id("secret-key")[:8]
    ids = {key_id(f"key-{i}") for i in range(1000)}
    assert len(ids) == 1000


def test_key_id_takes_lone_surrogates() -> None:
    assert re.fullmatch(r"[0-9a-f]{16}", key_id("\ud800abc"))


@pytest.mark.parametrize(
    "kind, signed", [("deposit", "5"), ("refund", "5"), ("withdrawal", "-5"), ("charge", "-5")]
)
def test_ledger_entries_are_signed_by_kind(kind: str, signed: str) -> None:
    assert LedgerEntry(0.0, kind, Decimal("5")).signed == Decimal(signed)


def account(key: str = "the-secret-key", seed: int = 0) -> Account:
    return Account(key=key, currency="USD", seed=seed, created=0.0)


def test_credit_moves_the_balance_by_the_signed_amount() -> None:
    acc = account()
    acc.credit(LedgerEntry(1.0, "deposit", Decimal("10")))
    acc.credit(LedgerEntry(2.0, "withdrawal", Decimal("2.5")))
    acc.credit(LedgerEntry(3.0, "refund", Decimal("0.0270000"), order=10001))
    assert acc.balance == Decimal("7.5270000")
    assert acc.balance == sum(e.signed for e in acc.entries)
    assert acc.deposits == Decimal("10")


def test_the_account_shows_its_key_id_not_its_key() -> None:
    acc = account()
    assert acc.id == key_id("the-secret-key")
    assert "the-secret-key" not in repr(acc)


def test_refunds_come_due_in_time_order() -> None:
    acc = account()
    for done_at, order in [(50.0, 3), (10.0, 1), (30.0, 2), (90.0, 4)]:
        acc.schedule_refund(done_at, order, 0)
    assert acc.pop_due(5.0) == []
    assert [o for _, o, _ in acc.pop_due(50.0)] == [1, 2, 3]
    assert [o for _, o, _ in acc.pop_due(1000.0)] == [4]
    assert acc.pop_due(10**9) == []


def test_randomness_is_seeded_by_panel_seed_and_key() -> None:
    def draws(key: str, seed: int) -> list[float]:
        rng = account(key, seed).rng
        return [rng.random() for _ in range(5)]

    assert draws("a", 1) == draws("a", 1)
    # The values random.Random gives for the seed "<panel seed>:<key id>", as they always were: a
    # state file replays to the same plans.
    reference = random.Random(f"1:{key_id('a')}")
    assert draws("a", 1) == [reference.random() for _ in range(5)]
    assert draws("a", 1) != draws("b", 1)
    assert draws("a", 1) != draws("a", 2)
    assert isinstance(account().rng, Draws)
