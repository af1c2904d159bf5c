"""What the dashboard shows: the panel read into plain values for the templates.

Every value here is safe to put on a page: keys only in their redacted form, the
journal's entries as the journal keeps them (key redacted), and any key of the panel that a client
pasted into a link, a comment or another field hidden too (``scrub``).
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode
from datetime import datetime, timezone
from typing import Any, Mapping

from jinja2 import pass_context

from conformance.actions import names as action_names

from .._domain.accounts import redact_id
from .._domain.lifecycle import Status
from .._domain.money import shown_text
from .._panel.scrub import scrub
from .._powers.control import Control
from .._powers.faults import KINDS
from .._control_api.listing import ORDERS, list_keys, list_orders, list_refills
from .._control_api.listing import count_statuses

PAGE = 25  # orders a page shows unless the query says otherwise
JOURNAL_SHOWN = 40
REFILLS_SHOWN = 20
SERVICES_INLINE = 100  # a catalogue up to this size is a list on the page; a bigger one is searched (/services)
SERVICES_FOUND = 50  # services one search answers at most
LINK_SHOWN = 26  # characters of a link in the orders table
# Every fault kind but those that change the catalogue (they need a service and a rate the form does not ask for).
FAULT_KINDS = tuple(kind for kind in KINDS if kind not in ("disable", "reprice"))
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


def short_link(link: str, width: int = LINK_SHOWN) -> str:
    """A link in ``width`` characters that keeps what tells links apart: without its scheme and
    ``www.``, its middle cut ("instagram.com/p/…/Cx8812") when too long. Most links of one panel share
    their start, so cutting the end would make every row look the same."""
    text = link
    for prefix in ("https://", "http://"):
        if text.lower().startswith(prefix):
            text = text[len(prefix):]
            break
    if text.lower().startswith("www."):
        text = text[4:]
    if len(text) <= width:
        return text
    head = max(8, width * 2 // 5)
    return text[:head] + "…" + text[-(width - head - 1):]


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
    return {"key": redact_id(kid), "key_id": kid, "balance": ledger["balance"], "currency": ledger["currency"],
            "entries": entries[:100], "more": max(0, len(entries) - 100)}


def services_found(control: Control, text: str, limit: int = SERVICES_FOUND) -> dict[str, Any]:
    """The services whose id or name holds ``text`` (case aside), at most ``limit``, in catalogue order:
    a catalogue of 5,000 services is searched, never sent whole to the page."""
    wanted = text.strip().lower()
    catalog = control.panel.catalog
    exact = catalog.get(int(wanted)) if wanted.isascii() and wanted.isdigit() and len(wanted) < 19 else None
    found: list[dict[str, Any]] = [] if exact is None else [{"id": exact.id, "name": exact.name}]  # its id first
    total = len(found)
    for s in catalog:
        if s is exact or (wanted and wanted not in str(s.id) and wanted not in s.name.lower()):
            continue
        total += 1
        if len(found) < limit:
            found.append({"id": s.id, "name": s.name})
    return scrub(control.panel, {"services": found, "total": total})


def api_urls(control: Control, origin: str, base: str) -> list[str]:
    """The panel API's address(es) as a client reaches this server (a hub's panel under /p/<id> included)."""
    root = base.removesuffix("/_mock/ui")
    return [origin + root + path for path in control.dialect.endpoints]


def _when(now: float, t: float | None) -> str:
    if t is None:
        return "never"
    return f"in {ago(t, now)}" if t > now else f"{ago(now, t)} ago"


def order_detail(control: Control, order_id: int) -> dict[str, Any]:
    """One order for its page: what the control API says of it (GET /_mock/orders/ID), its plan as a
    timeline of statuses with when each comes, its money (charge, refunds) and its refills."""
    order = control.order(order_id)  # KeyError: no such order
    panel = control.panel
    now = control.clock()["now"]
    plan = order["plan"]
    with panel.lock:
        kid = panel.find_order(order_id).key
        account = panel.account_book.by_id.get(kid)
    steps = [{"what": "placed", "status": "Pending", "at": order["created"]}]
    if plan["stuck"]:
        steps.append({"what": "never starts (stuck)", "status": "Pending", "at": None})
    else:
        if plan["starts_at"] is not None and order["quantity"]:
            steps.append({"what": "starts", "status": "In progress", "at": plan["starts_at"]})
        steps.append({"what": "ends", "status": plan["outcome"], "at": plan["ends_at"]})
    for step in steps:
        at = step["at"]
        step["text"] = "never" if at is None else clock_text(at)
        step["when"] = _when(now, at)
        step["past"] = at is not None and at <= now
    entries = []
    if account is not None:
        entries = [{**e, "at": clock_text(e["at"]), "time": clock_text(e["at"])[5:],
                    "sign": "+" if e["kind"] in ("deposit", "refund") else "-"}
                   for e in control.ledger(account.key)["entries"] if e["order"] == order_id]
    refills = list_refills(panel, {"limit": REFILLS_SHOWN, "key": None, "status": None, "order": order_id, "before": None})
    per_hour = plan["per_hour"]
    return scrub(panel, {**order, "steps": steps, "ledger": entries, "refills": refills["refills"],
            "per_hour": None if per_hour is None else f"{per_hour:,.0f}",
            "eta": _when(now, plan["ends_at"]) if order["status"] in ("Pending", "In progress") else None})


def context(control: Control, query: Mapping[str, str], base: str, origin: str = "") -> dict[str, Any]:
    """Everything the page shows, for these filters (``query``: the page's query string; ``origin``:
    this server's scheme and host as the browser reached it, for the API's address)."""
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
    # Every key the panel knows hidden in what the page shows (links, comments, the journal's fields).
    return scrub(panel, {
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
        "services": _services(control),
        "services_total": len(panel.catalog),
        "actions": [a for a in action_names() if a in control.dialect.actions],
        "fault_kinds": FAULT_KINDS,
        "api_urls": api_urls(control, origin, base),
        "filters": filters,
        "problem": problem,
        "refills": list_refills(panel, {"limit": REFILLS_SHOWN, "key": None, "status": None, "order": None, "before": None}),
        "faults": [f.to_json() for f in control.faults.list()],
        "journal": journal_rows(control, now),
        "journal_size": len(control.journal),
    })


def _services(control: Control) -> list[dict[str, Any]] | None:
    """The catalogue for the service filter's list, or None when it is too big to send (the page searches)."""
    catalog = control.panel.catalog
    if len(catalog) > SERVICES_INLINE:
        return None
    return [{"id": s.id, "name": s.name} for s in catalog]
