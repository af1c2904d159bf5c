"""The requirement catalogue is data that the checks, reports and README agree with."""

from __future__ import annotations

import re
from pathlib import Path

from conformance.catalogue import AREAS, load_catalogue
from mockpanel._domain.servicetypes import SERVICE_TYPES

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = load_catalogue()


def test_ids_are_unique_well_formed_and_each_has_a_source_severity_and_tier() -> None:
    ids = [r.id for r in CATALOGUE]
    assert len(ids) == len(set(ids)) > 60
    for r in CATALOGUE:
        assert re.fullmatch(r"V2-[A-Z]{2,4}-\d{2}", r.id), r.id
        assert r.source and r.clause and r.severity in ("failure", "warning") and r.tier in ("read-only", "orders")
        assert r.area in AREAS


def test_every_service_type_has_its_requirement() -> None:
    typed = {r.service_type for r in CATALOGUE if r.service_type and not r.dripfeed}
    assert typed == set(SERVICE_TYPES)
    assert any(r.dripfeed for r in CATALOGUE)


def test_every_requirement_is_checked_somewhere_in_the_suite() -> None:
    code = "".join(p.read_text() for p in (ROOT / "conformance").glob("*.py"))
    typed = {r.id for r in CATALOGUE if r.service_type}  # reached through type_rid()
    unchecked = [r.id for r in CATALOGUE if r.id not in typed and f'"{r.id}"' not in code]
    assert unchecked == []


def test_the_readme_points_to_the_generated_requirements() -> None:
    # The table lives in docs/requirements.md, generated whole (the next test); the README links it.
    assert "docs/requirements.md" in (ROOT / "README.md").read_text()


def test_docs_requirements_is_generated_from_the_catalogue_and_cites_public_sources() -> None:
    from conformance.catalogue import public_sources, requirements_markdown

    doc = (ROOT / "docs" / "requirements.md").read_text()
    assert doc == requirements_markdown(), "regenerate it: python -m conformance.catalogue --doc"
    for r in CATALOGUE:
        urls = public_sources(r)
        assert urls and all(u.startswith("https://") for u in urls), r.id
        assert f"| {r.id} | " in doc
    assert "\u00a7" not in doc  # sources are public pages, not notes (a section sign)
    assert "## What the suite now tells apart" in doc


def test_the_flags_of_the_service_list_are_failures_when_broken() -> None:
    # The documents' service list promises refill and cancel per service: breaking the promise is no mere warning.
    for rid in ("V2-CAN-03", "V2-REF-06", "V2-STA-05"):
        assert CATALOGUE[rid].severity == "failure", rid
    assert CATALOGUE["V2-GEN-07"].severity == "warning"  # the documents only say "JSON"
    assert "action:refill" in CATALOGUE["V2-REF-06"].needs
