"""The proxy's report: each deviation the client's traffic showed, with the exchange that showed it.

JSON (``--report FILE.json``) or one self-contained HTML page (``--report FILE.html``, in the look
every page shares: conformance/pages.py): a summary (exchanges, deviations by requirement, clients,
timings), then each exchange with its bodies (cut, with a note, past ``REQUEST_CHARS`` and
``RESPONSE_CHARS``) and time, deviations highlighted, each deviating exchange with copy-as-curl;
and the journal as HAR 1.2 (``--har FILE``). Everything in them comes from the journal, where the
keys are already redacted; a curl command reads them from ``$MOCKPANEL_KEY`` (``_2``, ``_3`` ...).
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from conformance import pages
from conformance.catalogue import load_catalogue
from conformance.curl import raw_command
from conformance.fingerprint import Fingerprint
from conformance.profile import Dialect, load_dialect
from .._har import har_log
from .journal import BODY_BYTES, ForwardedExchange, ProxyJournal
from .judge import findings, guess

MAX_DEVIATIONS = 1000
SHOWN_EXCHANGES = 1000  # on the page: every deviating one, then the others in order up to this many
REQUEST_CHARS = 2000  # of a body on the page (the JSON keeps what the journal kept; the HAR too)
RESPONSE_CHARS = 4000
TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class ProxyReport:
    upstream: str
    dialect: Dialect
    chosen: str  # how the dialect was chosen
    entries: list[ForwardedExchange]
    dropped: int
    fingerprint: Fingerprint | None
    keys: list[str] = field(default_factory=list)  # the keys seen, as shown (redacted), first seen first
    redact: Callable[[str], str] = field(default=lambda text: text, repr=False, compare=False)  # the journal's
    _deviations: list[dict[str, Any]] | None = None  # judged once, on first use

    def deviations(self) -> list[dict[str, Any]]:
        if self._deviations is None:
            self._deviations = self._judge()
        return self._deviations

    def variables(self) -> dict[str, str]:
        """Each key as shown -> the variable a curl command reads it from."""
        return {shown: "MOCKPANEL_KEY" + (f"_{i + 1}" if i else "") for i, shown in enumerate(self.keys)}

    def curl(self, entry: ForwardedExchange) -> str:
        """A command that sends ``entry``'s request again, keys as variables (never the key)."""
        command = raw_command(entry.method, entry.url, entry.request_headers, entry.request_body, self.variables())
        if len(entry.request_body.encode()) >= BODY_BYTES:
            command = f"# the journal kept {BODY_BYTES} bytes of the request body: this sends what it kept\n" + command
        return command

    def _judge(self) -> list[dict[str, Any]]:
        catalogue = load_catalogue()
        by_n = {e.n: e for e in self.entries}
        out = []
        for f in findings(self.dialect, self.entries, MAX_DEVIATIONS):
            req = catalogue.by_id.get(f.rid)
            n = f.exchanges[0].n if f.exchanges else None
            entry = by_n.get(n) if n is not None else None
            out.append({
                "requirement": f.rid, "title": req.title if req else "", "severity": req.severity if req else "",
                "message": f.message, "exchange": n,
                "request": f"{entry.method} {entry.url} {_fields(entry)}" if entry else "",
                "response": f"HTTP {entry.status} {entry.response_body[:300]}" if entry else "",
                "curl": self.curl(entry) if entry else "",
            })
        return out

    def summary(self) -> dict[str, Any]:
        """The counts a reader wants first: deviations by requirement, clients, timings."""
        deviations = self.deviations()
        by_rid: dict[str, dict[str, Any]] = {}
        for d in deviations:
            row = by_rid.setdefault(d["requirement"], {"requirement": d["requirement"], "title": d["title"],
                                                       "severity": d["severity"], "deviations": 0, "exchanges": []})
            row["deviations"] += 1
            if d["exchange"] not in row["exchanges"]:
                row["exchanges"].append(d["exchange"])
        deviating = {d["exchange"] for d in deviations}
        clients: dict[str, dict[str, Any]] = {}
        for e in self.entries:
            who = clients.setdefault(client_of(e), {"client": client_of(e), "exchanges": 0, "deviating": 0})
            who["exchanges"] += 1
            who["deviating"] += e.n in deviating
        return {
            "exchanges": len(self.entries), "exchanges_dropped": self.dropped, "deviations": len(deviations),
            "deviating_exchanges": len(deviating),
            "by_requirement": sorted(by_rid.values(), key=lambda r: (-r["deviations"], r["requirement"])),
            "clients": sorted(clients.values(), key=lambda c: -c["exchanges"]),
            "timings": timings(self.entries),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "upstream": self.upstream, "dialect": self.dialect.name, "dialect_chosen": self.chosen,
            "exchanges": len(self.entries), "exchanges_dropped": self.dropped,
            "deviations": self.deviations(),
            "summary": self.summary(),
            "journal": [{"n": e.n, "method": e.method, "url": e.url, "params": e.params, "status": e.status,
                         "error": e.error, "seconds": round(e.seconds, 4)} for e in self.entries],
        }


def _fields(entry: ForwardedExchange) -> str:
    return "&".join(f"{k}={v}" for k, v in entry.params.items())


def client_of(entry: ForwardedExchange) -> str:
    """Who sent ``entry``, as far as a request tells: its key (redacted) and its User-Agent."""
    key = next((v for k, v in entry.params.items() if k.lower() == "key"), "")
    if not key:
        key = entry.header("authorization", response=False) or entry.header("x-api-key", response=False) or "no key"
    agent = entry.header("user-agent", response=False) or "no User-Agent"
    return f"{key} · {agent[:80]}"


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def timings(entries: list[ForwardedExchange]) -> dict[str, Any]:
    """How long the panel took (the time from forwarding a request to its answer's last byte), in ms."""
    def row(group: list[ForwardedExchange]) -> dict[str, Any]:
        times = sorted(e.seconds for e in group)
        return {"count": len(times), "median_ms": _ms(statistics.median(times)),
                "p95_ms": _ms(times[min(len(times) - 1, int(len(times) * 0.95))]), "max_ms": _ms(times[-1])}

    if not entries:
        return {"count": 0, "by_action": []}
    actions: dict[str, list[ForwardedExchange]] = {}
    for e in entries:
        actions.setdefault(e.params.get("action", "") or "(no action)", []).append(e)
    return {**row(entries), "span_s": round(max(e.started + e.seconds for e in entries) - entries[0].started, 3),
            "by_action": [{"action": a, **row(g)} for a, g in sorted(actions.items(), key=lambda kv: -len(kv[1]))]}


def build(upstream: str, journal: ProxyJournal, dialect: str) -> ProxyReport:
    entries = journal.entries()
    found = guess(entries) if dialect == "auto" else None
    if dialect != "auto":
        chosen = f"--dialect {dialect}"
        name = dialect
    elif found is not None:
        chosen = f"--dialect auto, from the client's own traffic: {found.summary().splitlines()[0]}"
        name = found.best
    else:
        chosen = "--dialect auto: the traffic showed no balance or services answer to tell; judged as standard"
        name = "standard"
    return ProxyReport(upstream, load_dialect(name), chosen, entries, journal.dropped, found, journal.shown_keys(),
                       journal.redactor)


def write_report(report: ProxyReport, path: str) -> None:
    """The page or the JSON, through the journal's redactor once more (as the suite's reports are)."""
    text = to_html(report) if path.endswith(".html") else json.dumps(report.to_dict(), indent=1, ensure_ascii=False) + "\n"
    Path(path).write_text(report.redact(text), encoding="utf-8")


def write_har(journal: ProxyJournal, path: str, upstream: str) -> None:
    har = har_log([e.har() for e in journal.entries()], creator="mockpanel proxy",
                  comment=f"traffic to {upstream} through mockpanel proxy; keys redacted")
    Path(path).write_text(json.dumps(har, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _cut(text: str, limit: int, cut_before: bool, where: str) -> tuple[str, str]:
    """``text`` up to ``limit`` characters, and the note that says what is not shown."""
    if len(text) > limit:
        return text[:limit], f"{len(text) - limit:,} more characters not shown here; {where}"
    return text, ("cut in the journal (it keeps 4 MiB of an answer); the client got it whole" if cut_before else "")


def _exchange(report: ProxyReport, e: ForwardedExchange, found: list[dict[str, Any]], first: float) -> dict[str, Any]:
    request, request_note = _cut(e.request_body, REQUEST_CHARS, False, "the HAR file (--har) has the body")
    response, response_note = _cut(e.response_body, RESPONSE_CHARS, e.cut, "the HAR file (--har) has the answer")
    severe = any(d["severity"] != "warning" for d in found)
    return {
        "n": e.n, "method": e.method, "url": e.url, "action": e.params.get("action", ""), "status": e.status,
        "error": e.error, "ms": _ms(e.seconds), "at": f"+{e.started - first:.3f} s", "client": client_of(e),
        "fields": "\n".join(f"{k}={v}" for k, v in e.params.items()),
        "request_type": e.header("content-type", response=False), "request": request, "request_note": request_note,
        "response_type": e.header("content-type"), "response": response, "response_note": response_note,
        "size": e.response_size, "deviations": found, "kind": "failed" if severe else "warning",
        "curl": report.curl(e) if found else "",
    }


def context(report: ProxyReport) -> dict[str, Any]:
    """What the page shows, as plain values (the template escapes every one)."""
    deviations = report.deviations()
    by_n: dict[int | None, list[dict[str, Any]]] = {}
    for d in deviations:
        by_n.setdefault(d["exchange"], []).append(d)
    entries = report.entries
    shown = [e for e in entries if e.n in by_n][:SHOWN_EXCHANGES]
    room = SHOWN_EXCHANGES - len(shown)
    shown_ns = {e.n for e in shown} | {e.n for e in [e for e in entries if e.n not in by_n][:max(0, room)]}
    first = entries[0].started if entries else 0.0
    summary = report.summary()
    severities = Counter(d["severity"] for d in deviations)
    return {
        "report": report, "s": summary, "variables": report.variables(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(first)) if entries else "",
        "failures": sum(n for s, n in severities.items() if s != "warning"), "warnings": severities.get("warning", 0),
        "exchanges": [_exchange(report, e, by_n.get(e.n, []), first) for e in entries if e.n in shown_ns],
        "hidden": len(entries) - len(shown_ns),
    }


def to_html(report: ProxyReport) -> str:
    return pages.render("proxy.html", TEMPLATES, **context(report))
