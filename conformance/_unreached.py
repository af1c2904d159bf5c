"""The orders tier's last word: why each of its requirements a run did not reach was not reached
(budget, plan, time), so a report never shows a silent gap."""

from __future__ import annotations

from decimal import Decimal

from ._order_model import item_rids, probe_rid
from ._orders import OrdersPhase
from .rules import Status


# What needs an order of the run shown by status: its fields, words, charge and lifecycle, and what is asked of
# an order in a known state (refill, cancel, the second key).
SHOWN_BY_STATUS = ("V2-STA-02", "V2-STA-03", "V2-STA-04", "V2-STA-05", "V2-BAT-06", "V2-ORD-02", "V2-ORD-03",
                   "V2-ORD-04", "V2-ORD-05", "V2-ORD-06", "V2-ORD-07", "V2-REF-01", "V2-REF-02", "V2-REF-03",
                   "V2-REF-05", "V2-REF-06", "V2-CAN-01", "V2-CAN-02", "V2-CAN-03", "V2-CAN-04", "V2-ISO-01",
                   "V2-ISO-02", "V2-ISO-03")


def _never_shown(phase: OrdersPhase, lost: list[str]) -> None:
    """No order of the run was ever shown by status: say why, for what needed one (not "not reached")."""
    if not phase.orders or any(o.last is not None for o in phase.orders.values()):
        return  # none placed: each item of the plan says why (the cap, a stop, the link)
    if lost:
        cause = (f"status never showed an order of the run: it did not know the id(s) add answered "
                 f"({', '.join(lost[:5])}; V2-ADD-01)")
    else:
        cause = "status never showed an order of the run (each answer is judged under its own requirement)"
    for rid in SHOWN_BY_STATUS:
        phase.ctx.verdicts.not_exercised(rid, cause)


def explain_unreached(phase: OrdersPhase) -> None:
    """Why a requirement of the orders tier was not reached: budget, plan, time."""
    v = phase.ctx.verdicts
    session = phase.ctx.session
    why = phase.ctx.stopped or "the run ended before it was reached (raise --programs or --steps)"
    blocked = f"no add was sent after this: {session.cannot_follow}" if session.cannot_follow else None
    busy = phase.busy()
    lost = [o.id for o in phase.orders.values() if o.lost]
    unfollowed = (f"; orders the panel placed but status does not know ({', '.join(lost[:5])}, V2-ADD-01) may "
                  "hold the link") if lost else ""
    _never_shown(phase, lost)

    def reason(cost: Decimal, too_dear: str, service: str | None, refused: str | None = None) -> str:
        """The first cause that held, in order: no add after a lost one, the cap, an open order on the
        service (the link is busy until it ends), the panel's own refusal, else the run's end."""
        held = busy.get(service) if service is not None else None
        if blocked:
            return blocked
        if not session.can_spend(cost):
            return too_dear
        if held is not None:
            return f"order {held} of the run on service {service} was still open: an add with the same link waits until it ends"
        return refused or why

    for item in phase.items:
        if not item.placed:
            refused = (f"the panel refused it for its link being busy ({item.busy!r}) until the run ended{unfollowed}"
                       if item.busy is not None else None)
            text = reason(item.cost, f"its cheapest order ({item.cost}) does not fit in what --max-spend leaves",
                          item.service.id, refused)
            for rid in item_rids(item):
                v.not_exercised(rid, text)
    for p in phase.probes:
        if not p.done:
            service = p.service.id if p.service is not None and p.uses_service else None
            text = reason(p.cost, f"if the panel accepted it, it could cost {p.cost}: more than --max-spend leaves",
                          service)
            v.not_exercised(probe_rid(p), text)
            if v.exercised(probe_rid(p)):  # passed on other adds: the probe not sent is still said, once
                v.detail(probe_rid(p), f"the invalid add {p.label} was not sent: {text}")
    running = [o for o in phase.orders.values() if not o.final]
    note = ""
    if running:
        note = phase.stalled or (f"{len(running)} order(s) still running when the time budget "
                                 f"({phase.ctx.config.time_budget:g} s) ran out: {', '.join(o.id for o in running[:5])}")
        if note not in phase.ctx.notes:
            phase.ctx.notes.append(note)
        for rid in ("V2-ORD-05", "V2-ORD-06", "V2-ORD-07", "V2-CAN-02", "V2-REF-01"):  # the true cause first
            v.not_exercised(rid, note)
    ended = {o.status for o in phase.orders.values()}
    no_cancel = " (the panel does not support cancel)" if "cancel" in v.unsupported else ""
    if Status.PARTIAL not in ended:
        v.not_exercised("V2-ORD-06", "no order ended Partial in this run" + no_cancel)
    if Status.CANCELED not in ended:
        v.not_exercised("V2-ORD-07", "no order ended Canceled in this run" + no_cancel)
    if Status.COMPLETED not in ended:
        v.not_exercised("V2-ORD-05", "no order ended Completed in this run")
    actions = phase.ctx.dialect.actions
    if "cancel" in actions and not any(o.cancel_requested for o in phase.orders.values()):
        v.not_exercised("V2-CAN-02", "no cancel was accepted in this run")
    if "refill" in actions and not any(o.spec.service.refill and o.status is Status.COMPLETED
                                       for o in phase.orders.values()):
        for rid in ("V2-REF-01", "V2-REF-02", "V2-REF-03", "V2-ISO-03"):
            v.not_exercised(rid, "no order of a refill service completed in this run")
    if "refill" in actions and not v.exercised("V2-REF-06"):
        v.not_exercised("V2-REF-06", "no order of a service listed \"refill\": false completed in this run")
    if not phase.ctx.dialect.batch_read:
        v.not_exercised("V2-BAT-06", f"the dialect {phase.ctx.dialect.name!r} reads no batch (orders= is not read): "
                        "its orders were followed by single status")
    if "currency" not in phase.ctx.dialect.status_fields.values():
        v.not_exercised("V2-STA-05", f"the dialect {phase.ctx.dialect.name!r} gives no currency in a status")
    if "cancel" in actions and not any(not o.spec.service.cancel for o in phase.orders.values()):
        v.not_exercised("V2-CAN-03", "no order of a service without cancel was placed")
    if "cancel" in actions and not any(o.final and not o.lost and o.spec.service.cancel for o in phase.orders.values()):
        v.not_exercised("V2-CAN-04", "no order of a cancel service had ended in this run")
    if "cancel" in actions and not v.exercised("V2-ISO-02"):
        v.not_exercised("V2-ISO-02", "every order had ended before the second key tried to cancel it")
