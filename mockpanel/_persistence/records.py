"""What a change looks like in a state file, and replaying one.

A change is an operation marked @mutation (a Panel method) and its arguments, minus what must not or
need not reach the disk: keys become SHA-256 digests, and an order is its typed request
(``place_order``), never the wire fields it was read from (junk and the request's own key
never reach the panel's domain, nor the file). A file names each change by its operation's
name, but for ``open_account``, which files spell ``_open_account`` (``STORED_NAMES``).

Files written before orders were typed hold ``add`` with the wire fields its type read; those
replay through the control panel's ``add``, which reads them as it did then.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._panel import snapshot
from .._panel.panel import Panel
from .._domain.accounts import KeyDigest
from .._domain.catalog import Catalog
from .._domain.mutations import MUTATIONS
from .codec import decode, loads

# The operations a state file records: the panel's own list (_domain/mutations.py), read once the
# Panel class is defined (this module imports it).
KEYED = frozenset(name for name, keyed in MUTATIONS.items() if keyed)
RECORDED = frozenset(MUTATIONS)
# How files spell an operation whose name is not the panel method's: the file format predates the name.
STORED_NAMES = {"open_account": "_open_account"}
OPERATION_OF = {stored: name for name, stored in STORED_NAMES.items()}
# Operations only older files hold, still replayed: ``add`` (key, service, wire fields).
LEGACY = frozenset({"add"})
OPERATIONS = frozenset(STORED_NAMES.get(name, name) for name in RECORDED) | LEGACY  # as files spell them


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
class StoredChange:
    """One change as a file holds it: the operation's name and its arguments, encoded."""

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


def stored_args(name: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
    if name in KEYED and args:
        args = (_digest(args[0]),) + tuple(args[1:])
    if name == "restore_snapshot" and args:
        # What the panel will hold, not what was sent: checked (a bad state is refused before any
        # change) and without fields a state does not have. The clock stays as sent (null keeps it).
        normal = snapshot.dump(snapshot.load(args[0]))
        normal["clock"] = args[0].get("clock")
        args = (normal,) + tuple(args[1:])
    if name == "reset" and args and isinstance(args[0], Catalog):
        args = (args[0].to_json(),) + tuple(args[1:])  # replayed as Catalog.from_json
    return args


def stored_change(name: str, args: bytes) -> StoredChange:
    """The operation ``name`` with its encoded arguments, as a file spells it."""
    return StoredChange(STORED_NAMES.get(name, name), args)


def apply(panel: Panel, op: str, blob: bytes) -> None:
    """Run one stored change on ``panel`` (at the instant the caller pinned)."""
    data = decode(loads(blob))
    run(panel, op, list(data["args"]), data["kwargs"])


def run(panel: Panel, op: str, args: list[Any], kwargs: dict[str, Any]) -> None:
    """Run the operation a file names ``op`` on ``panel``, with decoded arguments."""
    if op not in OPERATIONS:
        raise ValueError(f"unknown operation {op!r}")
    if op == "reset" and args and args[0] is not None:
        args[0] = Catalog.from_json(args[0], where="reset catalog")
    getattr(panel, OPERATION_OF.get(op, op))(*args, **kwargs)
