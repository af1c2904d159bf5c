"""A profile's family settings: how a panel family deviates beyond spelling.

Id formats, money as a string or a JSON number per answer, words for ``remains``,
HTTP status codes per error, where the key may come from, idempotent adds, a
request quota, keyed answers. Each is optional; a profile without them answers
as API v2 does. ``read_family`` checks each and names the bad field.
"""

from __future__ import annotations

from functools import cached_property

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .._domain.errors import ErrorCode
from .._domain.lifecycle import Status
from .frozen import frozen

ID_FORMATS = ("decimal", "objectid")
MONEY_CONTEXTS = ("status", "multi_status", "balance")
MONEY_JSON = ("str", "number")
KEY_SOURCES = ("field", "bearer", "x-api-key")
HTTP_CODES = frozenset({200, 400, 401, 402, 403, 404, 409, 422, 429})
FAMILY_FIELDS = (
    "id_format", "money", "error_status", "key_from", "key_case", "key_trailing_spaces", "idempotency", "rate_limit",
    "cancel",
)
MAX_KEEP = 100_000


class SettingError(ValueError):
    """A family setting that cannot be used (the profile reader adds the file's name)."""


@dataclass(frozen=True)
class Idempotency:
    field: str  # the add field that names a request ("request_id")
    keep: int  # request ids remembered per key (the oldest leaves first)


@dataclass(frozen=True)
class RateLimit:
    requests: int  # per key and window
    window: int  # seconds
    error: str  # the words of the 429 answer
    headers: bool  # X-RateLimit-Limit, -Remaining, -Reset on every answer


@dataclass(frozen=True)
class Family:
    id_format: str = "decimal"
    money: Mapping[str, tuple[str, int]] = field(default_factory=dict)  # context -> (JSON kind, decimals)
    remains_words: Mapping[Status, str] = field(default_factory=dict)  # status -> word shown as remains
    single_status: str = "plain"  # "keyed": {"<id>": {...}}
    error_status: Mapping[ErrorCode, int] = field(default_factory=dict)
    key_from: tuple[str, ...] = ("field",)
    key_case: str = "exact"  # "insensitive": a key in other letter case is the same key (a MySQL collation)
    key_trailing_spaces: str = "significant"  # "ignored": "abc  " is the key "abc" (MySQL's PAD SPACE collations)
    idempotency: Idempotency | None = None
    rate_limit: RateLimit | None = None
    cancel_shape: str = "list"  # "keyed": {"<order>": {"cancel": accepted} or an item error}
    cancel_accepted: Any = 1

    def __post_init__(self) -> None:
        for name in ("money", "remains_words", "error_status", "key_from", "cancel_accepted"):  # read-only (frozen.py)
            object.__setattr__(self, name, frozen(getattr(self, name)))

    @cached_property  # asked on every request
    def key_collated(self) -> bool:
        """Is a key compared as a collation compares it (letter case or trailing spaces ignored)?"""
        return self.key_case != "exact" or self.key_trailing_spaces != "significant"

    def key_folded(self, key: str) -> str:
        """``key`` as this family compares it: two keys are the same key when their folds are equal."""
        if self.key_trailing_spaces == "ignored":
            key = key.rstrip(" ")
        return key.casefold() if self.key_case == "insensitive" else key

    @property
    def gated(self) -> bool:
        """Does the request path need the family gate (headers, quota, HTTP codes)?"""
        return self.key_from != ("field",) or self.rate_limit is not None or bool(self.error_status)


def _whole(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def read_family(d: Mapping[str, Any], money_decimals: int, balance_decimals: int) -> Family:
    """The family settings of a merged profile ``d``; SettingError names the field."""
    id_format = d.get("id_format", "decimal")
    if id_format not in ID_FORMATS:
        raise SettingError(f"field 'id_format' must be one of {list(ID_FORMATS)}, got {id_format!r}")
    money: dict[str, tuple[str, int]] = {
        "status": ("str", money_decimals), "multi_status": ("str", money_decimals), "balance": ("str", balance_decimals),
    }
    raw_money = d.get("money", {})
    if not isinstance(raw_money, dict) or set(raw_money) - set(MONEY_CONTEXTS):
        raise SettingError(f"field 'money' maps {list(MONEY_CONTEXTS)} to {{\"json\", \"decimals\"}}, got {raw_money!r}")
    for context, spec in raw_money.items():
        if not isinstance(spec, dict) or set(spec) - {"json", "decimals"}:
            raise SettingError(f"field 'money.{context}' takes 'json' ({list(MONEY_JSON)}) and 'decimals' (0 to 12)")
        kind, places = spec.get("json", money[context][0]), spec.get("decimals", money[context][1])
        if kind not in MONEY_JSON:
            raise SettingError(f"field 'money.{context}.json' must be one of {list(MONEY_JSON)}, got {kind!r}")
        if not _whole(places, 0, 12):
            raise SettingError(f"field 'money.{context}.decimals' must be 0 to 12, got {places!r}")
        money[context] = (kind, places)
    status_cfg = d.get("status", {})
    words_raw = status_cfg.get("remains_words", {}) if isinstance(status_cfg, dict) else {}
    remains_words: dict[Status, str] = {}
    if not isinstance(words_raw, dict):
        raise SettingError("field 'status.remains_words' maps a status to the word shown as remains")
    for name, word in words_raw.items():
        try:
            status = Status(name)
        except ValueError:
            raise SettingError(f"field 'status.remains_words' names unknown status {name!r}") from None
        if not isinstance(word, str) or not word or word.isdigit():
            raise SettingError(f"field 'status.remains_words.{name}' must be a word (not a number), got {word!r}")
        remains_words[status] = word
    single = status_cfg.get("single", "plain") if isinstance(status_cfg, dict) else "plain"
    if single not in ("plain", "keyed"):
        raise SettingError(f"field 'status.single' must be 'plain' or 'keyed', got {single!r}")
    codes_raw = d.get("error_status", {})
    if not isinstance(codes_raw, dict):
        raise SettingError("field 'error_status' maps an error code to its HTTP status")
    error_status: dict[ErrorCode, int] = {}
    for name, code in codes_raw.items():
        try:
            error = ErrorCode(name)
        except ValueError:
            raise SettingError(f"field 'error_status' names unknown error {name!r}") from None
        if code not in HTTP_CODES:
            raise SettingError(f"field 'error_status.{name}' must be one of {sorted(HTTP_CODES)}, got {code!r}")
        error_status[error] = code
    key_from = d.get("key_from", ["field"])
    if not isinstance(key_from, list) or not key_from or any(k not in KEY_SOURCES for k in key_from):
        raise SettingError(f"field 'key_from' lists where the key may come from: {list(KEY_SOURCES)}, got {key_from!r}")
    key_case = d.get("key_case", "exact")
    if key_case not in ("exact", "insensitive"):
        raise SettingError(f"field 'key_case' must be 'exact' or 'insensitive', got {key_case!r}")
    spaces = d.get("key_trailing_spaces", "significant")
    if spaces not in ("significant", "ignored"):
        raise SettingError(f"field 'key_trailing_spaces' must be 'significant' or 'ignored', got {spaces!r}")
    return Family(
        id_format=id_format, key_case=key_case, key_trailing_spaces=spaces, money=money, remains_words=remains_words, single_status=single,
        error_status=error_status, key_from=tuple(key_from), idempotency=_idempotency(d.get("idempotency")),
        rate_limit=_rate_limit(d.get("rate_limit")), **_cancel(d.get("cancel", {})),
    )


def _idempotency(raw: Any) -> Idempotency | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) - {"field", "keep"} or not isinstance(raw.get("field"), str):
        raise SettingError(f"field 'idempotency' is {{\"field\": NAME, \"keep\": N}}, got {raw!r}")
    keep = raw.get("keep", 10_000)
    if not _whole(keep, 1, MAX_KEEP):
        raise SettingError(f"field 'idempotency.keep' must be 1 to {MAX_KEEP}, got {keep!r}")
    return Idempotency(raw["field"], keep)


def _rate_limit(raw: Any) -> RateLimit | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) - {"requests", "window", "error", "headers"}:
        raise SettingError(f"field 'rate_limit' takes requests, window, error and headers, got {raw!r}")
    requests: Any = raw.get("requests")
    window: Any = raw.get("window", 60)
    if not _whole(requests, 1, 1_000_000) or not _whole(window, 1, 86_400):
        raise SettingError("field 'rate_limit' needs 'requests' (1 to 1000000) and 'window' (1 to 86400 seconds)")
    error, headers = raw.get("error", "Too many requests"), raw.get("headers", True)
    if not isinstance(error, str) or not error or not isinstance(headers, bool):
        raise SettingError("field 'rate_limit.error' must be words and 'rate_limit.headers' true or false")
    return RateLimit(requests, window, error, headers)


def _cancel(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict) or set(raw) - {"shape", "accepted"}:
        raise SettingError(f"field 'cancel' takes 'shape' ('list' or 'keyed') and 'accepted', got {raw!r}")
    shape = raw.get("shape", "list")
    if shape not in ("list", "keyed"):
        raise SettingError(f"field 'cancel.shape' must be 'list' or 'keyed', got {shape!r}")
    accepted = raw.get("accepted", 1)
    if isinstance(accepted, bool) or not isinstance(accepted, (int, str)):
        raise SettingError(f"field 'cancel.accepted' must be a number or a word, got {accepted!r}")
    return {"cancel_shape": shape, "cancel_accepted": accepted}
