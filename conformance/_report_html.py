"""The HTML report: one self-contained page, readable printed or on a screen.

Verdict and counts first, then each failure and warning with the requests and responses that
show it (each with copy-as-curl), then every requirement by area with its outcome. Rendered by
``templates/conformance.html`` in the look every page shares (pages.py).
"""

from __future__ import annotations

from itertools import groupby
from typing import Any

from . import pages
from .catalogue import AREAS
from .curl import form_command
from .report import Report
from .verdicts import FAILED, NOT_EXERCISED, PASSED, WARNING, Result

VERDICT = {0: "PASSED", 1: "FAILED", 2: "COULD NOT JUDGE"}
VERDICT_CLASS = {0: "ok", 1: "bad", 2: "skip"}
OUTCOME = {PASSED: "passed", FAILED: "failed", WARNING: "warning", NOT_EXERCISED: "not exercised"}
BADGE = {PASSED: "ok", FAILED: "bad", WARNING: "warn", NOT_EXERCISED: "skip"}
SHOWN_EXCHANGES = 3  # per finding: the page stays readable; the JSON report has them all
RESPONSE_CHARS = 700
STEPS = 15


def variables(report: Report) -> dict[str, str]:
    """The run's keys as shown (redacted) -> the variables a curl command reads them from."""
    out = {report.key: "MOCKPANEL_KEY"} if report.key else {}
    if report.second_key:
        out[report.second_key] = "MOCKPANEL_SECOND_KEY"
    return out


def _finding(r: Result, names: dict[str, str]) -> dict[str, Any]:
    f = r.finding
    assert f is not None
    req = r.requirement
    shown = f.exchanges[:SHOWN_EXCHANGES]
    exchanges = []
    for i, ex in enumerate(shown):
        label = "Minimal reproducing request" if f.shrunk and i == 0 else (
            f"Request {i + 1} of {len(shown)}" if len(shown) > 1 else "Request")
        exchanges.append({"label": label, "request": ex.request_line(), "response": ex.response_line(RESPONSE_CHARS),
                          "ms": round(ex.elapsed * 1000, 1) if ex.status is not None else None,
                          "curl": form_command(ex.url, ex.params, names)})
    return {"id": req.id, "title": req.title, "text": req.text, "source": req.source, "clause": req.clause,
            "detail": r.detail, "kind": "failed" if r.outcome == FAILED else "warning", "outcome": OUTCOME[r.outcome],
            "message": f.message, "exchanges": exchanges, "steps": "\n".join(f.steps[-STEPS:]),
            "step_count": len(f.steps)}


def _row(r: Result) -> dict[str, Any]:
    req = r.requirement
    if r.outcome == NOT_EXERCISED:
        detail = r.reason
    elif r.finding is not None:
        detail = r.finding.message[:160]
    else:
        detail = f"exercised {r.checks}×" + (f" · {r.detail}" if r.detail else "")
    return {"id": req.id, "title": req.title, "text": req.text, "severity": req.severity, "tier": req.tier,
            "source": req.source, "outcome": OUTCOME[r.outcome], "badge": BADGE[r.outcome], "detail": detail,
            "link": r.outcome != NOT_EXERCISED and r.finding is not None,
            "cls": {FAILED: "failed", WARNING: "warning"}.get(r.outcome, "")}


def context(report: Report) -> dict[str, Any]:
    """What the template shows, as plain values (everything in it is escaped when rendered)."""
    c = report.counts
    cur = f" {report.currency}" if report.currency else ""
    spend = "nothing (read-only)" if report.tier == "read-only" else (
        f"taken {report.taken}{cur}; spent {report.spent if report.spent is not None else '?'}{cur} net of refunds "
        f"(committed {report.committed}{cur}, cap {report.max_spend}{cur})")
    meta = [
        ("Panel", report.url), ("Dialect", report.dialect), ("Tier", report.tier), ("Seed", report.seed),
        ("Started", report.started.replace("T", " ")), ("Duration", f"{report.duration:.1f} s"),
        ("Requests", report.requests), ("Spent", spend),
    ]
    names = variables(report)
    flagged = sorted((r for r in report.results if r.outcome in (FAILED, WARNING) and r.finding),
                     key=lambda r: (r.outcome != FAILED, r.requirement.id))
    by_reason: dict[str, list[dict[str, str]]] = {}
    for r in report.results:
        if r.outcome == NOT_EXERCISED:
            by_reason.setdefault(r.reason, []).append({"id": r.requirement.id, "title": r.requirement.title})
    order = {a: i for i, a in enumerate(AREAS)}
    areas = []
    for area, group in groupby(sorted(report.results, key=lambda r: order.get(r.requirement.area, 99)),
                               key=lambda r: r.requirement.area):
        rows = list(group)
        areas.append((area, [_row(r) for r in rows], sum(r.outcome == PASSED for r in rows)))
    return {
        "r": report, "meta": meta, "verdict": VERDICT[report.exit_code], "verdict_class": VERDICT_CLASS[report.exit_code],
        "total": len(report.results),
        "tiles": [("ok", c[PASSED], "passed"), ("bad", c[FAILED], "failed"), ("warn", c[WARNING], "warnings"),
                  ("skip", c[NOT_EXERCISED], "not exercised")],
        "flagged": [_finding(r, names) for r in flagged],
        "skipped": sorted(by_reason.items(), key=lambda kv: -len(kv[1])), "skipped_count": c[NOT_EXERCISED],
        "areas": areas,
    }


def to_html(report: Report) -> str:
    return pages.render("conformance.html", **context(report))
