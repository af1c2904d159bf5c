"""Judging a client's traffic one exchange at a time, with the conformance suite's checks.

What one exchange can show: the shapes and JSON kinds of each answer, the status and error
words of the dialect, the envelope and the decimals; and, once a ``services`` answer was
seen, the money arithmetic of each charge against the listed rate for the orders the client
placed through the proxy. ``--dialect auto`` names the dialect from the same traffic
(``observe``): the proxy never sends a probe of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import orjson

from conformance.actions import errors_of
from conformance.catalogue import load_catalogue
from conformance.expect import Expect, ServiceInfo, StatusInfo
from conformance.fingerprint import Fingerprint, Observation, balance_features, score, services_features
from conformance.profile import Dialect, available_dialects, load_dialect
from conformance.rules import (
    COUNTED_BY_LINES,
    ONE_PACKAGE,
    SUBSCRIPTION,
    TYPE_RULES,
    ErrorCode,
    Status,
    cost,
)
from conformance.session import NOT_JSON, Exchange, normalize_action
from conformance.verdicts import Checks, Finding
from .journal import ForwardedExchange

def exchange_of(entry: ForwardedExchange) -> Exchange:
    """The journal entry as the conformance checks read an exchange."""
    data: Any = NOT_JSON
    if entry.error is None and not entry.cut and entry.response_body.strip():
        try:
            data = orjson.loads(entry.response_body)
        except orjson.JSONDecodeError:
            data = NOT_JSON
    return Exchange(n=entry.n, method=entry.method, url=entry.url, params=entry.params, status=entry.status,
                    content_type=entry.header("content-type"), body=entry.response_body[:4000],
                    elapsed=entry.seconds, error=entry.error, data=data)


@dataclass
class Placed:
    service: str
    units: int | None  # None: the charge cannot be priced from the request (subscriptions)
    quantity: int


@dataclass
class TrafficJudge:
    dialect: Dialect
    expect: Expect = field(init=False)
    services: dict[str, ServiceInfo] = field(default_factory=dict)
    orders: dict[str, Placed] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.expect = Expect(self.dialect, load_catalogue())
        # The checks of an action's answer beyond every answer's: an action of the table without its own
        # (conformance/actions.py) is judged by those and by its errors' words only.
        self.checks: dict[str, Callable[[Checks, Exchange, Any], None]] = {
            "services": self._services, "balance": self._balance, "status": self._status, "add": self._add,
            "refill_status": self._refill_status, "refill": self._refill, "cancel": self._cancel,
        }

    def judge(self, entry: ForwardedExchange) -> Checks:
        """What ``entry`` shows, each deviation once: the answer is read once, and the checks of each action
        are given it."""
        c = Checks()
        ex = exchange_of(entry)
        if entry.error is not None:
            c.fail("V2-GEN-06", f"no answer from the panel: {entry.error}", ex)
            return c
        if entry.cut:  # longer than the journal keeps: forwarded whole, not judged
            return c
        action = normalize_action(entry.params.get("action"))
        data = self.expect.response(c, ex)
        if data is NOT_JSON:
            return c
        found = self.expect.error_message(data)
        if found is not None:
            self._error(c, ex, action, found[0])
        elif action in self.checks:
            self.checks[action](c, ex, data)
        return c

    def _error(self, c: Checks, ex: Exchange, action: str, message: Any) -> None:
        codes, rid = errors_of(action)  # the action table's: every action may answer a bad key, a bad action
        c.require("V2-GEN-05", isinstance(message, str) and bool(message.strip()),
                  f"the error field is {message!r}, not a non-empty string", ex)
        if ex.status is not None and ex.status < 500:
            c.require("V2-GEN-03", ex.status == 200, f"the error came with HTTP {ex.status}", ex)
        if isinstance(message, str) and not any(self.expect.matches(code, message, None) for code in codes):
            words = ", ".join(repr(self.dialect.errors[ErrorCode(code)]) for code in codes[:6])
            c.fail(rid, f"the error {message!r} is none of the dialect {self.dialect.name!r}'s words for "
                   f"{action or 'a request without an action'} ({words}…)", ex)

    def _services(self, c: Checks, ex: Exchange, data: Any) -> None:
        self.services.update({s.id: s for s in self.expect.services(c, ex, data) or []})

    def _balance(self, c: Checks, ex: Exchange, data: Any) -> None:
        self.expect.balance(c, ex, data)

    def _refill_status(self, c: Checks, ex: Exchange, data: Any) -> None:
        e = self.expect
        if "refill" in ex.params and isinstance(data, dict):
            e.refill_word(c, "V2-REF-02", data.get("status"), ex)
        elif "refills" in ex.params:
            tokens = _tokens(ex.params["refills"])
            bad = {str(i.get("refill")) for i in data if isinstance(i, dict) and e.item_error(i.get("status"))} \
                if isinstance(data, list) else set()
            e.refill_batch_status(c, ex, tokens, unknown=bad, data=data)

    def _refill(self, c: Checks, ex: Exchange, data: Any) -> None:
        if "order" in ex.params and isinstance(data, dict):
            c.require("V2-REF-01", "refill" in data and self.expect.id_kind_ok(data.get("refill"), self.dialect.refill_single),
                      f"refill answered {ex.body[:120]!r}, not {{\"refill\": id}} with the dialect's id kind", ex)

    def _cancel(self, c: Checks, ex: Exchange, data: Any) -> None:
        c.require("V2-CAN-01", isinstance(data, list) and all(isinstance(i, dict) and "order" in i for i in data),
                  f"cancel answered {ex.body[:120]!r}, not a list of {{\"order\", \"cancel\"}} items", ex)

    def _add(self, c: Checks, ex: Exchange, data: Any) -> None:
        d = self.dialect
        if not c.require("V2-ADD-01", isinstance(data, dict) and "order" in data,
                         f"add answered {ex.body[:120]!r}, not {{\"order\": id}}", ex):
            return
        value = data["order"]
        c.require("V2-ADD-01", self.expect.id_kind_ok(value, d.add_order_kind),
                  f"the order id {value!r} is not {d.add_order_kind} as the dialect {d.name!r} writes it", ex)
        self.expect.envelope(c, "V2-ADD-01", data, ex, "add")
        p = ex.params
        quantity = _int(p.get("quantity"))
        runs = _int(p.get("runs"))
        service = self.services.get(str(p.get("service", "")))
        rule = TYPE_RULES.get(service.type or "") if service is not None else None
        units: int | None = None
        if rule is not None and rule.counted == COUNTED_BY_LINES and rule.lines_field:
            units = len([line for line in p.get(rule.lines_field, "").splitlines() if line.strip()])
        elif rule is not None and rule.counted not in (SUBSCRIPTION, ONE_PACKAGE):
            units = quantity * (runs or 1) if quantity is not None else None
        elif rule is not None and rule.counted == ONE_PACKAGE:
            units = 1
        self.orders[str(value)] = Placed(str(p.get("service", "")), units, units or 0)

    def _status(self, c: Checks, ex: Exchange, data: Any) -> None:
        e = self.expect
        if "order" in ex.params:
            info = e.single_status(c, ex, data)
            if info is not None:
                self._charge(c, ex, ex.params["order"], info)
            return
        tokens = _tokens(ex.params.get("orders", ""))
        if not isinstance(data, dict):
            e.status_batch(c, ex, tokens, unknown=set(), data=data)
            return
        unknown = {t for t in tokens if not (isinstance(data.get(t), dict) and "status" in data[t])}
        e.status_batch(c, ex, tokens, unknown=unknown, data=data)
        for token in tokens:
            if token not in unknown:
                info = e.status_item(c, data[token], f"order {token}", ex)
                if info is not None:
                    self._charge(c, ex, token, info)

    def _charge(self, c: Checks, ex: Exchange, order: str, info: StatusInfo) -> None:
        placed = self.orders.get(str(order).strip())
        service = self.services.get(placed.service) if placed is not None else None
        if placed is None or service is None or service.rate is None or placed.units is None or info.charge is None:
            return  # not placed through the proxy, or no services answer seen: nothing to price it by
        rule = TYPE_RULES.get(service.type or "")
        price = cost(service.rate, placed.units, bool(rule and rule.flat))
        unit = Decimal(1).scaleb(-self.dialect.money_decimals)
        label = f"order {order}"
        if info.status is Status.CANCELED:
            c.require("V2-ORD-07", abs(info.charge) <= unit / 2, f"{label} is Canceled but charges {info.charge}", ex)
        elif info.status is Status.PARTIAL and info.remains is not None and placed.quantity > 0:
            expected = price * (placed.quantity - info.remains) / placed.quantity
            c.require("V2-ORD-06", abs(info.charge - expected) <= unit * 3 / 2,
                      f"{label} is Partial with remains {info.remains}: the charge should be {expected}, "
                      f"got {info.charge}", ex)
        elif info.status is not None:
            c.require("V2-ORD-02", abs(info.charge - price) <= unit / 2,
                      f"{label}: charge {info.charge}, but service {service.id}'s listed rate {service.rate} for "
                      f"{placed.units} {'(flat)' if rule and rule.flat else 'units'} gives {price}", ex)


def _tokens(raw: str) -> list[str]:
    raw = raw.strip().strip("[]")
    return [t.strip().strip('"') for t in raw.split(",") if t.strip()]


def _int(value: Any) -> int | None:
    text = str(value).strip() if value is not None else ""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


def observe(entries: list[ForwardedExchange]) -> Observation:
    """The fingerprint's features that the client's own traffic shows (no probe sent)."""
    seen = Observation()
    f = seen.features
    paths: dict[str, int] = {}
    for entry in entries:
        ex = exchange_of(entry)
        if not ex.is_json:
            continue
        path = urlsplit(entry.url).path.rstrip("/") or "/"
        paths[path] = paths.get(path, 0) + 1
        data, action = ex.data, ex.action
        if action == "balance" and isinstance(data, dict) and "balance" in data and "balance.keys" not in f:
            f["content_type"] = ex.content_type.split(";")[0].strip()
            f["pretty_json"] = entry.response_body.lstrip().startswith("{\n")
            f.update(balance_features(data))
        elif action == "services" and isinstance(data, list) and data and isinstance(data[0], dict):
            f.update(services_features(data))
        elif action == "status" and "orders" in ex.params and isinstance(data, dict):
            for item in data.values():
                if isinstance(item, str) or (isinstance(item, dict) and set(item) == {"error"}):
                    f["batch.item_error"] = "string" if isinstance(item, str) else "nested"
    if paths:
        f["endpoint"] = max(paths, key=lambda p: paths[p])
    return seen


def guess(entries: list[ForwardedExchange]) -> Fingerprint | None:
    """``--dialect auto``: the closest profile to the traffic seen, or None if it showed nothing."""
    observation = observe(entries)
    if len(observation.features) <= 1:
        return None
    return score(observation, {n: load_dialect(n) for n in available_dialects()})


def findings(dialect: Dialect, entries: list[ForwardedExchange], limit: int = 1000) -> list[Finding]:
    """Every deviation the entries show, in the order of the exchanges, at most ``limit``."""
    judge = TrafficJudge(dialect)
    out: list[Finding] = []
    for entry in entries:
        out += judge.judge(entry).findings
        if len(out) >= limit:
            return out[:limit]
    return out
