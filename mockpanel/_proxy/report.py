"""The proxy's report: each deviation the client's traffic showed, with the exchange that showed it.

JSON (``--report FILE.json``) or one self-contained HTML page (``--report FILE.html``); and
the journal as HAR 1.2 (``--har FILE``). Everything in them comes from the journal, where the
keys are already redacted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from conformance.catalogue import load_catalogue
from conformance.fingerprint import Fingerprint
from conformance.profile import Dialect, load_dialect
from .._har import har_log
from .journal import ForwardedExchange, ProxyJournal
from .judge import findings, guess

MAX_DEVIATIONS = 1000


@dataclass
class ProxyReport:
    upstream: str
    dialect: Dialect
    chosen: str  # how the dialect was chosen
    entries: list[ForwardedExchange]
    dropped: int
    fingerprint: Fingerprint | None
    _deviations: list[dict[str, Any]] | None = None  # judged once, on first use

    def deviations(self) -> list[dict[str, Any]]:
        if self._deviations is None:
            self._deviations = self._judge()
        return self._deviations

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
            })
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "upstream": self.upstream, "dialect": self.dialect.name, "dialect_chosen": self.chosen,
            "exchanges": len(self.entries), "exchanges_dropped": self.dropped,
            "deviations": self.deviations(),
            "journal": [{"n": e.n, "method": e.method, "url": e.url, "params": e.params, "status": e.status,
                         "error": e.error, "seconds": round(e.seconds, 4)} for e in self.entries],
        }


def _fields(entry: ForwardedExchange) -> str:
    return "&".join(f"{k}={v}" for k, v in entry.params.items())


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
    return ProxyReport(upstream, load_dialect(name), chosen, entries, journal.dropped, found)


def write_report(report: ProxyReport, path: str) -> None:
    data = report.to_dict()
    if path.endswith(".html"):
        Path(path).write_text(_html(data), encoding="utf-8")
    else:
        Path(path).write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def write_har(journal: ProxyJournal, path: str, upstream: str) -> None:
    har = har_log([e.har() for e in journal.entries()], creator="mockpanel proxy",
                  comment=f"traffic to {upstream} through mockpanel proxy; keys redacted")
    Path(path).write_text(json.dumps(har, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _html(data: dict[str, Any]) -> str:
    e = escape
    rows = "".join(
        f"<tr><td>{e(str(d['exchange']))}</td><td><b>{e(d['requirement'])}</b> {e(d['title'])}<br>"
        f"<span class=s>{e(d['severity'])}</span></td><td>{e(d['message'])}<pre>{e(d['request'])}\n"
        f"{e(d['response'])}</pre></td></tr>" for d in data["deviations"])
    journal = "".join(f"<tr><td>{j['n']}</td><td>{e(j['method'])} {e(j['url'])}</td>"
                      f"<td>{e(' '.join(f'{k}={v}' for k, v in j['params'].items()))}</td>"
                      f"<td>{e(str(j['status']))}</td></tr>" for j in data["journal"])
    count = len(data["deviations"])
    return f"""<!doctype html><html lang=en><meta charset=utf-8><title>mockpanel proxy report</title>
<style>body{{font:15px/1.5 system-ui,sans-serif;max-width:1180px;margin:0 auto;padding:24px}}
table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #d1d9e0;padding:6px;vertical-align:top;text-align:left}}
pre{{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f8fa;padding:6px;font-size:12.5px}}.s{{color:#59636e}}</style>
<h1>mockpanel proxy: {count} deviation(s) in {data['exchanges']} exchange(s)</h1>
<p>Panel {e(data['upstream'])}, judged as <b>{e(data['dialect'])}</b> ({e(data['dialect_chosen'])}).
{data['exchanges_dropped']} older exchange(s) left the journal for its bounds. Keys are shown redacted.</p>
<h2>Deviations</h2><table><tr><th>exchange</th><th>requirement</th><th>what the exchange showed</th></tr>{rows}</table>
<h2>Journal</h2><table><tr><th>n</th><th>request</th><th>fields</th><th>status</th></tr>{journal}</table></html>
"""
