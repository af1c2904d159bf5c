"""The control API over HTTP, under ``/_mock/``: one registry of endpoints (``ENDPOINTS``, list
endpoints included) gives the routes, the index, the request checks and the OpenAPI document.
Adding an endpoint is one ``Endpoint(...)`` entry (control_registry.py; docs/control-api.md).

Safety: it answers only loopback clients, unless the app has an admin token; then it
answers only requests that carry it (``Authorization: Bearer TOKEN`` or ``X-Mock-Token``),
from anywhere. Errors are 4xx JSON ``{"error": ..., "field": ...}``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from starlette.requests import Request as HttpRequest
from starlette.routing import BaseRoute, Mount

from . import schema as s
from .registry import RAW_JSON, Endpoint, Handler, public_path
from .._powers.control import iso
from .._version import __version__
from .._powers.journal_har import journal_har
from .._endpoint.openapi import panel_openapi
from .listing import LIST_ENDPOINTS
from .openapi import build_openapi

if TYPE_CHECKING:  # pragma: no cover
    from .._powers.control import Control

__all__ = ["ENDPOINTS", "RAW_JSON", "ROUTES", "Endpoint", "control_routes", "public_path", "routes"]


def _index(c: Control, r: HttpRequest, b: Any) -> Any:
    return {
        "dialect": c.dialect.name,
        "api": list(c.dialect.endpoints),
        "openapi": "/_mock/openapi.json",
        "api_openapi": "/_mock/openapi/api.json",
        "endpoints": ["GET /_mock/"] + [f"{e.method} {public_path(e.path)}" for e in ENDPOINTS if e.path != "/"],
        "ui": "/_mock/ui",
    }


def _openapi(c: Control, r: HttpRequest, b: Any) -> Any:
    document = build_openapi(ENDPOINTS, title=f"mockpanel control API ({c.dialect.name})", public_path=public_path)
    root = str(r.scope.get("root_path", "")).removesuffix("/_mock")  # the pytest hub mounts panels under /p/<id>
    return {**document, "servers": [{"url": root or "/"}]}


def _api_openapi(c: Control, r: HttpRequest, b: Any) -> Any:
    # The panel API as this panel's dialect speaks it: no key, no token (it holds the profile's words only).
    root = str(r.scope.get("root_path", "")).removesuffix("/_mock")  # the pytest hub mounts panels under /p/<id>
    return panel_openapi(c.dialect, server=root or "/")


def _health(c: Control, r: HttpRequest, b: Any) -> Any:
    # For a container's or a load balancer's health check: no key, no token, nothing about the panel's state.
    started: float = getattr(r.app.state, "started", time.monotonic())
    return {"status": "ok", "version": __version__, "uptime": round(time.monotonic() - started, 3)}


def _journal(c: Control, r: HttpRequest, q: s.JournalQuery) -> Any:
    entries = c.journal_entries(q.action or None, q.key or None, q.limit)
    return [{**e.to_json(), "at_iso": iso(e.at), "wall_iso": iso(e.wall)} for e in entries]


def _clear(what: str) -> Handler:
    def clear(c: Control, r: HttpRequest, b: Any) -> Any:
        getattr(c, what).clear()
        return {"cleared": True}

    return clear


def _remove_fault(c: Control, r: HttpRequest, b: Any) -> Any:
    c.faults.remove(r.path_params["fault_id"])
    return {"removed": True}


def _key(r: HttpRequest) -> str:
    key: str = r.path_params["key"]
    return key


def _id(r: HttpRequest, name: str) -> int:
    value: int = r.path_params[name]  # the route's {name:int} converted it
    return value


E = Endpoint
ENDPOINTS: list[Endpoint] = [
    E("GET", "/", _index, "This index: the dialect, its API paths and every control endpoint"),
    E("GET", "/openapi.json", _openapi, "This API as an OpenAPI 3.1 document"),
    E("GET", "/health", _health, "Whether the server answers: status, version, uptime in seconds (no token needed)",
      answer=s.HEALTH, open_to_all=True),
    E("GET", "/openapi/api.json", _api_openapi, "The panel API (API v2) as this panel's dialect speaks it, as an "
      "OpenAPI 3.1 document (no token needed)", open_to_all=True),
    E("POST", "/reset", lambda c, r, b: c.reset(), "Back to the opening keys, balances and catalogue"),
    E("POST", "/keys", lambda c, r, b: c.create_key(**b.given()), "Create an API key (a random one if none is given)",
      s.NewKey, status=201, exact=True),
    E("DELETE", "/keys/{key}", lambda c, r, b: c.remove_key(_key(r)), "Remove an API key"),
    E("POST", "/keys/{key}/topup", lambda c, r, b: c.topup(_key(r), b.amount), "Add money to a key", s.Amount),
    E("POST", "/keys/{key}/drain", lambda c, r, b: c.drain(_key(r), b.amount),
      "Spend a key's money as another client would (all of it without an amount)", s.Drain),
    E("GET", "/keys/{key}/ledger", lambda c, r, b: c.ledger(_key(r)), "A key's balance and every entry behind it",
      answer=s.LEDGER),
    E("GET", "/clock", lambda c, r, b: c.clock(), "The virtual clock", answer=s.CLOCK),
    E("POST", "/clock", lambda c, r, b: c.set_clock(**b.given()), "Move the clock forward, change its speed, freeze it",
      s.ClockChange, answer=s.CLOCK),
    E("GET", "/orders/{order_id:int}", lambda c, r, b: c.order(_id(r, "order_id")), "An order and its plan",
      answer=s.ORDER),
    E("POST", "/orders/{order_id:int}", lambda c, r, b: c.set_order(_id(r, "order_id"), **_outcome(b.given())),
      "Force an order's status/remains/start_count now, or choose its outcome for later", s.OrderChange,
      answer=s.ORDER),
    E("POST", "/refills/{refill_id:int}", lambda c, r, b: c.set_refill(_id(r, "refill_id"), b.status),
      "Force a refill's status", s.RefillChange),
    E("GET", "/services", lambda c, r, b: c.services(), "The catalogue, hidden services included", returns="array"),
    E("POST", "/services", lambda c, r, b: c.add_service(b.given()), "Add a service", s.NewService, status=201),
    E("PATCH", "/services/{service_id:int}", lambda c, r, b: c.update_service(_id(r, "service_id"), **b.given()),
      "Change fields of a service (orders already placed keep their price)", s.ServiceChange),
    E("GET", "/faults", lambda c, r, b: [f.to_json() for f in c.faults.list()], "The faults still to fire",
      returns="array"),
    E("POST", "/faults", lambda c, r, b: c.add_fault(b.given()).to_json(), "Add a fault", s.FaultSpec, status=201),
    E("DELETE", "/faults", _clear("faults"), "Remove every fault"),
    E("DELETE", "/faults/{fault_id:int}", _remove_fault, "Remove one fault"),
    E("GET", "/journal", _journal, "The requests the API answered, newest last", query=s.JournalQuery,
      returns="array", answer=s.JOURNAL),
    E("DELETE", "/journal", _clear("journal"), "Forget the journal"),
    E("GET", "/journal.har", journal_har, "The journal as HAR 1.2: method, URL, query, headers and bodies, keys redacted"),
    E("GET", "/state", lambda c, r, b: c.export_state(), "The whole state, as a snapshot (exactly as stored: "
      "PUT /state takes it back)", exact=True),
    E("PUT", "/state", lambda c, r, b: c.import_state(b), "Replace the whole state with a snapshot", RAW_JSON),
    *LIST_ENDPOINTS,  # GET /orders, /keys, /refills: their queries are read and described in listing.py
]


def _outcome(given: dict[str, Any]) -> dict[str, Any]:
    outcome = given.get("outcome")
    if isinstance(outcome, s.Outcome):
        given["outcome"] = outcome.given()
    return given


def routes(endpoints: list[Endpoint]) -> list[BaseRoute]:
    return [e.route() for e in endpoints]


# Built once and shared by every app: each request finds its panel in request.app.state.control.
ROUTES: list[BaseRoute] = routes(ENDPOINTS)
_INDEX = next(e for e in ENDPOINTS if e.path == "/")


def control_routes(beside: list[BaseRoute]) -> list[BaseRoute]:
    """``/_mock`` and everything under it: the control API's routes, then ``beside`` (the dashboard's,
    which the app that serves both passes in: the dashboard reads the control API, not the other way)."""
    return [_INDEX.route("/_mock"), Mount("/_mock", routes=[*ROUTES, *beside])]
