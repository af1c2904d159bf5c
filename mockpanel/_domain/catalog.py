"""Services: what a panel sells, at what rate, within which limits."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Iterator

from .money import parse_amount
from .numbers import MAX_ID, parse_int
from .servicetypes import ServiceType, service_type


@dataclass(frozen=True)
class Service:
    id: int
    name: str
    type: ServiceType
    category: str
    rate: Decimal  # per 1000 units; for packages, the price of one order
    min: int
    max: int
    refill: bool = False
    cancel: bool = False
    dripfeed: bool = False
    description: str = ""
    enabled: bool = True

    def to_json(self) -> dict[str, Any]:
        """The service as a catalogue file entry (the format ``service_from_json`` reads)."""
        return {
            "service": self.id,
            "name": self.name,
            "type": self.type.name,
            "category": self.category,
            "rate": str(self.rate),
            "min": self.min,
            "max": self.max,
            "refill": self.refill,
            "cancel": self.cancel,
            "dripfeed": self.dripfeed,
            "description": self.description,
            "enabled": self.enabled,
        }


_FIELDS = {"service", "name", "type", "category", "rate", "min", "max", "refill", "cancel", "dripfeed", "description", "enabled"}


def service_from_json(data: dict[str, Any], *, where: str = "service") -> Service:
    """Build a Service from a catalogue entry, naming the bad field on error."""
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected an object, got {type(data).__name__}")
    unknown = set(data) - _FIELDS
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {sorted(unknown)}; allowed: {sorted(_FIELDS)}")
    for name in ("service", "name", "type", "rate", "min", "max"):
        if name not in data:
            raise ValueError(f"{where}: missing required field {name!r}")
    sid, low, high = (_integer(data, name, where) for name in ("service", "min", "max"))
    if sid <= 0:
        raise ValueError(f"{where}: 'service' must be a positive integer, got {sid}")
    if not 0 < low <= high:
        raise ValueError(f"{where}: need 0 < min <= max, got min={low}, max={high}")
    rate = parse_amount(data["rate"], name=f"{where}.rate")
    if rate < 0:
        raise ValueError(f"{where}: 'rate' must not be negative, got {rate}")
    for name in ("name", "category", "description"):
        text = str(data.get(name, ""))
        if len(text) > 10_000 or "\x00" in text or not text.encode("utf-8", "replace").decode("utf-8") == text:
            raise ValueError(f"{where}: {name!r} must be text of at most 10000 characters (valid UTF-8, no NUL)")
    try:
        stype = service_type(str(data["type"]))
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    return Service(
        id=sid,
        name=str(data["name"]),
        type=stype,
        category=str(data.get("category", "")),
        rate=rate,
        min=low,
        max=high,
        refill=_flag(data, "refill", False, where),
        cancel=_flag(data, "cancel", False, where),
        dripfeed=_flag(data, "dripfeed", stype.dripfeed, where),
        description=str(data.get("description", "")),
        enabled=_flag(data, "enabled", True, where),
    )


def _integer(data: dict[str, Any], name: str, where: str) -> int:
    # int(1.5) and int(True) would silently become 1; digit strings ("50") are fine.
    value = parse_int(data[name], low=-MAX_ID)  # a negative int gets its own message below
    if value is not None:
        return value
    raise ValueError(f"{where}: {name!r} must be an integer, got {data[name]!r} (use up to 18 ASCII digits)")


def _flag(data: dict[str, Any], name: str, default: bool, where: str) -> bool:
    # bool("false") is True: accept only real booleans, 0/1 and "true"/"false".
    value = data.get(name, default)
    if isinstance(value, bool):
        return value
    if value in (0, 1) or (isinstance(value, str) and value.strip().lower() in ("true", "false", "0", "1")):
        return str(value).strip().lower() in ("1", "true")
    raise ValueError(f"{where}: {name!r} must be true or false, got {value!r}")


class Catalog:
    """The services on sale, by id, in listing order."""

    def __init__(self, services: list[Service] | None = None) -> None:
        # id -> service (listed or disabled): read it (``get``, one call less on the request path), change it
        # through ``put`` and ``update`` (they keep ``version``).
        self.by_id: dict[int, Service] = {}
        self.version = 0  # bumped by every change: an answer cached for a version stays exact
        for service in services or []:
            self.put(service)

    def __iter__(self) -> Iterator[Service]:
        return iter(self.by_id.values())

    def __len__(self) -> int:
        return len(self.by_id)

    def get(self, service_id: int) -> Service | None:
        """The service with this id (listed or disabled), or None."""
        return self.by_id.get(service_id)

    def put(self, service: Service) -> None:
        """Add a service, or replace the one with its id."""
        self.by_id[service.id] = service
        self.version += 1

    def update(self, service_id: int, **changes: Any) -> Service:
        """Change fields of a service (``rate="1.20"``, ``enabled=False``, ...), checked as a catalogue file is;
        raises KeyError for an unknown id."""
        current = self.by_id.get(service_id)
        if current is None:
            raise KeyError(f"no service {service_id} in the catalogue")
        if "rate" in changes:
            changes["rate"] = parse_amount(changes["rate"], name="rate")
        updated = replace(current, **changes)
        # Re-check what a catalogue file is checked for (negative rate, min > max, ...).
        service_from_json(updated.to_json(), where=f"service {service_id}")
        self.by_id[service_id] = updated
        self.version += 1
        return updated

    def listed(self) -> list[Service]:
        """The services on sale (enabled), in listing order: what ``services`` shows."""
        return [s for s in self.by_id.values() if s.enabled]

    def to_json(self) -> list[dict[str, Any]]:
        """Every service, disabled ones included, as catalogue file entries."""
        return [s.to_json() for s in self.by_id.values()]

    @classmethod
    def from_json(cls, data: Any, *, where: str = "catalogue") -> "Catalog":
        """A catalogue from a file's JSON: ``{"services": [...]}`` or the bare list; errors name the entry and field."""
        if isinstance(data, dict) and "services" in data:
            data = data["services"]
        if not isinstance(data, list):
            raise ValueError(f"{where}: expected a list of services")
        services = [service_from_json(item, where=f"{where}[{i}]") for i, item in enumerate(data)]
        ids = [s.id for s in services]
        if len(set(ids)) != len(ids):
            duplicates = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"{where}: duplicate service ids {duplicates}; each service needs its own id")
        return cls(services)
