"""What the orders tier's steps share: tracking a placed order, judging a refused valid one,
the balance total, and agreeing with a status answer."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from . import _strategies as S
from .expect import json_kind, kind_name, short
from ._orders import OrdersPhase, Snapshot, Tracked, item_rids
from .verdicts import Checks


def total(phase: OrdersPhase, snap: Snapshot | None) -> Decimal | None:
    if snap is None:
        return None
    total = snap.balance
    for oid, order in phase.orders.items():
        info = snap.states.get(oid) or order.last
        if info is None or info.charge is None:
            return None
        total += info.charge
    return total


def track(phase: OrdersPhase, c: Checks, spec: S.OrderSpec, item: Any, ex: Any, data: dict[str, Any], *,
          priced: bool = True) -> str | None:
    """Follow the order an add answered, as what was sent (``priced``: its price is known from it)."""
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
    price = None if spec.type == "Subscriptions" or not priced else S.price(spec.service, spec.units, spec.flat)
    phase.orders[oid] = Tracked(oid, spec, price, item, placed_ex=ex)
    return oid


def refused_valid(phase: OrdersPhase, c: Checks, item: Any, spec: S.OrderSpec, ex: Any, message: str, rid: str) -> None:
    e = phase.ctx.expect
    if e.matches("not_enough_funds", message, None):
        phase.out_of_money = True
        for r in item_rids(item):
            phase.ctx.verdicts.not_exercised(r, f"the balance ran out ({message!r})")
        phase.step(f"refused for lack of funds: {message!r}; no more orders")
    elif e.matches("active_order_with_link", message, None):
        item.placed = False  # the same link is busy on this service: try again later
        item.busy = message
        phase.step(f"refused, link busy: {message!r}; will retry")
    elif any(e.matches(code, message, {"field": "link"}) for code in ("missing_field", "invalid_field")):
        phase.ctx.verdicts.not_exercised(rid, f"the panel refused --link for this service: {message!r}")
    else:
        c.fail(rid, f"a valid {spec.type} order was refused: {message!r}", ex)



def agree(phase: OrdersPhase, c: Checks, snap: Snapshot, oid: str) -> None:
    """BAT-06: the single status of an order agrees with the multi-status just read (when multi-status
    works at all: else BAT-06 has failed already, and the snapshot was read by single status)."""
    if phase.batch_works is False:
        return
    ex = phase.send({"action": "status", "order": oid})
    single = phase.ctx.expect.single_status(c, ex)
    batch = snap.states[oid]
    if single is None:
        return
    same = (single.word, single.remains, single.start_count) == (batch.word, batch.remains, batch.start_count)
    agrees = (same and phase.ctx.expect.same_charge(single.charge, batch.charge)) or (
        single.status is not None and batch.status is not None and (
            single.status.rank > batch.status.rank
            or (single.word == batch.word and not batch.status.final
                and phase.ctx.expect.same_charge(single.charge, batch.charge)
                and (single.remains or 0) <= (batch.remains or 0))))
    batch_ex = next((e for e in snap.exchanges if e.action == "status"), ex)
    if c.require("V2-BAT-06", agrees,
                 f"order {oid}: multi-status said {batch.word}, remains {batch.remains}, charge {batch.charge}, "
                 f"start_count {batch.start_count}; single status says {single.word}, remains {single.remains}, "
                 f"charge {single.charge}, start_count {single.start_count}", batch_ex, ex):
        phase.observe(c, phase.orders[oid], single, ex)


def unknown_item(phase: OrdersPhase, c: Checks, items: dict[str, Any], field: str, rid: str, ex: Any) -> None:
    """A batch's item for the unknown order id carries the dialect's item error, in its words."""
    e = phase.ctx.expect
    other = items.get(phase.unknown_id)
    if other is None:
        return
    message = e.item_error(other[field])
    carried = c.require(rid, message is not None,
                        f"unknown order {phase.unknown_id} should carry {e.item_error_form()}, got {short(other[field])}", ex)
    if carried and message is not None:
        c.require("V2-ERR-01", e.matches("incorrect_order_id", message, None),
                  f"expected the words {e.wording('incorrect_order_id')!r}, got {message!r}", ex)
