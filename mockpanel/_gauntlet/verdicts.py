"""Money-safety verdicts: what the journal shows a client did with real money at stake, whatever the
client's own tests say. Each finding names the requests (journal numbers) and the money at stake.

API v2 has no idempotency key: every ``add`` that reaches a panel is charged, so the costly bugs are
the ones a client makes when an answer goes missing. The rules (docs/gauntlet.md):

- ``duplicate-order``: the same key, service, link and quantity placed again after an add whose
  answer the client did not get (lost, late, a 5xx or a page that is not JSON);
- ``repeated-refill`` and ``repeated-cancel``: the same order's refill or cancel sent again;
- ``polling-rate``: more requests from one key than the dialect's documented rate limit allows in its
  window of real time (``MAX_PER_MINUTE`` a minute where the dialect documents none);
- ``out-of-range``: an add for a service the panel does not list, or outside its min and max;
- ``refused-key``: a key the panel refused, sent again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Iterable

from .._dialects.profile import Dialect
from .._domain.money import quantize
from .._domain.numbers import parse_int
from .._powers.control import Control
from .._panel.scrub import scrub
from .._powers.journal import Request

# A documented per-key limit of real panels' APIs (https://github.com/SmmTGlux/smm-api-php: 120 a minute).
MAX_PER_MINUTE = 120
VERDICTS = ("duplicate-order", "repeated-refill", "repeated-cancel", "polling-rate", "out-of-range", "refused-key")


@dataclass(frozen=True)
class Finding:
    verdict: str  # one of VERDICTS
    message: str
    requests: tuple[int, ...]  # journal numbers (seq), in order
    at_stake: Decimal  # money the client spent, or may have, that it did not mean to

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}: one of {', '.join(VERDICTS)}")

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "message": self.message, "requests": list(self.requests),
                "at_stake": str(self.at_stake)}


def judge(control: Control) -> list[Finding]:
    """Every money-safety finding of what the panel behind ``control`` received, in journal order; a
    message quotes what a client sent (a link, a service field), every key of the panel hidden there."""
    entries = sorted(control.journal_entries(), key=lambda e: e.seq)
    findings = [*_duplicates(control, entries), *_repeated(entries, "refill"),
                *_repeated(entries, "cancel"), *_polling(control.dialect, entries),
                *_out_of_range(control, entries), *_refused_keys(control, entries)]
    shown = [replace(f, message=scrub(control.panel, f.message)) for f in findings]
    return sorted(shown, key=lambda f: f.requests[0] if f.requests else 0)


def _answered_cleanly(e: Request) -> bool:
    """Did the client get the panel's answer (not lost, not replaced by a fault's)?"""
    return e.state == "answered" and e.fault in (None, "latency") and e.status == 200 and e.response is not None


def _late(e: Request) -> bool:
    return e.fault == "latency"


def _money(control: Control, order_id: int) -> tuple[Decimal, str]:
    """An order's price, at the dialect's decimals, and its account's currency."""
    try:
        order = control.panel.find_order(order_id)
    except KeyError:
        return Decimal(0), ""
    return quantize(order.charge, control.dialect.money_decimals), control.panel.account_by_id(order.key).currency


def _duplicates(control: Control, entries: list[Request]) -> Iterable[Finding]:
    groups: dict[tuple[str, str, str, str], list[Request]] = {}
    for e in entries:
        if e.action == "add":
            ident = (e.key_id, e.get("service", "").strip(), e.get("link", "").strip(), e.get("quantity", "").strip())
            groups.setdefault(ident, []).append(e)
    for (_, service, link, quantity), adds in groups.items():
        # The first add the panel placed whose answer the client did not get as sent: anything sent again
        # after it is a second order wherever the panel takes it (this one may refuse an active link).
        blind = next((i for i, e in enumerate(adds) if e.order is not None and (not _answered_cleanly(e) or _late(e))),
                     None)
        if blind is None or blind == len(adds) - 1:
            continue
        first, again = adds[blind], adds[blind + 1:]
        first_order = first.order
        price, currency = _money(control, first_order) if first_order is not None else (Decimal(0), "")
        placed = [o for o in (e.order for e in again) if o is not None]
        charged = sum((_money(control, o)[0] for o in placed), Decimal(0))
        at_stake = charged + price * (len(again) - len(placed))
        why = f"its answer was lost ({first.fault})" if first.fault not in (None, "latency") else \
            "its answer came late" if _late(first) else f"it was answered with HTTP {first.status}"
        sent = ", ".join(f"#{e.seq} " + (f"placed order {e.order}" if e.order is not None else
                                        "refused by this panel (a panel that takes a link twice charges it)")
                         for e in again)
        yield Finding(
            "duplicate-order",
            f"add service={service} link={link} quantity={quantity}: #{first.seq} placed order {first_order} "
            f"({price} {currency}) but {why}, and the client sent it again without checking: {sent}; "
            f"{at_stake} {currency} at stake".replace("  ", " "),
            (first.seq, *(e.seq for e in again)), at_stake)


def _repeated(entries: list[Request], action: str) -> Iterable[Finding]:
    seen: dict[tuple[str, int], Request] = {}
    for e in entries:
        if e.action != action:
            continue
        for order_id in e.ids:
            first = seen.setdefault((e.key_id, order_id), e)
            if first is not e:
                yield Finding(f"repeated-{action}", f"{action} of order {order_id} sent again: #{first.seq} then "
                              f"#{e.seq} (a panel may act on each one)", (first.seq, e.seq), Decimal(0))


def _polling(dialect: Dialect, entries: list[Request]) -> Iterable[Finding]:
    limit = dialect.family.rate_limit
    most, window_s = (limit.requests, float(limit.window)) if limit is not None else (MAX_PER_MINUTE, 60.0)
    by_key: dict[str, list[Request]] = {}
    for e in entries:
        by_key.setdefault(e.key_id, []).append(e)
    for requests in by_key.values():
        start = 0
        for end in range(len(requests)):
            while requests[end].wall - requests[start].wall >= window_s:
                start += 1
            if end - start + 1 > most:
                window = requests[start:end + 1]
                yield Finding("polling-rate", f"{len(window)} requests from one key within {window_s:g} s "
                              f"(#{window[0].seq} to #{window[-1].seq}): more than the {most} the panel documents; "
                              "real panels answer 429 or block the key", (window[0].seq, window[-1].seq), Decimal(0))
                break


def _out_of_range(control: Control, entries: list[Request]) -> Iterable[Finding]:
    catalog = control.panel.catalog
    for e in entries:
        if e.action != "add":
            continue
        sid = parse_int(e.get("service", ""))
        service = catalog.get(sid) if sid is not None else None
        if service is None or not service.enabled:
            yield Finding("out-of-range", f"#{e.seq} add for service {e.get('service')!r}, which the panel does not "
                          "list", (e.seq,), Decimal(0))
            continue
        quantity = parse_int(e.get("quantity", "")) if "quantity" in e.params else None
        if quantity is not None and not service.min <= quantity <= service.max:
            yield Finding("out-of-range", f"#{e.seq} add of quantity {quantity} for service {service.id}, whose "
                          f"min and max are {service.min} and {service.max}", (e.seq,), Decimal(0))


def _refused_keys(control: Control, entries: list[Request]) -> Iterable[Finding]:
    known = {account.id for account in control.panel.accounts()}
    refused: dict[str, list[Request]] = {}
    for e in entries:
        if e.key_id and e.key_id not in known:
            refused.setdefault(e.key_id, []).append(e)
    for requests in refused.values():
        if len(requests) > 1:
            yield Finding("refused-key", f"a key the panel refused ({requests[0].key}) was sent {len(requests)} times "
                          f"(#{requests[0].seq} to #{requests[-1].seq}): a client should stop and say so",
                          (requests[0].seq, requests[-1].seq), Decimal(0))
