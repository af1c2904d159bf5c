"""A panel's whole state as JSON, and back: ``dump(core)``, ``load(data)``, ``restore(core, data)``.

The state is a panel core's (_domain/panel.py, ``PanelCore``): the control panel's ``core``.

Money is exact (Decimal written as strings), times are float seconds (JSON floats
round-trip exactly; an infinite time, "never", is written as null). Orders and refills
are tables (a list of field names, then one row per record) so a big state stays small.

API keys are not written: an account is stored under the SHA-256 digest of its key,
which is all the panel needs to find it again when the key is sent. A state therefore
never holds a secret. Each account's random generator state is written, so a restored
panel draws the same plans the original would have drawn.
"""

from __future__ import annotations

import dataclasses
import math
from array import array
from decimal import Decimal
from typing import Any, Mapping

from .._domain.account_book import AccountBook
from .._domain.accounts import Account, KeyDigest, LedgerEntry
from .._domain.catalog import Catalog, Service, service_from_json
from .._domain.clock import VirtualClock
from .._domain.lifecycle import RefillStatus, Status
from .._domain.money import ZERO, parse_amount
from .._domain.orderbook import OrderBook
from .._domain.orders import Order
from .._domain.panel import PanelCore
from .._domain.refills import Refill
from .._domain.settings import PanelSettings

FORMAT = "mockpanel-state"
VERSION = 1

_MONEY = {"charge", "refunded"}
_TIMES = {"created", "start_at", "done_at", "per_second"}  # null stands for infinity
# What Order() takes; the other fields are set on the order afterwards.
_BORN = (
    "id", "key", "service", "link", "quantity", "charge", "created", "start_count", "start_at",
    "per_second", "outcome", "delivered_to", "runs", "interval", "details",
)
_REMOVED = "\x00removed"  # the account of placeholder rows: the ids of removed keys are never issued again


class StateError(ValueError):
    """A state that cannot be loaded; the message says which part and why."""


# --- writing -------------------------------------------------------------------------


def dump(core: PanelCore, *, orders: bool = True) -> dict[str, Any]:
    """The panel's state as a JSON-able dict. Without ``orders``, "orders" and each account's
    "order_ids" are null (state files store those columns on their own)."""
    with core.lock:
        services: dict[Service, int] = {}
        rows = [_order_row(o, services) for o in core.orders.values()] if orders else []
        return {
            "format": FORMAT,
            "version": VERSION,
            "clock": {"now": core.clock.now(), "speed": core.clock.speed},
            "settings": _settings_json(core.settings),
            "catalog": core.catalog.to_json(),
            "next_order": core.orders.next_id,
            "next_refill": core.refills.next_id,
            "accounts": [_account_json(digest, a, orders) for digest, a in core.account_book.by_digest.items()],
            "services": [s.to_json() for s in services],
            "orders": {"fields": list(Order.FIELDS), "rows": rows} if orders else None,
            "refills": {
                "fields": list(Refill.__slots__),
                "rows": [[_out(n, getattr(r, n)) for n in Refill.__slots__] for r in core.refills.values()],
            },
            "refill_of": [[o, r] for o, r in core.refills.of_order.items()],
        }


def _out(name: str, value: Any) -> Any:
    if name in _MONEY:
        return f"{value:f}"  # exact, never an exponent ("0.0000000", not "0E-7")
    if isinstance(value, float) and value == math.inf:
        return None
    if isinstance(value, (Status, RefillStatus)):
        return value.value
    return value


def _order_row(order: Order, services: dict[Service, int]) -> list[Any]:
    row = []
    for name in Order.FIELDS:
        value = getattr(order, name)
        if name == "service":
            value = services.setdefault(value, len(services))
        row.append(_out(name, value))
    return row


def _account_json(digest: bytes, a: Account, orders: bool = True) -> dict[str, Any]:
    version, internal, gauss = a.rng.getstate()
    return {
        "digest": digest.hex(),
        "currency": a.currency,
        "created": a.created,
        "balance": f"{a.balance:f}",  # exact (a state round-trips), never an exponent
        "entries": [[e.at, e.kind, f"{e.amount:f}", e.order, e.note] for e in a.entries],
        "order_ids": list(a.order_ids) if orders else None,
        "due": [list(d) for d in a.due],
        "latest_by_link": [[sid, link, oid] for (sid, link), oid in a.latest_by_link.items()],
        "disabled": a.disabled,
        "rng": [version, list(internal), gauss],
    }


def _settings_json(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: _settings_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [_settings_json(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _settings_json(v) for k, v in value.items()}
    return value


# --- reading -------------------------------------------------------------------------


def load(data: Any, *, book: OrderBook[Order] | None = None) -> PanelCore:
    """A new panel core holding the state ``data`` (as ``dump`` wrote it). Raises StateError.

    A state whose "orders" is null takes its order book from ``book`` (state files)."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise StateError(
            "not a mockpanel state: expected a JSON object with \"format\": \"mockpanel-state\" "
            "(as GET /_mock/state or MockPanel.export_state() give)"
        )
    if data.get("version") != VERSION:
        raise StateError(f"mockpanel state version {data.get('version')!r} is not supported (this mockpanel reads {VERSION})")
    try:
        return _load(data, book)
    except StateError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        what = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise StateError(f"mockpanel state is damaged: {what}") from None


def restore(core: PanelCore, data: Any) -> None:
    """Replace ``core``'s state with ``data`` in place.

    Its lock, hooks and clock object stay; the clock moves to the state's time and keeps its
    own speed (a server's --speed is a setting, not state). A state whose "clock" is null
    leaves the clock where it is (a reset).
    """
    loaded = load(data)
    with core.lock:
        core.adopt(loaded)
        if isinstance(data, dict) and data.get("clock") is not None:
            core.clock.start_over_at(loaded.clock.now())


def _load(data: dict[str, Any], book: OrderBook[Order] | None) -> PanelCore:
    clock_data = data["clock"]
    if clock_data is None:  # a state that keeps the clock: any clock will do
        clock = VirtualClock(speed=0, start=0)
    else:
        clock = VirtualClock(speed=float(clock_data["speed"]), start=float(clock_data["now"]))
    settings = _settings_from(PanelSettings, data["settings"], "settings")
    panel = PanelCore(catalog=Catalog.from_json(data["catalog"], where="state catalog"), clock=clock, settings=settings)
    if data["orders"] is None:
        if book is None or book.next_id != int(data["next_order"]):
            raise StateError("mockpanel state is damaged: its order book is missing or does not match")
        panel.orders, panel.account_book = book, AccountBook(book)  # the accounts' charges are this book's
    panel.refills.next_id = int(data["next_refill"])
    accounts = panel.account_book
    for item in data["accounts"]:
        digest, account = _account_from(item, settings.seed)
        accounts.by_digest[digest] = account
        accounts.by_id[account.id] = account
    if data["orders"] is None:
        unknown = set(panel.orders.accounts.values) - set(accounts.by_id) - {_REMOVED}
        if unknown:
            raise StateError("mockpanel state is damaged: orders belong to no account")
    else:
        services = [service_from_json(s, where=f"state services[{i}]") for i, s in enumerate(data["services"])]
        _load_orders(panel, data, services)
    for row in _rows(data["refills"], Refill.__slots__, "refills"):
        refill = Refill.__new__(Refill)
        for name, value in row.items():
            setattr(refill, name, RefillStatus(value) if name == "outcome" else _in(name, value))
        panel.refills.put(refill)
    panel.refills.of_order = {int(o): int(r) for o, r in data["refill_of"]}
    return panel


def _load_orders(panel: PanelCore, data: dict[str, Any], services: list[Service]) -> None:
    book = panel.orders
    filler = services[:1] or list(panel.catalog)[:1]
    placeholders = False
    for row in sorted(_rows(data["orders"], Order.FIELDS, "orders"), key=lambda r: r["id"]):
        values = {name: _in(name, value) for name, value in row.items()}
        values["service"], values["outcome"] = services[row["service"]], Status(row["outcome"])
        if values["key"] not in panel.account_book.by_id:
            raise StateError(f"mockpanel state is damaged: order {row['id']} belongs to no account")
        if values["id"] < book.next_id:
            raise StateError(f"mockpanel state is damaged: order {row['id']} is listed twice or below the first id")
        while book.next_id < values["id"]:
            _placeholder(book, filler)
            placeholders = True
        order = Order(book=book, **{name: values[name] for name in _BORN})
        for name in Order.FIELDS:
            if name not in _BORN and name != "refunded":
                setattr(order, name, values[name])
        order.refunded = values["refunded"]  # last: it is checked against the outcome's refund
    while book.next_id < int(data["next_order"]):
        _placeholder(book, filler)
        placeholders = True
    if placeholders:
        book.remove_account(_REMOVED)


def _placeholder(book: Any, services: list[Service]) -> None:
    """A row for an id whose key was removed: it answers as unknown and is never issued again."""
    service = services[0] if services else service_from_json(
        {"service": 1, "name": "removed", "type": "Default", "rate": "0", "min": 1, "max": 1}
    )
    Order(
        id=book.next_id, key=_REMOVED, service=service, link="", quantity=0, charge=ZERO, created=0.0,
        start_count=0, start_at=0.0, per_second=1.0, outcome=Status.CANCELED, delivered_to=0, book=book,
    )


def _in(name: str, value: Any) -> Any:
    if name in _MONEY:
        return parse_amount(value, name=name)
    if name in _TIMES:
        return math.inf if value is None else float(value)
    return value


def _rows(table: dict[str, Any], fields: tuple[str, ...], where: str) -> list[dict[str, Any]]:
    names = table["fields"]
    if set(names) != set(fields):
        raise StateError(
            f"mockpanel state {where} have fields {sorted(set(names) ^ set(fields))} that this mockpanel "
            "does not (written by another version?)"
        )
    out = []
    for row in table["rows"]:
        if len(row) != len(names):
            raise StateError(f"mockpanel state is damaged: a row of {where} has {len(row)} values, not {len(names)}")
        out.append(dict(zip(names, row)))
    return out


def _account_from(item: dict[str, Any], seed: int) -> tuple[bytes, Account]:
    digest = bytes.fromhex(item["digest"])
    if len(digest) != 32:
        raise StateError("mockpanel state is damaged: an account digest is not 32 bytes")
    # The key itself was never written: the account opens to the key whose digest this is.
    account = Account(key=KeyDigest(digest.hex()), currency=str(item["currency"]), seed=seed, created=float(item["created"]))
    account.balance = parse_amount(item["balance"], name="balance")
    account.entries = [
        LedgerEntry(float(at), str(kind), parse_amount(amount), None if order is None else int(order), str(note))
        for at, kind, amount, order, note in item["entries"]
    ]
    account.order_ids = array("q", (int(i) for i in item["order_ids"]))  # the account's typed column
    account.due = [(float(t), int(o), int(v)) for t, o, v in item["due"]]
    account.latest_by_link = {(int(s), str(link)): int(o) for s, link, o in item["latest_by_link"]}
    # Its finished orders are swept out by the adds (placing.forget_finished_links). A "link_due" list
    # that states once kept beside it is not needed: it is ignored.
    account.disabled = bool(item["disabled"])
    version, internal, gauss = item["rng"]
    account.rng.setstate((int(version), tuple(int(x) for x in internal), gauss))
    return digest, account


def _settings_from(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise StateError(f"mockpanel state is damaged: {where} is not an object")
    defaults = cls()
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise StateError(f"mockpanel state has unknown {where} {sorted(unknown)} (written by another version?)")
    values = {}
    for name, value in data.items():
        current = getattr(defaults, name)
        if dataclasses.is_dataclass(current):
            values[name] = _settings_from(type(current), value, f"{where}.{name}")
        else:
            values[name] = _tuples(value, current)
    return cls(**values)


def _tuples(value: Any, like: Any = None) -> Any:
    """Settings hold tuples (they are frozen); JSON gives lists. A number where the default (``like``) is a
    float is a float: PUT /_mock/state reads JSON numbers as Decimal (money exact), which a plan's odds
    and timings cannot be drawn with."""
    if isinstance(value, list):
        likes = like if isinstance(like, tuple) and len(like) == len(value) else (None,) * len(value)
        return tuple(_tuples(v, w) for v, w in zip(value, likes))
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    if isinstance(like, float) and isinstance(value, (Decimal, int)) and not isinstance(value, bool):
        return float(value)
    return value
