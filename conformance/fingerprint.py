"""Which dialect does a live panel speak? Read-only probes, scored against every profile.

The probes spend nothing: a bad key, an unknown action, ``balance``, ``services``,
and ``status``/``refill_status`` of ids no panel has (never add, refill or cancel). Each probe's
answer is reduced to features (the words of an error, the shape of a batch error, the
JSON types of the services fields, the envelope, the number of decimals...), and each
profile predicts those features. The closest profiles are those that predict the most;
profiles that read the same on the wire (the seed panels that document the standard
API unchanged) tie, and the report says so rather than guess.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol

import httpx

from .profile import Dialect, available_dialects, load_dialect
from .rules import TYPE_RULES, ErrorCode, type_in_any_spelling
from ._values import error_text

ALL_TYPES = frozenset(TYPE_RULES)

# Ids far beyond any panel's: asking for them is read-only.
UNKNOWN_IDS = ("987654321001", "987654321002")

class ProbeAnswer(Protocol):
    """What a probe needs of an answer: an httpx.Response, or the conformance suite's record of one."""

    @property
    def status_code(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def headers(self) -> Mapping[str, str]: ...


# Sends one probe's fields (the key is the caller's business) and returns the answer.
Post = Callable[[Mapping[str, str]], ProbeAnswer]


@dataclass
class Observation:
    """What the panel answered to the probes, as features: name -> value."""

    features: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)  # probe -> (status code, body text), keys redacted


@dataclass
class Fingerprint:
    closest: list[str]  # the best-scoring profiles (several when they read the same on the wire)
    scores: dict[str, tuple[int, int]]  # profile -> (features matched, features compared)
    deviations: list[tuple[str, Any, Any]]  # (feature, the closest profile expects, the panel answered)
    observation: Observation

    @property
    def best(self) -> str:
        return self.closest[0]

    def summary(self) -> str:
        matched, total = self.scores[self.best]
        ties = f" (reads the same as: {', '.join(self.closest[1:])})" if len(self.closest) > 1 else ""
        lines = [f"closest dialect: {self.best}{ties}, {matched}/{total} features match"]
        for name, expected, seen in self.deviations:
            lines.append(f"  deviation {name}: {self.best} expects {expected!r}, the panel answered {seen!r}")
        return "\n".join(lines)


def _json(response: ProbeAnswer) -> Any:
    try:
        return json.loads(response.text)
    except ValueError:
        return None


def _decimals(text: Any) -> int | None:
    if not isinstance(text, str):
        return None
    match = re.fullmatch(r"-?\d+(?:\.(\d+))?", text)
    return None if match is None else len(match.group(1) or "")


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, str):
        return "str"
    if value is None:
        return "null"
    return type(value).__name__


def balance_features(balance: Mapping[str, Any]) -> dict[str, Any]:
    """The features a balance answer (a JSON object) shows: its fields, the amount's decimals and JSON
    kind, and its envelope."""
    return {"balance.keys": tuple(sorted(balance)), "balance.decimals": _decimals(balance.get("balance")),
            "balance.kind": _kind(balance.get("balance")), "envelope.balance": balance.get("status")}


def services_features(services: list[Any]) -> dict[str, Any]:
    """The features a services answer (a list whose first item is an object) shows: the first item's
    fields and their JSON kinds, how types are spelled, and the types listed."""
    first = services[0]
    kind = first.get("type")
    names = set()
    for item in services:
        word = item.get("type") if isinstance(item, dict) else None
        stype = type_in_any_spelling(word)
        names.add(stype.name if stype else f"unknown:{word}")
    return {"services.fields": tuple(first), "services.kinds": tuple(_kind(v) for v in first.values()),
            "services.type_case": "slug" if isinstance(kind, str) and kind == kind.lower() else "name",
            "services.types": frozenset(names)}


def observe(post: Post) -> Observation:
    """Send the read-only probes with ``post`` (which adds the key) and collect features."""
    seen = Observation()
    f = seen.features

    def probe(name: str, fields: Mapping[str, str]) -> Any:
        response = post(fields)
        seen.raw[name] = (response.status_code, response.text[:2000])
        if name == "balance":
            f["rate_limit_headers"] = "x-ratelimit-limit" in {k.lower() for k in response.headers}
            f["content_type"] = response.headers.get("content-type", "").split(";")[0].strip()
            f["pretty_json"] = response.text.lstrip().startswith("{\n")
        return _json(response)

    bad_key = probe("bad_key", {"action": "balance", "key": "mockpanel-fingerprint-not-a-key"})
    f["error.invalid_key"] = error_text(bad_key)
    f["http.invalid_key"] = seen.raw["bad_key"][0]
    unknown = probe("unknown_action", {"action": "mockpanel_no_such_action"})
    f["error.incorrect_request"] = error_text(unknown)

    balance = probe("balance", {"action": "balance"})
    if isinstance(balance, dict):
        f.update(balance_features(balance))

    services = probe("services", {"action": "services"})
    if isinstance(services, list) and services and isinstance(services[0], dict):
        f.update(services_features(services))

    status = probe("status", {"action": "status", "order": UNKNOWN_IDS[0]})
    keyed = isinstance(status, dict) and list(status) == [UNKNOWN_IDS[0]]  # {"<id>": {"error": …}}
    f["status.keyed"] = keyed
    f["error.incorrect_order_id"] = error_text(status[UNKNOWN_IDS[0]] if keyed else status)
    batch = probe("multi_status", {"action": "status", "orders": ",".join(UNKNOWN_IDS)})
    if isinstance(batch, dict) and batch:
        item = next(iter(batch.values()))
        f["batch.item_error"] = "nested" if isinstance(item, dict) else "string" if isinstance(item, str) else "other"
        f["batch.keyed_by_id"] = sorted(batch) == sorted(UNKNOWN_IDS)
    elif batch is not None:
        f["batch.item_error"] = "not an object"

    # refill_status of an unknown refill is read-only, and tells whether a panel has the refill
    # actions at all (SmartPanel answers it "This action is Invalid"). refill and cancel are
    # never sent: a read-only run sends no write action, not even for ids no panel has.
    body = probe("refill_status", {"action": "refill_status", "refill": UNKNOWN_IDS[0]})
    f["action.refill_status"] = not (body == unknown or (  # answered as an unknown action is (SmartPanel's words, MSM's null)
        error_text(body) is not None and error_text(body) == f["error.incorrect_request"]))
    f["error.incorrect_refill_id"] = error_text(body)
    return seen


def predict(dialect: Dialect) -> dict[str, Any]:
    """The features a panel speaking ``dialect`` shows to the probes."""
    d = dialect
    balance_kind, balance_places = d.money_format("balance")
    bal_fields = dict(d.success_envelope.get("balance", {}))
    bal_fields.update({name: None for name in d.balance_fields})
    first_service_kinds = []
    for kind in d.service_fields.values():
        first_service_kinds.append({"int": "int", "int01": "int", "bool": "bool", "str_or_null": "str_or_null"}.get(kind, "str"))
    lacking = d.unknown_action[0] if d.unknown_action is not None else None  # what an action it lacks answers
    unknown_words = error_text(lacking) if d.unknown_action is not None else d.message(ErrorCode.INCORRECT_REQUEST, {})
    return {
        "content_type": d.content_type.split(";")[0].strip(),
        "pretty_json": d.json_indent is not None,
        "error.invalid_key": d.message(ErrorCode.INVALID_KEY, {}),
        "error.incorrect_request": unknown_words,
        "balance.keys": tuple(sorted(bal_fields)),
        "balance.decimals": None if balance_kind == "number" else balance_places,
        "balance.kind": "float" if balance_kind == "number" else "str",
        "http.invalid_key": d.error_status.get(ErrorCode.INVALID_KEY, 200),
        "rate_limit_headers": d.rate_limited,
        "status.keyed": d.single_status == "keyed",
        "error.incorrect_refill_id": d.message(ErrorCode.INCORRECT_REFILL_ID, {}) if "refill_status" in d.actions
        else unknown_words,
        "envelope.balance": d.success_envelope.get("balance", {}).get("status"),
        "services.fields": tuple(d.service_fields),
        "services.kinds": tuple(first_service_kinds),
        "services.type_case": "slug" if "type_slug" in d.service_fields.values() else "name",
        "error.incorrect_order_id": d.message(ErrorCode.INCORRECT_ORDER_ID, {}),
        # A panel that reads no batch answers the probe with its one error object (its first member, the words).
        "batch.item_error": d.batch_item_error if d.batch_read else "string",
        "batch.keyed_by_id": d.batch_read,
        "action.refill_status": "refill_status" in d.actions,
        "services.types": frozenset(d.service_types) if d.service_types is not None else ALL_TYPES,
        "endpoint": d.endpoints[0],
    }


def _matches(feature: str, expected: Any, seen: Any) -> bool:
    if feature == "services.types":  # a panel sells some of the types its dialect allows
        return bool(seen) and seen <= expected
    if feature == "endpoint":
        return str(seen).rstrip("/") == str(expected).rstrip("/")
    if feature == "services.kinds":  # a field the profile lets be null is a string or null
        return isinstance(seen, tuple) and len(seen) == len(expected) and all(
            s == e or (e == "str_or_null" and s in ("str", "null")) for s, e in zip(seen, expected))
    return bool(expected == seen)


def score(observation: Observation, profiles: Mapping[str, Dialect]) -> Fingerprint:
    seen = observation.features
    scores: dict[str, tuple[int, int]] = {}
    for name, dialect in profiles.items():
        expected = predict(dialect)
        compared = [k for k in expected if k in seen]
        scores[name] = (sum(1 for k in compared if _matches(k, expected[k], seen[k])), len(compared))
    top = max(m for m, _ in scores.values())
    closest = [n for n in profiles if scores[n][0] == top]
    # Among equals: the profile that allows the fewest service types says the most; then
    # "standard" before the seed panels that document it unchanged; then by name.
    def narrowness(name: str) -> tuple[int, int, str]:
        allowed = profiles[name].service_types
        return (len(allowed) if allowed is not None else len(ALL_TYPES) + 1, name != "standard", name)

    closest.sort(key=narrowness)
    width = narrowness(closest[0])[0]
    closest = [n for n in closest if narrowness(n)[0] == width]
    expected = predict(profiles[closest[0]])
    deviations = [(k, expected[k], seen[k]) for k in expected if k in seen and not _matches(k, expected[k], seen[k])]
    return Fingerprint(closest, scores, deviations, observation)


def fingerprint_with(post: Post, url: str, dialects: list[str] | None = None) -> Fingerprint:
    """Probe through ``post`` (which sends to ``url`` and adds the key) and name the closest dialect."""
    observation = observe(post)
    observation.features["endpoint"] = httpx.URL(url).path.rstrip("/") or "/"
    names = dialects or list(available_dialects())
    return score(observation, {n: load_dialect(n) for n in names})


def fingerprint(url: str, key: str, *, client: httpx.Client | None = None, dialects: list[str] | None = None) -> Fingerprint:
    """Probe the panel at ``url`` with ``key`` (read-only) and name the closest dialect."""
    own = client is None
    http = client or httpx.Client(timeout=20, follow_redirects=False)
    try:
        return fingerprint_with(lambda fields: http.post(url, data={"key": key, **fields}), url, dialects)
    finally:
        if own:
            http.close()
