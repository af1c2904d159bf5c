"""In-band triggers: magic words in an order's link that choose how the order goes.

For clients that cannot reach the control API (a PHP app under manual test), the way
payment sandboxes use magic card numbers. Put ``mockpanel=WORDS`` anywhere in the link,
several words joined by ``,`` or ``+``::

    https://instagram.com/p/abc?mockpanel=partial-157
    https://instagram.com/p/abc?mockpanel=canceled,in-10m

Outcome (one of): ``completed``; ``partial`` (half undelivered) or ``partial-N`` (N remains);
``canceled`` (the panel cancels it while Pending: full refund); ``pending`` (stays Pending
until forced). Timing: ``now`` (the outcome shows at once) or ``in-D`` (D like ``90s``,
``15m``, ``2h``, ``1d``: Pending for the first tenth of D, In progress, the outcome at D);
the order's refills follow the same timing.
``start-N`` sets start_count (0 to 10^12; ``partial-N`` takes the same range, and a
duration is at most 10 years): a number past its range is refused, not stored. ``refill-completed`` / ``refill-rejected`` choose how refills
of the order end. Any other word is left in ``Trigger.other`` for the HTTP layer (the
transport faults: ``http-502``, ``html``, ``drop`` ...), which rejects words nobody knows.

The quantity is never magic: money arithmetic on it stays what a real panel does.
Subscriptions (no link) and drip-feed runs keep their own pace.
Triggers change the seeded plan after it is drawn, so a triggered order does not shift
the plans of the orders after it. They are the control side's: the domain knows no trigger
word, and ``install`` adds them through the panel's public plan hooks.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from .._domain.catalog import Service
from .._domain.errors import ErrorCode, PanelError
from .._domain.lifecycle import RefillStatus, Status
from .._domain.numbers import parse_int
from .._domain.plans import Plan, RefillPlan
from .._domain.servicetypes import OrderRequest

MARK = "mockpanel="
_WORDS = re.compile(r"mockpanel=([a-z0-9.,+\-]*)", re.IGNORECASE)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
# Fast enough that quantity / speed vanishes next to any clock reading: "now" is final at once.
_INSTANT = 1e300
MAX_COUNT = 10**12  # a trigger's start count or remains: as large as a quantity may be
MAX_DURATION = 10 * 365 * 86400.0  # seconds: a trigger's timing, a clock move


def parse_duration(value: Any, limit: float = MAX_DURATION) -> float:
    """Seconds (0 to ``limit``) from a number or a text like "90s", "15m", "2h", "1d" or "1h30m"."""
    if isinstance(value, bool):
        raise ValueError(f"a duration is a number of seconds or a text like '15m', got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        text = str(value).strip().lower()
        if len(text) > 64:
            raise ValueError(f"a duration is at most 64 characters, got {len(text)}")
        try:
            seconds = float(text)
        except ValueError:
            parts = _DURATION.findall(text)
            if not parts or "".join(n + u for n, u in parts) != text:
                raise ValueError(
                    f"cannot read the duration {value!r}: use seconds (90) or a text like "
                    "'90s', '15m', '2h', '1d', '1h30m'"
                ) from None
            seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if not 0 <= seconds <= limit:
        raise ValueError(f"a duration must be 0 to {limit:g} seconds (10 years), got {value!r}")
    return seconds


def _count(word: str, arg: str) -> int:
    value = parse_int(arg)
    if value is None or value > MAX_COUNT:
        raise ValueError(f"the trigger {word!r} takes a whole number from 0 to {MAX_COUNT} (ASCII digits)")
    return value


@dataclass(frozen=True)
class Trigger:
    outcome: Status | None = None
    remains: int | None = None  # for a Partial outcome; None: half the quantity
    stuck: bool = False
    after: float | None = None  # seconds from creation to the outcome (0: now)
    start_count: int | None = None
    refill: RefillStatus | None = None
    other: tuple[str, ...] = ()  # words for the HTTP layer (transport faults)

    def plan(self, plan: Plan, quantity: int) -> Plan:
        """The order's seeded plan, changed as the words say."""
        outcome, remains = plan.outcome, plan.remains
        if self.outcome is Status.COMPLETED or (self.outcome is Status.PARTIAL and quantity < 2):
            outcome, remains = Status.COMPLETED, 0
        elif self.outcome is Status.PARTIAL:
            wanted = max(1, quantity // 2) if self.remains is None else self.remains
            outcome, remains = Status.PARTIAL, min(max(1, wanted), quantity - 1)
        elif self.outcome is Status.CANCELED:
            outcome, remains = Status.CANCELED, quantity
        pending, per_second = plan.pending, plan.per_second
        if self.stuck:
            pending = math.inf
        elif self.after is not None:
            need = max(1, quantity - remains)
            if outcome is Status.CANCELED:
                pending = self.after
            elif self.after == 0:
                pending, per_second = 0.0, _INSTANT
            else:
                pending = self.after / 10
                per_second = need / (self.after - pending)
        start_count = plan.start_count if self.start_count is None else self.start_count
        return Plan(start_count, pending, per_second, outcome, remains)

    def refill_plan(self, plan: RefillPlan) -> RefillPlan:
        outcome = plan.outcome if self.refill is None else self.refill
        if self.after is not None:
            return RefillPlan(self.after / 10, self.after - self.after / 10, outcome)
        return RefillPlan(plan.pending, plan.duration, outcome)


_OUTCOMES = {
    "completed": Status.COMPLETED,
    "partial": Status.PARTIAL,
    "canceled": Status.CANCELED,
    "cancelled": Status.CANCELED,
}
_REFILLS = {"refill-completed": RefillStatus.COMPLETED, "refill-rejected": RefillStatus.REJECTED}


def parse_words(text: str) -> Trigger:
    """A trigger from the words after ``mockpanel=`` (case-insensitive)."""
    fields: dict[str, Any] = {}
    other: list[str] = []
    for word in filter(None, re.split(r"[,+]", text.strip().lower())):
        name, _, arg = word.partition("-")
        if word in _OUTCOMES or (name == "partial" and arg[:1].isdigit()):
            if "outcome" in fields or fields.get("stuck"):
                raise ValueError(f"more than one outcome in the trigger {text!r}")
            fields["outcome"] = _OUTCOMES[name]
            if arg:
                fields["remains"] = _count(word, arg)
        elif word in ("pending", "stuck"):
            if "outcome" in fields:
                raise ValueError(f"more than one outcome in the trigger {text!r}")
            fields["stuck"] = True
        elif word == "now":
            fields["after"] = 0.0
        elif name == "in" and arg:
            fields["after"] = parse_duration(arg)
        elif name == "start" and arg[:1].isdigit():
            fields["start_count"] = _count(word, arg)
        elif word in _REFILLS:
            fields["refill"] = _REFILLS[word]
        else:
            other.append(word)
    return Trigger(other=tuple(other), **fields)


def find(link: str) -> Trigger | None:
    """The trigger in a link, or None when it has no ``mockpanel=``."""
    if not link or MARK not in link.lower():
        return None
    words = ",".join(_WORDS.findall(link))
    return parse_words(words)


def _safe_find(link: str) -> Trigger | None:
    try:
        return find(link)
    except ValueError:  # the HTTP layer has already answered bad words with an error
        return None


def plan_hook(service: Service, request: OrderRequest, plan: Plan) -> Plan:
    link = request.link
    if not link or MARK not in link.lower():  # find's first test, here: most links have no trigger
        return plan
    try:
        trigger = find(link)
    except ValueError:  # the HTTP layer answers these words first; in process, the add is refused
        raise PanelError(ErrorCode.INVALID_FIELD, field="link") from None
    return plan if trigger is None else trigger.plan(plan, request.quantity)


def refill_hook(order: Any, plan: RefillPlan) -> RefillPlan:
    trigger = _safe_find(order.link)
    return plan if trigger is None else trigger.refill_plan(plan)


def install(panel: Any) -> None:
    """Make ``panel`` obey the link words (idempotent)."""
    if plan_hook not in panel.plan_hooks:
        panel.plan_hooks.append(plan_hook)
    hooks = getattr(panel, "refill_hooks", None)
    if hooks is not None and refill_hook not in hooks:
        hooks.append(refill_hook)
