"""The control API: a test's hand on the panel, the same in Python (``Control``) and over
HTTP under ``/_mock/`` (JSON in, JSON out; errors are 4xx with ``{"error": ...}``).

Safety: over HTTP it answers only loopback clients, unless the app has an admin token;
then it answers only requests that carry it (``Authorization: Bearer TOKEN`` or
``X-Mock-Token: TOKEN``), from anywhere.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from decimal import Decimal
from typing import Any, Awaitable, Callable, Mapping

import orjson
from starlette.requests import Request as HttpRequest
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from ..dialects.profile import Dialect
from ..domain import snapshot
from ..domain.catalog import Catalog, Service, service_from_json
from ..domain.errors import PanelError
from ..domain.panel import Panel
from ..domain.triggers import parse_duration
from .faults import Fault, FaultSet
from .journal import Journal, Request
from .listing import LISTING_ROUTES
from ..ui import UI_ROUTES

JOURNAL_LIMIT = 10_000


def _time(value: float) -> float | None:
    return None if value == float("inf") else value


class Control:
    """Everything a test may do to one panel beyond the API: keys, money, time, orders,
    services, faults, the journal, and the state as a whole."""

    def __init__(self, panel: Panel, dialect: Dialect, *, journal_limit: int = JOURNAL_LIMIT) -> None:
        self.panel = panel
        self.dialect = dialect
        self.faults = FaultSet(panel.settings.seed)
        self.journal = Journal(lambda: self.panel.clock.now(), journal_limit)
        self._start_services: list[Service] = list(panel.catalog)
        self._opening: list[tuple[str, Decimal, str]] = []

    # --- reset ---------------------------------------------------------------------

    def remember_opening(self) -> None:
        """The keys that exist now come back, with their balances, on ``reset``."""
        self._opening = [(a.key, a.balance, a.currency) for a in self.panel.accounts() if a.key]

    def reset(self) -> dict[str, Any]:
        """Back to the start: the opening keys with their opening balances; every other
        key, order, refill, fault and journal entry forgotten; the catalogue as it began.
        The clock keeps its time (it never moves backwards)."""
        with self.panel.lock:
            self.panel.reset(Catalog(list(self._start_services)))
            for key, balance, currency in self._opening:
                self.panel.create_account(key, balance=balance, currency=currency)
        self.faults.clear()
        self.journal.clear()
        return {"reset": True, "keys": len(self._opening)}

    # --- keys and money ------------------------------------------------------------

    def create_key(self, key: str | None = None, balance: Any = "0", currency: str | None = None) -> dict[str, Any]:
        account = self.panel.create_account(key, balance=balance, currency=currency)
        return {"key": account.key, "balance": str(account.balance), "currency": account.currency}

    def remove_key(self, key: str) -> dict[str, Any]:
        self._account(key)
        self.panel.remove_account(key)
        return {"removed": True}

    def topup(self, key: str, amount: Any) -> dict[str, Any]:
        self._account(key)
        return {"balance": str(self.panel.deposit(key, amount))}

    def drain(self, key: str, amount: Any = None) -> dict[str, Any]:
        """Money spent by "another client": ``amount``, or all of it."""
        balance, _ = self.panel.balance(self._account(key))
        if amount is None:
            if balance <= 0:
                return {"balance": str(balance)}
            amount = balance
        return {"balance": str(self.panel.withdraw(key, amount, note="spent by another client"))}

    def ledger(self, key: str) -> dict[str, Any]:
        entries = self.panel.ledger(self._account(key))
        balance, currency = self.panel.balance(key)
        return {
            "balance": str(balance),
            "currency": currency,
            "entries": [
                {"at": e.at, "kind": e.kind, "amount": str(e.amount), "order": e.order, "note": e.note} for e in entries
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
        return {"now": clock.now(), "speed": clock.speed, "frozen": clock.frozen}

    def set_clock(self, advance: Any = None, speed: Any = None, freeze: Any = None) -> dict[str, Any]:
        """Move the clock forward (seconds or "90s"/"15m"/"2h"/"1d"), change its speed, freeze it."""
        clock = self.panel.clock
        if freeze not in (None, True, False):
            raise ValueError(f"'freeze' is true or false, got {freeze!r}")
        if speed is not None:
            if isinstance(speed, bool) or not isinstance(speed, (int, float, str, Decimal)):
                raise ValueError(f"'speed' is a number >= 0 (0 freezes the clock), got {speed!r}")
            try:
                clock.set_speed(float(speed))
            except ValueError:
                raise ValueError(f"'speed' is a number >= 0 (0 freezes the clock), got {speed!r}") from None
        if freeze:
            clock.freeze()
        if advance is not None:
            clock.advance(seconds=parse_duration(advance))
        return self.clock()

    # --- orders and refills ----------------------------------------------------------

    def order(self, order_id: int) -> dict[str, Any]:
        panel = self.panel
        with panel.lock:
            order = panel.find_order(order_id)
            now = panel.clock.now()
            state = order.state(now)
            refill = panel._refill_of.get(order_id)
            return {
                "order": order.id,
                "key": f"key#{order.key[:8]}",
                "service": order.service.id,
                "link": order.link,
                "quantity": order.quantity,
                "status": state.status.value,
                "remains": state.remains,
                "start_count": state.start_count,
                "delivered": state.delivered,
                "charge": str(state.charge),
                "price": str(order.charge),
                "refunded": str(order.refunded),
                "created": order.created,
                "runs": order.runs,
                "interval": order.interval,
                "refill": refill,
                "plan": {
                    "starts_at": _time(order.start_at),
                    "ends_at": _time(order.done_at),
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
        self.panel.find_order(order_id)
        if status is not None or remains is not None or start_count is not None:
            self.panel.set_order(order_id, status=status, remains=remains, start_count=start_count)
        if outcome is not None:
            if isinstance(outcome, str):
                outcome = {"status": outcome}
            if not isinstance(outcome, Mapping) or "status" not in outcome:
                raise ValueError("'outcome' is {\"status\": \"Partial\", \"remains\": 157} or a status name")
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
        return snapshot.dump(self.panel)

    def import_state(self, data: Any) -> dict[str, Any]:
        self.panel.restore_snapshot(data)
        return {"imported": True, "orders": len(self.panel.orders), "keys": len(self.panel.accounts())}


# --- HTTP ---------------------------------------------------------------------------------


def is_loopback(host: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and IPv4-mapped loopback; False for anything else, names included."""
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


def client_host(scope: Mapping[str, Any]) -> str | None:
    client = scope.get("client")
    return client[0] if client else None


def _token_of(request: HttpRequest) -> str | None:
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.headers.get("x-mock-token")


def _error(status: int, message: str) -> Response:
    return Response(orjson.dumps({"error": message}), status, media_type="application/json")


def _ok(value: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(value, default=str), status, media_type="application/json")


def refusal(request: HttpRequest) -> Response | None:
    """Why this request may not use the control API, or None when it may."""
    token = getattr(request.app.state, "admin_token", None)
    if token:
        given = _token_of(request)
        if given is None or not hmac.compare_digest(given.encode(), token.encode()):
            return _error(
                401,
                "the control API needs the admin token this server was started with: send "
                "'Authorization: Bearer TOKEN' or 'X-Mock-Token: TOKEN'",
            )
        return None
    if not is_loopback(client_host(request.scope)):
        return _error(
            403,
            "the control API answers only clients on this machine (loopback); start the server with "
            "--admin-token TOKEN and send the token to reach it from elsewhere",
        )
    return None


async def _json_body(request: HttpRequest) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw, parse_float=Decimal)  # money stays exact
    except (ValueError, UnicodeDecodeError):
        raise ValueError("the body is not valid JSON; send a JSON object with Content-Type: application/json") from None


Handler = Callable[[Control, HttpRequest, Any], Any]


def _endpoint(handler: Handler, status: int = 200) -> Callable[[HttpRequest], Awaitable[Response]]:
    async def endpoint(request: HttpRequest) -> Response:
        refused = refusal(request)
        if refused is not None:
            return refused
        control: Control = request.app.state.control
        try:
            body = await _json_body(request) if request.method in ("POST", "PUT", "PATCH") else None
            if request.method in ("POST", "PATCH") and not isinstance(body, dict):
                raise ValueError("send a JSON object, e.g. {\"advance\": \"15m\"}")
            return _ok(handler(control, request, body), status)
        except KeyError as exc:
            return _error(404, str(exc.args[0]) if exc.args else "not found")
        except (ValueError, TypeError) as exc:
            return _error(400, str(exc))
        except PanelError as exc:
            return _error(400, f"the panel refused: {control.dialect.message(exc.code, exc.values)}")

    return endpoint


def _only(body: Mapping[str, Any], *allowed: str) -> dict[str, Any]:
    unknown = set(body) - set(allowed)
    if unknown:
        raise ValueError(f"unknown field(s) {sorted(unknown)}; allowed: {list(allowed)}")
    return dict(body)


def _index(c: Control, r: HttpRequest, b: Any) -> Any:
    return {
        "dialect": c.dialect.name,
        "api": list(c.dialect.endpoints),
        "endpoints": [
            "GET /_mock/", "POST /_mock/reset", "POST /_mock/keys", "DELETE /_mock/keys/{key}",
            "POST /_mock/keys/{key}/topup", "POST /_mock/keys/{key}/drain", "GET /_mock/keys/{key}/ledger",
            "GET /_mock/clock", "POST /_mock/clock", "GET /_mock/orders/{id}", "POST /_mock/orders/{id}",
            "POST /_mock/refills/{id}", "GET /_mock/services", "POST /_mock/services",
            "PATCH /_mock/services/{id}", "GET /_mock/faults", "POST /_mock/faults", "DELETE /_mock/faults",
            "DELETE /_mock/faults/{id}", "GET /_mock/journal", "DELETE /_mock/journal", "GET /_mock/state",
            "PUT /_mock/state",
        ],
    }


def _limit(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit():
        raise ValueError(f"'limit' must be a whole number, got {value!r}")
    return int(value)


def _clear_faults(c: Control, r: HttpRequest, b: Any) -> Any:
    c.faults.clear()
    return {"cleared": True}


def _remove_fault(c: Control, r: HttpRequest, b: Any) -> Any:
    c.faults.remove(r.path_params["fault_id"])
    return {"removed": True}


def _clear_journal(c: Control, r: HttpRequest, b: Any) -> Any:
    c.journal.clear()
    return {"cleared": True}


def _journal(c: Control, r: HttpRequest, b: Any) -> Any:
    q = r.query_params
    entries = c.journal_entries(q.get("action") or None, q.get("key") or None, _limit(q.get("limit")))
    return [e.to_json() for e in entries]


def _key(r: HttpRequest) -> str:
    return r.path_params["key"]


ROUTES: list[BaseRoute] = [
    Route("/", _endpoint(_index), methods=["GET"]),
    Route("/reset", _endpoint(lambda c, r, b: c.reset()), methods=["POST"]),
    Route("/keys", _endpoint(lambda c, r, b: c.create_key(**_only(b, "key", "balance", "currency")), 201), methods=["POST"]),
    Route("/keys/{key}", _endpoint(lambda c, r, b: c.remove_key(_key(r))), methods=["DELETE"]),
    Route("/keys/{key}/topup", _endpoint(lambda c, r, b: c.topup(_key(r), **_only(b, "amount"))), methods=["POST"]),
    Route("/keys/{key}/drain", _endpoint(lambda c, r, b: c.drain(_key(r), **_only(b, "amount"))), methods=["POST"]),
    Route("/keys/{key}/ledger", _endpoint(lambda c, r, b: c.ledger(_key(r))), methods=["GET"]),
    Route("/clock", _endpoint(lambda c, r, b: c.clock()), methods=["GET"]),
    Route("/clock", _endpoint(lambda c, r, b: c.set_clock(**_only(b, "advance", "speed", "freeze"))), methods=["POST"]),
    Route("/orders/{order_id:int}", _endpoint(lambda c, r, b: c.order(r.path_params["order_id"])), methods=["GET"]),
    Route(
        "/orders/{order_id:int}",
        _endpoint(lambda c, r, b: c.set_order(r.path_params["order_id"], **_only(b, "status", "remains", "start_count", "outcome"))),
        methods=["POST"],
    ),
    Route(
        "/refills/{refill_id:int}",
        _endpoint(lambda c, r, b: c.set_refill(r.path_params["refill_id"], **_only(b, "status"))),
        methods=["POST"],
    ),
    Route("/services", _endpoint(lambda c, r, b: c.services()), methods=["GET"]),
    Route("/services", _endpoint(lambda c, r, b: c.add_service(b), 201), methods=["POST"]),
    Route(
        "/services/{service_id:int}",
        _endpoint(lambda c, r, b: c.update_service(r.path_params["service_id"], **b)),
        methods=["PATCH"],
    ),
    Route("/faults", _endpoint(lambda c, r, b: [f.to_json() for f in c.faults.list()]), methods=["GET"]),
    Route("/faults", _endpoint(lambda c, r, b: c.add_fault(b).to_json(), 201), methods=["POST"]),
    Route("/faults", _endpoint(_clear_faults), methods=["DELETE"]),
    Route("/faults/{fault_id:int}", _endpoint(_remove_fault), methods=["DELETE"]),
    Route("/journal", _endpoint(_journal), methods=["GET"]),
    Route("/journal", _endpoint(_clear_journal), methods=["DELETE"]),
    Route("/state", _endpoint(lambda c, r, b: c.export_state()), methods=["GET"]),
    Route("/state", _endpoint(lambda c, r, b: c.import_state(b)), methods=["PUT"]),
    *LISTING_ROUTES, *UI_ROUTES,  # GET /_mock/orders, /keys, /refills (listing.py); the dashboard at /_mock/ui
]

# Built once and shared by every app: each request finds its panel in request.app.state.control.
CONTROL_ROUTES: list[BaseRoute] = [Route("/_mock", _endpoint(_index), methods=["GET"]), Mount("/_mock", routes=ROUTES)]
