"""The orders tier as a hypothesis RuleBasedStateMachine.

Hypothesis chooses the interleaving (place, invalid add, cancel, refill, poll,
wait, a second key trespassing) and the fields of each request; the plan in
orders.py chooses which cheap orders exist at all. Every step checks the
invariants; each program ends by following its orders to a final state.

No shrinking here: shrinking replays steps, and steps spend money. The machine
runs only hypothesis's generate phase, never raises into hypothesis (a failure
would be replayed once more for its report), and records each violation with the
request and response that show it and the steps that led there.
"""

from __future__ import annotations

import zlib
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule, run_state_machine_as_test

from . import readonly
from . import strategies as S
from .context import Context
from .expect import json_kind, kind_name, short
from .orders import OrdersPhase, PlanItem, Probe, Snapshot, Tracked, _item_rids, type_rid
from .rules import Status
from .session import NOT_JSON
from .verdicts import Checks

# --- helpers ----------------------------------------------------------------------------------


def _total(phase: OrdersPhase, snap: Snapshot | None) -> Decimal | None:
    if snap is None:
        return None
    total = snap.balance
    for oid, order in phase.orders.items():
        info = snap.states.get(oid) or order.last
        if info is None or info.charge is None:
            return None
        total += info.charge
    return total


def _track(phase: OrdersPhase, c: Checks, spec: S.OrderSpec, item: Any, ex: Any, data: dict[str, Any]) -> str | None:
    d = phase.ctx.dialect
    value = data["order"]
    c.require("V2-ADD-01", phase.ctx.expect.id_kind_ok(value, d.add_order_kind),
              f"the order id {short(value)} is {json_kind(value)}; the dialect wants {kind_name(d.add_order_kind)}", ex)
    phase.ctx.expect.envelope(c, "V2-ADD-01", data, ex, "add")
    if isinstance(value, (dict, list)) or value is None:
        return None
    oid = str(value)
    if not c.require("V2-ADD-08", oid not in phase.orders,
                     f"add answered order id {oid}, which an earlier add answered too", ex):
        return None
    price = None if spec.type == "Subscriptions" else S.price(spec.service, spec.units, spec.flat)
    phase.orders[oid] = Tracked(oid, spec, price, item)
    return oid


def _refused_valid(phase: OrdersPhase, c: Checks, item: Any, spec: S.OrderSpec, ex: Any, message: str, rid: str) -> None:
    e = phase.ctx.expect
    if e.matches("not_enough_funds", message, None):
        phase.out_of_money = True
        for r in _item_rids(item):
            phase.ctx.verdicts.not_exercised(r, f"the balance ran out ({message!r})")
        phase.step(f"refused for lack of funds: {message!r}; no more orders")
    elif e.matches("active_order_with_link", message, None):
        item.placed = False  # the same link is busy on this service: try again later
        phase.step(f"refused, link busy: {message!r}; will retry")
    elif any(e.matches(code, message, {"field": "link"}) for code in ("missing_field", "invalid_field")):
        phase.ctx.verdicts.not_exercised(rid, f"the panel refused --link for this service: {message!r}")
    else:
        c.fail(rid, f"a valid {spec.type} order was refused: {message!r}", ex)


# --- the rules' bodies --------------------------------------------------------------------------


def place(phase: OrdersPhase, data: st.DataObject, item: PlanItem | None = None) -> None:
    item = item or data.draw(st.sampled_from(phase.placeable()), label="plan item")
    spec = data.draw(S.order_fields(item.service, phase.link, phase.ctx.dialect, dripfeed=item.dripfeed), label="fields")
    cost = S.price(spec.service, spec.units, spec.flat)
    if not phase.ctx.session.can_spend(cost):
        item.placed = True
        for r in _item_rids(item):
            phase.ctx.verdicts.not_exercised(r, f"its cheapest order ({cost}) does not fit in what --max-spend leaves")
        return
    c = Checks()
    pre = phase.snapshot(c)
    before = _total(phase, pre)  # now: the new order is not tracked yet
    ex = phase.send(spec.params, cost=cost)
    item.placed = True
    rid = type_rid(spec.type, spec.dripfeed)
    data_ = phase.ctx.expect.response(c, ex)
    oid = None
    refusal = phase.ctx.expect.error_message(data_)
    if refusal is not None:
        _refused_valid(phase, c, item, spec, ex, str(refusal[0]), rid)
    elif isinstance(data_, dict) and "order" in data_:
        oid = _track(phase, c, spec, item, ex, data_)
        c.ok(rid)
    elif data_ is not NOT_JSON:
        c.fail("V2-ADD-01", f"add answered {short(data_)}, not {{\"order\": id}}", ex)
    phase.step(f"place {item.label}: {ex.response_line(120)}")
    post = phase.snapshot(c)
    after = _total(phase, post)
    visible = cost > phase.balance_unit * (len(phase.orders) + 2)  # else lost in the balance's rounding
    if not visible:
        phase.ctx.verdicts.not_exercised("V2-ORD-01", f"the orders were too cheap to see on a balance shown "
                                         f"to {phase.balance_unit} (it would need orders above "
                                         f"{phase.balance_unit * (len(phase.orders) + 2)})")
    if oid is not None and visible and before is not None and after is not None and post is not None:
        c.require("V2-ORD-01", phase.close(before, after, len(phase.orders) + 2, balance=True),
                  f"balance + charges was {before} before order {oid} and {after} after it: the balance did "
                  f"not drop by the order's charge", ex, *post.exchanges)
    phase.money_rule(c, post)
    phase.absorb(c)


def probe(phase: OrdersPhase, data: st.DataObject, p: Probe | None = None) -> None:
    p = p or data.draw(st.sampled_from(phase.probe_candidates()), label="probe")
    e, d, cfg = phase.ctx.expect, phase.ctx.dialect, phase.ctx.config
    s = p.service
    assert s is not None
    base = data.draw(S.order_fields(s, phase.link, d), label="fields")
    key = cfg.key
    codes: tuple[str, ...] = ()
    wording: str | None = None
    values: dict[str, Any] | None = None
    if p.kind == "below_min":
        spec, rid = S.with_units(base, (s.min or 1) - 1, "below min"), "V2-ADD-02"
        codes, wording, values = ("quantity_below_min",), "V2-ERR-05", {"min": s.min}
    elif p.kind == "above_max":
        spec, rid = S.with_units(base, (s.max or 0) + 1, "above max"), "V2-ADD-03"
        codes, wording, values = ("quantity_above_max",), "V2-ERR-05", {"max": s.max}
    elif p.kind == "malformed":
        bad = p.value or S.MALFORMED_QUANTITIES[0]
        spec, rid = S.OrderSpec(s, {**base.params, "quantity": bad}, base.units, base.quantity, base.flat), "V2-ADD-07"
    elif p.kind == "unknown_service":
        listed = {x.id for x in phase.ctx.target.services}
        sid = data.draw(st.integers(10**9, 10**9 + 10**6).map(str).filter(lambda v: v not in listed), label="service")
        spec, rid = S.OrderSpec(s, {**base.params, "service": sid}, base.units, base.quantity, base.flat), "V2-ADD-04"
        codes, wording = ("incorrect_service_id", "service_disabled"), "V2-ERR-07"
    elif p.kind == "wrong_key":
        key = data.draw(st.text(alphabet="0123456789abcdef", min_size=32, max_size=32)
                        .filter(lambda k: k not in (cfg.key, cfg.second_key)), label="key")
        spec, rid = base, "V2-ADD-05"
        codes, wording = ("invalid_key",), "V2-ERR-03"
    elif p.kind == "no_funds":
        key = cfg.second_key or ""
        spec, rid = base, "V2-ADD-06"
        codes, wording = ("not_enough_funds",), "V2-ERR-06"
    else:  # missing: one required field left out
        spec = data.draw(st.sampled_from(S.without_field(base, d)), label="without")
        rid = type_rid(s.type or "Default")
    c = Checks()
    pre = phase.snapshot(c)
    before = _total(phase, pre)
    second_before = phase.read_balance(c, cfg.second_key)[0] if p.kind == "no_funds" else None
    ex = phase.send(spec.params, key=key, cost=p.cost)
    p.done = True
    what = f"an error for an add {p.label}" + (f" without {spec.missing!r}" if spec.missing else "")
    e.error(c, ex, rid, codes=codes, wording_rid=wording, values=values, what=what)
    if isinstance(ex.data, dict) and "order" in ex.data:
        if key == cfg.key:
            _track(phase, c, spec, None, ex, ex.data)
        else:
            phase.second_spent = True
    phase.step(f"invalid add ({p.label}{', without ' + spec.missing if spec.missing else ''}): {ex.response_line(120)}")
    post = phase.snapshot(c)
    after = _total(phase, post)
    if before is not None and after is not None and post is not None:
        c.require(rid, phase.close(before, after, len(phase.orders) + 2, balance=True),
                  f"balance + charges was {before} before the refused add ({p.label}) and {after} after it", ex,
                  *post.exchanges)
    if second_before is not None:
        after = phase.read_balance(c, cfg.second_key)
        if after[0] is not None:
            c.require(rid, after[0] == second_before,
                      f"the refused order moved the second key's balance from {second_before} to {after[0]}", after[1])
    phase.absorb(c)


def cancel(phase: OrdersPhase, order: Tracked, allowed: bool) -> None:
    """cancel orders=<ours>,<unknown>; ``allowed``: the service's cancel flag."""
    e = phase.ctx.expect
    c = Checks()
    ex = phase.send({"action": "cancel", "orders": f"{order.id},{phase.unknown_id}"})
    phase.step(f"cancel {order.label()} ({order.status.value if order.status else '?'}): {ex.response_line(120)}")
    if e.unsupported(c, ex):
        phase.absorb(c)
        return
    data = e.response(c, ex)
    if data is not NOT_JSON and c.require(
        "V2-CAN-01", isinstance(data, list) and all(isinstance(i, dict) and {"order", "cancel"} <= set(i) for i in data),
        f"expected a list of {{\"order\", \"cancel\"}} items, got {short(data)}", ex,
    ):
        items = {str(i["order"]): i for i in data}
        c.require("V2-CAN-01", set(items) == {order.id, phase.unknown_id},
                  f"expected one item for each of {order.id} and {phase.unknown_id}, got {sorted(items)}", ex)
        for i in data:
            c.require("V2-CAN-01", e.id_kind_ok(i["order"], "int"), f"item order {short(i['order'])} is not an integer", ex)
        mine = items.get(order.id)
        if mine is not None:
            accepted = mine["cancel"] == 1
            if not accepted:
                c.require("V2-CAN-01", e.item_error(mine["cancel"]) is not None,
                          f"cancel of order {order.id} answered {short(mine['cancel'])}: neither 1 nor {e.item_error_form()}", ex)
            if not allowed:
                c.require("V2-CAN-03", not accepted,
                          f"order {order.id} of a service whose cancel flag is false was canceled", ex)
            order.cancel_requested = order.cancel_requested or accepted
        other = items.get(phase.unknown_id)
        if other is not None:
            message = e.item_error(other["cancel"])
            if c.require("V2-CAN-01", message is not None,
                         f"unknown order {phase.unknown_id} should carry {e.item_error_form()}, got {short(other['cancel'])}", ex):
                c.require("V2-ERR-01", e.matches("incorrect_order_id", message, None),
                          f"expected the words {e.wording('incorrect_order_id')!r}, got {message!r}", ex)
    phase.money_rule(c, phase.snapshot(c))
    phase.absorb(c)


def poll(phase: OrdersPhase, data: st.DataObject) -> None:
    c = Checks()
    snap = phase.snapshot(c)
    phase.money_rule(c, snap)
    if snap is not None and snap.states:
        agree(phase, c, snap, data.draw(st.sampled_from(sorted(snap.states)), label="order"))
    phase.absorb(c)


def wait(phase: OrdersPhase, seconds: int) -> None:
    assert phase.ctx.clock is not None
    phase.ctx.clock(seconds)
    phase.step(f"advance the clock {seconds} s")
    c = Checks()
    phase.money_rule(c, phase.snapshot(c))
    phase.absorb(c)


def refill(phase: OrdersPhase, order: Tracked) -> None:
    e, d = phase.ctx.expect, phase.ctx.dialect
    c = Checks()
    ex = phase.send({"action": "refill", "order": order.id})
    phase.step(f"refill {order.label()}: {ex.response_line(120)}")
    order.refill_done = True  # until a refill id is known
    if e.unsupported(c, ex):
        phase.absorb(c)
        return
    data = e.response(c, ex)
    refusal = e.error_message(data)
    if isinstance(data, dict) and "refill" in data and refusal is None:
        e.envelope(c, "V2-REF-01", data, ex, "refill")
        value = data["refill"]
        if c.require("V2-REF-01", e.id_kind_ok(value, d.refill_single),
                     f"the refill id {short(value)} is {json_kind(value)}; the dialect wants {kind_name(d.refill_single)}", ex):
            order.refill_id, order.refill_done = str(value), False
            status_ex = phase.send({"action": "refill_status", "refill": order.refill_id})
            phase.refill_word(c, order, status_ex)
    elif refusal is not None:
        phase.ctx.verdicts.not_exercised("V2-REF-01", f"the panel refused a refill of a completed order: {refusal[0]!r}")
        phase.ctx.verdicts.not_exercised("V2-REF-02", "no refill was accepted")
    elif data is not NOT_JSON:
        c.fail("V2-REF-01", f"refill answered {short(data)}, not {{\"refill\": id}}", ex)
    refill_batch(phase, c, order)
    phase.absorb(c)


def refill_batch(phase: OrdersPhase, c: Checks, order: Tracked) -> None:
    e, d = phase.ctx.expect, phase.ctx.dialect
    ex = phase.send({"action": "refill", "orders": f"{order.id},{phase.unknown_id}"})
    if e.unsupported(c, ex):
        return
    data = e.response(c, ex)
    if data is NOT_JSON:
        return
    if not c.require("V2-REF-03", isinstance(data, list) and all(isinstance(i, dict) and {"order", "refill"} <= set(i) for i in data),
                     f"expected a list of {{\"order\", \"refill\"}} items, got {short(data)}", ex):
        return
    items = {str(i["order"]): i for i in data}
    c.require("V2-REF-03", set(items) == {order.id, phase.unknown_id},
              f"expected one item for each of {order.id} and {phase.unknown_id}, got {sorted(items)}", ex)
    for i in data:
        c.require("V2-REF-03", e.id_kind_ok(i["order"], d.refill_batch_order),
                  f"item order {short(i['order'])}: the dialect wants {kind_name(d.refill_batch_order)}", ex)
        value = i["refill"]
        if e.item_error(value) is None:
            c.require("V2-REF-03", e.id_kind_ok(value, d.refill_batch_refill),
                      f"item refill {short(value)}: the dialect wants {kind_name(d.refill_batch_refill)} or "
                      f"{e.item_error_form()}", ex)
    other = items.get(phase.unknown_id)
    if other is not None:
        message = e.item_error(other["refill"])
        if c.require("V2-REF-03", message is not None,
                     f"unknown order {phase.unknown_id} should carry {e.item_error_form()}, got {short(other['refill'])}", ex):
            c.require("V2-ERR-01", e.matches("incorrect_order_id", message, None),
                      f"expected the words {e.wording('incorrect_order_id')!r}, got {message!r}", ex)


def refill_ineligible(phase: OrdersPhase, order: Tracked) -> None:
    c = Checks()
    ex = phase.send({"action": "refill", "order": order.id})
    flag_off = order.status is Status.COMPLETED and not order.spec.service.refill
    why = 'of a service listed "refill": false' if flag_off else "not completed"
    phase.step(f"refill {order.label()} ({why}): {ex.response_line(120)}")
    if not phase.ctx.expect.unsupported(c, ex):
        phase.ctx.expect.error(c, ex, "V2-REF-06" if flag_off else "V2-REF-05",
                               what=f"an error for a refill of an order {why}")
    phase.absorb(c)


def trespass(phase: OrdersPhase, order: Tracked) -> None:
    """The second key reads, cancels and refills the first key's order."""
    e, d, key2 = phase.ctx.expect, phase.ctx.dialect, phase.ctx.config.second_key
    assert key2
    c = Checks()
    ex = phase.send({"action": "status", "order": order.id}, key=key2)
    e.error(c, ex, "V2-ISO-01", codes=("incorrect_order_id",), wording_rid="V2-ERR-01",
            what=f"an error: {order.label()} belongs to the first key")
    ex = phase.send({"action": "status", "orders": order.id}, key=key2)
    data = e.response(c, ex)
    if isinstance(data, dict) and order.id in data:
        item = data[order.id]  # an error in any form (nested, or a plain string) is no leak; a status is
        leaked = isinstance(item, dict) and not e.is_error(item) and any(k in item for k in d.status_fields)
        c.require("V2-ISO-01", not leaked,
                  f"the second key's multi-status shows the first key's {order.label()}: {short(item)}", ex)
    phase.step(f"second key reads {order.label()}")
    if phase.supports("cancel") and not order.final:
        ex = phase.send({"action": "cancel", "orders": order.id}, key=key2)
        if not e.unsupported(c, ex):
            data = e.response(c, ex)
            accepted = isinstance(data, list) and any(isinstance(i, dict) and i.get("cancel") == 1 for i in data)
            c.require("V2-ISO-02", not accepted and not (isinstance(data, dict) and not e.is_error(data)),
                      f"the second key's cancel of the first key's {order.label()} answered {short(data)}", ex)
        phase.step(f"second key cancels {order.label()}: {ex.response_line(100)}")
    if phase.supports("refill") and order.status is Status.COMPLETED:
        ex = phase.send({"action": "refill", "order": order.id}, key=key2)
        if not e.unsupported(c, ex):
            e.error(c, ex, "V2-ISO-03", what=f"an error: {order.label()} belongs to the first key")
        phase.step(f"second key refills {order.label()}: {ex.response_line(100)}")
    phase.trespassed.add((order.id, order.final))
    phase.absorb(c)


def agree(phase: OrdersPhase, c: Checks, snap: Snapshot, oid: str) -> None:
    """BAT-06: the single status of an order agrees with the multi-status just read."""
    ex = phase.send({"action": "status", "order": oid})
    single = phase.ctx.expect.single_status(c, ex)
    batch = snap.states[oid]
    if single is None:
        return
    agrees = single.same_as(batch) or (
        single.status is not None and batch.status is not None and (
            single.status.rank > batch.status.rank
            or (single.word == batch.word and not batch.status.final and single.charge == batch.charge
                and (single.remains or 0) <= (batch.remains or 0))))
    batch_ex = next((e for e in snap.exchanges if e.action == "status"), ex)
    if c.require("V2-BAT-06", agrees,
                 f"order {oid}: multi-status said {batch.word}, remains {batch.remains}, charge {batch.charge}, "
                 f"start_count {batch.start_count}; single status says {single.word}, remains {single.remains}, "
                 f"charge {single.charge}, start_count {single.start_count}", batch_ex, ex):
        phase.observe(c, phase.orders[oid], single, ex)


def ensure_outcome(phase: OrdersPhase, target: Status) -> None:
    """Place one cheap cancellable order and cancel it while Pending (-> Canceled) or
    once delivery started (-> Partial); the second key tries to cancel it first."""
    services = sorted((s for s in phase.priceable() if s.cancel and s.type == "Default"),
                      key=lambda s: (phase.cost_of(s), s.id))
    busy = {o.spec.service.id for o in phase.orders.values() if not o.final}
    services = [s for s in services if s.id not in busy and phase.ctx.session.can_spend(phase.cost_of(s))]
    if not services:
        return
    service = services[0]
    units = service.min or 1
    if target is Status.PARTIAL:  # long enough a delivery to catch it half way
        units = min(service.max or units, max(units * 3, 2))
    spec = S.OrderSpec(service, {"action": "add", "service": service.id, "link": phase.link, "quantity": str(units)},
                       units, units, False)
    item = PlanItem(service, {"cancel"}, cost=S.price(service, units, False))
    phase.items.append(item)
    c = Checks()
    ex = phase.send(spec.params, cost=item.cost)
    item.placed = True
    data = phase.ctx.expect.response(c, ex)
    phase.step(f"place an order to cancel ({target.value}): {ex.response_line(100)}")
    if not (isinstance(data, dict) and "order" in data):
        phase.absorb(c)
        return
    oid = _track(phase, c, spec, item, ex, data)
    phase.absorb(c)
    if oid is None:
        return
    order = phase.orders[oid]
    c = Checks()
    phase.snapshot(c)
    if target is Status.PARTIAL:  # wait until some is delivered, then cancel
        for _ in range(60):
            if order.final or (order.status is Status.IN_PROGRESS and (order.last.remains or units) < units):
                break
            if phase.ctx.clock is not None:
                phase.ctx.clock(10.0)
            elif phase.time_left() > phase.ctx.config.poll_interval:
                phase.ctx.pause(phase.ctx.config.poll_interval, lambda: f"order {order.id} to start delivering, "
                                f"{max(0.0, phase.time_left()):.0f} s left of --time-budget")
            else:
                break
            phase.snapshot(c)
    phase.absorb(c)
    if phase.ctx.config.second_key and not order.final:
        trespass(phase, order)
    if not order.final:
        cancel(phase, order, True)


# --- the machine ------------------------------------------------------------------------------


def machine_for(phase: OrdersPhase) -> type[RuleBasedStateMachine]:
    d, cfg = phase.ctx.dialect, phase.ctx.config

    def cancellable(allowed: bool) -> list[Tracked]:
        # A refill-purpose order must complete: only a cancel that should be refused may touch it.
        return [o for o in phase.orders.values() if not o.final and o.spec.service.cancel == allowed
                and not o.cancel_requested and (not allowed or o.item is None or "refill" not in o.item.purposes)]

    def trespassable() -> list[Tracked]:
        fresh = [o for o in phase.orders.values() if (o.id, o.final) not in phase.trespassed]
        running = [o for o in fresh if not o.final]
        return sorted(running or fresh, key=lambda o: o.id)

    def refillable() -> list[Tracked]:
        return [o for o in phase.orders.values() if o.status is Status.COMPLETED and o.spec.service.refill
                and o.refill_id is None and not o.refill_done]

    def ineligible() -> list[Tracked]:
        return [o for o in phase.orders.values() if not o.spec.service.refill or not o.final]

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
            phase.guarded(probe, phase, data)

        @precondition(lambda self: phase.supports("cancel") and bool(cancellable(True)) and not phase.ctx.stopped)
        @rule(data=st.data())
        def cancel(self, data: st.DataObject) -> None:
            phase.guarded(cancel, phase, data.draw(st.sampled_from(cancellable(True)), label="order"), True)

        @precondition(lambda self: phase.supports("cancel") and bool(cancellable(False)) and not phase.ctx.stopped
                      and not phase.ctx.verdicts.exercised("V2-CAN-03"))
        @rule(data=st.data())
        def cancel_not_allowed(self, data: st.DataObject) -> None:
            phase.guarded(cancel, phase, data.draw(st.sampled_from(cancellable(False)), label="order"), False)

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
    phase.opening = snap.balance
    machine = machine_for(phase)

    def factory() -> RuleBasedStateMachine:
        return machine()

    factory = seed(ctx.config.seed ^ zlib.crc32(b"orders"))(factory)
    try:
        run_state_machine_as_test(factory, settings=settings(
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
    except Flaky:  # a stop (budget, overcharge) changed what the rules may do: the programs are over anyway
        if not ctx.stopped:
            raise
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
        for _ in range(len(phase.probes) + 1):
            ready = phase.probe_candidates()
            if not ready:
                break
            phase.guarded(probe, phase, data, ready[0])

    if not (phase.placeable() or phase.probe_candidates()):
        return
    phase.step("-- sweep: what the programs did not reach")
    test = settings(max_examples=1, deadline=None, database=None, phases=(Phase.generate,),
                    suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet)(given(st.data())(body))
    seed(phase.ctx.config.seed ^ zlib.crc32(b"sweep"))(test)()


def finish(phase: OrdersPhase) -> None:
    """After the programs: what the random interleaving missed, then every order to its end."""
    v, d, cfg = phase.ctx.verdicts, phase.ctx.dialect, phase.ctx.config
    completed = [o for o in phase.orders.values() if o.status is Status.COMPLETED]
    if phase.supports("refill") and not v.exercised("V2-REF-01"):
        candidates = [o for o in completed if o.spec.service.refill and o.refill_id is None]
        if candidates:
            refill(phase, candidates[0])
    if phase.supports("refill") and not v.exercised("V2-REF-05"):
        candidates = [o for o in phase.orders.values() if not o.final]
        if candidates:
            refill_ineligible(phase, candidates[0])
    if cfg.second_key and phase.orders and not (v.exercised("V2-ISO-01") and (v.exercised("V2-ISO-03") or not completed)):
        trespass(phase, (completed or list(phase.orders.values()))[0])
    if phase.supports("cancel") and not (v.exercised("V2-ORD-07") and (v.exercised("V2-ISO-02") or not cfg.second_key)):
        ensure_outcome(phase, Status.CANCELED)
    for _ in range(3):  # the panel may finish (or cancel) the order before the cancel lands
        if "cancel" not in d.actions or v.exercised("V2-ORD-06") or phase.ctx.stopped:
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
    phase.explain_unreached()
