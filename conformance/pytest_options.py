"""The options of the conformance suite under pytest.

Registered as a pytest plugin only to add options, and namespaced so they stay out
of other projects' way: every project's ``pytest --help`` shows them only as
``--mockpanel-conformance-*``; the short ``--panel-*`` names exist only when the
suite itself is run (``pytest --pyargs mockpanel.conformance.pytest_suite``).
Only that suite reads them. Keys can come from the environment, so CI logs never show them.
"""

from __future__ import annotations

from importlib.util import find_spec
from typing import Any, Sequence

import pytest

PREFIX = "--mockpanel-conformance-"
SUITE_MARKS = ("conformance.pytest_suite", "conformance/pytest_suite", "pytest_suite.py")

# name, extra addoption arguments, help
OPTIONS: tuple[tuple[str, dict[str, Any], str], ...] = (
    ("url", {}, "Panel API URL (…/api/v2) to check. Env: MOCKPANEL_PANEL_URL."),
    ("key", {}, "Its API key. Prefer the env MOCKPANEL_KEY (or MOCKPANEL_PANEL_KEY) in CI."),
    ("second-key", {}, "A second key (isolation checks). Env: MOCKPANEL_SECOND_KEY (or MOCKPANEL_PANEL_SECOND_KEY)."),
    ("tier", {"choices": ("read-only", "orders")}, "read-only (default) or orders."),
    ("max-spend", {}, "Hard spending cap for the orders tier."),
    ("link", {}, "Where the orders tier's orders go."),
    ("dialect", {}, "Dialect profile to judge against (default standard)."),
    ("seed", {"type": int}, "Seed of the generated requests (default 0)."),
    ("rate", {"type": float}, "Requests per second at most (default 2; none on loopback)."),
    ("examples", {"type": int}, "Examples per read-only property (default 20)."),
    ("report", {"metavar": "FILE"}, "Also write the HTML report here."),
)


def dest(name: str) -> str:
    return "mockpanel_conformance_" + name.replace("-", "_")


def runs_the_suite(args: Sequence[str]) -> bool:
    return any(mark in str(arg) for arg in args for mark in SUITE_MARKS)


@pytest.hookimpl
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    short = runs_the_suite(args)
    if short and find_spec("hypothesis") is None:  # one line, before collection would end in a traceback
        raise pytest.UsageError("the conformance suite needs the 'conformance' extra (hypothesis): "
                                "pip install 'mockpanel[conformance]'")
    group = parser.getgroup("mockpanel-conformance",
                            "mockpanel conformance suite (pytest --pyargs mockpanel.conformance.pytest_suite)")
    for name, extra, text in OPTIONS:
        names = [PREFIX + name] + ([f"--panel-{name}"] if short else [])
        group.addoption(*names, dest=dest(name), default=None, help=text, **extra)
