"""The control API: a test's hand on the panel, the same in Python (``Control``) and over
HTTP under ``/_mock/`` (_control_api/routes.py; docs/control-api.md).
"""

from __future__ import annotations

import functools
import math
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from decimal import Decimal
from typing import Any, Mapping

from .._dialects.parse import parse_id, parse_object_id
from .._dialects.profile import Dialect
from .._panel import snapshot
from .._domain.accounts import redact_id
from .._domain.catalog import Catalog, Service, service_from_json
from .._domain.clock import VirtualClock
from .._domain.errors import PanelError
from .._panel.panel import Panel
from .._panel.scrub import scrub
from .faults import Fault, FaultSet
from .journal import Journal, Request
from .triggers import parse_duration

JOURNAL_LIMIT = 10_000

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def iso(seconds: float | None) -> str | None:
    """Unix seconds as ISO-8601 UTC (``2023-11-14T22:13:20.000Z``, as JavaScript's ``Date.toISOString``
    writes it, cut to the millisecond); None for none, infinite or out of range (past year 9999)."""
    if seconds is None or not math.isfinite(seconds):
        return None
    # Cut to the millisecond exactly: timedelta(seconds=float) rounds to the microsecond first, so
    # 16.9469998 showed as .947, a moment after the time it names.
    milliseconds = math.floor(Fraction(seconds) * 1000)
    try:
        moment = _EPOCH + timedelta(milliseconds=milliseconds)  # not fromtimestamp: no limits before 1970
    except OverflowError:
        return None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _time(value: float) -> float | None:
    return None if value == float("inf") else value


class Control:
    """Everything a test may do to one panel beyond the API: keys, money, time, orders,
    services, faults, the journal, and the state as a whole."""

    def __init__(self, panel: Panel, dialect: Dialect, *, journal_limit: int = JOURNAL_LIMIT) -> None:
        self.panel = panel
        self.dialect = dialect
        self.faults: FaultSet = FaultSet(panel.settings.seed, dialect.actions)
        read_id = parse_object_id if dialect.family.id_format == "objectid" else parse_id
        # The clock is never replaced: no lambda on the request path.
        self.journal = Journal(panel.clock.now, journal_limit, read_id=read_id, hide=functools.partial(scrub, panel))
        self._start_services: list[Service] = list(panel.catalog)
        self._opening: list[tuple[str, Decimal, str]] = []
        self._opening_faults: list[Mapping[str, Any]] = []  # a scenario's: part of how the panel started

    # --- reset ---------------------------------------------------------------------

    def remember_opening(self) -> None:
        """The keys that exist now come back, with their balances, on ``reset``."""
        self._opening = [(a.key, a.balance, a.currency) for a in self.panel.accounts() if a.key]

    def open_with_faults(self, specs: list[Mapping[str, Any]]) -> None:
        """Faults the panel starts with (a scenario's): added now, and again after every ``reset``."""
        for spec in specs:
            self.add_fault(spec)
        self._opening_faults = list(specs)

    def reset(self) -> dict[str, Any]:
        """Back to the start: the opening keys with their opening balances; every other
        key, order, refill, fault and journal entry forgotten; the catalogue as it began.
        The clock keeps its time (it never moves backwards).

        One change, made whole or refused: the start is built aside, then put in place
        as one restore (which a state file records as one change)."""
        start = Panel(catalog=Catalog(list(self._start_services)), clock=VirtualClock(speed=0, start=0), settings=self.panel.settings)
        for key, balance, currency in self._opening:
            start.create_account(key, balance=balance, currency=currency)
        data = snapshot.dump(start.core)
        data["clock"] = None  # keep the panel's clock
        self.panel.restore_snapshot(data)
        self.faults.clear()
        for spec in self._opening_faults:
            self.add_fault(spec)
        self.journal.clear()
        return {"reset": True, "keys": len(self._opening)}

    # --- keys and money ------------------------------------------------------------

    def create_key(self, key: str | None = None, balance: Any = "0", currency: str | None = None) -> dict[str, Any]:
        account = self.panel.create_account(key, balance=balance, currency=currency)
        return {"key": account.key, "balance": self.dialect.show_balance(account.balance), "currency": account.currency}

    def remove_key(self, key: str) -> dict[str, Any]:
        self._account(key)
        self.panel.remove_account(key)
        return {"removed": True}

    def topup(self, key: str, amount: Any) -> dict[str, Any]:
        self._account(key)
        return {"balance": self.dialect.show_balance(self.panel.deposit(key, amount))}

    def drain(self, key: str, amount: Any = None) -> dict[str, Any]:
        """Money spent by "another client": ``amount``, or all of it."""
        balance, _ = self.panel.balance(self._account(key))
        if amount is None:
            if balance <= 0:
                return {"balance": self.dialect.show_balance(balance)}
            amount = balance
        return {"balance": self.dialect.show_balance(self.panel.withdraw(key, amount, note="spent by another client"))}

    def ledger(self, key: str) -> dict[str, Any]:
        entries = self.panel.ledger(self._account(key))
        balance, currency = self.panel.balance(key)
        return {
            "balance": self.dialect.show_balance(balance),
            "currency": currency,
            "entries": [
                {"at": e.at, "at_iso": iso(e.at), "kind": e.kind, "amount": self.dialect.show_money(e.amount),
                 "order": e.order, "note": e.note}
                for e in entries
            ],
        }

    def _account(self, key: str) -> str:
        try:
            self.panel.account(key)
        except PanelError:
            raise KeyError("no such API key on this panel (POST /_mock/keys creates one)") from None
        return key

    # --- the clock -----------------------------------------------------------------

    def clock(self) -> dict[str, Any]:
        clock = self.panel.clock
        now = clock.now()
        return {"now": now, "now_iso": iso(now), "speed": clock.speed, "frozen": clock.frozen}

    def set_clock(self, advance: Any = None, speed: Any = None, freeze: Any = None) -> dict[str, Any]:
        """Move the clock forward (seconds or "90s"/"15m"/"2h"/"1d"), change its speed, freeze it.

        Everything is checked before anything changes; with a state file, the new time is
        committed first (a clock that cannot be made durable does not move)."""
        clock = self.panel.clock
        if freeze not in (None, True, False):
            raise ValueError(f"'freeze' is true or false, got {freeze!r}")
        new_speed: float | None = None
        if speed is not None:
            if isinstance(speed, bool) or not isinstance(speed, (int, float, str, Decimal)):
                raise ValueError(f"'speed' is a number >= 0 (0 freezes the clock), got {speed!r}")
            try:
                new_speed = float(speed)
            except ValueError:
                new_speed = -1.0
            if not 0 <= new_speed < float("inf"):
                raise ValueError(f"'speed' is a number >= 0 (0 freezes the clock), got {speed!r}")
        if freeze:
            new_speed = 0.0
        seconds = parse_duration(advance) if advance is not None else 0.0
        if advance is not None or new_speed is not None:
            clock.move(seconds, new_speed)  # one move: a state file commits it once, before either
        return self.clock()

    # --- orders and refills ----------------------------------------------------------

    def order(self, order_id: int) -> dict[str, Any]:
        panel = self.panel
        with panel.lock:
            order = panel.find_order(order_id)
            try:  # refunds now due credited first, as a balance read would: "refunded" is never behind
                panel.settle(panel.account_by_id(order.key))
            except KeyError:
                pass  # its key was removed: nothing to credit
            now = panel.clock.now()
            state = order.state(now)
            refill = panel.refills.of_order.get(order_id)
            return {
                "order": order.id,
                "key": redact_id(order.key),
                "service": order.service.id,
                "link": order.link,
                "quantity": order.quantity,
                "status": state.status.value,
                "remains": state.remains,
                "start_count": state.start_count,
                "delivered": state.delivered,
                "charge": self.dialect.show_money(state.charge),
                "price": self.dialect.show_money(order.charge),
                "refunded": self.dialect.show_money(order.refunded),
                "created": order.created,
                "created_iso": iso(order.created),
                "runs": order.runs,
                "interval": order.interval,
                "refill": refill,
                "plan": {
                    "starts_at": _time(order.start_at),
                    "starts_at_iso": iso(order.start_at),
                    "ends_at": _time(order.done_at),
                    "ends_at_iso": iso(order.done_at),
                    "outcome": order.outcome.value,
                    "remains_at_end": order.quantity - order.delivered_to if order.quantity else 0,
                    "per_hour": order.per_second * 3600 if order.per_second < 1e100 else None,
                    "stuck": order.start_at == float("inf"),
                },
            }

    def set_order(
        self,
        order_id: int,
        status: str | None = None,
        remains: int | None = None,
        start_count: int | None = None,
        outcome: Mapping[str, Any] | str | None = None,
    ) -> dict[str, Any]:
        """Force status/remains/start_count now, or choose the final ``outcome`` for later."""
        for name, value in (("remains", remains), ("start_count", start_count)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"{name!r} must be a whole number, got {value!r}")
        if isinstance(outcome, str):
            outcome = {"status": outcome}
        if outcome is not None and (not isinstance(outcome, Mapping) or "status" not in outcome):
            raise ValueError("'outcome' is {\"status\": \"Partial\", \"remains\": 157} or a status name")
        self.panel.find_order(order_id)  # checked before anything changes
        if status is not None or remains is not None or start_count is not None:
            self.panel.set_order(order_id, status=status, remains=remains, start_count=start_count)
        if outcome is not None:
            self.panel.set_outcome(order_id, outcome["status"], outcome.get("remains"))
        return self.order(order_id)

    def set_refill(self, refill_id: int, status: str) -> dict[str, Any]:
        if not isinstance(status, str):
            raise ValueError("'status' is a refill status: Pending, In progress, Completed or Rejected")
        return {"refill": refill_id, "status": self.panel.set_refill(refill_id, status).value}

    # --- services --------------------------------------------------------------------

    def services(self) -> list[dict[str, Any]]:
        return self.panel.catalog.to_json()

    def add_service(self, data: Mapping[str, Any]) -> dict[str, Any]:
        service = service_from_json(dict(data), where="service")  # checked before the lock
        with self.panel.lock:
            if self.panel.catalog.get(service.id) is not None:
                raise ValueError(f"service {service.id} exists already; PATCH /_mock/services/{service.id} changes it")
            return self.panel.put_service(service.to_json()).to_json()

    def update_service(self, service_id: int, **changes: Any) -> dict[str, Any]:
        """Change fields of a service (rate, enabled, min, max, name, type ...), checked as a
        catalogue entry is. Orders already placed keep their price."""
        if "service" in changes:
            raise ValueError("a service's id cannot change; add a new service instead")
        with self.panel.lock:
            current = self.panel.catalog.get(service_id)
            if current is None:
                raise KeyError(f"no service {service_id} in the catalogue (GET /_mock/services lists them)")
            data = current.to_json()
            data.update({k: (str(v) if isinstance(v, Decimal) else v) for k, v in changes.items()})
            service_from_json(data, where=f"service {service_id}")  # a bad change names its field
            return self.panel.put_service(data).to_json()

    # --- faults and journal ------------------------------------------------------------

    def add_fault(self, spec: Mapping[str, Any]) -> Fault:
        return self.faults.add(spec)

    def journal_entries(self, action: str | None = None, key: str | None = None, limit: int | None = None) -> list[Request]:
        return self.journal.entries(action, key, limit)

    # --- the whole state ------------------------------------------------------------------

    def export_state(self) -> dict[str, Any]:
        return snapshot.dump(self.panel.core)

    def import_state(self, data: Any) -> dict[str, Any]:
        self.panel.restore_snapshot(data)
        return {"imported": True, "orders": len(self.panel.orders), "keys": len(self.panel.accounts())}

