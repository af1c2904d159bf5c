"""Observations per requirement, and the outcome each requirement gets at the end.

A check reports each requirement it exercised as passed or violated, with the
exchange that shows it. The run ends with one ``Result`` per requirement in the
catalogue: passed, failed, warning (a violated warning-severity requirement), or
not exercised (and why).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

from .catalogue import Catalogue, Requirement
from .session import Exchange

PASSED, FAILED, WARNING, NOT_EXERCISED = "passed", "failed", "warning", "not exercised"
MAX_FINDINGS = 20  # distinct findings kept per requirement: a report stays readable and bounded
OUTCOMES = (FAILED, WARNING, PASSED, NOT_EXERCISED)


@dataclass
class Finding:
    """A violation: what was wrong, and the exchanges that show it (keys redacted)."""

    rid: str
    message: str
    exchanges: list[Exchange] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)  # the stateful steps that led to it
    shrunk: bool = False  # minimal by hypothesis shrinking (read-only phases only)

    def to_dict(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "exchanges": [e.to_dict() for e in self.exchanges],
            "steps": list(self.steps),
            "shrunk": self.shrunk,
        }


class Checks:
    """What one example (or one step) observed; hypothesis decides which set to keep."""

    def __init__(self) -> None:
        self.passed: list[str] = []
        self.findings: list[Finding] = []
        self.unsupported: dict[str, str] = {}  # action -> how it was answered as unknown (expect_base.unknown_answer)
        self.unjudged: dict[str, str] = {}  # requirement -> why an answer could not be judged by it

    def require(self, rid: str, ok: bool, message: str, *exchanges: Exchange) -> bool:
        if ok:
            self.passed.append(rid)
        else:
            self.findings.append(Finding(rid, message, [e for e in exchanges if e is not None]))
        return ok

    def fail(self, rid: str, message: str, *exchanges: Exchange) -> bool:
        return self.require(rid, False, message, *exchanges)

    def ok(self, *rids: str) -> None:
        self.passed.extend(rids)

    def merge(self, other: Checks) -> None:
        """Take what a scratch ``Checks`` observed: its passes and findings, and its reasons where none is yet."""
        self.passed.extend(other.passed)
        self.findings.extend(other.findings)
        for action, how in other.unsupported.items():
            self.unsupported.setdefault(action, how)
        for rid, why in other.unjudged.items():
            self.unjudged.setdefault(rid, why)

    def failed_ids(self) -> set[str]:
        return {f.rid for f in self.findings}


@dataclass
class Result:
    requirement: Requirement
    outcome: str
    checks: int  # how many times it was exercised
    finding: Finding | None = None  # the first (or the shrunk) one
    reason: str = ""  # why not exercised
    detail: str = ""  # what the dialect expects, where it matters
    findings: list[Finding] = field(default_factory=list)  # every distinct finding, the first one first

    def to_dict(self) -> dict[str, Any]:
        r = self.requirement
        return {
            "id": r.id,
            "title": r.title,
            "area": r.area,
            "text": r.text,
            "source": r.source,
            "clause": r.clause,
            "severity": r.severity,
            "tier": r.tier,
            "outcome": self.outcome,
            "checks": self.checks,
            "reason": self.reason,
            "detail": self.detail,
            "finding": self.finding.to_dict() if self.finding else None,
            "findings": [f.to_dict() for f in self.findings],
        }


class Verdicts:
    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.passed: Counter[str] = Counter()
        self.findings: dict[str, Finding] = {}
        self.more: dict[str, list[Finding]] = {}  # the other distinct findings of each requirement
        self.reasons: dict[str, str] = {}
        self.details: dict[str, str] = {}
        self.unsupported: dict[str, str] = {}  # action -> how the panel answered it as unknown

    def _known(self, rid: str) -> None:
        if rid not in self.catalogue.by_id:
            raise KeyError(f"no requirement {rid!r} in requirements.json")

    def ok(self, *rids: str) -> None:
        for rid in rids:
            self._known(rid)
            self.passed[rid] += 1

    def fail(self, finding: Finding, *, replace: bool = False) -> None:
        """The first finding of a requirement leads (or a shrunk one replaces it); every other
        distinct finding (by its message) is kept too, up to MAX_FINDINGS."""
        self._known(finding.rid)
        self.passed[finding.rid] += 0
        current = self.findings.get(finding.rid)
        if current is None or replace:
            self.findings[finding.rid] = finding
            others = ([current] if current is not None else []) + self.more.get(finding.rid, [])
            self.more[finding.rid] = [f for f in others if f.message != finding.message][: MAX_FINDINGS - 1]
        elif current.message != finding.message:
            self._keep(finding)

    def _keep(self, finding: Finding) -> None:
        others = self.more.setdefault(finding.rid, [])
        if len(others) < MAX_FINDINGS - 1 and all(f.message != finding.message for f in others):
            others.append(finding)

    def all_findings(self, rid: str) -> list[Finding]:
        first = self.findings.get(rid)
        return ([first] if first else []) + self.more.get(rid, [])

    def action_not_supported(self, action: str, message: str) -> None:
        """The panel answers ``action`` with its unknown-action error: what needs it is not exercised."""
        self.unsupported.setdefault(action, message)

    def supports(self, action: str) -> bool:
        """Not yet answered as an unknown action: the suite sends an unsupported action no more."""
        return action not in self.unsupported

    def unsupported_line(self, action: str) -> str:
        return f"action not supported: the panel answers {action!r} with {self.unsupported[action]}"

    def unsupported_reason(self, req: Requirement) -> str | None:
        for need in req.needs:
            action = need[7:] if need.startswith("action:") else None
            if action is not None and action in self.unsupported:
                return self.unsupported_line(action)
        return None

    def absorb(self, checks: Checks, steps: Iterable[str] = ()) -> None:
        for action, message in checks.unsupported.items():
            self.action_not_supported(action, message)
        for rid, reason in checks.unjudged.items():
            self.not_exercised(rid, reason)
        self.ok(*checks.passed)
        for finding in checks.findings:
            if steps and not finding.steps:
                finding.steps = list(steps)
            self.fail(finding)

    def not_exercised(self, rid: str, reason: str) -> None:
        """Say why a requirement was not reached (kept only if nothing else happened)."""
        self._known(rid)
        self.reasons.setdefault(rid, reason)

    def detail(self, rid: str, text: str) -> None:
        self._known(rid)
        self.details.setdefault(rid, text)

    def exercised(self, rid: str) -> bool:
        return self.passed[rid] > 0 or rid in self.findings

    def results(self, default_reason: Any) -> list[Result]:
        """One result per requirement; ``default_reason(req)`` explains the unreached."""
        out = []
        for req in self.catalogue:
            finding = self.findings.get(req.id)
            count = self.passed[req.id] + len(self.all_findings(req.id))
            unsupported = self.unsupported_reason(req)
            if unsupported is not None:  # never passed (nor failed) on an answer to an action it does not have
                out.append(Result(req, NOT_EXERCISED, 0, reason=unsupported, detail=self.details.get(req.id, "")))
            elif finding is not None:
                outcome = FAILED if req.severity == "failure" else WARNING
                out.append(Result(req, outcome, count, finding, detail=self.details.get(req.id, ""),
                                  findings=self.all_findings(req.id)))
            elif self.passed[req.id] > 0:
                out.append(Result(req, PASSED, count, detail=self.details.get(req.id, "")))
            else:
                reason = self.reasons.get(req.id) or default_reason(req)
                out.append(Result(req, NOT_EXERCISED, 0, reason=reason, detail=self.details.get(req.id, "")))
        return out


def counts(results: list[Result]) -> dict[str, int]:
    c = Counter(r.outcome for r in results)
    return {o: c.get(o, 0) for o in OUTCOMES}
