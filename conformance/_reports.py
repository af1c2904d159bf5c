"""Report writers: JSON (everything, optionally the trace), JUnit XML (one test case per
requirement), and HTML (_report_html.py). Each output is passed through the run's
redactor once more before it is written: a key never reaches a file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable
from xml.etree import ElementTree as ET

from .report import Report
from .verdicts import FAILED, NOT_EXERCISED, PASSED, WARNING


def to_json(report: Report, with_trace: bool = False) -> str:
    return json.dumps(report.to_dict(with_trace=with_trace), indent=2, ensure_ascii=False) + "\n"


def to_junit(report: Report) -> str:
    c = report.counts
    suite = ET.Element(
        "testsuite",
        name=f"mockpanel conformance ({report.dialect}, {report.tier})",
        tests=str(len(report.results)),
        failures=str(c[FAILED]),
        errors="1" if report.error else "0",
        skipped=str(c[NOT_EXERCISED]),
        time=f"{report.duration:.3f}",
        timestamp=report.started,
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (("url", report.url), ("dialect", report.dialect), ("tier", report.tier),
                        ("seed", str(report.seed)), ("warnings", str(c[WARNING])), ("requests", str(report.requests)),
                        ("interrupted", report.interrupted or "no")):
        ET.SubElement(props, "property", name=name, value=value)
    for r in report.results:
        req = r.requirement
        case = ET.SubElement(suite, "testcase", classname=f"conformance.{req.area.replace(' ', '_')}",
                             name=f"{req.id} {req.title}", time="0")
        if r.outcome == FAILED and r.finding:
            failure = ET.SubElement(case, "failure", message=r.finding.message[:500], type="nonconformance")
            failure.text = _evidence_text(r)
        elif r.outcome == WARNING and r.finding:
            out = ET.SubElement(case, "system-out")
            out.text = "WARNING (observed-in-the-wild behaviour, not a failure)\n" + _evidence_text(r)
        elif r.outcome == NOT_EXERCISED:
            ET.SubElement(case, "skipped", message=f"not exercised: {r.reason}")
        elif r.outcome == PASSED:
            ET.SubElement(case, "system-out").text = f"exercised {r.checks} times; source: {req.source}"
    if report.error:
        err = ET.SubElement(suite, "system-err")
        err.text = f"could not run: {report.error}"
    ET.indent(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


def _evidence_text(r) -> str:  # type: ignore[no-untyped-def]
    f = r.finding
    lines = [f.message, f"requirement: {r.requirement.text}", f"source: {r.requirement.source}"]
    for ex in f.exchanges[:3]:
        lines += ["", f"request:  {ex.request_line()}", f"response: {ex.response_line(1500)}"]
    if f.steps:
        lines += ["", "steps before it:"] + [f"  {s}" for s in f.steps[-12:]]
    return "\n".join(lines)


def write(report: Report, path: str, render: Callable[[Report], str], redact: Callable[[str], str]) -> None:
    Path(path).write_text(redact(render(report)), encoding="utf-8")


def unwritable(path: str) -> str | None:
    """Why a report could not be written at ``path`` (checked without creating it), or None."""
    target = Path(path)
    if target.is_dir():
        return "it is a directory"
    if target.exists():
        return None if os.access(target, os.W_OK) else "the file is not writable"
    parent = target.parent
    if not parent.is_dir():
        return f"its directory {str(parent)!r} does not exist"
    return None if os.access(parent, os.W_OK | os.X_OK) else f"its directory {str(parent)!r} is not writable"
