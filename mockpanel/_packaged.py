"""Reading the user's own files of the kinds the package ships (catalogues, dialect profiles);
the shipped ones come through the one loader of ``fixtures/``, ``conformance.data``.

The domain reads no files: a catalogue or profile is read here, then checked field by field by
the code that knows its format (``Catalog.from_json``, ``dialects.profile``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def user_text(path: str) -> str:
    """The text of a user's file (raises OSError if it cannot be read)."""
    return Path(path).read_text(encoding="utf-8")


def parse_json(text: str, where: str, error: type[Exception] = ValueError) -> Any:
    """JSON from a file's text; ``error`` names the file when it is not JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{where}: not valid JSON ({exc})") from None
