"""``MockPanel``: one mock panel for one test, and everything a test may do to it.

The pytest fixture ``mockpanel`` returns one (mockpanel/pytest_plugin.py). Outside
pytest, ``with mock_panel(balance="50") as mp: ...`` gives the same object.

A MockPanel is a fresh panel (own clock, seed, catalogue, dialect, faults and journal)
mounted on a shared hub; ``url`` reaches it over a real socket (the hub's server starts
on first use), ``client()``/``transport`` reach it in-process, with no socket.
"""

from __future__ import annotations

import functools
import inspect
from contextlib import contextmanager
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Concatenate, Iterable, Iterator, Mapping, ParamSpec, TypeVar, cast

import httpx

from ._catalogs import load_catalog
from ._dialects.profile import Dialect, load_dialect
from ._domain.catalog import Catalog, Service, service_from_json
from ._domain.clock import VirtualClock
from ._panel.panel import Panel
from ._panel.scrub import scrub
from ._server.app import build_panel, create_app
from ._powers.control import Control
from ._powers.faults import Fault
from ._powers.scenarios import prepare, scenario
from ._server.hub import INPROCESS_ORIGIN, HubServer
from ._powers.journal import Journal, Request

DEFAULTS: dict[str, Any] = {
    "balance": "100",
    "currency": "USD",
    "catalog": None,  # the dialect's own catalogue
    "seed": 0,
    "speed": 0.0,  # frozen: nothing happens until the test moves the clock
    "dialect": "standard",
    "key": None,  # "mockpanel-key-1": fixed, so a seed gives the same plans in every run
    "scenario": "none",  # a named bad day (_powers/scenarios.py, docs/gauntlet.md)
}


@lru_cache(maxsize=64)
def _dialect(name: str, stamp: float) -> Dialect:
    return load_dialect(name)


@lru_cache(maxsize=64)
def _services(name: str, stamp: float) -> tuple[Service, ...]:
    return tuple(load_catalog(name))


def _stamp(name: str) -> float:
    """A file's modification time (so an edited profile or catalogue is read again)."""
    path = Path(name)
    return path.stat().st_mtime if path.suffix == ".json" and path.is_file() else 0.0


def _catalog(value: Any) -> Catalog | None:
    """A fresh catalogue from a name, a path, a Catalog, or a list of service dicts."""
    if value is None:
        return None
    if isinstance(value, Catalog):
        return Catalog(list(value))
    if isinstance(value, str):
        return Catalog(list(_services(value, _stamp(value))))  # services are frozen: share them
    if isinstance(value, Iterable):
        return Catalog([s if isinstance(s, Service) else service_from_json(s, where=f"catalog[{i}]") for i, s in enumerate(value)])
    raise TypeError(f"catalog is a name, a .json path, a Catalog or a list of services, not {type(value).__name__}")


P = ParamSpec("P")
R = TypeVar("R")


def _by_id(method: Callable[Concatenate[Control, int, P], R], doc: str) -> Callable[Concatenate[MockPanel, int, P], R]:
    """A MockPanel method that is ``method`` of the panel's Control, its first argument (an id) read as an int."""
    signature = inspect.signature(method)
    name = list(signature.parameters)[1]  # the id, after self

    def call(self: MockPanel, *args: Any, **kwargs: Any) -> R:
        bound = signature.bind(self.control, *args, **kwargs)  # positional or by name, as Control takes them
        bound.arguments[name] = int(bound.arguments[name])
        return method(*bound.args, **bound.kwargs)

    functools.update_wrapper(call, method)  # help() and inspect.signature() show Control's parameters
    call.__doc__ = doc
    call.__qualname__ = f"MockPanel.{method.__name__}"
    return cast("Callable[Concatenate[MockPanel, int, P], R]", call)


class MockPanel:
    """A mock panel for one test: its URL and key, its clock, and the control API in Python."""

    def __init__(self, server: HubServer, **options: Any) -> None:
        unknown = set(options) - set(DEFAULTS)
        if unknown:
            raise TypeError(f"unknown mockpanel option(s) {sorted(unknown)}; known: {sorted(DEFAULTS)}")
        o = {**DEFAULTS, **options}
        name = o["dialect"]
        dialect = name if isinstance(name, Dialect) else _dialect(str(name), _stamp(str(name)))
        catalog = _catalog(o["catalog"])
        if catalog is None:
            catalog = _catalog(dialect.catalog)
        chosen = scenario(str(o["scenario"]))
        self.panel: Panel = build_panel(
            dialect, catalog=catalog, seed=int(o["seed"]), clock=VirtualClock(speed=float(o["speed"])),
            currency=o["currency"], lifecycle=chosen.lifecycle_settings(),
        )
        self.app = create_app(self.panel, dialect)
        self.control: Control = self.app.state.control
        self.scenario = chosen.name
        prepare(self.control, chosen)
        self.dialect = dialect
        # The key seeds the account's plans (with the seed): a fixed default keeps runs repeatable.
        self.key: str = o["key"] or "mockpanel-key-1"
        self.panel.create_account(self.key, balance=o["balance"], currency=o["currency"])
        self.control.remember_opening()
        self._server = server
        self.prefix = server.hub.mount(self.app)
        self._path = self.prefix + dialect.endpoints[0]
        self._mounted = True

    # --- where it is ----------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The API endpoint over a real socket, e.g. http://127.0.0.1:PORT/p/3f9c…/api/v2 (the id a random token)."""
        return self._server.url + self._path

    @property
    def control_url(self) -> str:
        """The control API over a real socket (…/p/<id>/_mock)."""
        return self._server.url + self.prefix + "/_mock"

    @property
    def ui_url(self) -> str:
        """The dashboard over a real socket (…/p/<id>/_mock/ui): open it in a browser while a test pauses."""
        return self.control_url + "/ui"

    @property
    def inprocess_url(self) -> str:
        """The API endpoint for in-process clients (``transport`` / ``client()``)."""
        return INPROCESS_ORIGIN + self._path

    @property
    def transport(self) -> httpx.BaseTransport:
        """An httpx transport to this panel with no socket, for ``httpx.Client(transport=...)``."""
        return self._server.transport()

    @property
    def async_transport(self) -> httpx.AsyncBaseTransport:
        """An httpx async transport straight into this panel's app (no socket)."""
        return self._server.async_transport()

    def client(self, **kwargs: Any) -> httpx.Client:
        """An in-process ``httpx.Client`` whose base URL is the API endpoint: ``client.post("", data=...)``."""
        kwargs.setdefault("base_url", self.inprocess_url)
        return httpx.Client(transport=self.transport, **kwargs)

    def async_client(self, **kwargs: Any) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` into the app whose base URL is the API endpoint: ``await c.post("", data=...)``."""
        kwargs.setdefault("base_url", self.inprocess_url)
        return httpx.AsyncClient(transport=self.async_transport, **kwargs)

    # --- time -----------------------------------------------------------------------------

    @property
    def clock(self) -> VirtualClock:
        """The panel's clock: ``advance(seconds=0, minutes=0, hours=0, days=0)``, ``freeze()``, ``set_speed()``."""
        return self.panel.clock

    # --- keys and money --------------------------------------------------------------------

    def new_key(self, balance: Any = "100", currency: str | None = None, key: str | None = None) -> str:
        """Another funded API key on this panel."""
        return self.panel.create_account(key, balance=balance, currency=currency).key

    def balance(self, key: str | None = None) -> Decimal:
        """The balance of ``key`` (default: this panel's key), as a Decimal with the dialect's decimals
        (``Decimal('49.91000')``, never ``Decimal('49.9100000')``)."""
        return Decimal(self.dialect.show_balance(self.panel.balance(key or self.key)[0]))

    def topup(self, amount: Any, key: str | None = None) -> Decimal:
        """Deposit ``amount`` on ``key`` (default: this panel's key); returns the new balance."""
        return Decimal(self.control.topup(key or self.key, amount)["balance"])

    def drain(self, amount: Any = None, key: str | None = None) -> Decimal:
        """Spend ``amount`` (default: all) of a key's balance, as "another client" would."""
        return Decimal(self.control.drain(key or self.key, amount)["balance"])

    def ledger(self, key: str | None = None) -> dict[str, Any]:
        """The balance and every deposit, withdrawal, charge and refund of ``key``, oldest first."""
        return self.control.ledger(key or self.key)

    def remove_key(self, key: str) -> None:
        """Delete an API key: requests with it then answer the invalid-key error."""
        self.control.remove_key(key)

    # --- orders ---------------------------------------------------------------------------

    # Control's own methods, so their parameters and checks are written once (the id may be a digit string).
    order = _by_id(Control.order, "The order as the panel sees it: status, remains, charge, plan, link, service.")
    set_order = _by_id(Control.set_order, """Force an order's status, remains or start_count now (charges and refunds follow
        as for a natural status), or choose its final ``outcome`` for later.""")
    set_refill = _by_id(Control.set_refill, """Force a refill's status now (``"Completed"``, ``"Rejected"``, ...).""")

    # --- services -------------------------------------------------------------------------

    def services(self) -> list[dict[str, Any]]:
        """Every service, disabled ones too."""
        return self.control.services()

    def add_service(self, **fields: Any) -> dict[str, Any]:
        """Put a service on sale, given as a catalogue entry (``service=99, name=..., type=..., rate=..., min=..., max=...``)."""
        return self.control.add_service(fields)

    def update_service(self, service_id: int, **changes: Any) -> dict[str, Any]:
        """Change fields of a service (``rate="1.20"``, ``min=100``, ``enabled=False``, ...)."""
        return self.control.update_service(int(service_id), **changes)

    def disable_service(self, service_id: int) -> dict[str, Any]:
        """Take a service off sale: it is no longer listed, and ``add`` answers the unknown-service error."""
        return self.update_service(service_id, enabled=False)

    def reprice(self, service_id: int, rate: Any) -> dict[str, Any]:
        """Set a service's rate (per 1000, or per order for packages)."""
        return self.update_service(service_id, rate=str(rate))

    # --- faults -----------------------------------------------------------------------------

    def fault(self, kind: str, **options: Any) -> Fault:
        """Inject a fault: ``fault("http", status=502, action="add", count=1)``,
        ``fault("drop", processed=True)``, ``fault("reprice", service=1, rate="2.00")`` ...
        ``key=`` scopes it to one key, ``probability=`` rolls seeded dice."""
        return self.control.add_fault({"kind": kind, **options})

    @property
    def faults(self) -> list[Fault]:
        """The faults set on this panel, in the order they were added."""
        return self.control.faults.list()

    def remove_fault(self, fault: Fault | int) -> None:
        """Remove one fault (the ``Fault`` or its id)."""
        self.control.faults.remove(fault.id if isinstance(fault, Fault) else int(fault))

    def clear_faults(self) -> None:
        """Remove every fault."""
        self.control.faults.clear()

    # --- the journal --------------------------------------------------------------------------

    @property
    def journal(self) -> Journal:
        """The journal of this panel's API requests (``requests`` is its list)."""
        return self.control.journal

    @property
    def requests(self) -> list[Request]:
        """This panel's API requests, oldest first (newest last), the key redacted."""
        return self.control.journal.entries()

    def assert_requested(self, action: str, *, count: int | None = None, key: str | None = None, **params: Any) -> list[Request]:
        """Assert the client sent ``action`` with these fields (``count`` times, if given); returns the matching
        requests. A failure lists the closest requests and each differing field."""
        __tracebackhide__ = True
        with self._keys_hidden():
            return self.journal.assert_requested(action, count=count, key=key, **params)

    def assert_not_requested(self, action: str, *, key: str | None = None, **params: Any) -> None:
        """Assert the client never sent ``action`` with these fields."""
        __tracebackhide__ = True
        with self._keys_hidden():
            self.journal.assert_not_requested(action, key=key, **params)

    def duplicate_orders(self, window: float = 60.0, key: str | None = None) -> list[list[Request]]:
        """Groups of ``add`` requests with the same service, link and quantity within ``window`` virtual seconds."""
        return self.journal.duplicate_orders(window, key)

    def assert_no_duplicate_orders(self, window: float = 60.0, key: str | None = None) -> None:
        """Assert no ``add`` was sent again within ``window`` virtual seconds (API v2 has no idempotency key: each retry is charged)."""
        __tracebackhide__ = True
        with self._keys_hidden():
            self.journal.assert_no_duplicate_orders(window, key)

    def assert_polling_rate(self, **limits: Any) -> None:
        """``min_interval=`` seconds between polls of one id, ``max_per_minute=`` requests;
        ``action=`` (default "status"), ``clock=`` "virtual" (default) or "real"."""
        __tracebackhide__ = True
        with self._keys_hidden():
            self.journal.assert_polling_rate(**limits)

    @contextmanager
    def _keys_hidden(self) -> Iterator[None]:
        """A failed check's words (they quote the requests' fields) with every key of the panel hidden: a
        client may paste a key, its own or another tenant's, into a link or a comment."""
        __tracebackhide__ = True
        try:
            yield
        except AssertionError as exc:
            raise AssertionError(scrub(self.panel, str(exc))) from None

    # --- the whole state -------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the start: this test's key with its opening balance, nothing else."""
        self.control.reset()

    def export_state(self) -> dict[str, Any]:
        """The whole panel state as JSON (keys only as digests)."""
        return self.control.export_state()

    def import_state(self, data: Mapping[str, Any]) -> None:
        """Replace the panel's state with one from ``export_state``."""
        self.control.import_state(data)

    def close(self) -> None:
        """Unmount the panel: its URLs answer 404 from now on."""
        if self._mounted:
            self._server.hub.unmount(self.prefix)
            self._mounted = False

    def __repr__(self) -> str:
        where = self.url if self._server.started else self.inprocess_url
        return f"<MockPanel {self.dialect.name} at {where}>"


@contextmanager
def mock_panel(**options: Any) -> Iterator[MockPanel]:
    """A MockPanel outside pytest, on its own hub (its server starts on first ``url``)."""
    with HubServer() as server:
        panel = MockPanel(server, **options)
        try:
            yield panel
        finally:
            panel.close()
