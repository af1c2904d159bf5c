"""The judge's own rules of API v2, written from the public documents, not from the mock.

Status order, refill statuses, the error codes a profile must spell, and what each
service type takes and costs. The mock has its own tables; the two are kept apart
on purpose, so that a mistake in one is caught by the other.

Sources: the API pages of Perfect Panel installs (e.g. https://smmprime.com/api,
https://smmpro.in/api: statuses, the add tables per type, refill and cancel), the
SmartPanel v1 page (https://smmpanel.ru/api: lowercase words, type slugs), and
the order-status pages of panels (https://smmpanelus.com/pt/order-statuses:
Pending -> In progress -> Completed, or Partial / Canceled, which never change).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum


class Status(str, Enum):
    """An order status by its documented name; a profile spells it."""

    PENDING = "Pending"
    IN_PROGRESS = "In progress"
    COMPLETED = "Completed"
    PARTIAL = "Partial"
    CANCELED = "Canceled"

    @property
    def final(self) -> bool:
        return self in (Status.COMPLETED, Status.PARTIAL, Status.CANCELED)

    @property
    def rank(self) -> int:
        """Waiting, then delivering, then one of the three ends: a status never goes back."""
        return {Status.PENDING: 0, Status.IN_PROGRESS: 1}.get(self, 2)


class RefillStatus(str, Enum):
    PENDING = "Pending"
    IN_PROGRESS = "In progress"
    COMPLETED = "Completed"
    REJECTED = "Rejected"

    @property
    def final(self) -> bool:
        return self in (RefillStatus.COMPLETED, RefillStatus.REJECTED)

    @property
    def rank(self) -> int:
        return {RefillStatus.PENDING: 0, RefillStatus.IN_PROGRESS: 1}.get(self, 2)


class ErrorCode(str, Enum):
    """The errors whose words a profile gives (its ``errors`` table)."""

    INVALID_KEY = "invalid_key"
    INCORRECT_REQUEST = "incorrect_request"  # the unknown-action error
    INCORRECT_ORDER_ID = "incorrect_order_id"
    INCORRECT_REFILL_ID = "incorrect_refill_id"
    INCORRECT_SERVICE_ID = "incorrect_service_id"
    SERVICE_DISABLED = "service_disabled"
    NOT_ENOUGH_FUNDS = "not_enough_funds"
    QUANTITY_BELOW_MIN = "quantity_below_min"
    QUANTITY_ABOVE_MAX = "quantity_above_max"
    MISSING_FIELD = "missing_field"
    INVALID_FIELD = "invalid_field"
    ACTIVE_ORDER_WITH_LINK = "active_order_with_link"
    DRIPFEED_NOT_SUPPORTED = "dripfeed_not_supported"
    TOO_MANY_IDS = "too_many_ids"
    REFILL_DISABLED = "refill_disabled"
    REFILL_NOT_ALLOWED = "refill_not_allowed"
    REFILL_ALREADY_ACTIVE = "refill_already_active"
    CANCEL_DISABLED = "cancel_disabled"
    CANCEL_NOT_ALLOWED = "cancel_not_allowed"


_WILD_ALIASES = {"processing": Status.IN_PROGRESS, "inprogress": Status.IN_PROGRESS, "cancelled": Status.CANCELED}


def fold(word: str) -> str:
    return word.strip().lower().replace("_", "").replace(" ", "")


def guess_status(word: str) -> Status | None:
    """The documented status a word in another spelling means ('in_progress', 'Cancelled'), or None."""
    folded = fold(word)
    for status in Status:
        if fold(status.value) == folded:
            return status
    return _WILD_ALIASES.get(folded)


def guess_refill_status(word: str) -> RefillStatus | None:
    folded = fold(word)
    return next((s for s in RefillStatus if fold(s.value) == folded), None)


# --- service types ----------------------------------------------------------------------------

# How an order of a type says how much it wants.
COUNTED_BY_FIELD = "quantity"
COUNTED_BY_LINES = "lines"  # the number of lines of a list field
ONE_PACKAGE = "package"
SUBSCRIPTION = "subscription"


@dataclass(frozen=True)
class TypeRule:
    name: str  # as Perfect Panel lists it in services.type
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    counted: str = COUNTED_BY_FIELD
    lines_field: str | None = None  # the list whose lines are the quantity
    flat: bool = False  # the rate is the price of the whole order

    @property
    def slug(self) -> str:
        """SmartPanel's spelling: lower case, words joined by underscores ('custom_comments')."""
        return "_".join(self.name.lower().split())

    @property
    def dripfeed(self) -> bool:
        return "runs" in self.optional


def _rule(name: str, fields: str, **kw: object) -> TypeRule:
    """``fields``: the add table's fields, an optional one written in brackets."""
    words = fields.split()
    required = tuple(w for w in words if not w.startswith("["))
    optional = tuple(w.strip("[]") for w in words if w.startswith("["))
    return TypeRule(name, required, optional, **kw)  # type: ignore[arg-type]


# One row per table of the documents' "Add order" section (every row also takes key, action, service).
TYPE_RULES: dict[str, TypeRule] = {r.name: r for r in (
    _rule("Default", "link quantity [runs] [interval]"),
    _rule("Package", "link", counted=ONE_PACKAGE, flat=True),
    _rule("SEO", "link quantity keywords"),
    _rule("Custom Comments", "link comments", counted=COUNTED_BY_LINES, lines_field="comments"),
    _rule("Custom Comments Package", "link comments", counted=COUNTED_BY_LINES, lines_field="comments", flat=True),
    _rule("Mentions", "link quantity usernames"),
    _rule("Mentions with Hashtags", "link quantity usernames hashtags"),
    _rule("Mentions Custom List", "link usernames", counted=COUNTED_BY_LINES, lines_field="usernames"),
    _rule("Mentions Hashtag", "link quantity hashtag"),
    _rule("Mentions User Followers", "link quantity username"),
    _rule("Mentions Media Likers", "link quantity media"),
    _rule("Comment Likes", "link quantity username"),
    _rule("Comment Replies", "link username comments", counted=COUNTED_BY_LINES, lines_field="comments"),
    _rule("Poll", "link quantity answer_number"),
    _rule("Invites from Groups", "link quantity groups"),
    _rule("Subscriptions", "username min max delay [posts] [old_posts] [expiry]", counted=SUBSCRIPTION),
    _rule("Web Traffic", "link quantity country device type_of_traffic [runs] [interval] [google_keyword] "
          "[referring_url]"),
)}

BY_SLUG: dict[str, TypeRule] = {r.slug: r for r in TYPE_RULES.values()}


def type_named(word: object, spelling: str = "name") -> TypeRule | None:
    """The type a services.type word names in ``spelling`` ("name" or "slug"), or None."""
    if not isinstance(word, str):
        return None
    return (BY_SLUG if spelling == "slug" else TYPE_RULES).get(word)


def type_in_any_spelling(word: object) -> TypeRule | None:
    return type_named(word, "name") or type_named(word, "slug")


# --- money -----------------------------------------------------------------------------------

PER = Decimal(1000)  # a rate is the price of 1000 units
ABSURD_RATE = Decimal(10) ** 6  # more than a million per 1000 units is not a price anyone lists


def cost(rate: Decimal, units: int, flat: bool) -> Decimal:
    """What an order costs, exactly: the rate per 1000 units, or the rate itself for a flat price."""
    return rate if flat else rate * Decimal(units) / PER


def usable_rate(rate: Decimal | None) -> bool:
    """A rate the plan may price an order by: a positive, finite, plausible number."""
    return rate is not None and rate.is_finite() and Decimal(0) < rate <= ABSURD_RATE
