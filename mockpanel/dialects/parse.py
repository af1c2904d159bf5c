"""Wire values to domain values: id lists, single ids."""

from __future__ import annotations

def parse_id(raw: str | None) -> int | None:
    """An id as the panel stores it (1 to 18 ASCII digits), or None if ``raw`` is not one."""
    if raw is None:
        return None
    raw = raw.strip()
    # isdigit() alone admits "²"; isascii() rules it out. 18 digits fit JSON's int64.
    return int(raw) if raw.isdigit() and raw.isascii() and len(raw) <= 18 else None


def parse_ids(tokens: list[str]) -> list[int | None]:
    """``parse_id`` for a batch of tokens ``split_ids`` already stripped (one loop: a 100-id status)."""
    return [int(t) if t.isdigit() and t.isascii() and len(t) <= 18 else None for t in tokens]


def split_ids(raw: str) -> list[str]:
    """The tokens of an id list: "1,2,3", " 1, 2 ", or a JSON array "[1,2,3]" (old SmartPanel)."""
    raw = raw.strip()
    if raw.startswith("[") and raw.endswith("]"):
        raw = raw[1:-1].replace('"', "")
    return [token.strip() for token in raw.split(",") if token.strip()]
