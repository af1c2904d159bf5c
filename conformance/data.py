"""The one loader of the data the repository ships in ``fixtures/``: dialect profiles, service
catalogues and the seeds' examples, read by the mock and the judge alike.

It sits here, at the bottom layer, because the judge may read the mock's data but never its code.
``fixtures/`` is found beside this package in a checkout, and inside it once installed (the wheel
ships the folder as ``conformance/fixtures``), so the same import names work in both.
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent
KINDS = ("catalogs", "dialects", "seeds")


def root() -> Path:
    """The ``fixtures`` folder: inside the installed package, else beside it in a checkout."""
    for candidate in (_HERE / "fixtures", _HERE.parent / "fixtures"):
        if (candidate / "dialects").is_dir():
            return candidate
    raise FileNotFoundError(f"no fixtures/ folder in {_HERE} or beside it: reinstall mockpanel "
                            "(pip install mockpanel) or run from a full checkout")


def folder(kind: str) -> Path:
    """The folder of one kind of data: ``catalogs``, ``dialects``, ``seeds``."""
    if kind not in KINDS:
        raise ValueError(f"no fixtures of kind {kind!r}; the kinds are {', '.join(KINDS)}")
    return root() / kind


def packaged(kind: str) -> list[Path]:
    """The shipped ``.json`` files of a kind, sorted by name."""
    return sorted(p for p in folder(kind).iterdir() if p.suffix == ".json" and p.is_file())


def packaged_text(kind: str, name: str) -> str | None:
    """The text of the shipped file ``kind/name.json``, or None if there is none."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        return None  # a name, never a path out of the folder
    path = folder(kind) / f"{name}.json"
    return path.read_text(encoding="utf-8") if path.is_file() else None
