"""The judge's reader of dialect profiles: the JSON data, read on its own.

A profile (fixtures/dialects/NAME.json, or a path) says how a panel spells things:
field names and JSON kinds, envelopes, status words, error words, decimals. The
mock reads the same files with its own code; the judge reads only the data, so
nothing of the mock's logic decides what the judge expects. A profile may
``extend`` another and give only what differs (objects merge, field lists are
replaced whole).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .actions import ActionError, dialect_actions
from .data import folder
from .rules import TYPE_RULES, ErrorCode, RefillStatus, Status

MAX_PROFILE_BYTES = 1_000_000
MAX_EXTENDS = 8


class DialectError(ValueError):
    """A profile the judge cannot use; the message names the field and what to do."""


@dataclass(frozen=True)
class Dialect:
    name: str
    description: str
    endpoints: tuple[str, ...]
    actions: frozenset[str]
    money_decimals: int
    balance_decimals: int
    statuses: Mapping[Status, str]
    refill_statuses: Mapping[RefillStatus, str]
    success_envelope: Mapping[str, Mapping[str, Any]]
    service_fields: Mapping[str, str]
    services_empty: Any
    add_order_kind: str
    status_fields: Mapping[str, str]
    pending_remains: str
    batch_limit: int
    batch_limit_documented: bool  # False: the limit only keeps the mock bounded; the panel has none
    batch_item_error: str
    refill_single: str
    refill_batch_order: str
    refill_batch_refill: str
    balance_fields: Mapping[str, str]
    dripfeed_intervals: tuple[int, ...] | None
    subscription_delays: tuple[int, ...]
    service_types: frozenset[str] | None
    type_fields: Mapping[str, Mapping[str, tuple[str, ...]]]
    errors: Mapping[ErrorCode, str]
    error_bodies: Mapping[ErrorCode | str, Mapping[str, Any]]  # by code, "code.field" for one field's, "action:code"
    json_indent: int | None
    content_type: str
    status_no_id: str = "error"  # or "empty": a status with neither order nor orders answers nothing
    service_cast: str = "strict"  # or "mysql": the add's service id read as MySQL casts a string
    quantity_cast: str = "strict"  # or "php": the add's quantity read as a PHP numeric string ("1e2" is 100)
    dripfeed_fields: Mapping[str, str] = field(default_factory=dict)  # a drip-feed order's status, shown apart
    field_errors: Mapping[str, str] = field(default_factory=dict)  # "code.field" -> words for that field
    unknown_action: tuple[Any] | None = None  # (the JSON answered for an action the panel lacks,); None: its error
    empty_request: str | None = None  # the error code of a request without a key or an action, before the key
    batch_read: bool = True  # False: "orders" is not read, only "order"
    # Family settings (docs/dialects.md, "Panel families"): each defaults to API v2's behaviour.
    id_format: str = "decimal"  # or "objectid": 24 hex digits
    money: Mapping[str, tuple[str, int]] = field(default_factory=dict)  # status/multi_status/balance -> (kind, places)
    remains_words: Mapping[Status, str] = field(default_factory=dict)
    single_status: str = "plain"  # or "keyed" by the id asked for
    error_status: Mapping[ErrorCode, int] = field(default_factory=dict)  # HTTP status per error (else 200)
    key_from: tuple[str, ...] = ("field",)
    key_case: str = "exact"  # or "insensitive": the key in other letter case is accepted
    key_trailing_spaces: str = "significant"  # or "ignored": the key with trailing spaces is accepted (MySQL PAD SPACE)
    idempotency_field: str | None = None
    rate_limited: bool = False
    cancel_shape: str = "list"
    cancel_accepted: Any = 1
    source: str = field(default="", compare=False)

    def message(self, code: ErrorCode | str, values: Mapping[str, Any]) -> str:
        code = ErrorCode(code)
        if "field" in values and f"{code.value}.{values['field']}" in self.field_errors:
            return self.field_errors[f"{code.value}.{values['field']}"].format(**values)
        return self.errors[code].format(**values)

    def read_status(self, word: str) -> Status | None:
        return next((s for s, spelled in self.statuses.items() if spelled == word), None)

    def money_format(self, context: str) -> tuple[str, int]:
        """(JSON kind "str" or "number", decimals) of money in ``context``: status, multi_status, balance."""
        default = self.balance_decimals if context == "balance" else self.money_decimals
        return self.money.get(context, ("str", default))

    def http_statuses(self, codes: tuple[str, ...] = ()) -> set[int]:
        """The HTTP statuses an error of ``codes`` may come with (any of the profile's, if no codes)."""
        if not codes:
            return {200, *self.error_status.values()}
        return {self.error_status.get(ErrorCode(code), 200) for code in codes}

    @property
    def type_spelling(self) -> str:
        """How services.type is written: "slug" (custom_comments) or "name" (Custom Comments)."""
        return "slug" if self.service_fields.get("type") == "type_slug" else "name"


def _builtin() -> Path:
    return folder("dialects")


def available_dialects() -> dict[str, str]:
    out = {}
    for entry in sorted(_builtin().iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            data = json.loads(entry.read_text(encoding="utf-8"))
            out[data.get("name", entry.name[:-5])] = data.get("description", "")
    return out


def _read(name: str) -> tuple[dict[str, Any], str]:
    path = Path(name)
    if name.endswith(".json") or path.is_file():
        if not path.is_file():
            raise DialectError(f"dialect file {name!r} does not exist; give a profile .json path or a built-in name")
        if path.stat().st_size > MAX_PROFILE_BYTES:
            raise DialectError(f"dialect file {name!r} is over {MAX_PROFILE_BYTES} bytes; a profile is small")
        try:
            text, where = path.read_text(encoding="utf-8"), str(path)
        except UnicodeDecodeError as exc:
            raise DialectError(f"{name}: not UTF-8 text (byte {exc.start}); save the profile as UTF-8") from None
        except OSError as exc:
            raise DialectError(f"{name}: cannot read it ({exc.strerror or exc})") from None
    else:
        entry = next((e for e in _builtin().iterdir() if e.name == f"{name}.json"), None)
        if entry is None:
            raise DialectError(f"no dialect named {name!r}; built-in: {', '.join(available_dialects())}")
        text, where = entry.read_text(encoding="utf-8"), f"dialect {name!r}"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DialectError(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise DialectError(f"{where}: a profile is a JSON object")
    if where == str(path):  # a user's file with no name of its own is named by the file, not by what it extends
        data.setdefault("name", path.stem)
    return data, where


def merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` into ``base`` as ``extends`` merges: objects merged, ``fields`` maps replaced."""
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and k != "fields":
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out


def _resolve(name: str, depth: int = 0) -> tuple[dict[str, Any], str]:
    data, where = _read(name)
    parent = data.pop("extends", None)
    if parent is None:
        return data, where
    if not isinstance(parent, str) or depth >= MAX_EXTENDS:
        raise DialectError(f"{where}: 'extends' must name another dialect, at most {MAX_EXTENDS} deep")
    base, _ = _resolve(parent, depth + 1)
    return merge(base, data), where


def load_dialect(name_or_path: Any = "standard") -> Dialect:
    """A built-in profile by name, or a profile file by path, read for judging."""
    if isinstance(name_or_path, Dialect):
        return name_or_path
    if not isinstance(name_or_path, str):  # another reader's profile object: judge by its source data
        name_or_path = str(getattr(name_or_path, "source", "") or getattr(name_or_path, "name", ""))
        if name_or_path.startswith("dialect '"):
            name_or_path = name_or_path[len("dialect '"):-1]
    data, where = _resolve(name_or_path)
    try:
        return _build(data, where)
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, DialectError):
            raise
        raise DialectError(f"{where}: a field is missing or of the wrong kind ({type(exc).__name__}: {exc})") from None


def _words(where: str, table: Any, enum: Any, path: str) -> dict[Any, str]:
    if not isinstance(table, dict):
        raise DialectError(f"{where}: {path!r} must be an object")
    out = {}
    for member in enum:
        word = table.get(member.value)
        if not isinstance(word, str) or not word:
            raise DialectError(f"{where}: {path!r} must spell {member.value!r}")
        out[member] = word
    return out


def _build(d: dict[str, Any], where: str) -> Dialect:
    decimals = int(d["money_decimals"])
    balance = dict(d["balance"])
    balance_decimals = int(balance.pop("decimals", decimals))
    batch = d["batch"]
    types = d.get("service_types")
    if types is not None and any(t not in TYPE_RULES for t in types):
        raise DialectError(f"{where}: 'service_types' names a type the documents do not have")
    # "code.field" and "action:code" keys stay text (the body of that code about that field only, or in that
    # action only); the code must be one.
    bodies: dict[ErrorCode | str, dict[str, Any]] = {
        (k if ErrorCode(k.rpartition(":")[2].partition(".")[0]) and ("." in k or ":" in k) else ErrorCode(k)): dict(v)
        for k, v in (d.get("error_bodies") or {}).items()}
    json_cfg = d.get("json", {})
    try:  # the actions it lists, each one the table knows; or, listing none, the table's defaults
        actions = dialect_actions(d.get("actions"))
    except ActionError as exc:
        raise DialectError(f"{where}: {exc}") from None
    return Dialect(
        name=str(d["name"]),
        description=str(d.get("description", "")),
        endpoints=tuple(d["endpoints"]),
        actions=actions,
        money_decimals=decimals,
        balance_decimals=balance_decimals,
        statuses=_words(where, d["statuses"], Status, "statuses"),
        refill_statuses=_words(where, d["refill_statuses"], RefillStatus, "refill_statuses"),
        success_envelope={k: dict(v) for k, v in d.get("success_envelope", {}).items()},
        service_fields=dict(d["services"]["fields"]),
        services_empty=d["services"].get("empty", []),
        add_order_kind=str(d["add"]["order"]),
        status_fields=dict(d["status"]["fields"]),
        pending_remains=str(d["status"].get("pending_remains", "quantity")),
        batch_limit=int(batch["limit"]),
        batch_limit_documented=bool(batch.get("limit_documented", True)),
        batch_item_error=str(batch["item_error"]),
        refill_single=str(d["refill"]["single"]),
        refill_batch_order=str(d["refill"]["batch_order"]),
        refill_batch_refill=str(d["refill"]["batch_refill"]),
        balance_fields=balance,
        dripfeed_intervals=tuple(d["dripfeed_intervals"]) if d.get("dripfeed_intervals") is not None else None,
        subscription_delays=tuple(d.get("subscription_delays", ())),
        service_types=frozenset(types) if types is not None else None,
        type_fields={k: {p: tuple(v) for p, v in spec.items()} for k, spec in d.get("type_fields", {}).items()},
        errors=_words(where, d["errors"], ErrorCode, "errors"),
        error_bodies=bodies,
        json_indent=json_cfg.get("indent"),
        content_type=str(json_cfg.get("content_type", "application/json")),
        status_no_id=str(d["status"].get("no_id", "error")),
        service_cast=str(d["add"].get("service", "strict")),
        quantity_cast=str(d["add"].get("quantity", "strict")),
        dripfeed_fields=dict(d["status"].get("dripfeed_fields") or {}),
        field_errors={str(k): str(v) for k, v in (d.get("field_errors") or {}).items()},
        unknown_action=(d["unknown_action"]["answer"],) if isinstance(d.get("unknown_action"), dict) else None,
        empty_request=str(d["empty_request"]) if d.get("empty_request") is not None else None,
        batch_read=bool(batch.get("read", True)),
        **_family(d, decimals, balance_decimals),
        source=where,
    )


def _family(d: dict[str, Any], decimals: int, balance_decimals: int) -> dict[str, Any]:
    """The family settings, read as data (the mock checks them; the judge only needs their values)."""
    money = {"status": ("str", decimals), "multi_status": ("str", decimals), "balance": ("str", balance_decimals)}
    for context, spec in (d.get("money") or {}).items():
        money[str(context)] = (str(spec.get("json", money[context][0])), int(spec.get("decimals", money[context][1])))
    status_cfg = d.get("status", {})
    cancel = d.get("cancel") or {}
    return {
        "id_format": str(d.get("id_format", "decimal")),
        "money": money,
        "remains_words": {Status(k): str(v) for k, v in (status_cfg.get("remains_words") or {}).items()},
        "single_status": str(status_cfg.get("single", "plain")),
        "error_status": {ErrorCode(k): int(v) for k, v in (d.get("error_status") or {}).items()},
        "key_from": tuple(d.get("key_from") or ("field",)),
        "key_case": str(d.get("key_case", "exact")),
        "key_trailing_spaces": str(d.get("key_trailing_spaces", "significant")),
        "idempotency_field": (d.get("idempotency") or {}).get("field"),
        "rate_limited": d.get("rate_limit") is not None,
        "cancel_shape": str(cancel.get("shape", "list")),
        "cancel_accepted": cancel.get("accepted", 1),
    }
