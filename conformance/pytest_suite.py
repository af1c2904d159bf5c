"""The conformance suite as pytest tests, for a panel operator's CI:

    MOCKPANEL_KEY=... pytest --pyargs mockpanel.conformance.pytest_suite \\
        --panel-url https://panel.example/api/v2 [--panel-tier orders --panel-max-spend 0.50 --panel-link URL]

The keys come from --panel-key / --panel-second-key, or from the same environment
variables as the CLI (MOCKPANEL_KEY, MOCKPANEL_SECOND_KEY; MOCKPANEL_PANEL_KEY and
MOCKPANEL_PANEL_SECOND_KEY still work). Every option is also --mockpanel-conformance-NAME.

One test per requirement: passed, failed (with the request and response that show
it, key redacted), skipped when not exercised (with the reason). A warning (an
undocumented behaviour seen on real panels) passes, with the finding attached as a
user property. Without --panel-url every test is skipped.
"""

from __future__ import annotations

__all__ = ["conformance_report", "test_requirement"]  # what mockpanel.conformance.pytest_suite collects

import io
import os
from decimal import Decimal
from typing import Any

import pytest

from conformance.catalogue import load_catalogue
from conformance.context import Progress, RunConfig
from conformance.pytest_options import dest
from conformance.report import Report
from conformance.runner import run
from conformance.verdicts import FAILED, NOT_EXERCISED, WARNING


def _option(config: pytest.Config, name: str, *envs: str) -> Any:
    """``--panel-NAME`` (its dest), else the first environment variable set."""
    try:
        value = config.getoption(dest(name.removeprefix("--panel-")))
    except ValueError:  # the options plugin is not installed
        value = None
    for env in envs:
        if value is None:
            value = os.environ.get(env) or None
    return value


def _amount(text: str | None) -> Decimal:
    try:
        return Decimal(text.strip()) if text else Decimal(0)
    except ArithmeticError:
        pytest.fail(f"--panel-max-spend {text!r} is not an amount; write it like 0.50", pytrace=False)


@pytest.fixture(scope="session")
def conformance_report(request: pytest.FixtureRequest) -> Report:
    config = request.config
    url = _option(config, "--panel-url", "MOCKPANEL_PANEL_URL")
    if not url:
        pytest.skip("no --panel-url given (or MOCKPANEL_PANEL_URL): nothing to check")
    key = _option(config, "--panel-key", "MOCKPANEL_KEY", "MOCKPANEL_PANEL_KEY")
    if not key:
        pytest.skip("no --panel-key given (or MOCKPANEL_KEY)")
    tier = _option(config, "--panel-tier") or "read-only"
    spend = _option(config, "--panel-max-spend")
    run_config = RunConfig(
        url=url, key=key, second_key=_option(config, "--panel-second-key", "MOCKPANEL_SECOND_KEY",
                                                "MOCKPANEL_PANEL_SECOND_KEY"),
        tier=tier, dialect=_option(config, "--panel-dialect") or "standard",
        max_spend=_amount(spend), link=_option(config, "--panel-link"),
        seed=_option(config, "--panel-seed") or 0, rate=_option(config, "--panel-rate"),
        examples=_option(config, "--panel-examples") or 20,
    )
    path = _option(config, "--panel-report")
    if path:  # before the first request: a report that cannot be written must not cost an order
        from conformance._reports import unwritable

        problem = unwritable(path)
        if problem:
            pytest.fail(f"cannot write --panel-report {path}: {problem}; choose a writable path (no request was sent)",
                        pytrace=False)
    out = io.StringIO()
    report = run(run_config, progress=Progress(out))
    if path:
        from conformance._report_html import to_html
        from conformance._reports import write

        try:
            write(report, path, to_html, report.redactor or (lambda t: t))
        except OSError as exc:
            pytest.fail(f"cannot write --panel-report {path}: {exc.strerror or exc}; choose a writable path",
                        pytrace=False)
    if report.error:
        pytest.fail(f"the conformance suite could not run: {report.error}", pytrace=False)
    return report


@pytest.mark.parametrize("rid", [r.id for r in load_catalogue()])
def test_requirement(rid: str, conformance_report: Report, record_property: Any) -> None:
    result = conformance_report.result(rid)
    req = result.requirement
    record_property("requirement", f"{req.id} {req.title}")
    record_property("outcome", result.outcome)
    if result.outcome == NOT_EXERCISED:
        pytest.skip(f"{rid} not exercised: {result.reason}")
    if result.outcome in (FAILED, WARNING) and result.finding is not None:
        f = result.finding
        lines = [f"{rid} {req.title}: {f.message}", f"requirement: {req.text}", f"source: {req.source} ({req.clause})"]
        for ex in f.exchanges[:2]:
            lines += [f"request:  {ex.request_line()}", f"response: {ex.response_line(600)}"]
        text = "\n".join(lines)
        if result.outcome == FAILED:
            pytest.fail(text, pytrace=False)
        record_property("warning", text)
