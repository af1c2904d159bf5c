"""The --panel-* options of the conformance suite under pytest.

Registered as a pytest plugin only to add options: they do nothing unless given,
and only ``pytest --pyargs mockpanel.conformance.pytest_suite`` reads them.
Keys can come from the environment, so CI logs never show them.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockpanel-conformance", "mockpanel conformance suite (pytest --pyargs mockpanel.conformance.pytest_suite)")
    group.addoption("--panel-url", default=None, help="Panel API URL (…/api/v2) to check. Env: MOCKPANEL_PANEL_URL.")
    group.addoption("--panel-key", default=None, help="Its API key. Prefer the env MOCKPANEL_PANEL_KEY in CI.")
    group.addoption("--panel-second-key", default=None, help="A second key (isolation checks). Env: MOCKPANEL_PANEL_SECOND_KEY.")
    group.addoption("--panel-tier", default=None, choices=("read-only", "orders"), help="read-only (default) or orders.")
    group.addoption("--panel-max-spend", default=None, help="Hard spending cap for the orders tier.")
    group.addoption("--panel-link", default=None, help="Where the orders tier's orders go.")
    group.addoption("--panel-dialect", default=None, help="Dialect profile to judge against (default standard).")
    group.addoption("--panel-seed", default=None, type=int, help="Seed of the generated requests (default 0).")
    group.addoption("--panel-rate", default=None, type=float, help="Requests per second at most (default 2; none on loopback).")
    group.addoption("--panel-examples", default=None, type=int, help="Examples per read-only property (default 20).")
    group.addoption("--panel-report", default=None, metavar="FILE", help="Also write the HTML report here.")
