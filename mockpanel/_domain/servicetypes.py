"""The service types of API v2, the fields each one takes, and the typed order request.

Every type declares its fields (the names of an ``OrderRequest``'s details); the dialect layer
reads an ``add``'s wire fields into an ``OrderRequest`` (_dialects/order_fields.py), which the
panel places (``PanelCore.place_order``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal, TypedDict

# How the quantity of an order is found.
QuantityFrom = Literal["field", "comments", "usernames", "package", "subscription"]


@dataclass(frozen=True)
class ServiceType:
    name: str  # the exact string in ``services.type``, e.g. "Custom Comments"
    slug: str  # the SmartPanel spelling, e.g. "custom_comments"
    type_id: int | None  # Perfect Panel's internal id, where known
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    quantity_from: QuantityFrom = "field"
    flat_price: bool = False  # packages: the rate is the price of the whole order
    dripfeed: bool = False  # takes runs/interval

    @cached_property
    def detail_fields(self) -> tuple[str, ...]:
        """The fields kept in an order's details: the required then the optional ones, but the link,
        the quantity and drip-feed's runs and interval (worked out once: an add reads them)."""
        return tuple(name for name in self.required + self.optional if name not in ("link", "quantity", "runs", "interval"))


    @cached_property
    def plain(self) -> bool:
        """Whether an order of this type is a link and a quantity alone (Default, drip-feed aside): the
        common add, which the wire reader takes in one step."""
        return self.required == ("link", "quantity") and self.quantity_from == "field" and not self.detail_fields


def _t(name: str, type_id: int | None, required: str, optional: str = "", **kw: object) -> ServiceType:
    slug = name.lower().replace(" ", "_")
    return ServiceType(name, slug, type_id, tuple(required.split()), tuple(optional.split()), **kw)  # type: ignore[arg-type]


SERVICE_TYPES: dict[str, ServiceType] = {
    t.name: t
    for t in [
        _t("Default", 0, "link quantity", "runs interval", dripfeed=True),
        _t("Package", 10, "link", quantity_from="package", flat_price=True),
        _t("SEO", 1, "link quantity keywords"),
        _t("Custom Comments", 2, "link comments", quantity_from="comments"),
        _t("Custom Comments Package", 14, "link comments", quantity_from="comments", flat_price=True),
        _t("Mentions", 9, "link quantity usernames"),
        _t("Mentions with Hashtags", 3, "link quantity usernames hashtags"),
        _t("Mentions Custom List", 4, "link usernames", quantity_from="usernames"),
        _t("Mentions Hashtag", 6, "link quantity hashtag"),
        _t("Mentions User Followers", 7, "link quantity username"),
        _t("Mentions Media Likers", 8, "link quantity media"),
        _t("Comment Likes", 15, "link quantity username"),
        _t("Comment Replies", None, "link username comments", quantity_from="comments"),
        _t("Poll", 17, "link quantity answer_number"),
        _t("Invites from Groups", 20, "link quantity groups"),
        _t(
            "Subscriptions",
            100,
            "username min max delay",
            "posts old_posts expiry",
            quantity_from="subscription",
        ),
        _t(
            "Web Traffic",
            102,
            "link quantity country device type_of_traffic",
            "runs interval google_keyword referring_url",
            dripfeed=True,
        ),
    ]
}

SLUGS: dict[str, ServiceType] = {t.slug: t for t in SERVICE_TYPES.values()}


def service_type(name: str) -> ServiceType:
    try:
        return SERVICE_TYPES[name]
    except KeyError:
        try:
            return SLUGS[name]
        except KeyError:
            raise ValueError(
                f"unknown service type {name!r}; known types: {', '.join(SERVICE_TYPES)}"
            ) from None


class OrderDetails(TypedDict, total=False):
    """An order's type-specific fields, checked and typed (which a type takes: ``ServiceType``)."""

    keywords: list[str]
    usernames: list[str]
    hashtags: list[str]
    groups: list[str]
    comments: list[str]
    hashtag: str
    username: str
    media: str
    country: str
    google_keyword: str
    referring_url: str
    answer_number: int
    device: int
    type_of_traffic: int
    # Subscriptions
    min: int
    max: int
    delay: int
    posts: int
    old_posts: int
    expiry: str  # the date as given, kept with the order; the panel uses ``OrderRequest.expires_at``


@dataclass(frozen=True, init=False)
class OrderRequest:
    """A checked ``add``: what to deliver, and how much of it to charge for."""

    link: str
    quantity: int  # units to deliver in total (drip-feed: quantity x runs)
    runs: int | None = None
    interval: int | None = None  # minutes between runs
    details: OrderDetails = field(default_factory=OrderDetails)
    expires_at: float | None = None  # a subscription's expiry (Unix time); the panel refuses a past one

    def __init__(self, link: str, quantity: int, runs: int | None = None, interval: int | None = None,
                 details: OrderDetails | None = None, expires_at: float | None = None) -> None:
        # The fields written straight into the instance: a frozen dataclass's own __init__ sets each
        # through object.__setattr__, which cost twice what the rest of this does (one request per add).
        values = self.__dict__
        values["link"], values["quantity"], values["runs"], values["interval"] = link, quantity, runs, interval
        values["details"] = OrderDetails() if details is None else details
        values["expires_at"] = expires_at


# How many existing posts an "old posts only" subscription (posts=0, no old_posts) serves.
OLD_POSTS_FOUND = 10
