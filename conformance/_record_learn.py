"""What the recording's own requests beyond the fingerprint's show, as profile settings.

Read-only (any panel): how the key is compared (sent in upper, lower and swapped case and with trailing
spaces), a ``status`` without an id, a request without a key, what an unknown action and each error
answer look like (extra members beside the words). With ``--tier orders`` (the cheapest orders, placed
within ``--max-spend`` through the conformance session's cap): the add answer and its id type, the
status of each placed order (its fields, JSON types, word, money decimals, drip-feed shape), refill and
cancel answers, and the words of refused adds. Each setting is compared with what the extended profile
already says: only a difference is written, with the request and answer that showed it; what could
not be learned is said too, with why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .actions import names as action_names
from .profile import Dialect, merge
from .rules import ErrorCode, Status, guess_status
from ._fidelity import Side, Step
from ._values import error_text, flag, is_kind
from .session import NOT_JSON, Exchange

_DIGITS = re.compile(r"-?\d+(?:\.(\d+))?")


@dataclass
class Learned:
    """Settings to merge into the profile, and one line per thing learned or not."""

    settings: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)  # profile path -> how it was learned
    report: list[str] = field(default_factory=list)

    def set(self, path: str, setting: dict[str, Any], how: str) -> None:
        self.settings = merge(self.settings, setting)
        self.notes[path] = how
        self.report.append(f"learned {path}: {how}")

    def cannot(self, what: str, why: str) -> None:
        self.report.append(f"not learned {what}: {why}")


def _shown(ex: Exchange) -> str:
    fields = " ".join(f"{k}={v}" for k, v in ex.params.items())
    return f"request {fields} answered HTTP {ex.status}: {ex.body[:200]!r}"


def _accepted(ex: Exchange | None) -> bool | None:
    """Whether a balance request was answered with a balance (None: no answer to read)."""
    if ex is None or ex.status is None:
        return None
    return isinstance(ex.data, dict) and "balance" in ex.data and error_text(ex.data) is None


def learn_reads(side: Side, base: Dialect, key: str, learned: Learned) -> None:
    a = side.answers
    letters = any(c.isalpha() for c in key)
    spellings = [a.get(f"key {how}") for how in ("upper", "lower", "swapped")]
    if not letters:
        learned.cannot("key_case", "the key has no letters, so no other letter case of it exists")
    elif all(_accepted(ex) is not None for ex in spellings):
        case = "insensitive" if any(_accepted(ex) for ex in spellings) else "exact"
        shown = next((ex for ex in spellings if _accepted(ex)), spellings[0])
        assert shown is not None
        if case != base.key_case:
            learned.set("key_case", {"key_case": case}, f"{case}; the key in another case: {_shown(shown)}")
    trailing = a.get("key trailing")
    if _accepted(trailing) is not None and trailing is not None:
        spaces = "ignored" if _accepted(trailing) else "significant"
        if spaces != base.key_trailing_spaces:
            learned.set("key_trailing_spaces", {"key_trailing_spaces": spaces},
                        f"{spaces}; the key with trailing spaces: {_shown(trailing)}")
    no_id = a.get("status without id")
    if no_id is not None and no_id.status is not None:
        form = "empty" if not no_id.is_json and not no_id.body.strip() else "error"
        if form != base.status_no_id:
            learned.set("status.no_id", {"status": {"no_id": form}}, f"{form}; {_shown(no_id)}")
    no_key = a.get("no key")
    if no_key is not None and no_key.is_json:
        words = error_text(no_key.data)
        if words is not None and words == base.message(ErrorCode.INCORRECT_REQUEST, {}) and \
                words != base.message(ErrorCode.INVALID_KEY, {}) and base.empty_request is None:
            learned.set("empty_request", {"empty_request": "incorrect_request"},
                        f"a request without a key gets the unknown-action error; {_shown(no_key)}")
    unknown = a.get("unknown action")
    if unknown is not None and unknown.status is not None:
        data = unknown.data if unknown.is_json else NOT_JSON
        if data is NOT_JSON and base.unknown_action is None:
            learned.cannot("unknown_action", f"an unknown action is answered with a body that is not JSON; the "
                           f"profile language has no setting for it; {_shown(unknown)}")
        if data is not NOT_JSON and error_text(data) is None and base.unknown_action != (data,):
            learned.set("unknown_action", {"unknown_action": {"answer": data}},
                        f"an unknown action is answered {data!r}, not an error; {_shown(unknown)}")
    batch = a.get("multi-status of unknown ids")
    if batch is not None and isinstance(batch.data, dict) and error_text(batch.data) is not None and base.batch_read:
        learned.set("batch.read", {"batch": {"read": False}},
                    f"a multi-status is answered with one error, not per id: only 'order' is read; {_shown(batch)}")
    for step, code in (("bad key", ErrorCode.INVALID_KEY), ("status of an unknown id", ErrorCode.INCORRECT_ORDER_ID),
                       ("unknown action", ErrorCode.INCORRECT_REQUEST)):
        _error_body(a.get(step), code, base, learned)


def _error_body(ex: Exchange | None, code: ErrorCode, base: Dialect, learned: Learned,
                field_name: str | None = None) -> None:
    """An error answer with members beside its words: the profile's ``error_bodies`` for its code."""
    if ex is None or not isinstance(ex.data, dict):
        return
    words = error_text(ex.data)
    if words is None or len(ex.data) == 1:
        return
    body = {k: ("{message}" if v == words else v) for k, v in ex.data.items()}
    key = f"{code.value}.{field_name}" if field_name else code.value
    if dict(base.error_bodies.get(key, base.error_bodies.get(code, {}))) != body:
        learned.set(f"error_bodies.{key}", {"error_bodies": {key: body}}, f"members beside the words; {_shown(ex)}")


# --- what orders show --------------------------------------------------------------------

_REFUSED: tuple[tuple[str, ErrorCode, str | None, str | None], ...] = (
    # step, error code, the field the words are about, the number the words may name ({min} / {max})
    ("add without link", ErrorCode.MISSING_FIELD, "link", None),
    ("add without quantity", ErrorCode.MISSING_FIELD, "quantity", None),
    ("add with a word for quantity", ErrorCode.INVALID_FIELD, "quantity", None),
    ("add below min", ErrorCode.QUANTITY_BELOW_MIN, None, "min"),
    ("add above max", ErrorCode.QUANTITY_ABOVE_MAX, None, "max"),
    ("add of an unknown service", ErrorCode.INCORRECT_SERVICE_ID, None, None),
)


def _status_kind(name: str, value: Any) -> str:
    if name in ("charge",):
        return "money"
    if name == "status":
        return "status"
    if name == "currency":
        return "currency"
    if name == "order":
        return "id_int" if isinstance(value, int) else "id_str"
    if value is None:
        return "str_or_null"
    return "int" if isinstance(value, int) and not isinstance(value, bool) else "str"


def learn_orders(side: Side, steps: list[Step], base: Dialect, learned: Learned) -> None:
    a = side.answers
    adds = [s for s in steps if s.name.startswith("add ") and s.fields.get("action") == "add"
            and s.name not in {r[0] for r in _REFUSED} and s.key == "real"]
    placed: list[tuple[Step, Exchange]] = []
    for s in sorted(adds, key=lambda s: s.name != "add Default"):  # a Default order's status first: the plainest
        ex = a.get(s.name)
        if ex is not None and isinstance(ex.data, dict) and "order" in ex.data:
            placed.append((s, ex))
    if not placed:
        why = "; ".join(f"{s.name}: {side.skipped.get(s.name) or (_shown(a[s.name]) if a.get(s.name) else 'not sent')}"  # type: ignore[arg-type]
                        for s in adds[:3])
        learned.cannot("the add answer, status words and shapes", f"no order was placed ({why or 'nothing sold'})")
    else:
        step, ex = placed[0]
        order = ex.data["order"]
        kind = "int" if isinstance(order, int) and not isinstance(order, bool) else "str"
        if kind != base.add_order_kind and base.id_format == "decimal":
            learned.set("add.order", {"add": {"order": kind}}, f"{kind}; {_shown(ex)}")
        extra = {k: v for k, v in ex.data.items() if k != "order"}
        if extra != dict(base.success_envelope.get("add", {})):
            if set(base.success_envelope.get("add", {})) <= set(extra):
                learned.set("success_envelope.add", {"success_envelope": {"add": extra}}, f"{extra}; {_shown(ex)}")
            else:
                learned.cannot("success_envelope.add", f"the panel lacks members the extended profile adds; {_shown(ex)}")
        _learn_status(a.get(f"status of {step.name[4:]}"), base, learned)
    drip, drip_add = a.get("status of drip-feed"), a.get("add drip-feed")
    if drip is not None and isinstance(drip.data, dict) and drip_add is not None and isinstance(drip_add.data, dict) \
            and "order" in drip_add.data:
        names = list(drip.data)
        if set(names) <= {"status", "runs", "orders"} and "charge" not in names and \
                list(base.dripfeed_fields) != names:
            kinds = {"status": "status", "runs": "runs", "orders": "run_orders"}
            learned.set("status.dripfeed_fields", {"status": {"dripfeed_fields": {n: kinds[n] for n in names}}},
                        f"a drip-feed order's status is shown apart; {_shown(drip)}")
    elif "add drip-feed" in {s.name for s in steps}:
        learned.cannot("status.dripfeed_fields", "no drip-feed order was placed")
    for step_name, code, field_name, number in _REFUSED:
        ex = a.get(step_name)
        if ex is None or not isinstance(ex.data, dict) or error_text(ex.data) is None:
            if step_name in side.skipped:
                learned.cannot(f"the words of {step_name}", side.skipped[step_name][:160])
            continue
        words = str(error_text(ex.data))
        step = next(s for s in steps if s.name == step_name)
        values: dict[str, Any] = {"field": field_name} if field_name else {}
        if number is not None:
            limit = _limit(step, side, number)
            values[number] = limit
            if limit is not None and str(limit) in words:
                words = words.replace(str(limit), "{" + number + "}")
        expected = base.message(code, values) if all(v is not None for v in values.values()) else None
        shown = words.format(**values) if "{" in words else words
        if expected != shown:
            if field_name:
                learned.set(f"field_errors.{code.value}.{field_name}",
                            {"field_errors": {f"{code.value}.{field_name}": words}}, _shown(ex))
            else:
                learned.set(f"errors.{code.value}", {"errors": {code.value: words}}, _shown(ex))
        _error_body(ex, code, base, learned, field_name)
    learnerror_text(side, base, learned)
    learn_refill_cancel(side, steps, base, learned)


def _limit(step: Step, side: Side, which: str) -> int | None:
    """The listed min or max of the service a refused add asked for."""
    listed = side.answers.get("services")
    for item in listed.data if listed is not None and isinstance(listed.data, list) else []:
        if isinstance(item, dict) and str(item.get("service")) == step.fields.get("service"):
            try:
                return int(str(item.get(which)))
            except ValueError:
                return None
    return None


def _status_data(ex: Exchange | None, base: Dialect) -> dict[str, Any] | None:
    """A single status answer's object (unwrapped where the profile keys it by the id); None if not one."""
    if ex is None or not isinstance(ex.data, dict) or "status" not in ex.data and error_text(ex.data) is not None:
        return None
    data = ex.data
    if base.single_status == "keyed" and len(data) == 1 and isinstance(next(iter(data.values())), dict):
        data = next(iter(data.values()))
    return data if isinstance(data.get("status"), str) else None


def _learn_status(ex: Exchange | None, base: Dialect, learned: Learned) -> None:
    data = _status_data(ex, base)
    if ex is None or data is None:
        learned.cannot("status.fields", "the status of a placed order was not answered with a status")
        return
    fits = list(data) == list(base.status_fields) and all(
        is_kind(data[n], kind) or kind == "money" for n, kind in base.status_fields.items())
    if not fits:
        fields = {n: _status_kind(n, v) for n, v in data.items()}
        learned.set("status.fields", {"status": {"fields": fields}}, f"{fields}; {_shown(ex)}")
    word = str(data.get("status"))
    charge = data.get("charge")
    match = _DIGITS.fullmatch(charge) if isinstance(charge, str) else None
    kind, places = base.money_format("status")
    if match and (kind != "str" or len(match.group(1) or "") != places):
        spelled = {"json": "str", "decimals": len(match.group(1) or "")}
        # multi-status too, unless the extended profile writes it apart (package-id's numbers)
        apart = base.money_format("multi_status") != base.money_format("status")
        learned.set("money.status", {"money": {"status": spelled, **({} if apart else {"multi_status": spelled})}},
                    f"charge {charge!r}; {_shown(ex)}")
    remains = data.get("remains")
    fresh = base.read_status(word) or guess_status(word) or Status.PENDING
    if fresh == Status.PENDING and str(remains) == "0" and base.pending_remains != "zero":
        learned.set("status.pending_remains", {"status": {"pending_remains": "zero"}},
                    f"remains {remains!r} while Pending; {_shown(ex)}")


def learnerror_text(side: Side, base: Dialect, learned: Learned) -> None:
    """Every status word the placed orders showed (first reading, after cancel, while watched): a word the
    extended profile does not have, placed by its spelling (``In_Progress`` is In progress), or, the first
    reading of a new order, as Pending; a word that cannot be placed is said, not guessed."""
    done: set[str] = set()
    for name, ex in side.answers.items():
        if not name.startswith(("status of ", "status after ", "watch ")) or name in (
                "status of an unknown id", "status of a malformed id"):
            continue
        data = _status_data(ex, base)
        word = data.get("status") if data is not None else None
        if ex is None or not isinstance(word, str) or word in done or base.read_status(word) is not None:
            continue
        done.add(word)
        canonical = guess_status(word) or (Status.PENDING if name.startswith("status of ") else None)
        if canonical is None:
            learned.cannot(f"the status word {word!r}", f"no status is spelled so; {_shown(ex)}")
        elif canonical.value in learned.settings.get("statuses", {}):
            learned.cannot(f"the status word {word!r}", f"{canonical.value} is already spelled "
                           f"{learned.settings['statuses'][canonical.value]!r}; {_shown(ex)}")
        else:
            how = "its spelling" if guess_status(word) else "the first reading of a new order"
            learned.set(f"statuses.{canonical.value}", {"statuses": {canonical.value: word}},
                        f"{word!r} read as {canonical.value} by {how}; {_shown(ex)}")


def _errorerror_text(data: Any) -> str | None:
    """The first error words anywhere in an answer (a batch item's too), looked for breadth first."""
    queue = [data]
    while queue:
        value = queue.pop(0)
        words = error_text(value)
        if words is not None and isinstance(value, dict) and ("error" in value or "message" in value):
            return words
        if isinstance(value, dict):
            queue += list(value.values())
        elif isinstance(value, list):
            queue += value
    return None


_AFTER_ORDER = (("refill of an order", "refill", ErrorCode.REFILL_DISABLED, ErrorCode.REFILL_NOT_ALLOWED),
                ("cancel of an order", "cancel", ErrorCode.CANCEL_DISABLED, ErrorCode.CANCEL_NOT_ALLOWED))


def learn_refill_cancel(side: Side, steps: list[Step], base: Dialect, learned: Learned) -> None:
    """Whether the panel has refill and cancel, how cancel answers, and the words of a refusal."""
    a = side.answers
    unknown = a.get("unknown action")
    for step_name, action, disabled, not_allowed in _AFTER_ORDER:
        ex = a.get(step_name)
        step = next((s for s in steps if s.name == step_name), None)
        if ex is None or step is None or ex.status is None:
            learned.cannot(f"the {action} answer", side.skipped.get(step_name, "no order was placed to ask it of"))
            continue
        words = _errorerror_text(ex.data) if ex.is_json else None
        lacks = (unknown is not None and unknown.is_json and ex.is_json and ex.data == unknown.data) or \
            words == base.message(ErrorCode.INCORRECT_REQUEST, {})
        if lacks == (action in base.actions):
            kept = [n for n in action_names() if (n in base.actions and n != action) or (n == action and not lacks)]
            learned.set("actions", {"actions": kept}, f"{'no' if lacks else 'a'} {action} action; {_shown(ex)}")
        if lacks:
            continue
        if words is None:
            if action == "cancel":
                _learn_cancel(ex, base, learned)
            continue
        if words == base.message(ErrorCode.INCORRECT_ORDER_ID, {}):
            learned.cannot(f"errors of {action}", f"the panel did not find the order it had placed (it may read "
                           f"no batch, or no such field); {_shown(ex)}")
            continue
        ordered = a.get(step.fields.get("order", step.fields.get("orders", ""))[1:])
        offered = _listed_flag(side, ordered, action)
        if offered is None:
            learned.cannot(f"errors of {action}", f"the service's listing has no {action} flag, so {words!r} cannot "
                           f"be placed as '{action} disabled' or 'not allowed'; {_shown(ex)}")
            continue
        code = not_allowed if offered else disabled
        if words != base.message(code, {}):
            learned.set(f"errors.{code.value}", {"errors": {code.value: words}}, _shown(ex))


def _listed_flag(side: Side, add: Exchange | None, action: str) -> bool | None:
    """The listed refill or cancel flag of the service an add ordered."""
    listed = side.answers.get("services")
    sid = add.params.get("service") if add is not None else None
    for item in listed.data if listed is not None and isinstance(listed.data, list) else []:
        if isinstance(item, dict) and str(item.get("service")) == sid:
            return flag(item.get(action))
    return None


def _learn_cancel(ex: Exchange, base: Dialect, learned: Learned) -> None:
    data = ex.data
    if isinstance(data, list) and data and isinstance(data[0], dict) and "cancel" in data[0]:
        shape, accepted = "list", data[0]["cancel"]
    elif isinstance(data, dict) and data and all(_DIGITS.fullmatch(str(k)) for k in data):
        item = next(iter(data.values()))
        shape, accepted = "keyed", item.get("cancel") if isinstance(item, dict) else item
    else:
        learned.cannot("cancel.shape", f"the cancel answer is neither a list nor keyed by the order; {_shown(ex)}")
        return
    if (shape, accepted) != (base.cancel_shape, base.cancel_accepted):
        learned.set("cancel", {"cancel": {"shape": shape, "accepted": accepted}}, _shown(ex))
