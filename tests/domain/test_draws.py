"""An account's draws: random.Random's values and state, and a change's draws taken back exactly."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from mockpanel._catalogs import load_catalog
from mockpanel._panel.panel import Panel
from mockpanel._domain.accounts import Account, key_id
from mockpanel._domain.clock import VirtualClock
from mockpanel._domain.draws import Draws
from mockpanel._domain.plans import LifecycleSettings, draw_plan
from mockpanel._domain.undo import Undo, save_account

SEED = "7:0123456789abcdef"


def values(source: Draws | random.Random, n: int) -> list[float]:
    return [source.uniform(1.0, 3.0) if i % 2 else source.random() for i in range(n)]


def test_the_values_and_the_state_are_random_randoms() -> None:
    draws, reference = Draws(SEED), random.Random(SEED)
    assert values(draws, 11) == values(reference, 11)
    assert draws.getstate() == reference.getstate()


def test_a_rewind_puts_the_stream_back_at_its_mark() -> None:
    draws, reference = Draws(SEED), random.Random(SEED)
    values(draws, 5)  # a change kept
    values(reference, 5)
    mark = draws.mark()
    values(draws, 7)
    draws.rewind(mark)
    draws.end()
    assert draws.getstate() == reference.getstate()
    assert values(draws, 9) == values(reference, 9)


def test_marks_keep_the_one_behind_up_with_the_stream() -> None:
    # Many changes kept, then one taken back: it goes back to its own mark, not to an older one.
    draws, reference = Draws(SEED), random.Random(SEED)
    for n in (3, 0, 5, 1, 8000):  # 8000: past one getrandbits chunk
        draws.mark()
        values(draws, n)
        values(reference, n)
        draws.end()
    mark = draws.mark()
    values(draws, 4)
    draws.rewind(mark)
    draws.end()
    assert draws.getstate() == reference.getstate()


def test_a_nested_change_does_not_move_the_outer_ones_mark() -> None:
    draws, reference = Draws(SEED), random.Random(SEED)
    values(draws, 2)
    values(reference, 2)
    outer = draws.mark()
    values(draws, 3)
    inner = draws.mark()  # a change inside a change (a hook placing another order): the outer may still fail
    values(draws, 4)
    draws.end()  # the inner one was kept
    draws.rewind(outer)
    draws.end()
    assert inner == outer + 3
    assert draws.getstate() == reference.getstate()


def test_setstate_continues_from_a_saved_state_and_rewinds_from_there() -> None:
    reference = random.Random("another")
    values(reference, 6)
    draws = Draws(SEED)
    values(draws, 3)
    draws.setstate(reference.getstate())
    mark = draws.mark()
    values(draws, 2)
    draws.rewind(mark)
    draws.end()
    assert values(draws, 5) == values(reference, 5)


def test_a_rewind_before_what_can_be_taken_back_is_refused() -> None:
    draws = Draws(SEED)
    values(draws, 3)
    draws.mark()
    draws.end()
    with pytest.raises(RuntimeError, match="rewind only to a mark of a change still open"):
        draws.rewind(1)


def test_a_failed_change_takes_its_draws_back_and_a_kept_one_keeps_them() -> None:
    account = Account(key="draws-key", currency="USD", seed=7, created=0.0)
    reference = random.Random(f"7:{key_id('draws-key')}")  # an account's seed, as it always was
    with Undo() as undo:  # kept
        save_account(undo, account)
        values(account.rng, 4)
        values(reference, 4)
    with pytest.raises(RuntimeError, match="a step failed"), Undo() as undo:  # taken back
        save_account(undo, account)
        values(account.rng, 5)
        raise RuntimeError("a step failed")
    assert account.rng.getstate() == reference.getstate()
    assert values(account.rng, 3) == values(reference, 3)


def test_a_seed_gives_the_same_plans_whether_or_not_a_failed_add_came_between() -> None:
    def panel() -> Panel:
        made = Panel(catalog=load_catalog(), clock=VirtualClock(speed=0, start=1_700_000_000), seed=5)
        made.create_account("k", balance="100")
        return made

    def failing_hook(service: Any, request: Any, plan: Any) -> Any:
        raise RuntimeError("the hook failed after the plan was drawn")

    plain, failed = panel(), panel()
    failed.plan_hooks.append(failing_hook)
    with pytest.raises(RuntimeError, match="after the plan was drawn"):
        failed.add("k", "1", {"link": "https://x.test/failed", "quantity": "100"})
    failed.plan_hooks.remove(failing_hook)

    def plans(made: Panel) -> list[tuple[Any, ...]]:
        ids = [made.add("k", "1", {"link": f"https://x.test/{i}", "quantity": "100"}) for i in range(4)]
        return [(o.start_count, o.start_at, o.per_second, o.outcome, o.delivered_to)
                for o in map(made.find_order, ids)]

    assert plans(failed) == plans(plain)


def test_a_plan_drawn_from_the_draws_is_the_plan_random_random_gives() -> None:
    # draw_plan takes an account's four values in one call (Draws.four): the plans, and the state
    # after them, must be those of random.Random's own draws, and the first value is used as
    # uniform(log(lo + 1), log(hi + 1)) uses it, as plans always were.
    settings = LifecycleSettings(completed_weight=0.4, partial_weight=0.4, canceled_weight=0.2)  # every branch
    draws, plain = Draws(SEED), random.Random(SEED)
    for quantity in [0, 1, 2, 50, 1000, 10**6] * 50:
        assert draw_plan(draws, settings, quantity) == draw_plan(plain, settings, quantity)
    assert draws.getstate() == plain.getstate()
    lo, hi = settings.start_count
    first = int(math.exp(random.Random(SEED).uniform(math.log(lo + 1), math.log(hi + 1)))) - 1
    assert draw_plan(Draws(SEED), settings, 50).start_count == first


@pytest.mark.parametrize("before", [0, 5, 1023, 1024, 1030, 5000])
def test_a_rewind_replays_from_the_generator_behind_however_far_it_lags(before: int) -> None:
    """The generator behind catches up only every so many values (not at each mark): a rewind
    replays the lag, and lands where the change began, whatever the lag was."""
    draws, reference = Draws(SEED), random.Random(SEED)
    for _ in range(3):  # kept changes, the lag growing between them
        draws.mark()
        values(draws, before)
        draws.end()
        values(reference, before)
    mark = draws.mark()
    values(draws, 7)
    draws.rewind(mark)
    draws.end()
    assert values(draws, 4) == values(reference, 4)
