"""The HTML report: one self-contained page, readable printed or on a screen.

Verdict and counts first, then each failure and warning with the request and
response that show it, then every requirement by area with its outcome.
"""

from __future__ import annotations

from html import escape
from itertools import groupby

from .catalogue import AREAS
from .report import Report
from .verdicts import FAILED, NOT_EXERCISED, PASSED, WARNING, Result

CSS = """
:root { --ok:#1a7f37; --ok-bg:#dafbe1; --bad:#cf222e; --bad-bg:#ffebe9; --warn:#9a6700; --warn-bg:#fff8c5;
        --skip:#57606a; --skip-bg:#eaeef2; --ink:#1f2328; --mute:#59636e; --line:#d1d9e0; --panel:#f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
       color: var(--ink); background: #fff; }
main { max-width: 1180px; margin: 0 auto; padding: 28px 32px 64px; }
h1 { font-size: 26px; margin: 0; letter-spacing: -0.01em; }
h2 { font-size: 19px; margin: 36px 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 0; }
.top { display: flex; justify-content: space-between; align-items: flex-start; gap: 24px; }
.sub { color: var(--mute); margin-top: 4px; }
.verdict { font-weight: 700; font-size: 18px; padding: 10px 18px; border-radius: 8px; white-space: nowrap; }
.verdict.v0 { background: var(--ok-bg); color: var(--ok); border: 1px solid #aceebb; }
.verdict.v1 { background: var(--bad-bg); color: var(--bad); border: 1px solid #ffcecb; }
.verdict.v2 { background: var(--skip-bg); color: var(--skip); border: 1px solid var(--line); }
.meta { display: grid; grid-template-columns: repeat(4, 1fr); gap: 1px; background: var(--line); border: 1px solid var(--line);
        border-radius: 8px; overflow: hidden; margin: 20px 0; }
.meta div { background: var(--panel); padding: 8px 12px; min-width: 0; }
.meta b { display: block; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--mute); font-weight: 600; }
.meta span { overflow-wrap: anywhere; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; }
.card .n { font-size: 30px; font-weight: 700; line-height: 1.1; }
.card .l { color: var(--mute); font-size: 13px; }
.card.passed .n { color: var(--ok); } .card.failed .n { color: var(--bad); }
.card.warning .n { color: var(--warn); } .card.skipped .n { color: var(--skip); }
.bar { display: flex; height: 8px; border-radius: 4px; overflow: hidden; margin: 14px 0 6px; background: var(--skip-bg); }
.bar i { display: block; } .bar .passed { background: var(--ok); } .bar .failed { background: var(--bad); }
.bar .warning { background: #d4a72c; } .bar .skipped { background: #afb8c1; }
.legend { color: var(--mute); font-size: 13.5px; }
.legend p { margin: 6px 0; }
.pill { display: inline-block; font-size: 12px; font-weight: 600; padding: 1px 8px; border-radius: 999px; white-space: nowrap; }
.pill.passed { background: var(--ok-bg); color: var(--ok); } .pill.failed { background: var(--bad-bg); color: var(--bad); }
.pill.warning { background: var(--warn-bg); color: var(--warn); } .pill.not-exercised { background: var(--skip-bg); color: var(--skip); }
.finding { border: 1px solid var(--line); border-left: 4px solid var(--bad); border-radius: 8px; padding: 14px 16px; margin: 12px 0; }
.finding.warning { border-left-color: #d4a72c; }
.finding .head { display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap; }
.finding .msg { margin: 8px 0; font-weight: 500; }
.finding .why { color: var(--mute); font-size: 13.5px; margin: 4px 0 10px; }
.ex { margin: 8px 0; }
.ex .lbl { font-size: 12px; font-weight: 600; color: var(--mute); text-transform: uppercase; letter-spacing: .04em; }
pre { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; margin: 2px 0 8px;
      font: 12.5px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; white-space: pre-wrap; overflow-wrap: anywhere; }
details summary { cursor: pointer; color: var(--mute); font-size: 13px; }
table { width: 100%; border-collapse: collapse; font-size: 14px; table-layout: fixed; }
col.o { width: 112px; } col.i { width: 108px; } col.s { width: 88px; } col.d { width: 30%; }
th { text-align: left; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--mute);
     font-weight: 600; padding: 6px 8px; border-bottom: 1px solid var(--line); }
td { padding: 8px; border-bottom: 1px solid #eef1f4; vertical-align: top; }
td.id { font: 12.5px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; white-space: nowrap; }
td .t { font-weight: 600; } td .x { color: var(--mute); font-size: 13px; }
td.d { color: var(--mute); font-size: 13px; overflow-wrap: anywhere; }
tr.failed td.id { color: var(--bad); } tr.warning td.id { color: var(--warn); }
.area { margin-top: 26px; font-size: 15px; } .area b { text-transform: capitalize; }
.area span { color: var(--mute); font-weight: 400; }
ul.skips { padding-left: 20px; margin: 6px 0; } ul.skips li { margin: 3px 0; } ul.skips .ids { color: var(--mute); font-size: 12.5px; }
.error { background: var(--bad-bg); border: 1px solid #ffcecb; border-radius: 8px; padding: 12px 16px; margin: 16px 0; }
footer { margin-top: 40px; color: var(--mute); font-size: 12.5px; }
@media print { main { padding: 0; } .finding, tr { break-inside: avoid; } }
"""

VERDICT = {0: "PASSED", 1: "FAILED", 2: "COULD NOT JUDGE"}
PILL = {PASSED: "passed", FAILED: "failed", WARNING: "warning", NOT_EXERCISED: "not exercised"}


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _finding(r: Result) -> str:
    f = r.finding
    assert f is not None
    req = r.requirement
    kind = "failed" if r.outcome == FAILED else "warning"
    parts = [
        f'<div class="finding {kind}" id="{_e(req.id)}">',
        f'<div class="head"><span class="pill {kind}">{PILL[r.outcome]}</span><h3>{_e(req.id)} · {_e(req.title)}</h3></div>',
        f'<div class="msg">{_e(f.message)}</div>',
        f'<div class="why">{_e(req.text)} <br>Source: {_e(req.source)} — <i>{_e(req.clause)}</i>'
        + (f"<br>{_e(r.detail)}" if r.detail else "") + "</div>",
    ]
    shown = f.exchanges[:3]
    for i, ex in enumerate(shown):
        label = "Minimal reproducing request" if f.shrunk and i == 0 else (
            f"Request {i + 1} of {len(shown)}" if len(shown) > 1 else "Request")
        parts.append('<div class="ex">')
        parts.append(f'<div class="lbl">{label}</div><pre>{_e(ex.request_line())}</pre>')
        parts.append(f'<div class="lbl">Response</div><pre>{_e(ex.response_line(700))}</pre>')
        parts.append("</div>")
    if f.steps:
        steps = "\n".join(f.steps[-15:])
        parts.append(f"<details><summary>Steps before it ({len(f.steps)})</summary><pre>{_e(steps)}</pre></details>")
    parts.append("</div>")
    return "\n".join(parts)


def _row(r: Result) -> str:
    req = r.requirement
    cls = {FAILED: "failed", WARNING: "warning"}.get(r.outcome, "")
    if r.outcome == NOT_EXERCISED:
        detail = _e(r.reason)
    elif r.finding is not None:
        detail = f'<a href="#{_e(req.id)}">{_e(r.finding.message[:160])}</a>'
    else:
        detail = f"exercised {r.checks}×" + (f" · {_e(r.detail)}" if r.detail else "")
    return (
        f'<tr class="{cls}"><td><span class="pill {PILL[r.outcome].replace(" ", "-")}">{PILL[r.outcome]}</span></td>'
        f'<td class="id">{_e(req.id)}</td>'
        f'<td><div class="t">{_e(req.title)}</div><div class="x">{_e(req.text)}</div></td>'
        f"<td>{_e(req.severity)}<br><span class=\"x\">{_e(req.tier)}</span></td>"
        f'<td class="d">{detail}<div class="x">{_e(req.source)}</div></td></tr>'
    )


def to_html(report: Report) -> str:
    c = report.counts
    total = max(1, len(report.results))
    cur = f" {report.currency}" if report.currency else ""
    spend = "nothing (read-only)" if report.tier == "read-only" else (
        f"taken {report.taken}{cur}; spent {report.spent if report.spent is not None else '?'}{cur} net of refunds "
        f"(committed {report.committed}{cur}, cap {report.max_spend}{cur})")
    meta = [
        ("Panel", report.url), ("Dialect", report.dialect), ("Tier", report.tier), ("Seed", report.seed),
        ("Started", report.started.replace("T", " ")), ("Duration", f"{report.duration:.1f} s"),
        ("Requests", report.requests), ("Spent", spend),
    ]
    html = [
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        f"<title>Conformance report · {_e(report.url)}</title><style>{CSS}</style></head><body><main>",
        '<div class="top"><div>',
        "<h1>Panel conformance report</h1>",
        f'<div class="sub">{_e(report.url)} judged against the <b>{_e(report.dialect)}</b> dialect of API v2, '
        f"tier <b>{_e(report.tier)}</b></div></div>",
        f'<div class="verdict v{report.exit_code}">{VERDICT[report.exit_code]}</div></div>',
        '<div class="meta">' + "".join(f"<div><b>{_e(k)}</b><span>{_e(v)}</span></div>" for k, v in meta) + "</div>",
    ]
    if report.interrupted:
        html.append(f'<div class="error"><b>Interrupted</b> by {_e(report.interrupted)}: what was found until then; '
                    "the rest was not reached.</div>")
    if report.error:
        html.append(f'<div class="error"><b>Could not run:</b> {_e(report.error)}</div>')
    if report.overcharge:
        html.append(f'<div class="error"><b>Overcharged:</b> {_e(report.overcharge)}</div>')
    html.append('<div class="cards">')
    for cls, key, label in (("passed", PASSED, "passed"), ("failed", FAILED, "failed"),
                            ("warning", WARNING, "warnings"), ("skipped", NOT_EXERCISED, "not exercised")):
        html.append(f'<div class="card {cls}"><div class="n">{c[key]}</div>'
                    f'<div class="l">{label} of {len(report.results)} requirements</div></div>')
    html.append("</div><div class=\"bar\">" + "".join(
        f'<i class="{cls}" style="width:{100 * c[key] / total:.2f}%"></i>'
        for cls, key in (("passed", PASSED), ("failed", FAILED), ("warning", WARNING), ("skipped", NOT_EXERCISED))
    ) + "</div>")
    html.append(
        '<div class="legend"><p><b>Passed</b>: exercised and never violated. <b>Failed</b>: a documented behaviour '
        "was violated; the request and response that show it follow. <b>Warning</b>: a behaviour seen on real panels "
        "but not documented was violated; it does not fail the run. <b>Not exercised</b>: this run could not reach it "
        "(the tier, a missing second key, the budget, or the panel's catalogue), with the reason.</p>"
        f"<p>Keys are shown redacted ({_e(report.key)}). Exit code {report.exit_code}: 0 everything exercised passed, "
        "1 a failure, 2 could not run or proved nothing.</p></div>"
    )
    flagged = [r for r in report.results if r.outcome in (FAILED, WARNING) and r.finding]
    if flagged:
        html.append(f"<h2>Failures and warnings ({len(flagged)})</h2>")
        html.extend(_finding(r) for r in sorted(flagged, key=lambda r: (r.outcome != FAILED, r.requirement.id)))
    skipped = [r for r in report.results if r.outcome == NOT_EXERCISED]
    if skipped:
        html.append(f"<h2>Not exercised ({len(skipped)})</h2><ul class=\"skips\">")
        by_reason: dict[str, list[Result]] = {}
        for r in skipped:
            by_reason.setdefault(r.reason, []).append(r)
        for reason, rows in sorted(by_reason.items(), key=lambda kv: -len(kv[1])):
            names = "".join(f"<li><b>{_e(r.requirement.id)}</b> {_e(r.requirement.title)}</li>" for r in rows)
            html.append(f"<li><b>{len(rows)}</b> · {_e(reason)}<ul class=\"ids\">{names}</ul></li>")
        html.append("</ul>")
    if report.notes:
        html.append("<h2>Notes</h2><ul>" + "".join(f"<li>{_e(n)}</li>" for n in report.notes) + "</ul>")
    html.append("<h2>All requirements</h2>")
    order = {a: i for i, a in enumerate(AREAS)}
    results = sorted(report.results, key=lambda r: order.get(r.requirement.area, 99))
    for area, group in groupby(results, key=lambda r: r.requirement.area):
        rows = list(group)
        n_ok = sum(r.outcome == PASSED for r in rows)
        html.append(f'<h3 class="area"><b>{_e(area)}</b> <span>· {n_ok} of {len(rows)} passed</span></h3>')
        html.append('<table><colgroup><col class="o"><col class="i"><col><col class="s"><col class="d"></colgroup>'
                    "<thead><tr><th>Outcome</th><th>ID</th><th>Requirement</th>"
                    "<th>Severity</th><th>Detail and source</th></tr></thead><tbody>")
        html.extend(_row(r) for r in rows)
        html.append("</tbody></table>")
    html.append(f"<footer>{_e('mockpanel conformance ' + report.version)} · started {_e(report.started)} · "
                "requirements from conformance/requirements.json</footer></main></body></html>")
    return "\n".join(html)
