"""The orders tier's steps: the bodies of the state machine's rules (_machine.py), each one
request or a few, judged against the profile."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from . import _strategies as S
from .expect import json_kind, kind_name, short
from ._order_checks import agree, refused_valid, total, track, unknown_item
from ._orders import OrdersPhase, PlanItem, Probe, Tracked, item_rids, type_rid
from .rules import Status
from .session import NOT_JSON
from .verdicts import Checks

# --- the rules' bodies --------------------------------------------------------------------------


def place(phase: OrdersPhase, data: st.DataObject, item: PlanItem | None = None) -> None:
    item = item or data.draw(st.sampled_from(phase.placeable()), label="plan item")
    spec = data.draw(S.order_fields(item.service, phase.link, phase.ctx.dialect, dripfeed=item.dripfeed), label="fields")
    cost = S.price(spec.service, spec.units, spec.flat)
    if not phase.ctx.session.can_spend(cost):
        item.placed = True
        for r in item_rids(item):
            phase.ctx.verdicts.not_exercised(r, f"its cheapest order ({cost}) does not fit in what --max-spend leaves")
        return
    c = Checks()
    pre = phase.snapshot(c)
    before = total(phase, pre)  # now: the new order is not tracked yet
    ex = phase.send(spec.params, cost=cost)
    item.placed = True
    rid = type_rid(spec.type, spec.dripfeed)
    data_ = phase.ctx.expect.response(c, ex)
    oid = None
    refusal = phase.ctx.expect.error_message(data_)
    if refusal is not None:
        refused_valid(phase, c, item, spec, ex, str(refusal[0]), rid)
    elif isinstance(data_, dict) and "order" in data_:
        oid = track(phase, c, spec, item, ex, data_)
        c.ok(rid)
    elif data_ is not NOT_JSON:
        c.fail("V2-ADD-01", f"add answered {short(data_)}, not {{\"order\": id}}", ex)
    phase.step(f"place {item.label}: {ex.response_line(120)}")
    post = phase.snapshot(c)
    after = total(phase, post)
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
    before = total(phase, pre)
    second_before = phase.read_balance(c, cfg.second_key)[0] if p.kind == "no_funds" else None
    ex = phase.send(spec.params, key=key, cost=p.cost)
    p.done = True
    what = f"an error for an add {p.label}" + (f" without {spec.missing!r}" if spec.missing else "")
    e.error(c, ex, rid, codes=codes, wording_rid=wording, values=values, what=what)
    if isinstance(ex.data, dict) and "order" in ex.data:
        if key == cfg.key:
            track(phase, c, spec, None, ex, ex.data)
        else:
            phase.second_spent = True
    phase.step(f"invalid add ({p.label}{', without ' + spec.missing if spec.missing else ''}): {ex.response_line(120)}")
    post = phase.snapshot(c)
    after = total(phase, post)
    if before is not None and after is not None and post is not None:
        c.require(rid, phase.close(before, after, len(phase.orders) + 2, balance=True),
                  f"balance + charges was {before} before the refused add ({p.label}) and {after} after it", ex,
                  *post.exchanges)
    if second_before is not None:
        second_after, second_ex = phase.read_balance(c, cfg.second_key)
        if second_after is not None:
            c.require(rid, second_after == second_before,
                      f"the refused order moved the second key's balance from {second_before} to {second_after}", second_ex)
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
    data = e.cancel_items(e.response(c, ex))  # a keyed answer, read as the list
    if data is not NOT_JSON and c.require(
        "V2-CAN-01", isinstance(data, list) and all(isinstance(i, dict) and {"order", "cancel"} <= set(i) for i in data),
        f"expected a list of {{\"order\", \"cancel\"}} items, got {short(data)}", ex,
    ):
        items = {str(i["order"]): i for i in data}
        c.require("V2-CAN-01", set(items) == {order.id, phase.unknown_id},
                  f"expected one item for each of {order.id} and {phase.unknown_id}, got {sorted(items)}", ex)
        for i in data:
            kind = "objectid" if e.dialect.id_format == "objectid" else "int"
            c.require("V2-CAN-01", e.id_kind_ok(i["order"], kind), f"item order {short(i['order'])} is not an integer", ex)
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
        unknown_item(phase, c, items, "cancel", "V2-CAN-01", ex)
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
    unknown_item(phase, c, items, "refill", "V2-REF-03", ex)


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
            data = e.cancel_items(e.response(c, ex))
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
    oid = track(phase, c, spec, item, ex, data)
    phase.absorb(c)
    if oid is None:
        return
    order = phase.orders[oid]
    c = Checks()
    phase.snapshot(c)
    if target is Status.PARTIAL:  # wait until some is delivered, then cancel
        for _ in range(60):
            if order.final or (order.status is Status.IN_PROGRESS and order.last is not None
                               and (order.last.remains or units) < units):
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
