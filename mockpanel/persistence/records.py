"""What a change looks like in a state file, and replaying one.

A change is a Panel method marked @mutation and its arguments, minus what must not or
need not reach the disk: keys become SHA-256 digests, an ``add`` keeps only the fields
its service type reads (junk and the request's own key are dropped).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..domain import snapshot
from ..domain.accounts import KeyDigest
from ..domain.catalog import Catalog
from ..domain.errors import PanelError
from ..domain.mutations import MUTATIONS
from ..domain.panel import Panel
from .codec import decode, loads

# The operations a state file records: the panel's own list (domain/mutations.py), read once the
# Panel class is defined (this module imports it).
KEYED = frozenset(name for name, keyed in MUTATIONS.items() if keyed)
OPERATIONS = frozenset(MUTATIONS)
ADD_FIELDS = ("link", "quantity", "runs", "interval")


@dataclass(frozen=True)
class Identity:
    """What a file can only be continued with: the same seed, dialect and catalogue."""

    seed: int
    dialect: str
    catalog: str

    def as_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "dialect": self.dialect, "catalog": self.catalog}

    def differences(self, saved: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
        return {k: (saved.get(k), v) for k, v in self.as_json().items() if saved.get(k) != v}


@dataclass(frozen=True)
class Entry:
    name: str
    args: bytes


_DIGESTS: dict[str, KeyDigest] = {}  # key -> its digest: hashing and checking one costs more than a commit


def _digest(key: Any) -> Any:
    digest = _DIGESTS.get(key) if isinstance(key, str) else None
    if digest is None:
        digest = KeyDigest.of(key)
        if len(_DIGESTS) >= 10_000:
            _DIGESTS.clear()
        _DIGESTS[key] = digest
    return digest


def stored_args(panel: Panel | None, name: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
    if name in KEYED and args:
        args = (_digest(args[0]),) + tuple(args[1:])
    if name == "add" and len(args) > 2 and panel is not None:
        args = args[:2] + (_used_fields(panel, args[1], args[2]),) + args[3:]
    if name == "restore_snapshot" and args:
        # What the panel will hold, not what was sent: checked (a bad state is refused before any
        # change) and without fields a state does not have. The clock stays as sent (null keeps it).
        normal = snapshot.dump(snapshot.load(args[0], kind=Panel))
        normal["clock"] = args[0].get("clock")
        args = (normal,) + tuple(args[1:])
    if name == "reset" and args and isinstance(args[0], Catalog):
        args = (args[0].to_json(),) + tuple(args[1:])  # replayed as Catalog.from_json
    return args


def _used_fields(panel: Panel, service_id: Any, params: Any) -> dict[str, Any]:
    try:
        stype = panel.find_service(service_id).type
    except PanelError:
        return {}  # the add will be refused: nothing is stored
    rules = panel.settings.rules.type_fields
    cached = _KEEP.get(stype)
    if cached is None or cached[0] is not rules:
        required, optional = rules.get(stype.name, (stype.required, stype.optional))
        cached = _KEEP[stype] = (rules, frozenset(required) | frozenset(optional) | frozenset(ADD_FIELDS))
    keep = cached[1]
    return {k: v for k, v in params.items() if k in keep}


_KEEP: dict[Any, tuple[Any, frozenset[str]]] = {}  # service type -> (the rules it was read under, its fields)


def apply(panel: Panel, op: str, blob: bytes) -> None:
    """Run one stored change on ``panel`` (at the instant the caller pinned)."""
    if op not in OPERATIONS:
        raise ValueError(f"unknown operation {op!r}")
    data = decode(loads(blob))
    args, kwargs = list(data["args"]), data["kwargs"]
    if op == "reset" and args and args[0] is not None:
        args[0] = Catalog.from_json(args[0], where="reset catalog")
    getattr(panel, op)(*args, **kwargs)
