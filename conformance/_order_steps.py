"""The orders tier's steps: the bodies of the state machine's rules (_machine.py), each one
request or a few, judged against the profile."""

from __future__ import annotations

import hashlib
from typing import Any

from . import _strategies as S
from ._strategies import FIELDS, WHICH, Picks
from .expect import StatusInfo, json_kind, kind_name, short
from ._eligibility import ACCEPT, REFUSE, eligibility
from ._order_checks import agree, refused_valid, total, track, unknown_item
from ._orders import OrdersPhase, PlanItem, Probe, Tracked, item_rids, probe_rid, type_rid
from .rules import Status
from .session import NOT_JSON
from .verdicts import Checks

# --- the rules' bodies --------------------------------------------------------------------------


def place(phase: OrdersPhase, picks: Picks, item: PlanItem | None = None) -> None:
    item = item or picks.choose(WHICH, phase.placeable())
    spec = S.order_spec(item.service, phase.link, phase.ctx.dialect, picks, dripfeed=item.dripfeed)
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
    if oid is not None and visible and before is not None and after is not None and post is not None \
            and phase.money_unjudged is None:
        if not c.require("V2-ORD-01", phase.close(before, after, len(phase.orders) + 2, balance=True),
                         f"balance + charges was {before} before order {oid} and {after} after it: the balance did "
                         f"not drop by the order's charge", ex, *post.exchanges):
            phase.rebase(after, post)  # counted once, under ORD-01: the money rule goes on from here
    phase.money_rule(c, post)
    phase.absorb(c)


def probe(phase: OrdersPhase, picks: Picks, p: Probe | None = None) -> None:
    p = p or picks.choose(WHICH, phase.probe_candidates())
    d, cfg = phase.ctx.dialect, phase.ctx.config
    s = p.service
    assert s is not None
    base = S.dripfeed_spec(s, phase.link, d) if p.dripfeed else S.order_spec(s, phase.link, d, picks)
    key = cfg.key
    codes: tuple[str, ...] = ()
    wording: str | None = None
    values: dict[str, Any] | None = None
    rid = probe_rid(p)
    if p.kind == "below_min":
        spec = S.with_units(base, (s.min or 1) - 1, "below min")
        codes, wording, values = ("quantity_below_min",), "V2-ERR-05", {"min": s.min}
    elif p.kind == "above_max":
        spec = S.with_units(base, (s.max or 0) + 1, "above max")
        codes, wording, values = ("quantity_above_max",), "V2-ERR-05", {"max": s.max}
    elif p.kind in ("malformed", "invalid"):  # one field, otherwise the valid order; what it makes unknown
        field = p.field or "quantity"
        if field == "quantity" and not p.dripfeed:
            base = S.with_units(base, s.min or 1, "at the minimum")  # in range but for its writing
        spec = S.OrderSpec(s, {**base.params, field: p.value or ""}, base.units, s.max or base.quantity, base.flat,
                           base.dripfeed, note=p.label)
        if field == "service":  # refused only if refused as no service (its words, or an error naming the field)
            codes = ("incorrect_service_id", "service_disabled")
    elif p.kind == "unknown_service":
        listed = {x.id for x in phase.ctx.target.services}
        first = 10**9 + picks.index(FIELDS, 10**6)  # the next id no listed service has (not a draw filtered by it)
        sid = next(str(v) for v in range(first, first + len(listed) + 1) if str(v) not in listed)
        spec = S.OrderSpec(s, {**base.params, "service": sid}, base.units, base.quantity, base.flat)
        codes, wording = ("incorrect_service_id", "service_disabled"), "V2-ERR-07"
    elif p.kind == "wrong_key":
        key = next(k for k in (_hex_key(picks, i) for i in range(3)) if k not in (cfg.key, cfg.second_key))
        spec = base
        codes, wording = ("invalid_key",), "V2-ERR-03"
    elif p.kind == "no_funds":
        key = cfg.second_key or ""
        spec = base
        codes, wording = ("not_enough_funds",), "V2-ERR-06"
    else:  # missing: this one required field left out
        left_out = [x for x in S.without_field(base, d) if x.missing == p.field]
        if not left_out:  # the type's valid order does not send it here: nothing to leave out
            p.done = True
            phase.step(f"invalid add ({p.label}): not sent, the valid order has no {p.field!r}")
            return
        spec = S.OrderSpec(s, left_out[0].params, base.units, s.max or base.quantity, base.flat, missing=p.field)
    c = Checks()
    pre = phase.snapshot(c)
    before = total(phase, pre)
    second_before = phase.read_balance(c, cfg.second_key)[0] if p.kind == "no_funds" else None
    ex = phase.send(spec.params, key=key, cost=p.cost)
    p.done = True
    refused(phase, c, ex, p, rid, codes=codes, wording=wording, values=values)
    if isinstance(ex.data, dict) and "order" in ex.data:
        if key == cfg.key:  # tracked as what was sent: priced from it, or unpriced where its quantity is unknown
            track(phase, c, spec, None, ex, ex.data, priced=p.exact)
        else:
            phase.second_spent = True
    phase.step(f"invalid add ({p.label}): {ex.response_line(120)}")
    post = phase.snapshot(c)
    after = total(phase, post)
    if before is not None and after is not None and post is not None and phase.money_unjudged is None:
        if not c.require(rid, phase.close(before, after, len(phase.orders) + 2, balance=True),
                         f"balance + charges was {before} before the refused add ({p.label}) and {after} after it",
                         ex, *post.exchanges):
            phase.rebase(after, post)  # counted once, under the probe's requirement
    if second_before is not None:
        second_after, second_ex = phase.read_balance(c, cfg.second_key)
        if second_after is not None:
            c.require(rid, second_after == second_before,
                      f"the refused order moved the second key's balance from {second_before} to {second_after}", second_ex)
    phase.absorb(c)


def refused(phase: OrdersPhase, c: Checks, ex: Any, p: Probe, rid: str, *, codes: tuple[str, ...],
            wording: str | None, values: dict[str, Any] | None) -> None:
    """The probe was refused (rid), and for what it probed: a refusal in another error's words (too small, the
    link busy, another field) proves nothing of it. The link busy with an order outside the run: not judged."""
    e = phase.ctx.expect
    own = Checks()
    e.error(own, ex, rid, codes=codes, wording_rid=wording, values=values, what=f"an error for an add {p.label}")
    found = e.error_message(ex.data) if ex.is_json else None
    other = e.refuses_else(found[0], codes, p.field if p.kind in ("malformed", "invalid", "missing") else None) \
        if found is not None else None
    if other is not None and found is not None:
        own.passed = [r for r in own.passed if r != rid]
        if e.matches("active_order_with_link", str(found[0]), None):
            phase.ctx.verdicts.not_exercised(rid, f"the add {p.label} was refused for its link being busy ({other}): "
                                             "that proves nothing of what it probed")
        else:
            own.fail(rid, f"the add {p.label} was refused for something else: {other}", ex)
    c.merge(own)


def cancel(phase: OrdersPhase, order: Tracked) -> None:
    """cancel orders=<ours>,<unknown>, judged against the order as it is right before (_eligibility.MATRIX)."""
    e = phase.ctx.expect
    c = Checks()
    state = fresh(phase, c, order)
    now = word(state)
    row = eligibility("cancel", order.spec.service.cancel, state.status if state is not None else None)
    ex = phase.send({"action": "cancel", "orders": f"{order.id},{phase.unknown_id}"})
    phase.step(f"cancel {order.label()} ({now}): {ex.response_line(120)}")
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
            if row is not None and row.expect == REFUSE:
                c.require(row.rid, not accepted, f"{order.label()} {row.describe(now)}: its cancel was accepted "
                          f"({short(mine['cancel'])})", ex)
            elif row is not None and row.expect == ACCEPT:
                c.require(row.rid, accepted, f"{order.label()} {row.describe(now)}: its cancel was refused", ex)
            order.cancel_requested = order.cancel_requested or accepted
        unknown_item(phase, c, items, "cancel", "V2-CAN-01", ex)
    phase.money_rule(c, phase.snapshot(c))
    phase.absorb(c)


def _hex_key(picks: Picks, salt: int) -> str:
    """32 hex digits made from the picks: a key no account has, the same for the same picks."""
    return hashlib.sha256(f"{picks.numbers}/{salt}".encode()).hexdigest()[:32]


def poll(phase: OrdersPhase, picks: Picks) -> None:
    c = Checks()
    snap = phase.snapshot(c)
    phase.money_rule(c, snap)
    if snap is not None and snap.states:
        agree(phase, c, snap, picks.choose(WHICH, sorted(snap.states)))
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
    if not d.batch_read:  # orders= is not read: a refill batch is one refill of no order
        phase.ctx.verdicts.not_exercised("V2-REF-03", f"the dialect {d.name!r} reads no batch (orders= is not read)")
        return
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


def fresh(phase: OrdersPhase, c: Checks, order: Tracked) -> StatusInfo | None:
    """The order's state right now (one single status), so that what a refill or cancel should get is judged
    against it, and a finding quotes it; the last state seen if the panel does not say. (Where multi-status
    works, the order's history stays multi-status's: single status is held to agree with it in V2-BAT-06.)"""
    ex = phase.send({"action": "status", "order": order.id})
    info = phase.ctx.expect.single_status(c, ex)
    if info is not None and phase.batch_works is False:
        phase.observe(c, order, info, ex)
    return info if info is not None and info.status is not None else order.last


def word(info: StatusInfo | None) -> str:
    return info.word if info is not None else "state unknown"


def refill_ineligible(phase: OrdersPhase, order: Tracked) -> None:
    """A refill the order's state or its service's flag rules out (_eligibility.MATRIX), judged as refused."""
    c = Checks()
    now = fresh(phase, c, order)
    row = eligibility("refill", order.spec.service.refill, now.status if now is not None else None)
    if row is None or row.expect != REFUSE:  # it became eligible (or its state is unknown): not a probe
        phase.absorb(c)
        return
    why = row.describe(word(now))
    ex = phase.send({"action": "refill", "order": order.id})
    phase.step(f"refill {order.label()} ({why}): {ex.response_line(120)}")
    if not phase.ctx.expect.unsupported(c, ex):
        phase.ctx.expect.error(c, ex, row.rid, what=f"an error for a refill of an order {why}")
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
            # A refusal must be said: an error, or the order's item carrying one; null, {} or [] refuse nothing.
            items = [i for i in data if isinstance(i, dict) and str(i.get("order")) == order.id] \
                if isinstance(data, list) else []
            refused = e.is_error(data) or (bool(items) and all(e.item_error(i.get("cancel")) is not None for i in items))
            c.require("V2-ISO-02", refused,
                      f"the second key's cancel of the first key's {order.label()} answered "
                      f"{e.form(ex).describe() if not items and not e.is_error(data) else short(data)}, not a refusal", ex)
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
            elif phase.time_left() > phase.ctx.config.poll_interval and not phase.stalled_now():
                phase.ctx.pause(phase.ctx.config.poll_interval, lambda: f"order {order.id} to start delivering, "
                                f"{max(0.0, phase.time_left()):.0f} s left of --time-budget")
            else:
                break
            phase.snapshot(c)
    phase.absorb(c)
    if phase.ctx.config.second_key and not order.final:
        trespass(phase, order)
    if not order.final:
        cancel(phase, order)
