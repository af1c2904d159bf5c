"""Reading the user's own files of the kinds the package ships (catalogues, dialect profiles);
the shipped ones come through the one loader of ``fixtures/``, ``conformance.data``.

The domain reads no files: a catalogue or profile is read here, then checked field by field by
the code that knows its format (``Catalog.from_json``, ``dialects.profile``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


MAX_FILE = 256 << 20  # a catalogue or profile larger than this is not one: refused before it is read


def user_text(path: str) -> str:
    """The text of a user's file; a ValueError naming the file when it is not a regular file of UTF-8
    text within MAX_FILE (a FIFO or a device would be read forever)."""
    file = Path(path)
    try:
        if not file.is_file():
            raise ValueError(f"{path} is not a regular file: give the path of a .json file")
        if file.stat().st_size > MAX_FILE:
            raise ValueError(f"{path} is larger than {MAX_FILE >> 20} MiB: not a file of this kind")
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (byte {exc.start} is {exc.object[exc.start:exc.start + 1]!r})") from None
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None


def parse_json(text: str, where: str, error: type[Exception] = ValueError) -> Any:
    """JSON from a file's text; ``error`` names the file when it is not JSON (or nested too deep to read)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{where}: not valid JSON ({exc})") from None
    except RecursionError:
        raise error(f"{where}: nested too deeply to read (arrays or objects inside each other past Python's "
                    "recursion limit)") from None
