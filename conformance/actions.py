"""The one table of the API's actions: for each, whether it only reads, the fields it takes, the
errors its answer may carry and whether every dialect has it.

Data only, so that the mock and the judge read the same table and neither reads the other's
code: the dialect profiles (both readers) are checked against it, the mock serves exactly its
actions (``mockpanel/_endpoint/actions.py`` refuses to start without a handler and a renderer for
each), the read-only tier sends only its read actions, and the proxy's judge reads each
action's errors from it. Adding an action starts here (CONTRIBUTING.md, "An action").

The errors of an answer are codes of ``rules.ErrorCode``; every action may also answer
``invalid_key`` and ``incorrect_request``, so those are not listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Mapping

from .rules import ErrorCode

# How an action's field is written: one id, a comma-separated batch of ids, a word, a number.
FIELD_KINDS = ("id", "ids", "text", "number")
# The suite's unknown-action probes start with it: no panel has such an action, so the read-only
# tier may send them to see the panel's unknown-action error. No action of the table may start with it.
PROBE_PREFIX = "mockpanel_"
EVERY_ACTION_MAY = ("invalid_key", "incorrect_request")


@dataclass(frozen=True)
class Action:
    """One word clients send in ``action=``, as both the mock and the judge know it."""

    name: str
    kind: Literal["read", "write"]  # write: it changes the panel or spends money; the read-only tier never sends it
    errors: tuple[str, ...]  # error codes its answer may carry, beyond invalid_key and incorrect_request
    wording: str  # the requirement whose words those errors are judged by (requirements.json)
    fields: Mapping[str, str] = field(default_factory=dict)  # what it reads besides key and action -> FIELD_KINDS
    optional: bool = False  # a panel may lack it (answering its unknown-action error); the suite then says so
    default: bool = True  # every dialect has it, except one whose profile lists its own "actions"

    @property
    def reads(self) -> bool:
        return self.kind == "read"


# In the order the documents list them (https://smmprime.com/api, https://smmpro.in/api).
ACTIONS: dict[str, Action] = {a.name: a for a in (
    Action("services", "read", (), "V2-ERR-03"),
    Action("add", "write", (
        "incorrect_order_id", "incorrect_service_id", "service_disabled", "not_enough_funds", "quantity_below_min",
        "quantity_above_max", "missing_field", "invalid_field", "active_order_with_link", "dripfeed_not_supported",
        "too_many_ids",
    ), "V2-ERR-07", {"service": "id", "link": "text", "quantity": "number", "runs": "number", "interval": "number"}),
    Action("status", "read", ("incorrect_order_id", "too_many_ids", "missing_field", "invalid_field"), "V2-ERR-01",
           {"order": "id", "orders": "ids"}),
    Action("refill", "write", ("incorrect_order_id", "refill_disabled", "refill_not_allowed", "refill_already_active",
                               "too_many_ids", "missing_field", "invalid_field"), "V2-ERR-01",
           {"order": "id", "orders": "ids"}, optional=True),
    Action("refill_status", "read", ("incorrect_refill_id", "too_many_ids", "missing_field", "invalid_field"),
           "V2-ERR-02", {"refill": "id", "refills": "ids"}, optional=True),
    Action("cancel", "write", ("incorrect_order_id", "cancel_disabled", "cancel_not_allowed", "too_many_ids",
                               "missing_field", "invalid_field"), "V2-ERR-01", {"orders": "ids", "order": "id"},
           optional=True),
    Action("balance", "read", (), "V2-ERR-03"),
)}


class ActionError(ValueError):
    """An action entry, or a list of actions, that cannot be used; the message says what to do."""


def check(action: Action) -> None:
    """An entry as the table needs it: every value one it knows. ActionError naming the bad one."""
    where = f"action {action.name!r} (conformance/actions.py)"
    if not action.name or action.name != action.name.strip().lower() or action.name.startswith(PROBE_PREFIX):
        raise ActionError(f"{where}: a name is a lower-case word, not starting with {PROBE_PREFIX!r}")
    if action.kind not in ("read", "write"):
        raise ActionError(f"{where}: kind is 'read' or 'write', got {action.kind!r}")
    codes = {c.value for c in ErrorCode}
    unknown = [c for c in action.errors if c not in codes]
    if unknown:
        raise ActionError(f"{where}: unknown error code(s) {unknown}; the codes are rules.ErrorCode's")
    kinds = {name: kind for name, kind in action.fields.items() if kind not in FIELD_KINDS}
    if kinds:
        raise ActionError(f"{where}: field kind(s) {kinds}; a field is one of {list(FIELD_KINDS)}")


def names() -> tuple[str, ...]:
    """Every action, in the table's order."""
    return tuple(ACTIONS)


def read_actions() -> tuple[str, ...]:
    """The actions that change nothing and spend nothing: all the read-only tier may send."""
    return tuple(name for name, a in ACTIONS.items() if a.reads)


def is_read(action: str) -> bool:
    entry = ACTIONS.get(action)
    return entry is not None and entry.reads


def read_only_may_send(action: str) -> bool:
    """The read-only tier's allow-list: a read action of the table, no action at all (``""``: a panel
    answers its unknown-action error), or one of the suite's own probes (``PROBE_PREFIX``). Anything
    else, a write action or a word the table does not know, may be a write to some panel."""
    return action == "" or is_read(action) or action.startswith(PROBE_PREFIX)


def errors_of(action: str) -> tuple[tuple[str, ...], str]:
    """The error codes an answer to ``action`` may carry, and the requirement their words are judged by;
    for a word the table does not know, the unknown-action error's (V2-ERR-04)."""
    entry = ACTIONS.get(action)
    if entry is None:
        return EVERY_ACTION_MAY, "V2-ERR-04"
    return EVERY_ACTION_MAY + entry.errors, entry.wording


def dialect_actions(listed: object) -> frozenset[str]:
    """The actions of a dialect whose profile (with what it extends) lists ``listed``: those, each one
    the table knows; or, if it lists none (None), every action the table gives every dialect."""
    if listed is None:
        return frozenset(name for name, a in ACTIONS.items() if a.default)
    if not isinstance(listed, list) or not all(isinstance(a, str) for a in listed):
        raise ActionError(f"field 'actions' must be a list of action names, got {listed!r}")
    unknown = [a for a in listed if a not in ACTIONS]
    if unknown:
        raise ActionError(f"field 'actions' has unknown action(s) {unknown}; known: {list(ACTIONS)} "
                          "(the table is conformance/actions.py)")
    return frozenset(listed)


for _entry in ACTIONS.values():
    check(_entry)
