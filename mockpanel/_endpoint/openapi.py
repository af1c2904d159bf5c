"""The panel API (API v2) as an OpenAPI 3.1 document, as one dialect speaks it.

Built from data only: the dialect profile (paths, field kinds, envelopes, status words, money's
decimals, error words and shapes, the HTTP status of each error) and the one action table
(``conformance/actions.py``: every action's fields and errors), for exactly the actions the mock
serves (``SERVED``) and the dialect has. Nothing here is written per dialect.

API v2 is one URL with the action as a form field, so the document has one operation per method:
``POST`` takes a form whose schema is a ``oneOf`` of one request per action, discriminated on
``action`` (OpenAPI's ``discriminator``); ``GET`` takes the same fields in the query string. An
answer cannot be tied to the request's action in OpenAPI, so a status's answer is ``anyOf`` every
answer the dialect gives with it: each action's, and the error bodies answered with that status.
docs/openapi.md says how to use it, and why no dialect is left out.
"""

from __future__ import annotations

from typing import Any, Callable

from conformance import actions as action_table

from .._dialects.frozen import thawed
from .._dialects.profile import Dialect
from .._domain.errors import ErrorCode
from .._domain.servicetypes import SERVICE_TYPES
from .._version import __version__
from .actions import SERVED
from .api import MAX_BODY

Schema = dict[str, Any]
_REF = "#/components/schemas/"
# How the table's field kinds are written in a form (conformance/actions.py FIELD_KINDS).
_DIGITS = r"^[0-9]+$"
_OBJECT_ID = r"^[0-9a-fA-F]{24}$"
# The endpoint answers every method alike (a PHP script reads its fields whatever the method): the document
# declares each one OpenAPI 3.1 can, as POST's twin with no declared input, so no tool expects a 405 from them.
_OTHER_METHODS = ("put", "patch", "delete", "trace")


class OpenApiError(RuntimeError):
    """An action the mock serves that this document cannot describe; the message says what to add."""


def panel_openapi(dialect: Dialect, *, server: str = "/") -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``dialect``'s panel API, served from ``server`` (a URL or a path)."""
    document = _document(dialect)
    return {**document, "servers": [{"url": server}]}


def _document(dialect: Dialect) -> dict[str, Any]:
    actions = [name for name in SERVED if name in dialect.actions]  # the table's order, the dialect's actions
    missing = [name for name in actions if name not in _ANSWERS]
    if missing:
        raise OpenApiError(f"the panel API's OpenAPI document has no answer schema for {missing}: add one to "
                           "_ANSWERS in mockpanel/_endpoint/openapi.py")
    components: dict[str, Schema] = {
        "Key": {"type": "string", "minLength": 1, "description": "The account's API key"},
    }
    for name in actions:
        components[_name(name, "Request")] = _request(dialect, name)
        components[_name(name, "Answer")] = _ANSWERS[name](dialect)
    errors = _errors(dialect, actions)
    request = {
        "oneOf": [_ref(_name(name, "Request")) for name in actions],
        "discriminator": {"propertyName": "action",
                          "mapping": {name: _REF + _name(name, "Request") for name in actions}},
    }
    components["Request"] = request
    responses = _responses(dialect, actions, errors)
    security = _security(dialect)
    operations: dict[str, Any] = {}
    for method in ("get", "post", *_OTHER_METHODS):
        operation: dict[str, Any] = {
            "operationId": f"{method}_api",
            "summary": "One action of the panel API: the field `action` says which",
            "description": _description(dialect, actions, method),
            "responses": responses,
        }
        if method == "post":
            form = {"schema": _ref("Request")}
            operation["requestBody"] = {
                "required": True,
                "content": {"application/x-www-form-urlencoded": form, "multipart/form-data": form},
            }
        elif method == "get":
            operation["parameters"] = _query()
        else:
            operation["deprecated"] = True  # answered, as a PHP script answers any method; not what clients send
        if security:
            operation["security"] = [{}, *({name: []} for name in security)]
        operations[method] = operation
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": f"mockpanel panel API ({dialect.name})",
            "version": __version__,
            "description": f"{dialect.description}\n\nThe panel API as the `{dialect.name}` dialect speaks it: "
            "one URL, the action in the form field `action`. Reference: docs/api-v2.md, docs/dialects.md, "
            "docs/openapi.md.",
        },
        "paths": {path: operations for path in _paths(dialect)},
        "components": {"schemas": components},
    }
    if security:
        document["components"]["securitySchemes"] = security
    return thawed(document)  # type: ignore[no-any-return]  # the profile's values are read-only (frozen.py)


def _paths(dialect: Dialect) -> list[str]:
    # The mock answers each endpoint with and without its trailing slash; the document names it without.
    return sorted({path.rstrip("/") or "/" for path in dialect.endpoints})


def _name(action: str, part: str) -> str:
    return "".join(word.capitalize() for word in action.split("_")) + part


def _ref(name: str) -> Schema:
    return {"$ref": _REF + name}


# ---- requests ---------------------------------------------------------------------------------------


def _field(dialect: Dialect, kind: str) -> Schema:
    """A request field of the table's kind, as a client writes it in this dialect."""
    if kind == "id":
        pattern = _OBJECT_ID if dialect.family.id_format == "objectid" else _DIGITS
        return {"type": "string", "pattern": pattern}
    if kind == "ids":
        one = _OBJECT_ID if dialect.family.id_format == "objectid" else _DIGITS
        return {"type": "string", "pattern": rf"^{one[1:-1]}(,{one[1:-1]})*$",
                "description": f"Comma-separated ids, at most {dialect.batch_limit}"}
    if kind == "number":
        return {"type": "string", "pattern": _DIGITS}
    return {"type": "string"}


def _add_fields(dialect: Dialect) -> dict[str, Schema]:
    """The fields an add may carry: those of every service type the dialect sells (which ones a service
    takes depends on its type, which the request does not name; docs/api-v2.md has the table)."""
    names: dict[str, None] = {}
    for stype in SERVICE_TYPES.values():
        if dialect.service_types is not None and stype.name not in dialect.service_types:
            continue
        own = dialect.type_fields.get(stype.name, {})
        for name in (*own.get("required", stype.required), *own.get("optional", stype.optional)):
            names[name] = None
    if dialect.family.idempotency is not None:
        names[dialect.family.idempotency.field] = None
    kinds = action_table.ACTIONS["add"].fields
    return {name: _field(dialect, kinds.get(name, "text")) for name in names}


def _request(dialect: Dialect, action: str) -> Schema:
    entry = action_table.ACTIONS[action]
    fields = {name: _field(dialect, kind) for name, kind in entry.fields.items()}
    if action == "add":  # a service id is a number in every dialect (ObjectId panels keep them so too)
        fields = {"service": {"type": "string", "pattern": _DIGITS}, **_add_fields(dialect),
                  **{name: schema for name, schema in fields.items() if name != "service"}}
    if not dialect.batch_read:  # the batch fields are not read: a single id only
        fields = {name: schema for name, schema in fields.items() if entry.fields.get(name) != "ids"}
    required = ["action"] if _security(dialect) else ["key", "action"]
    return {
        "type": "object",
        "title": action,
        "required": required + (["service"] if action == "add" else []),
        "properties": {"key": _ref("Key"), "action": {"type": "string", "const": action}, **fields},
    }


def _query() -> list[Schema]:
    """GET's fields: the same request as POST's, as query fields (an object parameter, form style: each
    property its own ``name=value``)."""
    return [{"name": "fields", "in": "query", "required": True, "style": "form", "explode": True,
             "schema": _ref("Request")}]


def _security(dialect: Dialect) -> dict[str, Schema]:
    """The headers the key may come in besides the form (a family's ``key_from``)."""
    out: dict[str, Schema] = {}
    if "bearer" in dialect.family.key_from:
        out["bearer"] = {"type": "http", "scheme": "bearer", "description": "The API key as a bearer token"}
    if "x-api-key" in dialect.family.key_from:
        out["apiKeyHeader"] = {"type": "apiKey", "in": "header", "name": "X-Api-Key"}
    return out


# ---- answers ----------------------------------------------------------------------------------------


def _money(kind: str, places: int) -> Schema:
    """Money as the dialect writes it: a decimal string with exactly its decimals, or a JSON number."""
    if kind == "number":
        return {"type": "number", "minimum": 0}
    pattern = rf"^-?[0-9]+\.[0-9]{{{places}}}$" if places else r"^-?[0-9]+$"
    return {"type": "string", "pattern": pattern, "description": f"An exact amount with {places} decimals"}


def _id(kind: str, *, echo: bool = False) -> Schema:
    """An id as ``render.as_id`` writes it; ``echo``: a token the client sent, written back (a number
    only where it is one)."""
    if kind == "int":
        return {"type": ["integer", "string"]} if echo else {"type": "integer", "minimum": 1}
    if kind == "objectid":
        return {"type": "string"} if echo else {"type": "string", "pattern": _OBJECT_ID}
    return {"type": "string"} if echo else {"type": "string", "pattern": _DIGITS}


def _object(properties: dict[str, Schema], envelope: Any = None) -> Schema:
    extra = {name: {"const": value} for name, value in (envelope or {}).items()}
    props = {**extra, **properties}
    # Exactly these fields: an answer with one more (or a typo) is not the dialect's.
    return {"type": "object", "required": list(props), "properties": props, "additionalProperties": False}


def _item_error(dialect: Dialect) -> Schema:
    words = {"type": "string"}
    return _object({"error": words}) if dialect.batch_item_error == "nested" else words


def _service(dialect: Dialect) -> Schema:
    types = [t for t in SERVICE_TYPES.values() if dialect.service_types is None or t.name in dialect.service_types]
    kinds: dict[str, Schema] = {
        "int": {"type": "integer"}, "str": {"type": "string"}, "str_or_null": {"type": ["string", "null"]},
        "bool": {"type": "boolean"}, "int01": {"enum": [0, 1]}, "str01": {"enum": ["0", "1"]},
        "type_name": {"type": "string", "enum": [t.name for t in types]},
        "type_slug": {"type": "string", "enum": [t.slug for t in types]},
        "rate": {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"},
    }
    return _object({name: kinds[kind] for name, kind in dialect.service_fields.items()})


def _services(dialect: Dialect) -> Schema:
    listing: Schema = {"type": "array", "items": _service(dialect)}
    empty = thawed(dialect.services_empty)
    if empty == []:
        return listing
    return {"anyOf": [listing, {"const": empty, "description": "The answer when nothing is on sale"}]}


def _add(dialect: Dialect) -> Schema:
    return _object({"order": _id(dialect.add_order_kind)}, dialect.success_envelope.get("add"))


def _status_object(dialect: Dialect, context: str) -> Schema:
    money_kind, places = dialect.family.money.get(context, ("str", dialect.money_decimals))
    words = {"type": "string", "enum": sorted(set(dialect.statuses.values()))}
    count = {"type": "string", "pattern": r"^-?[0-9]+$"}
    remains_words = sorted(set(dialect.family.remains_words.values()))
    props: dict[str, Schema] = {}
    for name, kind in dialect.status_fields.items():
        schema: Schema
        if kind == "money":
            schema = _money(money_kind, places)
        elif kind == "status":
            schema = words
        elif kind in ("currency", "id_str"):
            schema = {"type": "string"}
        elif kind == "id_int":
            schema = _id("int", echo=True)
        elif kind == "int":
            schema = {"type": "integer"}
        elif kind == "str_or_null":
            schema = {"type": ["string", "null"]}
        else:
            schema = count
        if name == "remains" and remains_words and kind != "money":
            schema = {"anyOf": [schema, {"enum": remains_words}]}
        props[name] = schema
    return _object(props)


def _dripfeed(dialect: Dialect) -> Schema | None:
    if not dialect.dripfeed_fields:
        return None
    kinds: dict[str, Schema] = {"status": {"type": "string", "enum": sorted(set(dialect.statuses.values()))},
             "runs": {"type": "string", "pattern": _DIGITS}, "run_orders": {"type": "array"}}
    return _object({name: kinds[kind] for name, kind in dialect.dripfeed_fields.items()})


def _status(dialect: Dialect) -> Schema:
    item_error = _item_error(dialect)
    drip = _dripfeed(dialect)
    single_object = _status_object(dialect, "status")
    envelope = dialect.success_envelope.get("status")
    if envelope:
        single_object = _object(single_object["properties"], envelope)
    single: list[Schema] = [single_object, *([drip] if drip else [])]
    if dialect.family.single_status == "keyed":
        single = [{"type": "object", "minProperties": 1, "maxProperties": 1,
                   "additionalProperties": {"anyOf": [*single, item_error]}}]
    answers: list[Schema] = list(single)
    if dialect.batch_read:
        entry = [_status_object(dialect, "multi_status"), *([drip] if drip else []), item_error]
        answers.append({"type": "object", "additionalProperties": {"anyOf": entry},
                        "description": "Per id asked for in `orders`: its status, or its error"})
    return {"anyOf": answers}


def _refill(dialect: Dialect) -> Schema:
    answers = [_object({"refill": _id(dialect.refill_single)}, dialect.success_envelope.get("refill"))]
    if dialect.batch_read:
        item = _object({"order": _id(dialect.refill_batch_order, echo=True),
                        "refill": {"anyOf": [_id(dialect.refill_batch_refill), _item_error(dialect)]}})
        answers.append({"type": "array", "items": item})
    return {"anyOf": answers}


def _refill_status(dialect: Dialect) -> Schema:
    words = {"type": "string", "enum": sorted(set(dialect.refill_statuses.values()))}
    answers = [_object({"status": words}, dialect.success_envelope.get("refill_status"))]
    if dialect.batch_read:
        item = _object({"refill": _id(dialect.refill_batch_refill, echo=True),
                        "status": {"anyOf": [words, _item_error(dialect)]}})
        answers.append({"type": "array", "items": item})
    return {"anyOf": answers}


def _cancel(dialect: Dialect) -> Schema:
    accepted = {"const": dialect.family.cancel_accepted}
    if dialect.family.cancel_shape == "keyed":
        entry = {"anyOf": [_object({"cancel": accepted}), _object({"error": {"type": "string"}})]}
        return {"type": "object", "additionalProperties": entry}
    item = _object({"order": _id("int", echo=True), "cancel": {"anyOf": [accepted, _item_error(dialect)]}})
    return {"type": "array", "items": item}


def _balance(dialect: Dialect) -> Schema:
    kind, places = dialect.family.money.get("balance", ("str", dialect.balance_decimals))
    props = {name: _money(kind, places) if field == "money" else {"type": "string"}
             for name, field in dialect.balance_fields.items()}
    return _object(props, dialect.success_envelope.get("balance"))


# Per action of the table, its answer's schema; an action the mock serves without one stops the build.
_ANSWERS: dict[str, Callable[[Dialect], Schema]] = {
    "services": _services, "add": _add, "status": _status, "refill": _refill,
    "refill_status": _refill_status, "cancel": _cancel, "balance": _balance,
}


# ---- errors -----------------------------------------------------------------------------------------


def _error_shape(shape: Any) -> Schema:
    """An error body the profile shapes (``error_bodies``): its text fields any words, the rest as given."""
    props: dict[str, Schema] = {}
    for name, value in shape.items():
        props[name] = {"type": "string"} if isinstance(value, str) and "{" in value else {"const": value}
    return {"type": "object", "required": list(props), "properties": props, "additionalProperties": False}


def _errors(dialect: Dialect, actions: list[str]) -> dict[str, tuple[int, Schema]]:
    """Every error an answer may be, by code (or "code.field"): its HTTP status and its body's schema."""
    codes: dict[str, None] = dict.fromkeys(action_table.EVERY_ACTION_MAY)
    for name in actions:
        codes.update(dict.fromkeys(action_table.ACTIONS[name].errors))
    if dialect.empty_request is not None:
        codes[dialect.empty_request.value] = None
    plain = _object({"error": {"type": "string"}})
    out: dict[str, tuple[int, Schema]] = {}
    for code in codes:
        error = ErrorCode(code)
        status = dialect.family.error_status.get(error, 200)
        shape = dialect.error_bodies.get(error)
        out[code] = (status, _error_shape(shape) if shape is not None else plain)
    for key, shape in dialect.error_bodies.items():  # the shapes of one code about one field
        if isinstance(key, str) and key.split(".")[0] in codes:
            out[key] = (dialect.family.error_status.get(ErrorCode(key.split(".")[0]), 200), _error_shape(shape))
    return out


def _responses(dialect: Dialect, actions: list[str], errors: dict[str, tuple[int, Schema]]) -> dict[str, Any]:
    media = dialect.content_type.split(";")[0].strip()
    by_status: dict[int, list[Schema]] = {200: [_ref(_name(name, "Answer")) for name in actions]}
    for status, schema in errors.values():
        bodies = by_status.setdefault(status, [])
        if schema not in bodies:
            bodies.append(schema)
    if dialect.unknown_action is not None:
        by_status[200].append({"const": dialect.unknown_action[0], "description": "The answer to an unknown action"})
    if dialect.status_no_id == "empty":  # read as text: this family labels its JSON text/html (docs/openapi.md)
        by_status[200].append({"const": "", "description": "An empty body: a status with no order id"})
    out: dict[str, Any] = {}
    for status in sorted(by_status):
        description = "The action's answer, or its error" if status == 200 else "An error"
        out[str(status)] = {"description": description,
                            "content": {media: {"schema": {"anyOf": by_status[status]}}}}
    too_large = _object({"error": {"type": "string"}})
    out["413"] = {"description": f"The body is larger than {MAX_BODY} bytes (the mock's limit, docs/limits.md)",
                  "content": {"application/json": {"schema": too_large}}}
    if dialect.family.rate_limit is not None:
        out["429"] = {"description": "The key's request quota is spent (Retry-After says when it returns)",
                      "content": {media: {"schema": _object({"error": {"const": dialect.family.rate_limit.error}})}}}
    return out


def _description(dialect: Dialect, actions: list[str], method: str) -> str:
    how = {"post": "Send the fields as a form (urlencoded or multipart).",
           "get": "Send the fields in the query string."}.get(
        method, "Answered as POST is (the fields from a form body or the query string), as a panel's script answers "
        "any method; the panels document POST, and clients send POST or GET.")
    errors = ("An error is answered with HTTP 200 and an error body, as the panels do: clients read the body."
              if not dialect.family.error_status else
              "An error is answered with its HTTP status (the profile's `error_status`); the others with 200.")
    return f"Actions: {', '.join(actions)}. {how} {errors} In a batch, each id's error is inside its entry."
