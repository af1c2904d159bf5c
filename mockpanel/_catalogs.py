"""Catalogues from files: a packaged one by name (fixtures/catalogs/NAME.json) or a user's file."""

from __future__ import annotations

from pathlib import Path

from ._domain.catalog import Catalog
from conformance.data import packaged_text

from ._packaged import parse_json, user_text

__all__ = ["Catalog", "load_catalog"]


def load_catalog(name_or_path: str = "default") -> Catalog:
    """A catalogue by name (fixtures/catalogs/NAME.json) or by file path."""
    path = Path(name_or_path)
    if path.suffix == ".json" and path.exists():
        text, where = user_text(name_or_path), str(path)
    else:
        found = packaged_text("catalogs", name_or_path)
        if found is None:
            raise ValueError(
                f"no catalogue named {name_or_path!r}: give a name from fixtures/catalogs "
                "or the path of a .json file"
            )
        text, where = found, f"catalogue {name_or_path!r}"
    return Catalog.from_json(parse_json(text, where), where=where)
