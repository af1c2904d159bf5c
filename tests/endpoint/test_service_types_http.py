"""Every service type of the default catalogue, ordered over HTTP.

For each service: a valid ``add`` succeeds and charges what docs/api-v2.md says
(rate x quantity / 1000; packages flat; comments and lists by line count; drip-feed on
quantity x runs; subscriptions nothing); each required field (docs/api-v2.md's type table), absent
or blank, gives the standard dialect's error for it; a quantity out of the service's
range gives "Quantity less than minimal N" / "Quantity more than maximum N". A refused
order changes nothing: no order, no charge.
"""

from __future__ import annotations

import json
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockpanel import Panel
from tests.helpers.common import KEY

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
CATALOGUE = json.loads((FIXTURES / "catalogs" / "default.json").read_text("utf-8"))["services"]
ERRORS = json.loads((FIXTURES / "dialects" / "standard.json").read_text("utf-8"))["errors"]
OPENING = Decimal(100)  # conftest funds KEY with 100 USD

# docs/api-v2.md's type table: the fields each type requires (besides key, action, service).
REQUIRED: dict[str, tuple[str, ...]] = {
    "Default": ("link", "quantity"),
    "Package": ("link",),
    "SEO": ("link", "quantity", "keywords"),
    "Custom Comments": ("link", "comments"),
    "Custom Comments Package": ("link", "comments"),
    "Mentions": ("link", "quantity", "usernames"),
    "Mentions with Hashtags": ("link", "quantity", "usernames", "hashtags"),
    "Mentions Custom List": ("link", "usernames"),
    "Mentions Hashtag": ("link", "quantity", "hashtag"),
    "Mentions User Followers": ("link", "quantity", "username"),
    "Mentions Media Likers": ("link", "quantity", "media"),
    "Comment Likes": ("link", "quantity", "username"),
    "Comment Replies": ("link", "username", "comments"),
    "Poll": ("link", "quantity", "answer_number"),
    "Invites from Groups": ("link", "quantity", "groups"),
    "Subscriptions": ("username", "min", "max", "delay"),
    "Web Traffic": ("link", "quantity", "country", "device", "type_of_traffic"),
}
# Types whose quantity is the number of lines of a list field.
COUNTED_BY: dict[str, str] = {
    "Custom Comments": "comments",
    "Custom Comments Package": "comments",
    "Mentions Custom List": "usernames",
    "Comment Replies": "comments",
}
FLAT = {"Package", "Custom Comments Package"}  # the rate is the price of the whole order
SINGLE_VALUES = {
    "hashtag": "#sunset",
    "username": "natgeo",
    "media": "https://instagram.com/p/Ds2kfEr24Dr",
    "answer_number": "2",
    "country": "US",
    "device": "5",
    "type_of_traffic": "3",
    "delay": "30",
}

SERVICES = [pytest.param(s, id=f"{s['service']}-{s['type']}") for s in CATALOGUE]
DRIP_FEED = [pytest.param(s, id=f"{s['service']}-{s['type']}") for s in CATALOGUE if s.get("dripfeed")]


def lines(count: int, word: str, sep: str = "\n") -> str:
    return sep.join(f"{word}{i}" for i in range(count))


def quantity_for(service: dict[str, Any]) -> int:
    """A quantity inside the service's range, not at its edges when there is room."""
    low, high = service["min"], service["max"]
    return min(high, 2 * low + 7)


def valid_order(service: dict[str, Any], link: str) -> tuple[dict[str, str], Decimal, int]:
    """Fields of a valid add for the service, the price it must cost, and its quantity."""
    kind = service["type"]
    rate = Decimal(service["rate"])
    fields: dict[str, str] = {"key": KEY, "action": "add", "service": str(service["service"])}
    quantity = quantity_for(service)
    for name in REQUIRED[kind]:
        if name == "link":
            fields[name] = link
        elif name == "quantity":
            fields[name] = str(quantity)
        elif name == COUNTED_BY.get(kind):
            # "\r\n or \n" both separate lines; a blank line is not a line.
            items = [f"{name[:-1]} {i}" for i in range(quantity)]
            items.insert(len(items) // 2, "  ")
            fields[name] = ("\r\n" if kind == "Comment Replies" else "\n").join(items)
        elif name in ("keywords", "usernames", "hashtags", "groups", "comments"):
            fields[name] = lines(2, name[:-1])
        elif name in ("min", "max"):
            fields[name] = str(service[name])
        else:
            fields[name] = SINGLE_VALUES[name]
    if kind == "Subscriptions":
        fields["posts"] = "4"
        return fields, Decimal(0), 4
    if kind in FLAT:
        return fields, rate, (1 if kind == "Package" else quantity)
    return fields, rate * quantity / 1000, quantity


def money(amount: Decimal) -> str:
    return str(amount.quantize(Decimal("0.00001"), rounding=ROUND_HALF_UP))


def post(client: httpx.Client, fields: dict[str, str]) -> Any:
    response = client.post("/api/v2", data=fields)
    assert response.status_code == 200
    return response.json()


def shown_balance(amount: Decimal) -> str:
    """A balance as the panel shows it: rounded down (what is shown can be spent)."""
    return str(amount.quantize(Decimal("0.00001"), rounding=ROUND_DOWN))


def balance(client: httpx.Client) -> str:
    return post(client, {"key": KEY, "action": "balance"})["balance"]


def refused(client: httpx.Client, panel: Panel, fields: dict[str, str], error: str) -> None:
    """The add is answered with ``error`` and changes nothing."""
    before = (len(panel.orders), balance(client))
    assert post(client, fields) == {"error": error}
    assert (len(panel.orders), balance(client)) == before


def test_the_default_catalogue_has_every_service_type() -> None:
    assert {s["type"] for s in CATALOGUE} == set(REQUIRED)


@pytest.mark.parametrize("service", SERVICES)
def test_a_valid_add_charges_the_documented_price(client: httpx.Client, panel: Panel, service: dict[str, Any]) -> None:
    fields, price, quantity = valid_order(service, "https://example.com/valid")
    answer = post(client, fields)
    assert list(answer) == ["order"] and isinstance(answer["order"], int), answer
    status = post(client, {"key": KEY, "action": "status", "order": str(answer["order"])})
    assert status == {"charge": money(price), "start_count": "0", "status": "Pending",
                      "remains": str(quantity), "currency": "USD"}
    assert balance(client) == shown_balance(OPENING - price)
    charges = [e for e in panel.ledger(KEY) if e.kind == "charge"]
    assert [(e.order, e.amount) for e in charges] == ([(answer["order"], price)] if price else [])


@pytest.mark.parametrize("service", DRIP_FEED)
def test_drip_feed_is_charged_on_quantity_times_runs(client: httpx.Client, service: dict[str, Any]) -> None:
    fields, _, _ = valid_order(service, "https://example.com/drip")
    runs = 3
    quantity = service["min"]
    price = Decimal(service["rate"]) * quantity * runs / 1000
    answer = post(client, {**fields, "quantity": str(quantity), "runs": str(runs), "interval": "15"})
    status = post(client, {"key": KEY, "action": "status", "order": str(answer["order"])})
    assert (status["charge"], status["remains"]) == (money(price), str(quantity * runs))
    assert balance(client) == shown_balance(OPENING - price)


@pytest.mark.parametrize("service", SERVICES)
def test_each_required_field_missing_or_blank_is_refused(
    client: httpx.Client, panel: Panel, service: dict[str, Any]
) -> None:
    fields, _, _ = valid_order(service, "https://example.com/missing")
    for name in REQUIRED[service["type"]]:
        error = ERRORS["missing_field"].format(field=name)
        refused(client, panel, {k: v for k, v in fields.items() if k != name}, error)
        refused(client, panel, {**fields, name: "  "}, error)
    # The service itself: absent, blank, unknown.
    for service_field in ({}, {"service": ""}, {"service": "999999"}, {"service": "abc"}):
        without = {k: v for k, v in fields.items() if k != "service"}
        refused(client, panel, {**without, **service_field}, ERRORS["incorrect_service_id"])
    assert post(client, fields).keys() == {"order"}  # and with everything, it goes through


def out_of_range(service: dict[str, Any]) -> list[tuple[dict[str, str], str]]:
    """Changes to a valid order that put its quantity just outside the service's range."""
    kind, low, high = service["type"], service["min"], service["max"]
    below = ERRORS["quantity_below_min"].format(min=low)
    above = ERRORS["quantity_above_max"].format(max=high)
    if kind == "Subscriptions":  # min and max are each checked against the service's range
        return [({"min": str(low - 1)}, below), ({"max": str(high + 1)}, above)]
    if kind in COUNTED_BY:
        name = COUNTED_BY[kind]
        cases = [({name: lines(high + 1, "x")}, above)]
        if low > 1:
            cases.append(({name: lines(low - 1, "x")}, below))
        return cases
    if "quantity" in REQUIRED[kind]:
        return [({"quantity": str(low - 1)}, below), ({"quantity": str(high + 1)}, above)]
    return []  # Package: the package defines the quantity


@pytest.mark.parametrize("service", SERVICES)
def test_quantity_out_of_range_is_refused(client: httpx.Client, panel: Panel, service: dict[str, Any]) -> None:
    fields, _, _ = valid_order(service, "https://example.com/range")
    cases = out_of_range(service)
    assert cases or service["type"] == "Package"
    for change, error in cases:
        refused(client, panel, {**fields, **change}, error)


@pytest.mark.parametrize("service", DRIP_FEED)
def test_drip_feed_range_applies_to_quantity_times_runs(client: httpx.Client, panel: Panel, service: dict[str, Any]) -> None:
    fields, _, _ = valid_order(service, "https://example.com/drip-range")
    low, high = service["min"], service["max"]
    too_many = {"quantity": str(high // 2 + 1), "runs": "2", "interval": "15"}  # each run fits, the total does not
    refused(client, panel, {**fields, **too_many}, ERRORS["quantity_above_max"].format(max=high))
    too_few = {"quantity": str((low - 1) // 2), "runs": "2", "interval": "15"}  # total low - 1 or less
    refused(client, panel, {**fields, **too_few}, ERRORS["quantity_below_min"].format(min=low))
    # A quantity under the minimum is fine when quantity x runs reaches it: the total counts.
    enough = {"quantity": str(low // 2 + 1), "runs": "2", "interval": "15"}
    assert int(enough["quantity"]) < low
    assert "order" in post(client, {**fields, **enough})


WEB_TRAFFIC = next(s for s in CATALOGUE if s["type"] == "Web Traffic")


@pytest.mark.parametrize(
    ("traffic", "needs"), [("1", "google_keyword"), ("2", "referring_url")], ids=["google-keyword", "custom-referrer"]
)
def test_web_traffic_requires_the_field_its_traffic_type_names(
    client: httpx.Client, panel: Panel, traffic: str, needs: str
) -> None:
    fields, price, _ = valid_order(WEB_TRAFFIC, "https://example.com/traffic")
    fields["type_of_traffic"] = traffic
    refused(client, panel, fields, ERRORS["missing_field"].format(field=needs))
    refused(client, panel, {**fields, needs: " "}, ERRORS["missing_field"].format(field=needs))
    values = {"google_keyword": "best running shoes", "referring_url": "https://news.example.org/"}
    answer = post(client, {**fields, needs: values[needs]})
    status = post(client, {"key": KEY, "action": "status", "order": str(answer["order"])})
    assert status["charge"] == money(price)


def test_subscriptions_take_no_link_and_reject_min_above_max(client: httpx.Client, panel: Panel) -> None:
    subscription = next(s for s in CATALOGUE if s["type"] == "Subscriptions")
    fields, _, _ = valid_order(subscription, "unused")
    assert "link" not in fields
    refused(client, panel, {**fields, "min": str(subscription["max"]), "max": str(subscription["min"])},
            ERRORS["invalid_field"].format(field="max"))
    refused(client, panel, {**fields, "delay": "7"}, ERRORS["invalid_field"].format(field="delay"))
    assert "order" in post(client, fields)
