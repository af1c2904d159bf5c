"""The judge stands apart from the mock: the conformance package never imports mockpanel.

If the judge used the mock's status ranks, price rules or error codes, a mistake there
would be shared by both, and the suite would pass a wrong mock. Checked twice: by the
import contracts (`lint-imports`, pyproject.toml), which read the source, and here by
importing every conformance module in a fresh interpreter (late imports included).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "conformance"
FORBIDDEN = ("mockpanel",)


def _modules() -> list[str]:
    return sorted(f"conformance.{p.stem}" for p in PACKAGE.glob("*.py") if p.stem != "__init__")


def _forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


def test_importing_every_conformance_module_loads_nothing_of_the_mock() -> None:
    modules = _modules()
    assert len(modules) >= 15, modules  # the glob found the package
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert "conformance.expect" in loaded  # it really imported the judge
    assert [m for m in loaded if _forbidden(m)] == []


def test_the_judges_profile_reader_reads_every_profile_as_the_mock_does() -> None:
    # Two readers of the same data: where they agree the data says it; the judge's is its own code.
    from conformance.profile import available_dialects, load_dialect as judge
    from mockpanel._dialects.profile import load_dialect as mock

    for name in available_dialects():
        j, m = judge(name), mock(name)
        assert (j.endpoints, j.actions, j.money_decimals, j.balance_decimals, j.batch_limit) == (
            m.endpoints, m.actions, m.money_decimals, m.balance_decimals, m.batch_limit), name
        assert dict(j.service_fields) == dict(m.service_fields) and dict(j.status_fields) == dict(m.status_fields)
        assert {k.value: v for k, v in j.errors.items()} == {k.value: v for k, v in m.errors.items()}
        assert {k.value: v for k, v in j.statuses.items()} == {k.value: v for k, v in m.statuses.items()}
        assert j.service_types == m.service_types and j.content_type == m.content_type
    assert judge("smartpanel-v1").batch_limit_documented is False  # its 1000 only bounds the mock
    assert judge("standard").batch_limit_documented is True


def test_the_judges_type_rules_and_the_mocks_type_table_agree() -> None:
    # Written apart from the same documents: where they disagree, one of them misread the documents.
    from conformance.rules import TYPE_RULES, Status, cost
    from mockpanel._domain.lifecycle import Status as MockStatus
    from mockpanel._domain.servicetypes import SERVICE_TYPES

    assert set(TYPE_RULES) == set(SERVICE_TYPES)
    for name, rule in TYPE_RULES.items():
        mock = SERVICE_TYPES[name]
        assert (rule.required, rule.optional, rule.slug, rule.flat, rule.dripfeed) == (
            mock.required, mock.optional, mock.slug, mock.flat_price, mock.dripfeed), name
    assert [s.value for s in Status] == [s.value for s in MockStatus]
    assert [s.rank for s in Status] == [s.rank for s in MockStatus]
    from decimal import Decimal

    assert cost(Decimal("0.90"), 1500, False) == Decimal("1.35") and cost(Decimal("2"), 7, True) == Decimal("2")
