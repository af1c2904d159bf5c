"""The orders tier as a hypothesis RuleBasedStateMachine.

Hypothesis chooses the interleaving (place, invalid add, cancel, refill, poll,
wait, a second key trespassing) and the fields of each request; the plan in
_orders.py chooses which cheap orders exist at all. Every step checks the
invariants; each program ends by following its orders to a final state.

Hypothesis draws only plain numbers (``_strategies.picks``), the same every step
whatever the panel answered: which steps can run and what they act on are read
from the run's state inside the step (``moves``), never as a precondition or a
strategy built from an answer. Replaying the same choices gives the same draws,
so hypothesis never sees a panel's whims as its own inconsistency.

No shrinking here: shrinking replays steps, and steps spend money. The machine
runs only hypothesis's generate phase, never raises into hypothesis (a failure
would be replayed once more for its report), and records each violation with the
request and response that show it and the steps that led there.
"""

from __future__ import annotations

import random
import zlib
from typing import Any, Callable

from hypothesis import HealthCheck, Phase, Verbosity, seed, settings
from hypothesis.errors import Flaky, HypothesisException, InvalidDefinition
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test

from . import _readonly as readonly
from . import _strategies as S
from ._strategies import MOVE, WHICH, Picks
from .context import Context
from ._order_checks import agree
from ._order_steps import (
    cancel,
    ensure_outcome,
    place,
    poll,
    probe,
    refill,
    refill_ineligible,
    trespass,
    wait,
)
from ._orders import OrdersPhase, Tracked
from .rules import Status
from ._unreached import explain_unreached
from .verdicts import Checks

# --- the machine ------------------------------------------------------------------------------


WAITS = (30, 90, 300, 900, 3600, 4 * 3600)  # how far a wait step moves the clock, in seconds


def refillable(phase: OrdersPhase, *, again: bool = False) -> list[Tracked]:
    """The run's completed orders of a refill service with no refill id yet; ``again``: those whose refill was
    already asked and gave none (refused, or an answer without an id) too."""
    return [o for o in phase.orders.values() if o.status is Status.COMPLETED and o.spec.service.refill
            and o.refill_id is None and (again or not o.refill_done)]


def moves(phase: OrdersPhase) -> list[tuple[str, Callable[[Picks], None]]]:
    """Every kind of step that can run now, in a fixed order; ``picks`` chooses one of them, then which order
    it acts on. What can run depends on what the panel answered, so it is read here, in the step, never as a
    rule's precondition or a strategy: hypothesis draws the same plain picks whatever the panel says."""
    cfg, ctx = phase.ctx.config, phase.ctx
    if ctx.stopped:
        return []

    def cancellable(allowed: bool) -> list[Tracked]:
        # A refill-purpose order must complete: only a cancel that should be refused may touch it.
        return [o for o in phase.orders.values() if not o.final and o.spec.service.cancel == allowed
                and not o.cancel_requested and (not allowed or o.item is None or "refill" not in o.item.purposes)]

    def trespassable() -> list[Tracked]:
        fresh = [o for o in phase.orders.values() if (o.id, o.final) not in phase.trespassed and not o.lost]
        running = [o for o in fresh if not o.final]
        return sorted(running or fresh, key=lambda o: o.id)

    to_refill = refillable(phase)
    ineligible = [o for o in phase.orders.values() if (not o.spec.service.refill or not o.final) and not o.lost]
    open_, closed = cancellable(True), cancellable(False)
    placeable = phase.placeable()
    first = phase.probe_candidates()[:3]  # the plan lists the probes that matter most first (a small cap)
    others = trespassable()
    # In this order: the first program, hypothesis's simplest (all picks zero), probes first, most important
    # first, then places; a small --max-spend reaches the probes that matter most.
    out: list[tuple[str, Callable[[Picks], None]]] = []
    if phase.supports("cancel") and open_:
        out.append(("cancel", lambda p: cancel(phase, p.choose(WHICH, open_))))
    if phase.supports("cancel") and closed and not ctx.verdicts.exercised("V2-CAN-03"):
        out.append(("cancel not allowed", lambda p: cancel(phase, p.choose(WHICH, closed))))
    if first:
        out.append(("invalid add", lambda p: probe(phase, p, p.choose(WHICH, first))))
    if placeable:
        out.append(("place", lambda p: place(phase, p, p.choose(WHICH, placeable))))
    if phase.orders:
        out.append(("poll", lambda p: poll(phase, p)))
    if phase.supports("refill") and to_refill:
        out.append(("refill", lambda p: refill(phase, p.choose(WHICH, to_refill))))
    if phase.supports("refill") and ineligible and not ctx.verdicts.exercised("V2-REF-05"):
        out.append(("refill not allowed", lambda p: refill_ineligible(phase, p.choose(WHICH, ineligible))))
    if cfg.second_key and others:
        out.append(("second key", lambda p: trespass(phase, p.choose(WHICH, others))))
    if ctx.clock is not None and phase.orders:
        out.append(("wait", lambda p: wait(phase, p.choose(WHICH, WAITS))))
    return out


def act(phase: OrdersPhase, picks: Picks) -> None:
    """One step: a kind of step that can run now, chosen by ``picks``; none can: nothing sent, and the log says why."""
    can = moves(phase)
    if not can:
        phase.idle_steps += 1
        phase.step("no step can run: " + ("the run has stopped" if phase.ctx.stopped else
                                          "nothing the cap allows to place or probe, no order to follow"))
        return
    phase.steps_run += 1
    picks.choose(MOVE, can)[1](picks)


def machine_for(phase: OrdersPhase) -> type[RuleBasedStateMachine]:
    class OrdersMachine(RuleBasedStateMachine):
        """One rule, no precondition: each step draws the same plain picks (``_strategies.picks``), whatever the
        panel answered, and ``act`` reads what they choose among from the run's state."""

        def __init__(self) -> None:
            super().__init__()
            phase.programs += 1
            phase.step(f"-- program {phase.programs}")

        @rule(picks=S.picks())
        def step(self, picks: Picks) -> None:
            phase.guarded(act, phase, picks)

        def teardown(self) -> None:
            if phase.orders:
                phase.guarded(phase.settle_and_record)

    return OrdersMachine


def run(ctx: Context) -> OrdersPhase:
    """Plan, print the estimate, run the programs, follow every order to its end."""
    phase = OrdersPhase(ctx)
    phase.make_plan()
    for line in phase.estimate():
        ctx.progress.line("  " + line)
    c = Checks()
    snap = phase.snapshot(c)
    phase.absorb(c)
    if snap is None:
        ctx.stop("the balance kept moving while nothing was placed; is the key in use elsewhere?")
        return phase
    snap = phase.quiet_period(c, snap)
    phase.absorb(c)
    phase.opening = snap.balance
    machine = machine_for(phase)

    def factory() -> RuleBasedStateMachine:
        return machine()

    factory = seed(ctx.config.seed ^ zlib.crc32(b"orders"))(factory)
    try:
        # hypothesis documents any callable returning a machine; its annotation says a class
        run_state_machine_as_test(factory, settings=settings(  # type: ignore[arg-type]
            max_examples=ctx.config.programs or (5 if ctx.clock else 2),
            stateful_step_count=ctx.config.steps or (30 if ctx.clock else 15),
            deadline=None,
            database=None,
            phases=(Phase.generate,),  # no shrinking: it would replay paid steps
            suppress_health_check=list(HealthCheck),
            verbosity=Verbosity.quiet,
            report_multiple_bugs=False,
            print_blob=False,
        ))
    except (Flaky, InvalidDefinition, HypothesisException) as exc:
        # The last safety net, unreachable by design: every step draws the same plain picks whatever the panel
        # answered (no precondition, no strategy built from an answer), so hypothesis cannot see two programs
        # differ. Should it ever, the programs are over, never a crash: the sweep and the end checks still run.
        if not ctx.stopped:
            ctx.note(f"the stateful programs ended early ({type(exc).__name__}): hypothesis stopped them; the sweep "
                     "and the end checks still ran")
    if phase.steps_run == 0 and phase.idle_steps and not ctx.stopped:
        ctx.note("the stateful programs had no step to run (nothing the cap allows to place or probe, no order to "
                 "follow)")
    phase.guarded(sweep, phase)
    phase.guarded(finish, phase)
    readonly.note_unsupported(ctx)
    return phase


def sweep(phase: OrdersPhase) -> None:
    """Place what the programs did not reach (plan items, then invalid adds), in order.

    Coverage does not hang on how many steps the programs had. Outside hypothesis: each request's
    fields are chosen by picks from a generator seeded by --seed (the same run, the same requests).
    """
    can_spend = phase.ctx.session.can_spend

    def items_left() -> list[Any]:
        if phase.out_of_money:
            return []
        return [i for i in phase.items if not i.placed and can_spend(i.cost)]

    def probes_left() -> list[Any]:
        return [p for p in phase.probes if not p.done and can_spend(p.cost)]

    if not (phase.placeable() or probes_left()) or phase.ctx.stopped:
        return
    phase.step("-- sweep: what the programs did not reach")
    rng = random.Random(phase.ctx.config.seed ^ zlib.crc32(b"sweep"))
    # the link is busy on that service until its order ends
    _drain(phase, rng, 2 * len(phase.items) + 1, phase.placeable, place, items_left)
    # the service is busy with an order of the run until it ends
    _drain(phase, rng, 2 * len(phase.probes) + 1, phase.probe_candidates, probe, probes_left)


def _drain(phase: OrdersPhase, rng: random.Random, bound: int, ready: Callable[[], list[Any]],
           act: Callable[..., None], left: Callable[[], list[Any]]) -> None:
    """Act on the first of ``ready()`` while there is one; when none is ready but ``left()`` still has some,
    let the run's orders end (what they hold is then free) and look again. At most ``bound`` turns."""
    for _ in range(bound):
        now = ready()
        if now:
            phase.guarded(act, phase, Picks.seeded(rng), now[0])
            continue
        if not left() or phase.ctx.stopped:
            break
        phase.guarded(phase.settle_and_record)
        if not ready():
            break


def finish(phase: OrdersPhase) -> None:
    """After the programs: what the random interleaving missed, then every order to its end."""
    v, cfg = phase.ctx.verdicts, phase.ctx.config
    if phase.supports("refill") and not v.exercised("V2-REF-05"):  # first: it needs an order still open
        candidates = [o for o in phase.orders.values() if not o.final]
        if candidates:
            refill_ineligible(phase, candidates[0])
    if phase.supports("refill") and not v.exercised("V2-REF-01"):
        if not refillable(phase, again=True) and any(o.spec.service.refill and not o.final
                                                     for o in phase.orders.values()):
            phase.settle_and_record()  # the sweep placed it: it completes first
        ready = refillable(phase, again=True)
        if ready:
            refill(phase, ready[0])
    completed = [o for o in phase.orders.values() if o.status is Status.COMPLETED]
    known = [o for o in phase.orders.values() if not o.lost]
    if cfg.second_key and known and not (v.exercised("V2-ISO-01") and (v.exercised("V2-ISO-03") or not completed)):
        trespass(phase, (completed or known)[0])
    if phase.supports("cancel") and not (v.exercised("V2-ORD-07") and (v.exercised("V2-ISO-02") or not cfg.second_key)):
        ensure_outcome(phase, Status.CANCELED)
    for _ in range(3):  # the panel may finish (or cancel) the order before the cancel lands
        if not phase.supports("cancel") or v.exercised("V2-ORD-06") or phase.ctx.stopped:
            break
        ensure_outcome(phase, Status.PARTIAL)
        phase.settle_and_record()
    if not v.exercised("V2-BAT-06") and phase.orders:
        c = Checks()
        snap = phase.snapshot(c)
        if snap is not None and snap.states:
            agree(phase, c, snap, sorted(snap.states)[0])
        phase.absorb(c)
    c = Checks()
    phase.settle_and_record()
    if phase.supports("refill") and not v.exercised("V2-REF-06"):  # the flag alone must refuse it
        flagged = [o for o in phase.orders.values() if o.status is Status.COMPLETED and not o.spec.service.refill]
        if flagged:
            refill_ineligible(phase, flagged[0])
    if phase.supports("cancel") and not v.exercised("V2-CAN-03"):  # the flag alone refuses it, in any state
        unflagged = [o for o in phase.orders.values() if not o.spec.service.cancel and not o.lost]
        if unflagged:
            cancel(phase, unflagged[0])
    if phase.supports("cancel") and not v.exercised("V2-CAN-04"):  # an order that has ended cannot be canceled
        ended = [o for o in phase.orders.values() if o.final and not o.lost and o.spec.service.cancel]
        if ended:
            cancel(phase, sorted(ended, key=lambda o: o.status is not Status.COMPLETED)[0])
    if phase.supports("refill") and not v.exercised("V2-REF-05"):  # a canceled order was never delivered
        unfinished = [o for o in phase.orders.values() if o.status is Status.CANCELED]
        if unfinished:
            refill_ineligible(phase, unfinished[0])
    if cfg.second_key and phase.second_opening is not None:
        if phase.second_spent:
            v.not_exercised("V2-ISO-04", "the panel accepted an order from the second key, so its balance moved")
        else:
            after, ex = phase.read_balance(c, cfg.second_key)
            if after is not None:
                c.require("V2-ISO-04", after == phase.second_opening,
                          f"the second key placed nothing, yet its balance moved from {phase.second_opening} to {after}", ex)
    phase.absorb(c)
    explain_unreached(phase)
