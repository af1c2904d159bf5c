"""The requirement catalogue: conformance/requirements.json, as data.

Each requirement has an id (V2-BAL-01), the clause it comes from, a severity
(failure: documented; warning: only observed in the wild) and the tier that can
exercise it. Reports and the README table are generated from it:

    python -m mockpanel.conformance.catalogue    # prints the README table
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

TIERS = ("read-only", "orders")
SEVERITIES = ("failure", "warning")
AREAS = (
    "transport", "auth", "services", "balance", "status", "batches", "add", "service types",
    "orders and money", "refill", "cancel", "isolation", "error wording",
)


@dataclass(frozen=True)
class Requirement:
    id: str
    area: str
    title: str
    text: str
    source: str
    clause: str
    severity: str  # "failure" or "warning"
    tier: str  # "read-only" or "orders"
    needs: tuple[str, ...] = ()  # "second_key", "action:refill", "service_type:Package"
    service_type: str | None = None
    dripfeed: bool = False
    error_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Catalogue:
    requirements: tuple[Requirement, ...]
    statuses_in_the_wild: tuple[str, ...]
    service_type_names: tuple[str, ...]
    severity_rule: str
    by_id: dict[str, Requirement] = field(default_factory=dict, compare=False, repr=False)

    def __getitem__(self, rid: str) -> Requirement:
        return self.by_id[rid]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.requirements)

    def __len__(self) -> int:
        return len(self.requirements)


def _requirement(data: dict[str, Any], where: str) -> Requirement:
    for name in ("id", "area", "title", "text", "source", "clause", "severity", "tier"):
        if not isinstance(data.get(name), str) or not data[name]:
            raise ValueError(f"{where}: field {name!r} must be a non-empty string")
    if data["severity"] not in SEVERITIES:
        raise ValueError(f"{where}: severity must be one of {SEVERITIES}, got {data['severity']!r}")
    if data["tier"] not in TIERS:
        raise ValueError(f"{where}: tier must be one of {TIERS}, got {data['tier']!r}")
    if data["area"] not in AREAS:
        raise ValueError(f"{where}: area must be one of {AREAS}, got {data['area']!r}")
    return Requirement(
        id=data["id"], area=data["area"], title=data["title"], text=data["text"], source=data["source"],
        clause=data["clause"], severity=data["severity"], tier=data["tier"],
        needs=tuple(data.get("needs", ())), service_type=data.get("service_type"),
        dripfeed=bool(data.get("dripfeed", False)), error_codes=tuple(data.get("error_codes", ())),
    )


@lru_cache(maxsize=1)
def load_catalogue() -> Catalogue:
    """The catalogue shipped with the package, checked field by field."""
    text = resources.files("mockpanel.conformance").joinpath("requirements.json").read_text(encoding="utf-8")
    data = json.loads(text)
    reqs = tuple(_requirement(r, f"requirements.json[{i}]") for i, r in enumerate(data["requirements"]))
    ids = [r.id for r in reqs]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"requirements.json: duplicate ids {duplicates}")
    return Catalogue(
        requirements=reqs,
        statuses_in_the_wild=tuple(data["statuses_in_the_wild"]),
        service_type_names=tuple(data["service_type_names"]),
        severity_rule=data["severity_rule"],
        by_id={r.id: r for r in reqs},
    )


def markdown_table(catalogue: Catalogue | None = None) -> str:
    """The README's requirement table, generated from the data."""
    catalogue = catalogue or load_catalogue()
    rows = ["| ID | Requirement | Tier | Severity | Source |", "| --- | --- | --- | --- | --- |"]
    for r in catalogue:
        title = r.title.replace("|", "\\|")
        rows.append(f"| {r.id} | {title} | {r.tier} | {r.severity} | {r.source.replace('|', '/')} |")
    return "\n".join(rows)


if __name__ == "__main__":  # pragma: no cover
    print(markdown_table())
