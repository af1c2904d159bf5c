"""The gauntlet's matrix as a person and as CI read it: a terminal table (rows dialects, columns
scenarios, each cell pass or fail with its first reason), JSON, JUnit XML (one case per cell) and HTML
(templates/gauntlet.html, in the look every report shares).

Every text that came from the command or the panel is escaped in HTML and XML; keys never appear
(the journal holds them redacted, and the gauntlet's key is its own).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence
from xml.etree import ElementTree as ET

from conformance import pages
from .matrix import Cell

TEMPLATES = Path(__file__).parent / "templates"


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
    """One self-contained page in the look of every report (conformance/pages.py)."""
    dialects, scenarios, at = _grid(cells)
    return pages.render("gauntlet.html", TEMPLATES, cells=list(cells), command=" ".join(command), dialects=dialects,
                        scenarios=scenarios, at=at, passed=sum(c.passed for c in cells))
