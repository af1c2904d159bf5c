"""Running one hypothesis property against a panel, keeping the minimal failing example.

A property sends requests and records what it saw on a ``Checks``. A violation is
raised as an exception whose *type* names the requirement, so hypothesis shrinks
each violated requirement to its own minimal example (``report_multiple_bugs``).

Read-only requests are free, so read-only properties shrink against the panel
itself, within a request cap: past it, new candidates are treated as passing and
examples already seen are answered from memory, so the shrinker stops instead of
spending the budget. Paid phases never come here (see _orders.py).
"""

from __future__ import annotations

import zlib
from typing import Any, Callable

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st

from .session import StopRun
from .verdicts import Checks, Finding, Verdicts


class Violation(Exception):
    """Raised inside a property; subclassed per requirement id."""

    def __init__(self, checks: Checks) -> None:
        super().__init__(", ".join(sorted(checks.failed_ids())))
        self.checks = checks


_TYPES: dict[str, type[Violation]] = {}


def violation_type(rid: str) -> type[Violation]:
    if rid not in _TYPES:
        _TYPES[rid] = type(f"Violation_{rid.replace('-', '_')}", (Violation,), {})
    return _TYPES[rid]


def _flatten(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        out: list[BaseException] = []
        for inner in exc.exceptions:
            out.extend(_flatten(inner))
        return out
    return [exc]


class PropertyRunner:
    def __init__(self, verdicts: Verdicts, *, seed: int, examples: int, shrink_requests: int = 60) -> None:
        self.verdicts = verdicts
        self.seed = seed
        self.examples = examples
        self.shrink_requests = shrink_requests
        self.stopped: str | None = None

    def run(
        self,
        name: str,
        strategy: st.SearchStrategy[Any],
        probe: Callable[[Any], Checks],
        *,
        examples: int | None = None,
        shrink: bool = True,
    ) -> set[str]:
        """Run ``probe`` on examples of ``strategy``; returns the requirement ids it violated."""
        if self.stopped:
            return set()
        memo: dict[str, Checks] = {}
        first_seen: dict[str, Finding] = {}
        fresh = 0
        budget = (examples or self.examples) + self.shrink_requests

        def test(example: Any) -> None:
            nonlocal fresh
            if self.stopped:
                return
            label = repr(example)
            checks = memo.get(label)
            if checks is None:
                if fresh >= budget:
                    return  # over the cap: a new candidate "passes", the shrinker gives up
                fresh += 1
                try:
                    checks = probe(example)
                except StopRun as exc:
                    self.stopped = str(exc)
                    return
                memo[label] = checks
                self.verdicts.ok(*checks.passed)
                for action, message in checks.unsupported.items():
                    self.verdicts.action_not_supported(action, message)
                for rid, reason in checks.unjudged.items():
                    self.verdicts.not_exercised(rid, reason)
                for finding in checks.findings:
                    first_seen.setdefault(finding.rid, finding)
            if checks.findings:
                raise violation_type(checks.findings[0].rid)(checks)

        wrapped = settings(
            max_examples=examples or self.examples,
            deadline=None,
            database=None,
            derandomize=False,
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=True,
            phases=(Phase.explicit, Phase.generate, Phase.shrink) if shrink else (Phase.explicit, Phase.generate),
            verbosity=Verbosity.quiet,
            print_blob=False,
        )(given(strategy)(test))
        wrapped = seed(self.seed ^ zlib.crc32(name.encode()))(wrapped)
        violated: set[str] = set()
        try:
            wrapped()
        except Exception as exc:  # noqa: BLE001 - sorted below; anything else is a bug in the suite
            found = [e for e in _flatten(exc) if isinstance(e, Violation)]
            if not found:
                raise
            for violation in found:
                primary = violation.checks.findings[0]
                primary.shrunk = True
                self.verdicts.fail(primary, replace=True)  # minimal for its own requirement
                violated.add(primary.rid)
                for finding in violation.checks.findings[1:]:
                    self.verdicts.fail(finding)
                    violated.add(finding.rid)
        for rid, finding in first_seen.items():
            if rid not in self.verdicts.findings:
                self.verdicts.fail(finding)
            violated.add(rid)
        return violated
