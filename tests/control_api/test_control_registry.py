"""The control API has one registry of endpoints (control_http.ENDPOINTS): the routes, the index,
the OpenAPI document and the table in docs/control-api.md all list the same endpoints."""

from __future__ import annotations

import re
from pathlib import Path

from mockpanel import build_panel, create_app
from mockpanel._control_api.routes import ENDPOINTS, ROUTES, public_path
from mockpanel._server.inprocess import inprocess_client
from mockpanel._control_api.listing import LIST_ENDPOINTS, ListEndpoint

DOCS = Path(__file__).resolve().parents[2] / "docs" / "control-api.md"
ROW = re.compile(r"^\| `(GET|POST|PUT|PATCH|DELETE) (/_mock/[^`]*)` \|", re.M)


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)  # the docs say {id} where the route says {order_id}


def registry() -> list[tuple[str, str]]:
    return [(e.method, _shape(public_path(e.path))) for e in ENDPOINTS]


def test_the_list_endpoints_are_entries_of_the_one_registry() -> None:
    assert all(e in ENDPOINTS for e in LIST_ENDPOINTS)
    assert {e.path for e in ENDPOINTS if isinstance(e, ListEndpoint)} == {"/orders", "/keys", "/refills"}
    assert len(registry()) == len(set(registry()))  # one entry per method and path
    assert len(ROUTES) == len(ENDPOINTS)  # a route for each entry, and no other


def test_the_docs_table_lists_every_endpoint_of_the_registry_and_no_other() -> None:
    documented = [(method, _shape(path)) for method, path in ROW.findall(DOCS.read_text(encoding="utf-8"))]
    assert len(documented) == len(set(documented))
    assert set(documented) == set(registry())


def test_index_and_openapi_come_from_the_registry() -> None:
    with inprocess_client(create_app(build_panel())) as client:
        index = client.get("/_mock/").json()["endpoints"]
        document = client.get("/_mock/openapi.json").json()
    assert [tuple(line.split(" ", 1)) for line in index] == [(e.method, public_path(e.path)) for e in ENDPOINTS]
    operations = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    assert operations == {(e.method, public_path(e.path)) for e in ENDPOINTS}
