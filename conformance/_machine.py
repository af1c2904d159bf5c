"""The orders tier as a hypothesis RuleBasedStateMachine.

Hypothesis chooses the interleaving (place, invalid add, cancel, refill, poll,
wait, a second key trespassing) and the fields of each request; the plan in
_orders.py chooses which cheap orders exist at all. Every step checks the
invariants; each program ends by following its orders to a final state.

No shrinking here: shrinking replays steps, and steps spend money. The machine
runs only hypothesis's generate phase, never raises into hypothesis (a failure
would be replayed once more for its report), and records each violation with the
request and response that show it and the steps that led there.
"""

from __future__ import annotations

import zlib

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky, InvalidDefinition
from hypothesis.stateful import (
    RuleBasedStateMachine,
    precondition,
    rule,
    run_state_machine_as_test,
)

from . import _readonly as readonly
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


def machine_for(phase: OrdersPhase) -> type[RuleBasedStateMachine]:
    cfg = phase.ctx.config

    def cancellable(allowed: bool) -> list[Tracked]:
        # A refill-purpose order must complete: only a cancel that should be refused may touch it.
        return [o for o in phase.orders.values() if not o.final and o.spec.service.cancel == allowed
                and not o.cancel_requested and (not allowed or o.item is None or "refill" not in o.item.purposes)]

    def trespassable() -> list[Tracked]:
        fresh = [o for o in phase.orders.values() if (o.id, o.final) not in phase.trespassed and not o.lost]
        running = [o for o in fresh if not o.final]
        return sorted(running or fresh, key=lambda o: o.id)

    def refillable() -> list[Tracked]:
        return [o for o in phase.orders.values() if o.status is Status.COMPLETED and o.spec.service.refill
                and o.refill_id is None and not o.refill_done]

    def ineligible() -> list[Tracked]:
        return [o for o in phase.orders.values() if (not o.spec.service.refill or not o.final) and not o.lost]

    class OrdersMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            phase.programs += 1
            phase.step(f"-- program {phase.programs}")

        @precondition(lambda self: bool(phase.placeable()))
        @rule(data=st.data())
        def place(self, data: st.DataObject) -> None:
            phase.guarded(place, phase, data)

        @precondition(lambda self: bool(phase.probe_candidates()))
        @rule(data=st.data())
        def invalid_add(self, data: st.DataObject) -> None:
            # The plan lists the probes that matter most first (a small --max-spend may not reach the rest).
            first = phase.probe_candidates()[:3]
            phase.guarded(probe, phase, data, data.draw(st.sampled_from(first), label="probe"))

        @precondition(lambda self: phase.supports("cancel") and bool(cancellable(True)) and not phase.ctx.stopped)
        @rule(data=st.data())
        def cancel(self, data: st.DataObject) -> None:
            phase.guarded(cancel, phase, data.draw(st.sampled_from(cancellable(True)), label="order"))

        @precondition(lambda self: phase.supports("cancel") and bool(cancellable(False)) and not phase.ctx.stopped
                      and not phase.ctx.verdicts.exercised("V2-CAN-03"))
        @rule(data=st.data())
        def cancel_not_allowed(self, data: st.DataObject) -> None:
            phase.guarded(cancel, phase, data.draw(st.sampled_from(cancellable(False)), label="order"))

        @precondition(lambda self: bool(phase.orders) and not phase.ctx.stopped)
        @rule(data=st.data())
        def poll(self, data: st.DataObject) -> None:
            phase.guarded(poll, phase, data)

        @precondition(lambda self: phase.ctx.clock is not None and bool(phase.orders) and not phase.ctx.stopped)
        @rule(seconds=st.sampled_from([30, 90, 300, 900, 3600, 4 * 3600]))
        def wait(self, seconds: int) -> None:
            phase.guarded(wait, phase, seconds)

        @precondition(lambda self: phase.supports("refill") and bool(refillable()) and not phase.ctx.stopped)
        @rule(data=st.data())
        def refill(self, data: st.DataObject) -> None:
            phase.guarded(refill, phase, data.draw(st.sampled_from(refillable()), label="order"))

        @precondition(lambda self: phase.supports("refill") and bool(ineligible()) and not phase.ctx.stopped
                      and not phase.ctx.verdicts.exercised("V2-REF-05"))
        @rule(data=st.data())
        def refill_not_allowed(self, data: st.DataObject) -> None:
            phase.guarded(refill_ineligible, phase, data.draw(st.sampled_from(ineligible()), label="order"))

        @precondition(lambda self: bool(cfg.second_key) and bool(trespassable()) and not phase.ctx.stopped)
        @rule(data=st.data())
        def second_key(self, data: st.DataObject) -> None:
            phase.guarded(trespass, phase, data.draw(st.sampled_from(trespassable()), label="order"))

        def teardown(self) -> None:
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
    except InvalidDefinition:
        # No step could run at all (nothing affordable to place or probe, no order to follow): nothing to program.
        note = "the stateful programs had no step to run (nothing the cap allows to place or probe, no order to follow)"
        ctx.notes.append(note)
        ctx.progress.line(f"  {note}")
    except Flaky as exc:
        # What the panel answered (a stop, an add it would not take, an order that never moved) changed which
        # steps could run between programs, and hypothesis saw it: the programs are over, never a crash.
        # The sweep and the end checks below still run.
        if not ctx.stopped:
            note = (f"the stateful programs ended early ({type(exc).__name__}): what the panel answered changed "
                    "which steps could run; the sweep and the end checks still ran")
            ctx.notes.append(note)
            ctx.progress.line(f"  {note}")
    phase.guarded(sweep, phase)
    phase.guarded(finish, phase)
    readonly.note_unsupported(ctx)
    return phase


def sweep(phase: OrdersPhase) -> None:
    """Place what the programs did not reach (plan items, then invalid adds), in order.

    Coverage does not hang on how many steps the programs had; hypothesis still draws
    each request's fields (one example, generate phase only: nothing is replayed).
    """
    def body(data: st.DataObject) -> None:
        for _ in range(2 * len(phase.items) + 1):
            ready = phase.placeable()
            if ready:
                phase.guarded(place, phase, data, ready[0])
                continue
            waiting = [i for i in phase.items if not i.placed and phase.ctx.session.can_spend(i.cost)]
            if not waiting or phase.out_of_money or phase.ctx.stopped:
                break
            phase.guarded(phase.settle_and_record)  # the link is busy on that service until its order ends
            if not phase.placeable():
                break
        for _ in range(2 * len(phase.probes) + 1):
            probes = phase.probe_candidates()
            if probes:
                phase.guarded(probe, phase, data, probes[0])
                continue
            left = [p for p in phase.probes if not p.done and phase.ctx.session.can_spend(p.cost)]
            if not left or phase.ctx.stopped:
                break
            phase.guarded(phase.settle_and_record)  # the service is busy with an order of the run until it ends
            if not phase.probe_candidates():
                break

    pending = [p for p in phase.probes if not p.done and phase.ctx.session.can_spend(p.cost)]
    if not (phase.placeable() or pending) or phase.ctx.stopped:
        return
    phase.step("-- sweep: what the programs did not reach")
    test = settings(max_examples=1, deadline=None, database=None, phases=(Phase.generate,),
                    suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet)(given(st.data())(body))
    seed(phase.ctx.config.seed ^ zlib.crc32(b"sweep"))(test)()


def finish(phase: OrdersPhase) -> None:
    """After the programs: what the random interleaving missed, then every order to its end."""
    v, cfg = phase.ctx.verdicts, phase.ctx.config
    completed = [o for o in phase.orders.values() if o.status is Status.COMPLETED]
    if phase.supports("refill") and not v.exercised("V2-REF-01"):
        candidates = [o for o in completed if o.spec.service.refill and o.refill_id is None]
        if candidates:
            refill(phase, candidates[0])
    if phase.supports("refill") and not v.exercised("V2-REF-05"):
        candidates = [o for o in phase.orders.values() if not o.final]
        if candidates:
            refill_ineligible(phase, candidates[0])
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
