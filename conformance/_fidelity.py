"""Fidelity: one client session replayed against a panel and its copy, answer by answer.

The session is what a client integrating with a panel sends: every action, good and bad inputs,
an order of each service type the panel sells, a bad key, the key in other spellings, an unknown
action, missing fields, statuses of unknown ids, a multi-status; with the orders tier, refill and
cancel of the orders it placed. Each side is sent the same requests through its own conformance
session (read-only tier: no add, refill or cancel; orders tier: every add within ``--max-spend``);
a request one side could not send is not sent to the other. Two answers agree when their HTTP
status, content type, JSON shape, JSON types and words are the same: values that differ between
any two panels (amounts, ids, counts) are compared by their form only (a string of digits with N
decimals, an integer, an id).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable

from .expect import ServiceInfo
from .profile import Dialect
from .rules import TYPE_RULES, cost, type_in_any_spelling
from .session import Exchange, Session, SessionConfig, SpendCapReached, StopRun, order_id
from ._strategies import PICK_COUNT, OrderSpec, Picks, dripfeed_spec, order_spec, with_units, without_field
from ._strategies import price as order_price
from ._values import decimal, flag, whole

UNKNOWN = "987654321001"
UNKNOWN2 = "987654321002"
UNKNOWN_SERVICE = "987654321"
_NUMBER = re.compile(r"-?\d+(?:\.(\d+))?")
_HEX_ID = re.compile(r"[0-9a-f]{24}")
_KEY_SPELLINGS: dict[str, Callable[[str], str]] = {
    "upper": str.upper, "lower": str.lower, "swapped": str.swapcase, "trailing": lambda k: k + "  ",
}


@dataclass
class Step:
    """One request of the session. ``key``: which spelling of the side's key (``real``, ``bad``, ``none``,
    or one of ``_KEY_SPELLINGS``); a field value ``@NAME`` is the id the answer of step NAME handed out."""

    name: str
    fields: dict[str, str]
    key: str = "real"
    cost: Decimal | None = None  # an add's worst case at the listed price


def key_spelling(key: str, how: str) -> str:
    """``key`` as the session sends it in the spelling ``how`` (the key itself if that spelling is no change)."""
    return _KEY_SPELLINGS[how](key) if how in _KEY_SPELLINGS else key


def services_info(data: Any) -> list[ServiceInfo]:
    """The listed services the session can order from, read leniently (an item it cannot read is left out)."""
    out = []
    for item in data if isinstance(data, list) else []:
        if not isinstance(item, dict) or whole(item.get("service")) is None:
            continue
        known = type_in_any_spelling(item.get("type"))
        rate, low, high = decimal(item.get("rate")), whole(item.get("min")), whole(item.get("max"))
        if known is None or rate is None or rate <= 0 or low is None or high is None or not 0 < low <= high:
            continue
        drip = flag(item.get("dripfeed"))
        out.append(ServiceInfo(id=str(item["service"]), name=str(item.get("name", "")), type=known.name, rate=rate,
                               min=low, max=high, refill=flag(item.get("refill")) is True,
                               cancel=flag(item.get("cancel")) is True,
                               dripfeed=drip if drip is not None else TYPE_RULES[known.name].dripfeed))
    return out


def read_steps() -> list[Step]:
    """The read-only part of the session: safe against any panel."""
    balance = {"action": "balance"}
    steps = [Step("services", {"action": "services"}), Step("balance", balance),
             Step("bad key", balance, key="bad"), Step("no key", balance, key="none"),
             Step("no action", {}), Step("unknown action", {"action": "mockpanel_no_such_action"})]
    steps += [Step(f"key {how}", balance, key=how) for how in _KEY_SPELLINGS]
    steps += [Step("status without id", {"action": "status"}),
              Step("status of an unknown id", {"action": "status", "order": UNKNOWN}),
              Step("status of a malformed id", {"action": "status", "order": "abc"}),
              Step("multi-status of unknown ids", {"action": "status", "orders": f"{UNKNOWN},{UNKNOWN2}"}),
              Step("refill_status of an unknown id", {"action": "refill_status", "refill": UNKNOWN}),
              Step("services, bad key", {"action": "services"}, key="bad")]
    return steps


def order_steps(services: list[ServiceInfo], dialect: Dialect, link: str) -> list[Step]:
    """The orders part: the cheapest valid add of each type sold, refused adds, and what follows an order."""
    by_type: dict[str, ServiceInfo] = {}
    for s in sorted(services, key=lambda s: (cost(s.rate or Decimal(0), s.min or 1, TYPE_RULES[s.type or "Default"].flat), int(s.id))):
        by_type.setdefault(s.type or "Default", s)
    steps: list[Step] = []
    first: Step | None = None
    specs: dict[str, OrderSpec] = {}
    picks = Picks((0,) * PICK_COUNT)  # the simplest choice of every field: the same session every time
    for name, service in sorted(by_type.items()):
        spec = specs[name] = order_spec(service, link, dialect, picks)
        step = Step(f"add {name}", dict(spec.params), cost=order_price(spec.service, spec.units, spec.flat))
        steps.append(step)
        if name == "Default":
            first = step
    default = by_type.get("Default")
    if default is not None and first is not None:
        base, price = first.fields, first.cost or Decimal(0)
        left_out = {s.missing: s.params for s in without_field(specs["Default"], dialect)}
        below = with_units(specs["Default"], max((default.min or 1) - 1, 0), "below min")
        above = with_units(specs["Default"], (default.max or 0) + 1, "above max")
        steps += [
            Step("add without link", left_out["link"], cost=price),
            # accepted, the panel picks the count: at most the max quantity (the orders tier's bound too)
            Step("add without quantity", left_out["quantity"], cost=order_price(default, default.max or 1, False)),
            Step("add below min", below.params, cost=price),
            Step("add above max", above.params, cost=order_price(default, above.units, above.flat)),
            Step("add of an unknown service", {**base, "service": UNKNOWN_SERVICE}, cost=price),
            Step("add with a word for quantity", {**base, "quantity": "abc"}, cost=price),
            Step("add, bad key", base, key="bad", cost=price),
        ]
        drip = [s for s in services if s.type == "Default" and s.dripfeed]
        if drip:
            spec = dripfeed_spec(drip[0], link, dialect)
            steps.append(Step("add drip-feed", {k: str(v) for k, v in spec.params.items()},
                              cost=order_price(spec.service, spec.units, spec.flat)))
    placed = [s for s in steps if s.name.startswith("add ") and s.name[4:] in by_type or s.name == "add drip-feed"]
    steps += [Step(f"status of {s.name[4:]}", {"action": "status", "order": f"@{s.name}"}) for s in placed]
    if placed:
        steps.append(Step("multi-status of the orders", {"action": "status", "orders": ",".join(
            f"@{s.name}" for s in placed[:10]) + f",{UNKNOWN}"}))
    if first is not None:
        steps += [Step("refill of an order", {"action": "refill", "order": f"@{first.name}"}),
                  Step("cancel of an order", {"action": "cancel", "orders": f"@{first.name}"}),
                  Step("status after cancel", {"action": "status", "order": f"@{first.name}"})]
    steps += [Step("refill of an unknown order", {"action": "refill", "order": UNKNOWN}),
              Step("cancel of an unknown order", {"action": "cancel", "orders": UNKNOWN}),
              Step("balance after the orders", {"action": "balance"})]
    return steps


@dataclass
class Side:
    """One panel's answers to the session, by step name (None: not sent)."""

    url: str
    answers: dict[str, Exchange | None] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # step -> why it was not sent


def play(session: Session, key: str, steps: list[Step], side: Side, only: set[str] | None = None) -> None:
    """Send ``steps`` through ``session`` (its safety rules hold), each side's ids put in for ``@NAME``."""
    session.redactor.add(key)
    session.follow(key)  # the spend cap follows this key's balance
    for step in steps:
        if only is not None and step.name not in only:
            side.skipped[step.name] = "not sent to the other panel"
            continue
        fields = dict(step.fields)
        for name, value in fields.items():
            fields[name] = ",".join(_placed(side, v[1:]) if v.startswith("@") else v for v in value.split(","))
        if step.key == "bad":
            fields["key"] = "mockpanel-fidelity-not-a-key"
        elif step.key != "none":
            fields["key"] = key_spelling(key, step.key)
        try:
            side.answers[step.name] = session.send(fields, cost=step.cost)
        except SpendCapReached as exc:
            side.skipped[step.name] = str(exc)
        except StopRun as exc:
            side.skipped[step.name] = str(exc)
            break


def _placed(side: Side, step: str) -> str:
    """The id the answer of ``step`` handed out on this side (an id no panel has, if none)."""
    ex = side.answers.get(step)
    return (order_id(ex.data) if ex is not None else None) or UNKNOWN


def form(ex: Exchange) -> dict[str, Any]:
    """What of an answer is compared: HTTP status, content type, and the answer's shape, types and words."""
    if ex.status is None:
        return {"answer": "no answer"}
    shown = ex.data if ex.is_json else ("(empty body)" if not ex.body.strip() else "(a body that is not JSON)")
    return {"status": ex.status, "content type": ex.content_type.split(";")[0].strip().lower(),
            "answer": shape(shown) if ex.is_json else shown}


def shape(value: Any) -> Any:
    """A JSON value with what differs between any two panels reduced to its form."""
    if isinstance(value, dict):
        out, n = {}, 0
        for k, v in value.items():
            if _HEX_ID.fullmatch(str(k)) or _NUMBER.fullmatch(str(k)):
                n += 1
                k = f"<id {n}>"  # a batch keyed by ids: the ids differ, their places do not
            out[k] = shape(v)
        return out
    if isinstance(value, list):
        return [shape(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return "<integer>"
    if isinstance(value, float):
        return "<number>"
    if isinstance(value, str):
        if _HEX_ID.fullmatch(value):
            return "<24-hex id>"  # before digits: an ObjectId may be all digits
        match = _NUMBER.fullmatch(value)
        if match:
            return f"<digits, {len(match.group(1) or '')} decimals>"
    return value


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two forms differ, each as one line (at most a few per answer)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        if list(a) != list(b):
            out.append(f"{path or 'answer'}: members {list(a)} vs {list(b)}")
        for k in a:
            if k in b:
                out += differences(a[k], b[k], f"{path}.{k}" if path else str(k))
        return out[:4]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items vs {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")][:4]
    return [] if a == b else [f"{path or 'answer'}: {str(a)[:120]!r} vs {str(b)[:120]!r}"]


@dataclass
class Agreement:
    step: str
    read_only: bool
    agree: bool
    differences: list[str]


@dataclass
class Fidelity:
    original: Side
    copy: Side
    results: list[Agreement]

    def figure(self, read_only: bool | None = None) -> tuple[int, int]:
        """(answers that agree, answers compared), of the read-only requests, the writes' part or all."""
        chosen = [r for r in self.results if read_only is None or r.read_only == read_only]
        return sum(r.agree for r in chosen), len(chosen)

    def lines(self) -> list[str]:
        out = []
        for label, part in (("read-only requests", True), ("requests with orders", False), ("all requests", None)):
            agree, total = self.figure(part)
            if total:
                out.append(f"{label}: {agree}/{total} answers agree ({100 * agree / total:.1f} %)")
        for r in self.results:
            if not r.agree:
                out.append(f"  differs: {r.step}: " + "; ".join(r.differences))
        for name, why in self.original.skipped.items():
            out.append(f"  not sent: {name}: {why[:160]}")
        return out


def compare(original: Side, copy: Side, steps: list[Step]) -> Fidelity:
    results = []
    reads = {s.name for s in read_steps()}
    for step in steps:
        a, b = original.answers.get(step.name), copy.answers.get(step.name)
        if a is None:  # the original was not asked (the cap, the budget): nothing to compare
            continue
        if b is None:  # the original answered and the copy did not: a difference, never a silent agreement
            found = [f"the copy gave no answer ({copy.skipped.get(step.name, 'not sent')[:160]})"]
            results.append(Agreement(step.name, step.name in reads, False, found))
            continue
        found = differences(form(a), form(b))
        results.append(Agreement(step.name, step.name in reads, not found, found))
    return Fidelity(original, copy, results)


def run_fidelity(original_url: str, copy_url: str, key: str, *, copy_key: str | None = None, tier: str = "read-only",
                 max_spend: Decimal = Decimal(0), link: str = "https://example.com/mockpanel-fidelity",
                 dialect: Dialect, rate: float = 0.0, timeout: float = 20.0, max_requests: int = 200) -> Fidelity:
    """Replay the session against the original, then the copy, and compare their answers."""
    def session(url: str) -> Session:
        return Session(SessionConfig(url=url, tier=tier, rate=rate, max_requests=max_requests, timeout=timeout,
                                     max_spend=max_spend))

    steps = read_steps()
    first, second = Side(original_url), Side(copy_url)
    one = session(original_url)
    try:
        play(one, key, steps, first)
        if tier == "orders":
            listed = first.answers.get("services")
            more = order_steps(services_info(listed.data if listed is not None else None), dialect, link)
            play(one, key, more, first)
            steps += more
    finally:
        one.close()
    two = session(copy_url)
    try:
        play(two, copy_key or key, steps, second, only=set(first.answers))
    finally:
        two.close()
    return compare(first, second, steps)
