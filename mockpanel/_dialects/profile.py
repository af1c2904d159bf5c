"""A dialect profile: field names, JSON types, envelopes, statuses, error strings.

Profiles are JSON files (fixtures/dialects/NAME.json). A profile may ``extend``
another and give only what differs. ``load_dialect`` checks every field and names
the bad one; the mock (to speak) and the conformance suite (to judge) read the same
``Dialect``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from decimal import Decimal
from pathlib import Path
from typing import Any, Mapping

from .._domain import servicetypes
from .._domain.errors import ErrorCode
from .._domain.lifecycle import RefillStatus, Status
from .._domain.money import shown_text
from conformance.actions import ActionError, dialect_actions
from conformance.actions import names as action_names
from conformance.data import packaged, packaged_text

from .._packaged import parse_json, user_text
from .frozen import frozen, thawed
from .settings import FAMILY_FIELDS, Family, SettingError, read_family

SERVICE_FIELD_KINDS = {"int", "str", "str_or_null", "bool", "int01", "str01", "type_name", "type_slug", "rate"}
STATUS_FIELD_KINDS = {"money", "str", "str_or_null", "int", "status", "currency", "id_str", "id_int"}
SERVICE_ID_CASTS = ("strict", "mysql")
QUANTITY_CASTS = ("strict", "php")
DRIPFEED_FIELD_KINDS = {"status", "runs", "run_orders"}
STATUS_NO_ID = ("error", "empty")
MAX_PREFIX = 16  # characters written before every answer
ID_KINDS = {"int", "str", "objectid"}


class DialectError(ValueError):
    """A profile that cannot be used; the message names the field and what to do."""


@dataclass(frozen=True)
class Dialect:
    name: str
    description: str
    endpoints: tuple[str, ...]
    actions: frozenset[str]
    money_decimals: int
    statuses: Mapping[Status, str]
    refill_statuses: Mapping[RefillStatus, str]
    success_envelope: Mapping[str, Mapping[str, Any]]  # action -> fields added to its single-object answers
    service_fields: Mapping[str, str]
    services_empty: Any
    add_order_kind: str
    status_fields: Mapping[str, str]
    pending_remains: str  # "quantity" (standard) or "zero" (SmartPanel's documents show "remains": "0" while pending)
    batch_limit: int
    batch_item_error: str  # "nested": {"error": "..."}; "string": "..."
    refill_single: str
    refill_batch_order: str
    refill_batch_refill: str
    balance_fields: Mapping[str, str]
    balance_decimals: int
    dripfeed_intervals: tuple[int, ...] | None
    subscription_delays: tuple[int, ...]
    duplicate_links: str
    refill_after_partial: bool
    service_types: frozenset[str] | None
    type_fields: Mapping[str, Mapping[str, tuple[str, ...]]]  # per-type field lists that differ from the standard
    catalog: str  # the catalogue a mock of this dialect sells by default
    errors: Mapping[ErrorCode, str]
    # codes (or "code.field") answered with another shape than {"error": ...}
    error_bodies: Mapping[ErrorCode | str, Mapping[str, Any]]
    json_indent: int | None
    json_php: bool  # PHP json_encode escapes: "\/" and \uXXXX
    content_type: str
    json_prefix: str = ""  # written before every answer ("\n": a PHP script's stray newline before its JSON)
    status_no_id: str = "error"  # "empty": a status with neither order nor orders answers an empty body
    service_cast: str = "strict"  # "mysql": the add's service id read as MySQL casts a string ("1abc" is 1)
    # A drip-feed order's status, where the panel shows it apart (SmartPanel: {"status", "runs", "orders"}): wire
    # name -> "status", "runs" (its runs, a string) or "run_orders" (the orders its runs placed: the mock's place none)
    dripfeed_fields: Mapping[str, str] = field(default_factory=dict)
    comment_separators: tuple[str, ...] = ()  # besides new lines, what splits comments (SmartPanel's " | ")
    quantity_cast: str = "strict"  # "php": the add's quantity read as a PHP numeric string ("1e2" and " 100 " are 100)
    # "code.field" -> words for that code about that field only ("missing_field.link": "Bad Link")
    field_errors: Mapping[str, str] = field(default_factory=dict)
    # What an action the dialect lacks is answered: None, its incorrect_request error; else (the JSON value,),
    # which may be null (a script that echoes an unset variable)
    unknown_action: tuple[Any] | None = None
    empty_request: ErrorCode | None = None  # the error of a request without a key or an action, before the key is read
    batch_read: bool = True  # False: "orders"/"refills" are not read; only the single field is
    # OrderRules' limits and leniency (docs/limits.md): max_link, max_text, max_list_text, max_lines, lenient_optional.
    limits: Mapping[str, Any] = field(default_factory=dict)
    family: Family = field(default_factory=Family)  # settings beyond spelling (_dialects/settings.py)
    source: str = field(default="", compare=False)
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        # One Dialect is shared by every panel that names it (a cache): read-only all the way
        # down, so no test can change the profile the next test gets.
        for f in fields(self):
            object.__setattr__(self, f.name, frozen(getattr(self, f.name)))

    def __copy__(self) -> Dialect:
        return self  # immutable: a copy is the same value

    def __deepcopy__(self, memo: dict[int, Any]) -> Dialect:
        return self

    def message(self, code: ErrorCode, values: Mapping[str, Any]) -> str:
        """The dialect's words for an error code, its template filled with ``values`` (the words for
        that code about that field, where the profile has them: ``field_errors``)."""
        if self.field_errors and "field" in values:
            words = self.field_errors.get(f"{code.value}.{values['field']}")
            if words is not None:
                return words.format(**values)
        return self.errors[code].format(**values)

    def show_money(self, amount: Decimal) -> str:
        """An amount (a charge, a refund, a ledger entry) as people are shown it: this dialect's
        decimals at least, exact, never an exponent ("0.04500", not "0.0450000" or "0E-7")."""
        return shown_text(amount, self.money_decimals)

    def show_balance(self, amount: Decimal) -> str:
        """A balance as people are shown it: ``show_money`` with the balance's decimals."""
        return shown_text(amount, self.balance_decimals)

    def error_body(self, code: ErrorCode, values: Mapping[str, Any], action: str = "") -> dict[str, Any]:
        """The whole answer for an error: {"error": message} unless the profile gives a shape (for the code,
        for the code about one field, or for the code in one action: "refill:incorrect_order_id")."""
        message = self.message(code, values)
        shape = self.error_bodies.get(code)
        if "field" in values:
            shape = self.error_bodies.get(f"{code.value}.{values['field']}", shape)
        if action:
            shape = self.error_bodies.get(f"{action}:{code.value}", shape)
        if shape is None:
            return {"error": message}
        return {k: (v.format(message=message, **values) if isinstance(v, str) else thawed(v)) for k, v in shape.items()}

    def read_status(self, word: str) -> Status | None:
        """The canonical status for a word this dialect uses, or None."""
        for status, spelled in self.statuses.items():
            if spelled == word:
                return status
        return None


def available_dialects() -> dict[str, str]:
    """Built-in profile names and their one-line descriptions."""
    out = {}
    for entry in packaged("dialects"):
        data = parse_json(entry.read_text(encoding="utf-8"), entry.name, DialectError)
        out[data.get("name", entry.name[:-5])] = data.get("description", "")
    return out


def _read(name_or_path: str) -> tuple[dict[str, Any], str]:
    path = Path(name_or_path)
    if name_or_path.endswith(".json") or path.is_file():
        if not path.is_file():
            raise DialectError(f"dialect file {name_or_path!r} does not exist")
        text, where = user_text(name_or_path), str(path)
    else:
        found = packaged_text("dialects", name_or_path)
        if found is not None:
            text, where = found, f"dialect {name_or_path!r}"
        else:
            known = ", ".join(available_dialects())
            raise DialectError(
                f"no dialect named {name_or_path!r}. Built-in dialects: {known}; "
                "or give the path of a profile .json file"
            )
    data = parse_json(text, where, DialectError)
    if not isinstance(data, dict):
        raise DialectError(f"{where}: a profile is a JSON object")
    if where == str(path):  # a user's file with no name of its own is named by the file, not by what it extends
        data.setdefault("name", path.stem)
    return data, where


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        # Ordered field maps are replaced whole: their order is the wire order.
        if isinstance(v, dict) and isinstance(out.get(k), dict) and k not in ("fields",):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _resolve(name_or_path: str, seen: tuple[str, ...] = ()) -> tuple[dict[str, Any], str]:
    data, where = _read(name_or_path)
    parent = data.pop("extends", None)
    if parent is None:
        return data, where
    if not isinstance(parent, str):
        raise DialectError(f"{where}: 'extends' names another dialect, got {parent!r}")
    if parent in seen:
        raise DialectError(f"{where}: 'extends' makes a loop through {parent!r}")
    base, _ = _resolve(parent, seen + (name_or_path,))
    return _merge(base, data), where


def load_dialect(name_or_path: str | Dialect = "standard") -> Dialect:
    """A built-in dialect by name, or a profile file by path, checked field by field."""
    if isinstance(name_or_path, Dialect):
        return name_or_path
    data, where = _resolve(name_or_path)
    return _build(data, where)


_TOP = {
    "name", "description", "endpoints", "actions", "money_decimals", "statuses", "refill_statuses",
    "success_envelope", "services", "add", "status", "batch", "refill", "balance", "dripfeed_intervals",
    "subscription_delays", "duplicate_links", "refill_after_partial", "service_types", "errors", "json",
    "type_fields", "catalog", "error_bodies", "field_errors", "notes", "limits", "unknown_action", "empty_request",
    *FAMILY_FIELDS,
}
# The profile's "limits" object: its keys, and the OrderRules field each one sets.
LIMITS = {
    "link": "max_link", "text": "max_text", "list_text": "max_list_text", "list_lines": "max_lines",
    "lenient_optional": "lenient_optional",
}


def _limits(d: dict[str, Any], where: str) -> dict[str, Any]:
    raw = d.get("limits", {})
    if not isinstance(raw, dict) or set(raw) - set(LIMITS):
        raise DialectError(f"{where}: field 'limits' is an object with the keys {sorted(LIMITS)}, got {raw!r}")
    out: dict[str, Any] = {}
    for name, value in raw.items():
        if name == "lenient_optional":
            if not isinstance(value, bool):
                raise DialectError(f"{where}: field 'limits.lenient_optional' must be true or false, got {value!r}")
        elif not (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 10_000_000):
            raise DialectError(f"{where}: field 'limits.{name}' must be a whole number from 1 to 10000000, got {value!r}")
        out[LIMITS[name]] = value
    return out


def _field_code(where: str, path: str, name: str) -> ErrorCode | str:
    """An error code ("missing_field"), one about one field ("missing_field.link", kept as text), or, in
    ``error_bodies``, one in one action ("refill:incorrect_order_id", kept as text)."""
    action, colon, rest = name.partition(":")
    if colon and path == "error_bodies":
        if action not in action_names():
            raise DialectError(f"{where}: {path!r} key {name!r} names no action before the colon; "
                               f"known: {list(action_names())}")
        if "." in rest:
            raise DialectError(f"{where}: {path!r} key {name!r}: an action's key names a code only (\"refill:{rest.partition('.')[0]}\")")
        _field_code(where, path, rest)
        return name
    code_name, dot, field_name = name.partition(".")
    try:
        code = ErrorCode(code_name)
    except ValueError:
        raise DialectError(f"{where}: {path!r} has unknown code {code_name!r}; known: {[c.value for c in ErrorCode]}") from None
    if not dot:
        return code
    if not field_name:
        raise DialectError(f"{where}: {path!r} key {name!r} names no field after the dot")
    return name


def _check_kinds(where: str, path: str, fields: dict[str, Any], allowed: set[str]) -> dict[str, str]:
    if not fields:
        raise DialectError(f"{where}: field {path!r} must list at least one field")
    for name, kind in fields.items():
        if kind not in allowed:
            raise DialectError(f"{where}: field {path}.{name} has kind {kind!r}; use one of {sorted(allowed)}")
    return dict(fields)


def _build(d: dict[str, Any], where: str) -> Dialect:
    def need(path: str, kind: type | tuple[type, ...]) -> Any:
        node: Any = d
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                raise DialectError(f"{where}: missing field {path!r}")
            node = node[part]
        if not isinstance(node, kind) or (kind is int and isinstance(node, bool)):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise DialectError(f"{where}: field {path!r} must be {names}, got {node!r}")
        return node

    def kinds(path: str, allowed: set[str]) -> dict[str, str]:
        return _check_kinds(where, path, need(path, dict), allowed)

    unknown = {k for k in set(d) - _TOP if not k.startswith("_")}  # "_comments" and the like: notes for people
    if unknown:
        raise DialectError(f"{where}: unknown field(s) {sorted(unknown)}; known fields: {sorted(_TOP)}")
    endpoints = need("endpoints", list)
    if not endpoints or not all(isinstance(e, str) and e.startswith("/") for e in endpoints):
        raise DialectError(f"{where}: field 'endpoints' must list paths starting with '/', got {endpoints!r}")
    try:  # the actions it lists, each one of the table's; or, listing none, the table's defaults
        actions = dialect_actions(d.get("actions"))
    except ActionError as exc:
        raise DialectError(f"{where}: {exc}") from None
    decimals = need("money_decimals", int)
    if not 0 <= decimals <= 8:
        raise DialectError(f"{where}: field 'money_decimals' must be 0 to 8, got {decimals}")

    def vocabulary(path: str, enum: Any, missing: str = "field {path!r} must spell {value!r} as a non-empty string",
                   unknown: str = "field {path!r} has unknown status(es) {extra}") -> dict[Any, str]:
        """The words a table gives every member of ``enum``: each one, and nothing else."""
        table = need(path, dict)
        out = {}
        for member in enum:
            word = table.get(member.value)
            if not isinstance(word, str) or not word:
                raise DialectError(f"{where}: " + missing.format(path=path, value=member.value))
            out[member] = word
        extra = set(table) - {m.value for m in enum}
        if extra:
            known = [m.value for m in enum]
            raise DialectError(f"{where}: " + unknown.format(path=path, extra=sorted(extra), known=known))
        return out

    errors: dict[ErrorCode, str] = vocabulary(
        "errors", ErrorCode, missing="field 'errors.{value}' is missing; every error needs its words",
        unknown="'errors' has unknown code(s) {extra}; known: {known}",
    )

    bodies_raw = d.get("error_bodies", {})
    if not isinstance(bodies_raw, dict):
        raise DialectError(f"{where}: field 'error_bodies' must be an object of error code -> JSON object")
    error_bodies: dict[ErrorCode | str, dict[str, Any]] = {}
    for code_name, shape in bodies_raw.items():
        code_of = _field_code(where, "error_bodies", code_name)
        if not isinstance(shape, dict) or not shape:
            raise DialectError(f"{where}: 'error_bodies.{code_name}' must be a non-empty JSON object")
        error_bodies[code_of] = shape
    field_errors_raw = d.get("field_errors", {})
    if not isinstance(field_errors_raw, dict):
        raise DialectError(f"{where}: field 'field_errors' maps \"code.field\" to words (\"missing_field.link\": \"Bad Link\")")
    field_errors: dict[str, str] = {}
    for name, words in field_errors_raw.items():
        if "." not in name:
            raise DialectError(f"{where}: 'field_errors' keys are \"code.field\" (\"missing_field.link\"), got {name!r}")
        if not isinstance(words, str) or not words:
            raise DialectError(f"{where}: 'field_errors.{name}' must be words, got {words!r}")
        _field_code(where, "field_errors", name)  # its code is one of the table's
        field_errors[name] = words

    type_fields_raw = d.get("type_fields", {})
    type_fields: dict[str, dict[str, tuple[str, ...]]] = {}
    if not isinstance(type_fields_raw, dict):
        raise DialectError(f"{where}: field 'type_fields' must map a service type to its field lists")
    for type_name, spec in type_fields_raw.items():
        if type_name not in servicetypes.SERVICE_TYPES:
            raise DialectError(f"{where}: 'type_fields' names unknown service type {type_name!r}")
        if not isinstance(spec, dict) or set(spec) - {"required", "optional"}:
            raise DialectError(f"{where}: 'type_fields.{type_name}' takes only 'required' and 'optional' lists")
        for part, names in spec.items():
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise DialectError(f"{where}: 'type_fields.{type_name}.{part}' must be a list of field names")
        type_fields[type_name] = {k: tuple(v) for k, v in spec.items()}

    json_cfg = need("json", dict)
    indent = json_cfg.get("indent")
    if indent is not None and (not isinstance(indent, int) or isinstance(indent, bool) or not 0 < indent <= 8):
        raise DialectError(f"{where}: field 'json.indent' must be null or 1 to 8, got {indent!r}")
    content_type = json_cfg.get("content_type", "application/json")
    if not isinstance(content_type, str) or not content_type:
        raise DialectError(f"{where}: field 'json.content_type' must be a non-empty string")
    prefix = json_cfg.get("prefix", "")
    if not isinstance(prefix, str) or len(prefix) > MAX_PREFIX or not prefix.isascii():
        raise DialectError(f"{where}: field 'json.prefix' must be ASCII text of at most {MAX_PREFIX} characters, got {prefix!r}")
    no_id = d.get("status", {}).get("no_id", "error")
    if no_id not in STATUS_NO_ID:
        raise DialectError(f"{where}: field 'status.no_id' must be one of {list(STATUS_NO_ID)}, got {no_id!r}")
    unknown_answer = d.get("unknown_action")
    if unknown_answer is not None and (not isinstance(unknown_answer, dict) or set(unknown_answer) != {"answer"}):
        raise DialectError(f"{where}: field 'unknown_action' is {{\"answer\": JSON}} (null allowed), got {unknown_answer!r}")
    empty = d.get("empty_request")
    if empty is not None and empty not in {c.value for c in ErrorCode}:
        raise DialectError(f"{where}: field 'empty_request' names an error code ({[c.value for c in ErrorCode]}), got {empty!r}")
    batch_read = d.get("batch", {}).get("read", True)
    if not isinstance(batch_read, bool):
        raise DialectError(f"{where}: field 'batch.read' must be true or false, got {batch_read!r}")
    drip_raw = d.get("status", {}).get("dripfeed_fields")
    dripfeed_fields = _check_kinds(where, "status.dripfeed_fields", drip_raw, DRIPFEED_FIELD_KINDS) if drip_raw else {}
    separators = d.get("add", {}).get("comment_separators", [])
    if not isinstance(separators, list) or not all(isinstance(x, str) and 0 < len(x) <= 8 for x in separators):
        raise DialectError(f"{where}: field 'add.comment_separators' lists short strings (\" | \"), got {separators!r}")
    quantity_cast = d.get("add", {}).get("quantity", "strict")
    if quantity_cast not in QUANTITY_CASTS:
        raise DialectError(f"{where}: field 'add.quantity' must be one of {list(QUANTITY_CASTS)}, got {quantity_cast!r}")
    service_cast = d.get("add", {}).get("service", "strict")
    if service_cast not in SERVICE_ID_CASTS:
        raise DialectError(f"{where}: field 'add.service' must be one of {list(SERVICE_ID_CASTS)}, got {service_cast!r}")

    pending_remains = d.get("status", {}).get("pending_remains", "quantity")
    if pending_remains not in ("quantity", "zero"):
        raise DialectError(f"{where}: field 'status.pending_remains' must be 'quantity' or 'zero'")
    item_error = need("batch.item_error", str)
    if item_error not in ("nested", "string"):
        raise DialectError(f"{where}: field 'batch.item_error' must be 'nested' or 'string', got {item_error!r}")
    limit = need("batch.limit", int)
    if limit < 1:
        raise DialectError(f"{where}: field 'batch.limit' must be >= 1, got {limit}")
    for path in ("add.order", "refill.single", "refill.batch_order", "refill.batch_refill"):
        if need(path, str) not in ID_KINDS:
            raise DialectError(f"{where}: field {path!r} must be one of {sorted(ID_KINDS)}")
    intervals = d.get("dripfeed_intervals")
    if intervals is not None and not (isinstance(intervals, list) and all(isinstance(i, int) for i in intervals)):
        raise DialectError(f"{where}: field 'dripfeed_intervals' must be null or a list of integers")
    delays = need("subscription_delays", list)
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in delays):
        raise DialectError(f"{where}: field 'subscription_delays' must list integers (minutes)")
    scope = need("duplicate_links", str)
    if scope not in ("service", "any", "off"):
        raise DialectError(f"{where}: field 'duplicate_links' must be 'service', 'any' or 'off', got {scope!r}")
    types = d.get("service_types")
    if types is not None:
        if not isinstance(types, list) or any(t not in servicetypes.SERVICE_TYPES for t in types):
            raise DialectError(
                f"{where}: field 'service_types' must be null or a list of type names from {list(servicetypes.SERVICE_TYPES)}"
            )
    envelope = need("success_envelope", dict)
    for action, extra in envelope.items():
        if action not in action_names() or not isinstance(extra, dict):
            raise DialectError(
                f"{where}: 'success_envelope' maps an action ({list(action_names())}) to the fields its answer adds, "
                f"got {action!r}: {extra!r}"
            )
    balance_cfg = need("balance", dict)
    balance_decimals = balance_cfg.pop("decimals", decimals) if "decimals" in balance_cfg else decimals
    balance_cfg = {k: v for k, v in balance_cfg.items() if k != "decimals"}
    if not isinstance(balance_decimals, int) or not 0 <= balance_decimals <= 8:
        raise DialectError(f"{where}: field 'balance.decimals' must be 0 to 8")
    try:
        family = read_family(d, decimals, balance_decimals)
    except SettingError as exc:
        raise DialectError(f"{where}: {exc}") from None
    catalog = d.get("catalog", "default")
    if not isinstance(catalog, str) or not catalog:
        raise DialectError(f"{where}: field 'catalog' must name a catalogue")
    return Dialect(
        name=need("name", str),
        description=need("description", str),
        endpoints=tuple(endpoints),
        actions=actions,
        money_decimals=decimals,
        statuses=vocabulary("statuses", Status),
        refill_statuses=vocabulary("refill_statuses", RefillStatus),
        success_envelope=envelope,
        service_fields=kinds("services.fields", SERVICE_FIELD_KINDS),
        services_empty=need("services", dict).get("empty", []),
        add_order_kind=d["add"]["order"],
        status_fields=kinds("status.fields", STATUS_FIELD_KINDS),
        pending_remains=pending_remains,
        batch_limit=limit,
        batch_item_error=item_error,
        refill_single=d["refill"]["single"],
        refill_batch_order=d["refill"]["batch_order"],
        refill_batch_refill=d["refill"]["batch_refill"],
        balance_fields=_check_kinds(where, "balance", balance_cfg, {"money", "currency"}),
        balance_decimals=balance_decimals,
        dripfeed_intervals=tuple(intervals) if intervals is not None else None,
        subscription_delays=tuple(delays),
        duplicate_links=scope,
        refill_after_partial=bool(need("refill_after_partial", bool)),
        service_types=frozenset(types) if types is not None else None,
        type_fields=type_fields,
        catalog=catalog,
        errors=errors,
        error_bodies=error_bodies,
        json_indent=indent,
        json_php=bool(json_cfg.get("php_escapes", False)),
        content_type=content_type,
        json_prefix=prefix,
        status_no_id=no_id,
        service_cast=service_cast,
        quantity_cast=quantity_cast,
        comment_separators=tuple(separators),
        dripfeed_fields=dripfeed_fields,
        field_errors=field_errors,
        unknown_action=(unknown_answer["answer"],) if unknown_answer is not None else None,
        empty_request=ErrorCode(empty) if empty is not None else None,
        batch_read=batch_read,
        limits=_limits(d, where),
        family=family,
        source=where,
        raw=d,
    )
