"""The one loader for the JSON data the package ships (fixtures/: catalogues, dialect profiles)
and for the user's own files of the same kinds.

The domain reads no files: a catalogue or profile is read here, then checked field by field by
the code that knows its format (``Catalog.from_json``, ``dialects.profile``).
"""

from __future__ import annotations

import json
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any


def folder(kind: str) -> Traversable:
    """The packaged folder of one kind of data: ``catalogs``, ``dialects``, ``seeds``."""
    return resources.files("mockpanel.fixtures").joinpath(kind)


def packaged(kind: str) -> list[Traversable]:
    """The packaged ``.json`` files of a kind, sorted by name."""
    return sorted((e for e in folder(kind).iterdir() if e.name.endswith(".json")), key=lambda e: e.name)


def packaged_text(kind: str, name: str) -> str | None:
    """The text of the packaged file ``kind/name.json``, or None if there is none."""
    entry = folder(kind).joinpath(f"{name}.json")
    return entry.read_text(encoding="utf-8") if entry.is_file() else None


def user_text(path: str) -> str:
    """The text of a user's file (raises OSError if it cannot be read)."""
    return Path(path).read_text(encoding="utf-8")


def parse_json(text: str, where: str, error: type[Exception] = ValueError) -> Any:
    """JSON from a file's text; ``error`` names the file when it is not JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{where}: not valid JSON ({exc})") from None
