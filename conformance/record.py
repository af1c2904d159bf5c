"""Recording a live panel, read-only: its catalogue and its dialect as a profile that ``extends``
the closest built-in one.

The probes are the fingerprint's (a bad key, an unknown action, ``balance``, ``services``,
``status`` and ``refill_status`` of ids no panel has), sent through the conformance session
(read-only tier: read actions only; rate limit, budget, redaction). Each deviation from
the closest profile becomes one profile setting through ``RULES``, with a comment in
``_comments`` saying which answer showed it. A new setting is one more ``Rule``.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .actions import names as action_names
from .fingerprint import Fingerprint, fingerprint_with
from .profile import Dialect, load_dialect, merge
from .rules import type_in_any_spelling
from .session import Exchange, Session, SessionConfig, StopRun, order_id
from ._fidelity import Fidelity, Side, order_steps, play, read_steps, run_fidelity, services_info
from ._record_learn import Learned, learn_orders, learn_reads
from ._record_stream import StreamError, stream_items
from ._values import decimal, flag, whole
from ._wire import DEFAULT_MAX_ANSWER_BYTES

MAX_SERVICES = 100_000  # a catalogue larger than this is refused: no panel lists more
# The client session's read-only requests the fingerprint's probes do not already send.
EXTRA_READS = ("no key", "no action", "key upper", "key lower", "key swapped", "key trailing", "status without id")
__all__ = ["Fidelity", "RecordError", "Recording", "record", "run_fidelity", "write"]
MAX_TEXT = 10_000  # characters of a name, category or description a catalogue holds (docs/catalogue.md)


class RecordError(Exception):
    """The panel could not be recorded; the message says why and what to do."""


@dataclass
class Seen:
    """The probes' answers by probe name (the fingerprint's names), keys redacted."""

    answers: dict[str, Exchange] = field(default_factory=dict)

    def data(self, probe: str) -> Any:
        ex = self.answers.get(probe)
        return ex.data if ex is not None and ex.is_json else None

    def shown(self, probe: str) -> str:
        ex = self.answers.get(probe)
        if ex is None:
            return f"the {probe} probe was not answered"
        fields = " ".join(f"{k}={v}" for k, v in ex.params.items())
        return f"probe {probe} ({fields}) answered HTTP {ex.status}: {ex.body[:300]}"


Setting = Callable[[Any, Seen, Dialect], "dict[str, Any] | None"]


@dataclass(frozen=True)
class Rule:
    """One fingerprint feature -> the profile setting that says what the panel answered.

    ``setting`` returns the profile fragment (merged into the recording), or None when the
    profile language cannot say it (then only the comment is written)."""

    feature: str
    probe: str
    path: str  # the setting's place in the profile, for the comment
    setting: Setting


def _error(code: str) -> Setting:
    return lambda value, seen, base: {"errors": {code: value}} if isinstance(value, str) and value else None


def _service_kind(name: str, value: Any) -> str:
    if name == "type" and isinstance(value, str):
        return "type_slug" if value == value.lower() else "type_name"
    if name == "rate" and isinstance(value, str):
        return "rate"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int01" if name in ("refill", "cancel", "dripfeed") and value in (0, 1) else "int"
    if value is None:
        return "str_or_null"
    if name in ("refill", "cancel", "dripfeed") and value in ("0", "1"):
        return "str01"
    return "str"  # "true"/"false" flags too: a string flag is served so


def _services(value: Any, seen: Seen, base: Dialect) -> dict[str, Any] | None:
    items = seen.data("services")
    if not (isinstance(items, list) and items and isinstance(items[0], dict)):
        return None
    return {"services": {"fields": {name: _service_kind(name, v) for name, v in items[0].items()}}}


def _balance_keys(value: Any, seen: Seen, base: Dialect) -> dict[str, Any] | None:
    data = seen.data("balance")
    if not isinstance(data, dict) or "balance" not in data or "currency" not in data:
        return None  # extends merges objects: a field of the base cannot be taken away
    extra = {k: v for k, v in data.items() if k not in ("balance", "currency")}
    return {"success_envelope": {"balance": extra}} if extra else None


def _pretty(value: Any, seen: Seen, base: Dialect) -> dict[str, Any] | None:
    if not value:
        return {"json": {"indent": None}}
    ex = seen.answers.get("balance")
    lines = ex.body.splitlines() if ex is not None else []
    indent = len(lines[1]) - len(lines[1].lstrip(" ")) if len(lines) > 1 else 4
    return {"json": {"indent": min(max(indent, 1), 8)}}


def _refill_status(value: Any, seen: Seen, base: Dialect) -> dict[str, Any] | None:
    actions = [a for a in action_names() if a in base.actions]  # in the table's order
    if value:
        return {"actions": actions + ([] if "refill_status" in actions else ["refill_status"])}
    return {"actions": [a for a in actions if a != "refill_status"]}


RULES: tuple[Rule, ...] = (
    Rule("endpoint", "services", "endpoints", lambda v, s, b: {"endpoints": [v]} if isinstance(v, str) else None),
    Rule("content_type", "balance", "json.content_type",
         lambda v, s, b: {"json": {"content_type": s.answers["balance"].content_type or v}} if v else None),
    Rule("pretty_json", "balance", "json.indent", _pretty),
    Rule("error.invalid_key", "bad_key", "errors.invalid_key", _error("invalid_key")),
    Rule("error.incorrect_request", "unknown_action", "errors.incorrect_request", _error("incorrect_request")),
    Rule("error.incorrect_order_id", "status", "errors.incorrect_order_id", _error("incorrect_order_id")),
    Rule("balance.keys", "balance", "balance / success_envelope.balance", _balance_keys),
    Rule("balance.decimals", "balance", "balance.decimals",
         lambda v, s, b: {"balance": {"decimals": v}} if isinstance(v, int) and 0 <= v <= 8 else None),
    Rule("envelope.balance", "balance", "success_envelope.balance.status",
         lambda v, s, b: {"success_envelope": {"balance": {"status": v}}} if v is not None else None),
    Rule("services.fields", "services", "services.fields", _services),
    Rule("services.kinds", "services", "services.fields", _services),
    Rule("services.type_case", "services", "services.fields", _services),
    Rule("batch.item_error", "multi_status", "batch.item_error",
         lambda v, s, b: {"batch": {"item_error": v}} if v in ("nested", "string") else None),
    Rule("batch.keyed_by_id", "multi_status", "(none)", lambda v, s, b: None),
    Rule("action.refill_status", "refill_status", "actions", _refill_status),
    Rule("services.types", "services", "service_types", lambda v, s, b: {"service_types": None}),
)


def profile_for(found: Fingerprint, seen: Seen, url: str, rules: tuple[Rule, ...] = RULES,
                learned: Learned | None = None) -> dict[str, Any]:
    """The recording's profile: ``extends`` the closest profile, one setting per deviation."""
    base = load_dialect(found.best)
    matched, total = found.scores[found.best]
    host = urlparse(url).hostname or "panel"
    profile: dict[str, Any] = {
        "name": f"recorded-{host}",
        "extends": found.best,
        "description": f"Recorded from {url}: {found.best} with {len(found.deviations)} deviation(s).",
    }
    ties = f"; reads the same as {', '.join(found.closest[1:])}" if len(found.closest) > 1 else ""
    comments: dict[str, str] = {
        "recording": f"mockpanel record, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC: closest built-in "
                     f"profile {found.best} ({matched}/{total} features match){ties}",
    }
    by_feature = {r.feature: r for r in rules}
    for feature, expected, got in found.deviations:
        rule = by_feature.get(feature)
        setting = rule.setting(got, seen, base) if rule is not None else None
        where = rule.path if rule is not None else feature
        said = seen.shown(rule.probe) if rule is not None else "the probes"
        note = f"{found.best} expects {expected!r}, the panel answered {got!r}; {said}"
        if setting is None:
            note += " (the profile language has no setting for this; not recorded)"
        else:
            profile = merge(profile, setting)
        comments[where] = f"{comments[where]} | {note}" if where in comments else note
    if learned is not None:
        profile = merge(profile, learned.settings)
        for where, how in learned.notes.items():
            comments[where] = f"{comments[where]} | learned: {how}" if where in comments else f"learned: {how}"
        if learned.report:
            comments["learned"] = " | ".join(line for line in learned.report if not line.startswith("learned "))
    profile["_comments"] = comments
    return profile


def _text(value: Any, fixed: list[str], where: str) -> str:
    """Text a catalogue can hold: no NUL (written U+FFFD), no lone surrogate, at most MAX_TEXT characters.
    Each change is noted in ``fixed``, so the recording says what it did."""
    text = str(value)
    clean = text.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")[:MAX_TEXT]
    if clean != text:
        fixed.append(where)
    return clean


def _service(item: Any, i: int, fixed: list[str] | None = None) -> dict[str, Any]:
    """One listed service as a catalogue entry (docs/catalogue.md), read leniently."""
    fixed = [] if fixed is None else fixed
    if not isinstance(item, dict):
        raise RecordError(f"services[{i}] is not an object: the panel's list cannot be recorded")
    known = type_in_any_spelling(item.get("type"))
    sid, low, high, rate = whole(item.get("service")), whole(item.get("min")), whole(item.get("max")), \
        decimal(item.get("rate"))
    if sid is None or low is None or high is None or rate is None or known is None:
        raise RecordError(f"services[{i}] ({str(item)[:120]}) has no usable id, min, max, rate or type; "
                          "a catalogue needs all five")
    if sid <= 0 or not 0 < low <= high or rate < 0:
        raise RecordError(f"services[{i}] (service {sid}) lists min {low}, max {high} and rate {rate}: a catalogue "
                          "needs a positive id, 0 < min <= max and a rate of 0 or more")
    entry: dict[str, Any] = {"service": sid, "name": _text(item.get("name", ""), fixed, f"services[{i}].name"),
                             "type": known.name, "category": _text(item.get("category", ""), fixed,
                                                                   f"services[{i}].category"),
                             "rate": str(rate), "min": low, "max": high}
    for name in ("refill", "cancel", "dripfeed"):
        if name in item and flag(item[name]) is not None:
            entry[name] = flag(item[name])
    for name in ("desc", "description"):
        if isinstance(item.get(name), str):
            entry["description"] = _text(item[name], fixed, f"services[{i}].{name}")
    return entry


def catalog_for(seen: Seen) -> dict[str, Any]:
    exchange = seen.answers.get("services")
    if exchange is not None and not exchange.is_json and exchange.error:
        raise RecordError(f"the services answer could not be read ({exchange.error}); nothing was written")
    items = seen.data("services")
    if not isinstance(items, list):
        items = []  # an empty list, or the dialect's "nothing on sale" answer
    if len(items) > MAX_SERVICES:
        raise RecordError(f"the panel lists {len(items)} services, more than {MAX_SERVICES}")
    fixed: list[str] = []
    services, ids, twice = [], set(), []
    for i, item in enumerate(items):
        entry = _service(item, i, fixed)
        if entry["service"] in ids:
            twice.append(entry["service"])  # a catalogue has one service per id: the first listed is kept
            continue
        ids.add(entry["service"])
        services.append(entry)
    notes = []
    if fixed:
        notes.append(f"{len(fixed)} text field(s) changed to be servable (a NUL written as U+FFFD, an invalid "
                     f"character replaced, or cut at {MAX_TEXT} characters): {', '.join(fixed[:5])}"
                     f"{' …' if len(fixed) > 5 else ''}")
    if twice:
        notes.append(f"{len(twice)} service(s) listed twice under one id, the first kept: "
                     f"{', '.join(map(str, twice[:5]))}{' …' if len(twice) > 5 else ''}")
    return {"description": " ".join(["Recorded by mockpanel record: the services the panel listed.", *notes]),
            "services": services}


@dataclass
class Recording:
    fingerprint: Fingerprint
    catalog: dict[str, Any]
    profile: dict[str, Any]
    requests: int
    learned: list[str] = field(default_factory=list)  # what the requests beyond the probes showed, or did not
    adds: int = 0
    committed: Decimal = Decimal(0)  # the spend cap's count: what the panel took, or the plan's worst cases


def record(url: str, key: str, *, rate: float = 2.0, max_requests: int = 200, timeout: float = 20.0,
           dialects: list[str] | None = None, max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
           tier: str = "read-only", max_spend: Decimal = Decimal(0), link: str = "", watch: float = 0.0) -> Recording:
    """Probe the panel and return its catalogue and profile; RecordError if it cannot.

    Read-only unless ``tier`` is ``orders``: then the cheapest order of each type sold, and the refused
    adds, are sent within ``max_spend`` (the conformance session's spend cap) to ``link``; their statuses are
    read again for ``watch`` seconds, for the words of their lifecycle."""
    session = Session(SessionConfig(url=url, tier=tier, rate=rate, max_requests=max_requests, timeout=timeout,
                                    max_answer_bytes=max_answer_bytes, max_spend=max_spend))
    session.redactor.add(key)
    seen = Seen()
    names = iter(("bad_key", "unknown_action", "balance", "services", "status", "multi_status", "refill_status"))
    streamed = 0

    def post(fields: Mapping[str, str]) -> Any:
        nonlocal streamed
        sent = {"key": key, **fields}
        exchange = session.send(sent, keys=(key,))
        if exchange.error and exchange.status is None:
            raise RecordError(f"no answer from {session.redactor(url)}: {exchange.error}")
        name = next(names, f"probe{len(seen.answers)}")
        seen.answers[name] = exchange
        whole = False
        if name == "services" and exchange.error and exchange.status == 200:
            # Too large for the answer cap (or cut): read it again, one service at a time.
            try:
                items = stream_items(url, sent, timeout=timeout, max_items=MAX_SERVICES)
            except StreamError as exc:
                raise RecordError(f"{exc} (read whole, first: {exchange.error}); nothing was "
                                  "written") from None
            streamed += 1
            exchange.data, exchange.error, whole = session.redactor.data(items), None, True
        elif exchange.error and not exchange.is_json:
            raise RecordError(f"the {name} answer could not be read ({exchange.error}); the panel was not recorded")
        return _Answer(exchange, whole)

    side = Side(url)
    learned = Learned()
    try:
        found = fingerprint_with(post, url, dialects)
        base = load_dialect(found.best)
        side.answers["services"] = seen.answers.get("services")
        side.answers["unknown action"] = seen.answers.get("unknown_action")
        side.answers["bad key"] = seen.answers.get("bad_key")
        side.answers["status of an unknown id"] = seen.answers.get("status")
        side.answers["multi-status of unknown ids"] = seen.answers.get("multi_status")
        play(session, key, [s for s in read_steps() if s.name in EXTRA_READS], side)
        learn_reads(side, base, key, learned)
        if tier == "orders":
            steps = order_steps(services_info(seen.data("services")), base, link)
            play(session, key, steps, side)
            _watch(session, key, side, watch)
            learn_orders(side, steps, base, learned)
    except StopRun as exc:
        raise RecordError(f"recording stopped: {exc}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise RecordError(f"the panel's answers could not be read as a panel's ({type(exc).__name__}: "
                          f"{session.redactor(str(exc))[:200]}); is the URL the API endpoint?") from None
    finally:
        session.close()
    if not isinstance(seen.data("balance"), dict) or "balance" not in seen.data("balance"):
        raise RecordError(f"the panel did not answer balance with a balance ({seen.shown('balance')}); "
                          "is the URL the API endpoint and the key right?")
    return Recording(found, catalog_for(seen), profile_for(found, seen, session.redactor(url), learned=learned),
                     session.sent + streamed, [session.redactor(line) for line in learned.report],
                     session.adds_sent, session.committed)


WATCH_READS = 10  # readings of the placed orders' statuses while watched, at most


def _watch(session: Session, key: str, side: Side, seconds: float) -> None:
    """Read the placed orders' statuses again, evenly over ``seconds``: the words of their lifecycle."""
    placed = [oid for name, ex in list(side.answers.items()) if name.startswith("add ") and ex is not None
              for oid in [order_id(ex.data)] if oid is not None][:5]
    if seconds <= 0 or not placed:
        return
    ends = time.monotonic() + seconds
    for reading in range(WATCH_READS):
        time.sleep(max(0.0, min(seconds / WATCH_READS, ends - time.monotonic())))
        for oid in placed:
            try:
                side.answers[f"watch {reading} {oid}"] = session.send({"key": key, "action": "status", "order": oid})
            except StopRun:
                return


class _Answer:
    """An Exchange as the fingerprint reads an answer; the parsed data, whole, when the body was cut."""

    def __init__(self, exchange: Exchange, whole: bool = False) -> None:
        self.status_code = exchange.status or 0
        cut = whole or (exchange.body.endswith("…") and exchange.is_json)
        self.text = json.dumps(exchange.data) if cut else exchange.body
        self.headers = {"content-type": exchange.content_type}


def report_lines(recording: Recording) -> list[str]:
    """What the recording found, as people read it: the closest profile and each deviation, then each
    thing learned (from which request and answer) and each thing that could not be learned, with why."""
    lines = [recording.profile["description"], recording.fingerprint.summary()]
    lines += recording.learned or ["nothing learned beyond the fingerprint's probes"]
    lines.append(f"{recording.requests} requests; {recording.adds} adds, committing at most {recording.committed}"
                 if recording.adds else f"{recording.requests} requests, none of them add")
    return lines


def write(recording: Recording, out: str | Path,
          check: Callable[[Path, Path], None] | None = None) -> tuple[Path, Path]:
    """DIR/catalog.json, DIR/dialect.json and DIR/report.txt (``report_lines``); the folder is made if missing.

    Both are written under temporary names first and read back: by the judge's profile reader, and by
    ``check`` (given the dialect and catalogue paths; the CLI's loads them as ``serve --from`` does). Only
    a recording that reads back takes the final names; one that does not leaves nothing behind (the
    folder too, if this made it) and raises RecordError saying why."""
    folder = Path(out)
    made = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    catalog, dialect, report = folder / "catalog.json", folder / "dialect.json", folder / "report.txt"
    parts = folder / ".recording-catalog.part.json", folder / ".recording-dialect.part.json"
    try:
        parts[0].write_text(json.dumps(recording.catalog, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        parts[1].write_text(json.dumps(recording.profile, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        try:
            load_dialect(str(parts[1]))  # the judge can read what was written
            if check is not None:
                check(parts[1], parts[0])
        except Exception as exc:  # noqa: BLE001 - whatever refuses it, the recording is not kept
            raise RecordError(f"the recording would not be served (serve --from refuses it: "
                              f"{str(exc)[:300]}); nothing was written") from None
        parts[0].replace(catalog)
        parts[1].replace(dialect)
        report.write_text("\n".join(report_lines(recording)) + "\n", encoding="utf-8")
    finally:
        for part in parts:
            part.unlink(missing_ok=True)
        if made and not catalog.exists():
            folder.rmdir()
    return catalog, dialect
