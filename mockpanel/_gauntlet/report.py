"""The gauntlet's matrix as a person and as CI read it: a terminal table (rows dialects, columns
scenarios, each cell pass or fail with its first reason), JSON, JUnit XML (one case per cell) and HTML.

Every text that came from the command or the panel is escaped in HTML and XML; keys never appear
(the journal holds them redacted, and the gauntlet's key is its own).
"""

from __future__ import annotations

import html
import json
from typing import Sequence
from xml.etree import ElementTree as ET

from .matrix import Cell


def _grid(cells: Sequence[Cell]) -> tuple[list[str], list[str], dict[tuple[str, str], Cell]]:
    dialects = list(dict.fromkeys(c.dialect for c in cells))
    scenarios = list(dict.fromkeys(c.scenario for c in cells))
    return dialects, scenarios, {(c.dialect, c.scenario): c for c in cells}


def table(cells: Sequence[Cell]) -> str:
    """The matrix for a terminal, then each failed cell's first reason."""
    dialects, scenarios, at = _grid(cells)
    width = max([len("dialect")] + [len(d) for d in dialects])
    columns = [max(len(s), 4) for s in scenarios]
    lines = ["  ".join(["dialect".ljust(width)] + [s.ljust(w) for s, w in zip(scenarios, columns)])]
    for d in dialects:
        row = [d.ljust(width)]
        for s, w in zip(scenarios, columns):
            cell = at.get((d, s))
            row.append(("-" if cell is None else "pass" if cell.passed else "FAIL").ljust(w))
        lines.append("  ".join(row).rstrip())
    failed = [c for c in cells if not c.passed]
    if failed:
        lines.append("")
        lines += [f"{c.dialect} x {c.scenario}: {c.reason}" for c in failed]
    passed = len(cells) - len(failed)
    lines += ["", f"{passed} of {len(cells)} cells passed"]
    return "\n".join(lines)


def to_json(cells: Sequence[Cell], command: Sequence[str]) -> str:
    dialects, scenarios, _ = _grid(cells)
    return json.dumps({"command": list(command), "dialects": dialects, "scenarios": scenarios,
                       "passed": all(c.passed for c in cells), "cells": [c.to_json() for c in cells]}, indent=2)


def to_junit(cells: Sequence[Cell]) -> str:
    failed = [c for c in cells if not c.passed]
    suite = ET.Element("testsuite", name="mockpanel gauntlet", tests=str(len(cells)), failures=str(len(failed)),
                       time=f"{sum(c.seconds for c in cells):.3f}")
    for c in cells:
        case = ET.SubElement(suite, "testcase", classname=f"gauntlet.{c.dialect}", name=c.scenario,
                             time=f"{c.seconds:.3f}")
        if not c.passed:
            failure = ET.SubElement(case, "failure", message=c.reason[:500])
            failure.text = "\n".join([c.reason, *(f.message for f in c.findings[1:])])
        out = ET.SubElement(case, "system-out")
        out.text = c.output
    return str(ET.tostring(suite, encoding="unicode", xml_declaration=True))


def to_html(cells: Sequence[Cell], command: Sequence[str]) -> str:
    dialects, scenarios, at = _grid(cells)
    e = html.escape
    rows = []
    for d in dialects:
        tds = []
        for s in scenarios:
            cell = at.get((d, s))
            if cell is None:
                tds.append("<td>-</td>")
            elif cell.passed:
                tds.append('<td class="pass">pass</td>')
            else:
                tds.append(f'<td class="fail" title="{e(cell.reason)}">FAIL<br><small>{e(cell.reason[:160])}</small></td>')
        rows.append(f"<tr><th>{e(d)}</th>{''.join(tds)}</tr>")
    details = []
    for c in cells:
        if c.passed:
            continue
        findings = "".join(f"<li><b>{e(f.verdict)}</b> (at stake {e(str(f.at_stake))}): {e(f.message)}</li>"
                           for f in c.findings)
        details.append(f"<section><h3>{e(c.dialect)} &times; {e(c.scenario)}</h3><p>{e(c.reason)}</p>"
                       f"<ul>{findings}</ul><pre>{e(c.output[-2000:])}</pre></section>")
    passed = sum(c.passed for c in cells)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mockpanel gauntlet</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #1f2328; }}
table {{ border-collapse: collapse; }} th, td {{ border: 1px solid #d0d7de; padding: .4rem .6rem; text-align: left; }}
td.pass {{ background: #dafbe1; }} td.fail {{ background: #ffebe9; }} pre {{ background: #f6f8fa; padding: .6rem;
overflow-x: auto; }} small {{ color: #57606a; }}
</style></head><body>
<h1>mockpanel gauntlet</h1>
<p><code>{e(" ".join(command))}</code>: {passed} of {len(cells)} cells passed.</p>
<table><tr><th>dialect</th>{"".join(f"<th>{e(s)}</th>" for s in scenarios)}</tr>
{"".join(rows)}</table>
{"".join(details)}
</body></html>
"""
