"""The control API's OpenAPI 3.1 document, built from its endpoint registry (control_http.ENDPOINTS)
and schemas."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Callable, Sequence

import msgspec

from .._version import __version__
from .schema import Problem

_REF = "#/components/schemas/{name}"
_PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")
_ERRORS = {
    "400": "A wrong value or type; 'field' names it",
    "401": "The server has an admin token and the request did not carry it",
    "403": "Not a loopback client, and the server has no admin token",
    "404": "No such key, order, refill, service or fault",
}


def build_openapi(endpoints: Sequence[Any], *, title: str, public_path: Callable[[str], str]) -> dict[str, Any]:
    return _build(tuple(endpoints), title, public_path)


@lru_cache(maxsize=16)
def _build(endpoints: tuple[Any, ...], title: str, public_path: Callable[[str], str]) -> dict[str, Any]:
    used = {e.body for e in endpoints if isinstance(e.body, type)} | {e.query for e in endpoints if e.query}
    kinds = sorted(used, key=lambda k: k.__name__)
    _, components = msgspec.json.schema_components([*kinds, Problem], ref_template=_REF)
    components = _money(components)
    paths: dict[str, dict[str, Any]] = {}
    for e in endpoints:
        own = e.operation()  # an endpoint that describes itself (the list endpoints: listing.py)
        if own is not None:
            paths.setdefault(public_path(e.path), {})[e.method.lower()] = own
            continue
        operation: dict[str, Any] = {
            "summary": e.summary,
            "operationId": _operation_id(e.method, e.path),
            "responses": {
                str(e.status): {
                    "description": "Done",
                    "content": {"application/json": {"schema": dict(e.answer) if e.answer else {"type": e.returns}}},
                },
                **({} if e.open_to_all else {code: _problem(text) for code, text in _ERRORS.items()}),
            },
        }
        parameters = [
            {"name": name, "in": "path", "required": True,
             "schema": {"type": "integer"} if converter == "int" else {"type": "string"}}
            for name, converter in _PARAM.findall(e.path)
        ]
        if e.query is not None:
            schema = components[e.query.__name__]
            for name, prop in schema.get("properties", {}).items():
                parameters.append({"name": name, "in": "query", "required": False, "schema": prop})
        if parameters:
            operation["parameters"] = parameters
        if e.body is not None:
            schema = {"$ref": _REF.format(name=e.body.__name__)} if isinstance(e.body, type) else {}
            operation["requestBody"] = {
                "required": False,
                "content": {"application/json": {"schema": schema}},
            }
        paths.setdefault(public_path(e.path), {})[e.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": __version__,
            "description": "A test's hand on the mock panel: keys, money, the clock, orders, services, "
            "faults, the journal and the whole state. Reference: docs/control-api.md.",
        },
        "paths": paths,
        "components": {"schemas": components},
    }


def _money(node: Any) -> Any:
    """msgspec says a Decimal is a string; the control API also takes JSON numbers (kept exact)."""
    if isinstance(node, dict):
        if node.get("format") == "decimal":
            rest = {k: v for k, v in node.items() if k not in ("type", "format")}
            return {"anyOf": [{"type": "string", "format": "decimal"}, {"type": "number"}], **rest}
        return {k: _money(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_money(v) for v in node]
    return node


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": _REF.format(name="Problem")}}}}


def _operation_id(method: str, path: str) -> str:
    words = [w for w in re.split(r"[^a-zA-Z0-9]+", _PARAM.sub(r"by_\1", path)) if w]
    return "_".join([method.lower(), *words]) if words else method.lower() + "_index"
