"""The orders tier's state: the plan of cheap orders, the orders placed, and the invariants.

Money rule checked at every snapshot: balance + the sum of the current charges of
the orders the run placed stays equal to the balance before the first order
(charges lower the balance; refunds lower the charge and raise the balance by the
same amount). A snapshot reads the balance, the batch status of every order, and
the balance again, and is kept only if both balances agree (so a refund that
lands in between cannot fake a violation).

Every add declares its worst-case cost to the session, which refuses it before
sending if it could take the committed spend past --max-spend.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from . import _strategies as S
from .context import Context
from .expect import ServiceInfo, StatusInfo, short
from ._order_model import (
    DRIPFEED_RID,
    PlanItem,
    Probe,
    Snapshot,
    Tracked,
    item_rids,
    probe_rid,
    rank,
    type_rid,
)
from .rules import COUNTED_BY_FIELD, TYPE_RULES, Status, usable_rate
from .session import NOT_JSON, Exchange, SpendCapReached, StopRun
from .verdicts import Checks

__all__ = [
    "DRIPFEED_RID", "OrdersPhase", "PlanItem", "Probe", "Snapshot", "Tracked", "item_rids", "probe_rid", "rank", "type_rid",
]

QUIET_SECONDS = 3600.0  # the quiet period before the first order, where the clock can be driven


class OrdersPhase:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        cfg = ctx.config
        assert cfg.link, "the orders tier needs --link"
        self.link = cfg.link
        self.orders: dict[str, Tracked] = {}
        self.items: list[PlanItem] = []
        self.probes: list[Probe] = []
        self.log: list[str] = []
        self.opening: Decimal | None = None  # balance before the first order
        # balance + the run's charges as the money rule holds it: the opening, then the level after a shift it
        # reported (one shift, one finding); and the readings it was last seen at
        self.level: Decimal | None = None
        self.level_seen: list[Exchange] = []
        self.money_unjudged: str | None = None  # why the balance cannot be held to the run's charges
        self.second_opening: Decimal | None = ctx.target.second_balance
        self.second_spent = False
        self.started = time.monotonic()
        self.out_of_money = False
        self.unit = Decimal(1).scaleb(-ctx.dialect.money_decimals)  # charges
        places = min(ctx.dialect.money_decimals, getattr(ctx.dialect, "balance_decimals", ctx.dialect.money_decimals))
        self.balance_unit = Decimal(1).scaleb(-places)  # sums with the balance: its rounding counts
        self.unknown_id = str(10**15 - 7) if ctx.dialect.id_format == "decimal" else format(10**15 - 7, "024x")
        self.programs = 0
        self.steps_run = 0  # the programs' steps that sent something, and those that found nothing to do
        self.idle_steps = 0
        self.trespassed: set[tuple[str, bool]] = set()  # (order id, was final) the second key tried
        # Multi-status gives the run's orders (None: not seen yet); a dialect that reads no batch: single status.
        self.batch_works: bool | None = None if ctx.dialect.batch_read else False
        self.last_moved = time.monotonic()  # when a tracked order last showed a change
        self.stalled: str | None = None  # why the run stopped waiting for its orders, once it did
        self.moved_since_stall: bool | None = None

    # --- the plan ----------------------------------------------------------------------

    def priceable(self) -> list[ServiceInfo]:
        """The target's services this tier can price and order."""
        out = [
            s for s in self.ctx.target.services
            if s.type in TYPE_RULES and usable_rate(s.rate) and s.min is not None and s.max is not None
            and (self.ctx.dialect.service_types is None or s.type in self.ctx.dialect.service_types)
        ]
        required, optional = S.type_fields(self.ctx.dialect, "Subscriptions")
        if "posts" not in required + optional:  # it could not be bounded: it would go on charging after the run
            if any(s.type == "Subscriptions" for s in out):
                self.ctx.verdicts.not_exercised(
                    type_rid("Subscriptions"), f"the dialect {self.ctx.dialect.name!r} has no 'posts' field: a "
                    "subscription would keep charging after the run, so none is placed")
            out = [s for s in out if s.type != "Subscriptions"]
        return out

    def cost_of(self, service: ServiceInfo, units: int | None = None, *, dripfeed: bool = False) -> Decimal:
        stype = TYPE_RULES[service.type or "Default"]
        n = units if units is not None else (service.min or 1)
        if dripfeed:
            n = max(1, -(-n // 3)) * 3  # up to three runs of ceil(min / runs)
        return S.price(service, n, stype.flat)

    def left_out_cost(self, service: ServiceInfo, name: str) -> Decimal:
        """The most an add on ``service`` without the field ``name`` can cost if a panel accepts it. Where the
        field sets what is charged (``S.quantity_fields``), the panel picks the count: the price of the service's
        max quantity (a flat price: its rate). Else the order as sent (at the minimum) bounds it."""
        if name in S.quantity_fields(service.type or "Default"):
            return self.cost_of(service, service.max)
        return self.cost_of(service)

    def make_plan(self) -> None:
        services = self.priceable()
        by_type: dict[str, ServiceInfo] = {}
        for s in sorted(services, key=lambda s: (self.cost_of(s), s.id)):
            by_type.setdefault(s.type or "Default", s)
        items: dict[tuple[str, bool], PlanItem] = {}

        def add(service: ServiceInfo, purpose: str, dripfeed: bool = False, fresh: bool = False) -> None:
            key = (service.id, dripfeed) if not fresh else (service.id + f"#{purpose}{len(items)}", dripfeed)
            if key in items:
                items[key].purposes.add(purpose)
            else:
                items[key] = PlanItem(service, {purpose}, dripfeed, cost=self.cost_of(service, dripfeed=dripfeed))

        quantity_kind = [s for s in services if TYPE_RULES[s.type or "Default"].counted == COUNTED_BY_FIELD
                         and s.type != "Subscriptions"]
        refill = sorted((s for s in quantity_kind if s.refill), key=lambda s: (self.cost_of(s), s.id))[:2]
        for s in refill:
            add(s, "refill")
        cancel = sorted((s for s in quantity_kind if s.cancel), key=lambda s: (self.cost_of(s), s.id))
        for s in cancel[:2]:
            add(s, "cancel", fresh=any(s.id == r.id for r in refill))
        for s in by_type.values():
            add(s, "type")
        drip = sorted((s for s in services if s.type == "Default" and s.dripfeed), key=lambda s: (self.cost_of(s), s.id))
        if drip:
            add(drip[0], "dripfeed", dripfeed=True)
        self.items = sorted(items.values(), key=lambda i: ("refill" not in i.purposes, i.cost))
        # Invalid requests: refused by a correct panel; their cost counts in case it is not.
        probes: list[Probe] = []
        planned = {i.service.id for i in self.items}
        # A service with no valid order of the plan first: its probes need not wait for one to end.
        field_kind = sorted(quantity_kind, key=lambda s: (s.id in planned, self.cost_of(s), s.id))
        if field_kind:
            cheapest = min(field_kind, key=lambda s: (s.id in planned, self.cost_of(s, (s.min or 1) + 1), s.id))
            with_min = [s for s in field_kind if (s.min or 0) > 1]
            if with_min:
                probes.append(Probe("below_min", with_min[0], self.cost_of(with_min[0])))
            over = min(field_kind, key=lambda s: (self.cost_of(s, (s.max or 0) + 1), s.id in planned, s.id))
            probes.append(Probe("above_max", over, self.cost_of(over, (over.max or 0) + 1)))
            low = cheapest.min or 1
            for what, value in S.malformed_numbers(low):  # each in range but for its writing
                if self.ctx.dialect.quantity_cast == "php" and what == "an exponent":
                    continue  # numbers to PHP: such a panel takes it as the number (docs/dialects.md, add.quantity)
                probes.append(Probe("malformed", cheapest, self.cost_of(cheapest, low + 1), value=value,
                                    field="quantity", what=what))
            probes.append(Probe("wrong_key", cheapest, self.cost_of(cheapest)))
            probes.append(Probe("unknown_service", cheapest, self.cost_of(cheapest)))
            if cheapest.id.isdigit():  # each malformed writing of its id, the order otherwise valid
                for what, value in S.malformed_service_ids(cheapest.id, self.ctx.dialect):
                    probes.append(Probe("malformed", cheapest, self.cost_of(cheapest, low + 1), value=value,
                                        field="service", what=what))
            if self.ctx.config.second_key and self.ctx.target.second_balance is not None:
                poor = [s for s in field_kind if self.cost_of(s) > self.ctx.target.second_balance]
                if poor:
                    probes.append(Probe("no_funds", poor[0], self.cost_of(poor[0])))
                else:
                    self.ctx.verdicts.not_exercised(
                        "V2-ADD-06", f"the second key's balance ({self.ctx.target.second_balance}) covers every "
                        "minimum order; not-enough-funds needs a key with less")
        for s in by_type.values():  # each required field of each type left out in turn
            required, _ = S.type_fields(self.ctx.dialect, s.type or "Default")
            for name in required:
                probes.append(Probe("missing", s, self.left_out_cost(s, name), field=name))
        subscription = by_type.get("Subscriptions")
        if subscription is not None:  # delay and expiry: a value the documents rule out
            for kind, name, what, value in S.invalid_subscription(self.ctx.dialect):
                probes.append(Probe(kind, subscription, self.cost_of(subscription), value=value, field=name, what=what))
        if drip:  # runs and interval: each malformed writing, and the values the documents rule out
            base = S.dripfeed_spec(drip[0], self.link, self.ctx.dialect)
            worst = S.price(drip[0], base.units // 2 * 3, base.flat)  # "2.5" runs read as 3
            for kind, name, what, value in S.invalid_dripfeed(self.ctx.dialect):
                probes.append(Probe(kind, drip[0], worst, value=value, field=name, what=what, dripfeed=True))
        self.probes = probes

    def estimate(self) -> list[str]:
        cap = self.ctx.config.max_spend
        cur = self.ctx.target.currency
        lines = [f"orders tier: up to {len(self.items)} orders to {self.ctx.session.redactor(self.link)}"]
        total = Decimal(0)
        for item in self.items:
            total += item.cost
            lines.append(f"    {item.cost:>12} {cur}  {item.label}  [{', '.join(sorted(item.purposes))}]")
        worst = total + sum((p.cost for p in self.probes), Decimal(0))
        lines.append(f"  estimate {total} {cur}; worst case if the panel also accepts the "
                     f"{len(self.probes)} invalid requests: {worst} {cur}")
        lines.append(f"  hard stop: no add is sent that could take the spend past --max-spend {cap} {cur}")
        return lines

    def placeable(self) -> list[PlanItem]:
        if self.ctx.stopped or self.out_of_money:
            return []
        busy = self.busy()
        return [i for i in self.items if not i.placed and i.service.id not in busy
                and self.ctx.session.can_spend(i.cost)]

    def probe_candidates(self) -> list[Probe]:
        """The probes that may go now, most important first. One whose quantity would be unknown if accepted (a
        malformed or ruled-out value, a field left out) comes after every valid order of the plan on its service
        (so it never blocks them, and V2-TYP passes on both); none goes while an order of the run on its service
        is open (a refusal for the link being busy would prove nothing)."""
        if self.ctx.stopped:
            return []
        unplaced = {i.service.id for i in self.items if not i.placed and self.ctx.session.can_spend(i.cost)}
        busy = set(self.busy())
        out: list[Probe] = []
        reserved = Decimal(0)  # the plan lists probes by importance: one waiting keeps its cost from those after it
        for p in self.probes:
            if p.done or not self.ctx.session.can_spend(p.cost + reserved):
                continue
            held = busy | (unplaced if not p.exact else set())  # one whose quantity is unknown waits for the plan
            if p.service is not None and p.uses_service and p.service.id in held:
                reserved += p.cost
                continue
            out.append(p)
        return out

    def busy(self) -> dict[str, str]:
        """Service id -> the open order of the run on it (an add with the same link waits until it ends)."""
        return {o.spec.service.id: o.id for o in self.orders.values() if not o.final}

    def absorb(self, c: Checks) -> None:
        self.ctx.verdicts.absorb(c, steps=self.log[-25:])

    # --- reading state -----------------------------------------------------------------

    def send(self, params: dict[str, str], key: str | None = None, cost: Decimal | None = None) -> Exchange:
        return self.ctx.session.send({"key": key or self.ctx.config.key, **params}, cost=cost)

    def read_balance(self, c: Checks, key: str | None = None) -> tuple[Decimal | None, Exchange]:
        ex = self.send({"action": "balance"}, key)
        got = self.ctx.expect.balance(c, ex)
        return (got[0] if got else None), ex

    def snapshot(self, c: Checks) -> Snapshot | None:
        ids = list(self.orders)
        for _ in range(3):
            before, ex1 = self.read_balance(c)
            states, read = self.read_states(c, ids)
            exchanges = [ex1, *read]
            after, ex2 = self.read_balance(c) if ids else (before, ex1)
            if ids:
                exchanges.append(ex2)
            if before is not None and before == after:
                return Snapshot(before, states, exchanges)
        return None

    def read_states(self, c: Checks, ids: list[str]) -> tuple[dict[str, StatusInfo], list[Exchange]]:
        """The status of every order: by multi-status while it works, else one single status each.

        The first time multi-status does not give an order (the panel ignores ``orders``, refuses the
        batch, or answers it an error), one single status of that order decides: if it shows the order,
        multi-status does not work (V2-BAT-06 fails, once) and the run follows its orders one by one."""
        states: dict[str, StatusInfo] = {}
        exchanges: list[Exchange] = []
        unread = list(ids)
        if self.batch_works is not False and ids:
            unread = []
            batch_ex: Exchange | None = None
            limit = self.ctx.dialect.batch_limit
            for start in range(0, len(ids), limit):
                chunk = ids[start:start + limit]
                ex = batch_ex = self.send({"action": "status", "orders": ",".join(chunk)})
                exchanges.append(ex)
                data = self.ctx.expect.status_batch(c, ex, chunk, unknown=set())
                for token in chunk:
                    item = data.get(token) if isinstance(data, dict) else None
                    if item is None or (self.batch_works is None and self.ctx.expect.is_error(item)):
                        unread.append(token)
                        continue
                    if self.ctx.expect.is_error(item) and self.orders[token].last is None:
                        self.lose(c, self.orders[token], item, ex)
                        continue
                    info = self.ctx.expect.status_item(c, item, f"order {token}", ex, order_id=token)
                    if info is not None:
                        states[token] = info
                        self.observe(c, self.orders[token], info, ex)
            if unread and self.batch_works is None and batch_ex is not None:
                self._try_single(c, unread[0], batch_ex, states, exchanges)
                if self.batch_works is None:  # single status does not show it either: judge the batch's item
                    self._batch_items(c, batch_ex, unread, states)
                    unread = []
                else:
                    unread = unread[1:]
            elif not unread:
                self.batch_works = True
        if self.batch_works is False:  # one request per order: a final one keeps its last state (read once final)
            for oid in [o for o in unread if not self.orders[o].final]:
                ex = self.send({"action": "status", "order": oid})
                exchanges.append(ex)
                refusal = self.ctx.expect.error_message(ex.data) if ex.is_json else None
                if refusal is not None and self.orders[oid].last is None:
                    self.lose(c, self.orders[oid], refusal[0], ex)
                    continue
                info = self.ctx.expect.single_status(c, ex)
                if info is not None:
                    states[oid] = info
                    self.observe(c, self.orders[oid], info, ex)
        return states, exchanges

    def _try_single(self, c: Checks, oid: str, batch_ex: Exchange, states: dict[str, StatusInfo],
                    exchanges: list[Exchange]) -> None:
        ex = self.send({"action": "status", "order": oid})
        exchanges.append(ex)
        probe = Checks()  # kept only if it shows the order: else the batch's answer is judged as it was
        info = self.ctx.expect.single_status(probe, ex)
        if info is None or info.status is None:
            return
        self.batch_works = False
        c.merge(probe)
        got = self.ctx.expect.form(batch_ex)
        what = f"answered {got.describe()}" if got.kind != "json" else "gave no status for it"
        said = [f.rid for f in c.findings if batch_ex in f.exchanges and f.rid.startswith("V2-BAT-")]
        if said:  # the batch's answer failed already, under the requirement it breaks: not counted twice
            self.ctx.verdicts.not_exercised(
                "V2-BAT-06", f"multi-status did not give the run's orders ({', '.join(sorted(set(said)))}): there was "
                "no batch status to compare single status with")
        else:
            c.fail("V2-BAT-06", f"multi-status {what} for order {oid} ({self.orders[oid].label()}), which single "
                   f"status shows {info.word}: multi-status does not work here, so the run follows its orders by "
                   "single status", batch_ex, ex)
        self.ctx.note("orders followed by single status: multi-status did not give the run's own orders (V2-BAT-06)")
        states[oid] = info
        self.observe(c, self.orders[oid], info, ex)

    def _batch_items(self, c: Checks, ex: Exchange, tokens: list[str], states: dict[str, StatusInfo]) -> None:
        """Items multi-status gave as errors, for orders single status does not show either: judged as items."""
        data = ex.data if isinstance(ex.data, dict) else {}
        for token in tokens:
            if token in data and self.ctx.expect.is_error(data[token]) and self.orders[token].last is None:
                self.lose(c, self.orders[token], data[token], ex)
            elif token in data:
                info = self.ctx.expect.status_item(c, data[token], f"order {token}", ex, order_id=token)
                if info is not None:
                    states[token] = info
                    self.observe(c, self.orders[token], info, ex)

    def lose(self, c: Checks, order: Tracked, answer: Any, *exchanges: Exchange) -> None:
        """Status does not know an id add handed out (it never showed it): add's answer is wrong (ADD-01), once.
        The order is not followed any more, and since its charge cannot be read, neither is the balance's
        arithmetic (ORD-08 would count the same defect again)."""
        if order.lost:
            return
        order.lost = True
        placed = [order.placed_ex] if order.placed_ex is not None else []
        c.fail("V2-ADD-01", f"add answered order id {order.id} ({order.label()}), which status does not know: "
               f"{short(answer)}", *placed, *exchanges)
        if self.money_unjudged is None:
            self.money_unjudged = (f"status does not know order {order.id}, which add answered (V2-ADD-01): its "
                                   "charge cannot be read, so the balance cannot be held to the run's charges")
            for rid in ("V2-ORD-01", "V2-ORD-08"):
                self.ctx.verdicts.not_exercised(rid, self.money_unjudged)
        self.step(f"status does not know order {order.id}: no longer followed")

    def observe(self, c: Checks, order: Tracked, info: StatusInfo, ex: Exchange) -> None:
        """The invariants of one order's status, against what was seen before."""
        prev = order.last
        label = order.label()
        q = order.spec.quantity
        if prev is not None and prev.status is not None and info.status is not None:
            if prev.status.final:
                earlier = [order.last_ex] if order.last_ex is not None and order.last_ex is not ex else []
                c.require("V2-ORD-03", info.same_as(prev),
                          f"{label} was final ({prev.word}, remains {prev.remains}, charge {prev.charge}, start_count "
                          f"{prev.start_count}) and now reads {info.word}, remains {info.remains}, charge {info.charge}, "
                          f"start_count {info.start_count}", *earlier, ex)
            else:
                earlier = [order.last_ex] if order.last_ex is not None and order.last_ex is not ex else []
                c.require("V2-ORD-03", rank(info.status) >= rank(prev.status),
                          f"{label} went back from {prev.word} to {info.word}", *earlier, ex)
            if rank(prev.status) >= 1 and rank(info.status) >= 1 and prev.remains is not None and info.remains is not None:
                c.require("V2-ORD-04", info.remains <= prev.remains,
                          f"{label}: remains grew from {prev.remains} to {info.remains}", ex)
        if order.spec.dripfeed and not self.ctx.dialect.dripfeed_fields:  # a dialect may show no charge for those
            worded = info.status in self.ctx.dialect.remains_words  # "Unknown" in that status, by the dialect
            c.require(DRIPFEED_RID, info.charge is not None and (info.remains is not None or worded),
                      f"{label}: a drip-feed order's status gives charge {info.charge} and remains {info.remains}; "
                      "both are needed to follow its runs", ex)
        if info.remains is not None and info.status is not Status.PENDING:
            c.require("V2-ORD-04", 0 <= info.remains <= q,
                      f"{label}: remains {info.remains} is outside [0, {q}]", ex)
        if info.status is Status.COMPLETED and info.remains is not None:
            c.require("V2-ORD-05", info.remains == 0, f"{label} is Completed with remains {info.remains}", ex)
        if order.price is not None and info.charge is not None and info.status is not None:
            self._charge(c, order, info, ex)
        if prev is None or not info.same_as(prev):  # it moved: waiting for it is not idle
            self.last_moved = time.monotonic()
            self.moved_since_stall = True
        if not order.history or order.history[-1] != info.word:
            order.history.append(info.word)
        order.last = info
        order.last_ex = ex

    def close(self, a: Decimal, b: Decimal, units: int = 2, *, balance: bool = False) -> bool:
        """Equal within what rounding explains: half a unit of the last decimal per rounded amount.
        One charge is one rounding: a charge off by one unit (truncated, not rounded) is caught."""
        return abs(a - b) <= (self.balance_unit if balance else self.unit) * units / 2

    def _charge(self, c: Checks, order: Tracked, info: StatusInfo, ex: Exchange) -> None:
        assert order.price is not None and info.charge is not None
        label, price, q = order.label(), order.price, order.spec.quantity
        if info.status is Status.PARTIAL and info.remains is not None and q > 0:
            expected = price * (q - info.remains) / q
            # The charge and the refund are each rounded, the refund perhaps down: 1.5 units.
            c.require("V2-ORD-06", self.close(info.charge, expected, 3),
                      f"{label} is Partial with remains {info.remains} of {q}: charge should be "
                      f"{price} x {q - info.remains}/{q} = {expected:.{self.ctx.dialect.money_decimals}f}, "
                      f"got {info.charge}", ex)
        elif info.status is Status.CANCELED:
            c.require("V2-ORD-07", self.close(info.charge, Decimal(0), 1),
                      f"{label} is Canceled but its charge is {info.charge}, not 0", ex)
        elif info.status in (Status.PENDING, Status.IN_PROGRESS, Status.COMPLETED):
            c.require("V2-ORD-02", self.close(info.charge, price, 1),
                      f"{label}: charge {info.charge}, but the rate {order.spec.service.rate} for "
                      f"{order.spec.units} {'(flat)' if order.spec.flat else 'units'} gives {price}", ex)

    def money_rule(self, c: Checks, snap: Snapshot | None, rid: str = "V2-ORD-08") -> Decimal | None:
        """balance + sum of current charges; held to the opening balance. A shift no charge or refund of the run
        explains is reported once, with the reading before and after it; later readings are held to the new level
        (so one shift is one finding, and a second one is seen as such)."""
        if snap is None or self.opening is None or self.money_unjudged is not None:
            return None
        charges: list[Decimal] = []
        for oid, order in self.orders.items():
            info = snap.states.get(oid) or order.last
            if info is None or info.charge is None:
                return None
            charges.append(info.charge)
        total = snap.balance + sum(charges, Decimal(0))
        level = self.opening if self.level is None else self.level
        if c.require(rid, self.close(total, level, len(charges) + 2, balance=True),
                     f"the balance moved by {total - level} that no charge or refund of the run explains: balance "
                     f"{snap.balance} + charges of the {len(charges)} orders placed ({sum(charges, Decimal(0))}) = "
                     f"{total}; it was {level}" + (" (the balance before the first order)" if self.level is None
                                                   else " at the reading before"),
                     *[e for e in self.level_seen if e not in snap.exchanges], *snap.exchanges):
            self.level_seen = list(snap.exchanges)
        else:
            self.level, self.level_seen = total, list(snap.exchanges)
        return total

    def rebase(self, total: Decimal, snap: Snapshot) -> None:
        """A shift already reported under another requirement (an add's): the money rule goes on from here."""
        self.level, self.level_seen = total, list(snap.exchanges)

    def quiet_period(self, c: Checks, snap: Snapshot) -> Snapshot:
        """Before the first order: does the balance move while the run has nothing on the panel? It is read at
        the preflight and again now (and, where the clock can be driven, after an hour more of it). If it moved,
        something outside the run moves it (orders placed before the run, another client using the key), and
        those moves would leak into the money rule: the balance is then not held to the run's charges
        (V2-ORD-01, V2-ORD-08 not exercised, with that cause); the charges are still judged."""
        first = self.ctx.target.balance
        latest = snap
        if first is not None and first == snap.balance and self.ctx.clock is not None:
            self.ctx.clock(QUIET_SECONDS)
            later = self.snapshot(c)
            if later is None:
                self.money_unjudged = "the balance kept moving while the run had placed nothing"
            else:
                latest = later
        moved = first is not None and latest.balance != first
        if moved:
            self.money_unjudged = (f"the balance moved from {first} to {latest.balance} while the run had placed "
                                   "nothing: something outside the run moves it (orders placed before the run, "
                                   "another client using the key), so it cannot be held to the run's charges")
        if self.money_unjudged is not None:
            for rid in ("V2-ORD-01", "V2-ORD-08"):
                self.ctx.verdicts.not_exercised(rid, self.money_unjudged)
            self.ctx.note(self.money_unjudged)
        self.level_seen = list(latest.exchanges)
        return latest

    # --- following orders to their end -------------------------------------------------

    def time_left(self) -> float:
        return self.ctx.config.time_budget - (time.monotonic() - self.started)

    def settle(self, c: Checks) -> None:
        """Poll (driving the clock where possible) until every order and refill is final."""
        step = 60.0
        for _ in range(60):
            snap = self.snapshot(c)
            self.money_rule(c, snap)
            self.poll_refills(c)
            if all(o.final for o in self.orders.values()) and all(
                o.refill_done for o in self.orders.values() if o.refill_id
            ):
                return
            if self.ctx.clock is not None:
                self.ctx.clock(step)
                step = min(step * 2, 86400.0)
            else:
                wait = min(self.ctx.config.poll_interval, self.time_left())
                if wait <= 0 or self.stalled_now():
                    return
                self.ctx.pause(wait, lambda: f"{sum(not o.final for o in self.orders.values())} order(s) still "
                               f"open, {max(0.0, self.time_left()):.0f} s left of --time-budget")

    def stalled_now(self) -> bool:
        """No tracked order has moved for ``patience`` seconds: stop waiting (and say so) instead of idling
        out --time-budget. Once stalled, a later wait gives up at once unless an order moved since."""
        still = time.monotonic() - self.last_moved
        if self.stalled is not None and self.moved_since_stall is False:
            return True
        if still < self.ctx.config.patience:
            return False
        self.moved_since_stall = False
        if self.stalled is None:  # said once: later waits give up the same way
            open_ = [o for o in self.orders.values() if not o.final]
            self.stalled = (f"stopped waiting: no tracked order moved for {still:.0f} s (patience "
                            f"{self.ctx.config.patience:g} s), {len(open_)} still open "
                            f"({', '.join(o.id for o in open_[:5])}), {max(0.0, self.time_left()):.0f} s of "
                            "--time-budget left unused")
            self.ctx.note(self.stalled)
        return True

    def settle_and_record(self) -> None:
        c = Checks()
        self.settle(c)
        for order in self.orders.values():
            if order.cancel_requested and order.final:
                c.require("V2-CAN-02", order.status in (Status.CANCELED, Status.PARTIAL, Status.COMPLETED),
                          f"{order.label()} ended {order.last.word if order.last else '?'} after an accepted cancel")
        self.absorb(c)

    def supports(self, action: str) -> bool:
        """The dialect has the action and the panel has not answered it as an unknown action."""
        return self.ctx.supports(action)

    def poll_refills(self, c: Checks) -> None:
        for order in self.orders.values():
            if order.refill_id and not order.refill_done and self.supports("refill_status"):
                ex = self.send({"action": "refill_status", "refill": order.refill_id})
                self.refill_word(c, order, ex)

    def refill_word(self, c: Checks, order: Tracked, ex: Exchange) -> None:
        if self.ctx.expect.unsupported(c, ex):
            order.refill_done = True
            return
        data = self.ctx.expect.response(c, ex)
        d = self.ctx.dialect
        if data is NOT_JSON or not isinstance(data, dict) or "status" not in data:
            c.fail("V2-REF-02", f"refill_status of refill {order.refill_id} answered {short(data)}", ex)
            order.refill_done = True
            return
        self.ctx.expect.envelope(c, "V2-REF-02", data, ex, "refill_status")
        status = self.ctx.expect.refill_word(c, "V2-REF-02", data["status"], ex)
        if status is None:
            order.refill_done = True
            return
        prev = order.refill_last
        if prev is not None:
            c.require("V2-REF-02", status.rank >= prev.rank and not (prev.final and status != prev),
                      f"refill {order.refill_id} went from {d.refill_statuses[prev]} to {data['status']}", ex)
        order.refill_last = status
        order.refill_done = status.final

    def step(self, text: str) -> None:
        self.log.append(self.ctx.session.redactor(text))

    def guarded(self, fn: Any, *args: Any) -> None:
        """Run one rule: never raise into hypothesis (a raise would replay paid steps)."""
        if self.ctx.stopped:
            return
        try:
            fn(*args)
        except StopRun as exc:
            self.ctx.stop(str(exc))
        except SpendCapReached as exc:
            self.step(f"not sent: {exc}")
        except Exception as exc:  # noqa: BLE001 - a bug in the suite; stop safely and say so
            import traceback

            self.ctx.notes.append("internal error in the orders tier: " + "".join(
                traceback.format_exception_only(type(exc), exc)).strip())
            self.ctx.internal_errors.append(traceback.format_exc())
            self.ctx.stop(f"internal error in the suite ({type(exc).__name__}: {exc})")
