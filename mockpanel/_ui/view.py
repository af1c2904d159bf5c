"""What the dashboard shows: the panel read into plain values for the templates.

Every value here is safe to put on a page: keys only in their redacted form, the
journal's entries as the journal keeps them (key redacted).
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode
from datetime import datetime, timezone
from typing import Any, Mapping

from jinja2 import pass_context

from .._domain.lifecycle import Status
from .._domain.money import shown_text
from .._powers.control import Control
from .._control_api.listing import ORDERS, list_keys, list_orders, list_refills
from .._control_api.listing import count_statuses

PAGE = 25  # orders a page shows unless the query says otherwise
JOURNAL_SHOWN = 40
REFILLS_SHOWN = 20
_ORDER_QUERY = ("key", "status", "service", "link", "before", "after", "limit")


def money(value: Any, places: int = 2) -> str:
    """An exact amount with at least ``places`` decimals (the dialect's), never an exponent:
    "0.4725000" -> "0.47250" with 5, "0E-7" -> "0.00000"."""
    try:
        return shown_text(Decimal(str(value)), places)
    except InvalidOperation:
        return str(value)


@pass_context
def money_filter(ctx: Any, value: Any) -> str:
    """``money`` as the page's filter: with the decimals of the dialect the page shows (``money_places``)."""
    return money(value, int(ctx.get("money_places", 2)))


def clock_text(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def ago(now: float, t: float) -> str:
    """How long before ``now`` (virtual seconds) ``t`` was: "12s", "4m", "3h", "2d"."""
    s = max(0.0, now - t)
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if s >= size:
            return f"{int(s // size)}{unit}"
    return f"{int(s)}s"


def order_query(query: Mapping[str, str]) -> dict[str, Any]:
    """The order filters of the page's query, checked as GET /_mock/orders checks them."""
    wanted = {k: v for k, v in query.items() if k in _ORDER_QUERY and v.strip()}
    return ORDERS.parse(wanted)


def _answer_text(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 4000 else text[:3997] + "..."


def _failed(e: Any) -> bool:
    return (e.status not in (200, None) or e.fault not in (None, "latency") or e.state == "abandoned"
            or (isinstance(e.response, dict) and "error" in e.response))


def journal_rows(control: Control, now: float) -> list[dict[str, Any]]:
    rows = []
    for e in reversed(control.journal.entries(limit=JOURNAL_SHOWN)):
        fields = " ".join(f"{k}={v}" for k, v in e.params.items() if k != "action")
        rows.append({
            "seq": e.seq, "at": clock_text(e.at), "ago": ago(now, e.at), "action": e.action or "(no action)",
            "key": e.key or "(no key)", "fields": fields if len(fields) <= 300 else fields[:297] + "...",
            "outcome": e.outcome(), "state": e.state, "fault": e.fault, "failed": _failed(e),
            "answer": "" if e.response is None else _answer_text(e.response), "ms": f"{e.latency * 1000:.1f}",
        })
    return rows


def ledger_of(control: Control, kid: str) -> dict[str, Any] | None:
    panel = control.panel
    with panel.lock:
        account = panel.account_book.by_id.get(kid)
        if account is None:
            return None
        ledger = control.ledger(account.key)
    entries = [{**e, "at": clock_text(e["at"]), "time": clock_text(e["at"])[5:], "sign": "+" if e["kind"] in ("deposit", "refund") else "-"}
               for e in reversed(ledger["entries"])]
    return {"key": f"key#{kid[:8]}", "key_id": kid, "balance": ledger["balance"], "currency": ledger["currency"],
            "entries": entries[:100], "more": max(0, len(entries) - 100)}


def context(control: Control, query: Mapping[str, str], base: str) -> dict[str, Any]:
    """Everything the page shows, for these filters (``query``: the page's query string)."""
    panel = control.panel
    problem = None
    try:
        q = order_query(query)
    except ValueError as exc:
        problem, q = str(exc), ORDERS.parse({})
    if not query.get("limit"):
        q["limit"] = PAGE
    clock = control.clock()
    now = clock["now"]
    orders = list_orders(panel, q, control.dialect)
    for o in orders["orders"]:
        o["ago"] = ago(now, o["created"])
    counts = count_statuses(panel, q)
    keys = list_keys(panel, {"limit": 100, "offset": 0}, control.dialect)
    ledger_key = query.get("ledger", "")
    kept = {k: v for k, v in query.items() if k in (*_ORDER_QUERY, "ledger") and v}

    def link(**changes: Any) -> str:
        """This page's URL with some query values changed (None drops one)."""
        merged = {**kept, **{k: v for k, v in changes.items()}}
        shown = urlencode({k: v for k, v in merged.items() if v not in (None, "")})
        return base + ("?" + shown if shown else "")

    filters = {k: ("" if q.get(k) is None else q[k]) for k in ("key", "status", "service", "link")}
    return {
        "base": base,
        "link": link,
        "query": kept,
        "dialect": control.dialect.name,
        "money_places": control.dialect.money_decimals,
        "clock": {**clock, "text": clock_text(now)},
        "keys": keys,
        "ledger": ledger_of(control, ledger_key) if ledger_key else None,
        "orders": orders,
        "counts": counts,
        "total": sum(counts.values()),
        "statuses": [s.value for s in Status],
        "services": [{"id": s["service"], "name": s["name"]} for s in control.services()],
        "filters": filters,
        "problem": problem,
        "refills": list_refills(panel, {"limit": REFILLS_SHOWN, "key": None, "status": None, "order": None, "before": None}),
        "faults": [f.to_json() for f in control.faults.list()],
        "journal": journal_rows(control, now),
        "journal_size": len(control.journal),
    }
