"""Service types: each type's fields (docs/api-v2.md's type table), quantities and the documented errors."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from mockpanel._dialects.order_fields import OrderRules, lines, read_order_request
from mockpanel._domain.errors import ErrorCode, PanelError
from mockpanel._domain.servicetypes import OLD_POSTS_FOUND, SERVICE_TYPES, OrderRequest, service_type

# docs/api-v2.md's type table: required fields and optional fields per type.
FIELD_NOTES: dict[str, tuple[set[str], set[str]]] = {
    "Default": ({"link", "quantity"}, {"runs", "interval"}),
    "Package": ({"link"}, set()),
    "SEO": ({"link", "quantity", "keywords"}, set()),
    "Custom Comments": ({"link", "comments"}, set()),
    "Custom Comments Package": ({"link", "comments"}, set()),
    "Mentions": ({"link", "quantity", "usernames"}, set()),
    "Mentions with Hashtags": ({"link", "quantity", "usernames", "hashtags"}, set()),
    "Mentions Custom List": ({"link", "usernames"}, set()),
    "Mentions Hashtag": ({"link", "quantity", "hashtag"}, set()),
    "Mentions User Followers": ({"link", "quantity", "username"}, set()),
    "Mentions Media Likers": ({"link", "quantity", "media"}, set()),
    "Comment Likes": ({"link", "quantity", "username"}, set()),
    "Comment Replies": ({"link", "username", "comments"}, set()),
    "Poll": ({"link", "quantity", "answer_number"}, set()),
    "Invites from Groups": ({"link", "quantity", "groups"}, set()),
    "Subscriptions": ({"username", "min", "max", "delay"}, {"posts", "old_posts", "expiry"}),
    "Web Traffic": (
        {"link", "quantity", "country", "device", "type_of_traffic"},
        {"runs", "interval", "google_keyword", "referring_url"},
    ),
}

# A valid ``add`` for each type (min 1, max 10000 unless a test says otherwise).
VALID: dict[str, dict[str, str]] = {
    "Default": {"link": "https://x.test/p", "quantity": "100"},
    "Package": {"link": "https://x.test/p"},
    "SEO": {"link": "https://x.test/p", "quantity": "100", "keywords": "shoes\r\nred shoes"},
    "Custom Comments": {"link": "https://x.test/p", "comments": "nice\ngreat"},
    "Custom Comments Package": {"link": "https://x.test/p", "comments": "nice\ngreat\n:)"},
    "Mentions": {"link": "https://x.test/p", "quantity": "100", "usernames": "alice\nbob"},
    "Mentions with Hashtags": {
        "link": "https://x.test/p", "quantity": "100", "usernames": "test, testing", "hashtags": "#goodphoto",
    },
    "Mentions Custom List": {"link": "https://x.test/p", "usernames": "alice\nbob\ncarol"},
    "Mentions Hashtag": {"link": "https://x.test/p", "quantity": "100", "hashtag": "#sun"},
    "Mentions User Followers": {"link": "https://x.test/p", "quantity": "100", "username": "https://x.test/u"},
    "Mentions Media Likers": {"link": "https://x.test/p", "quantity": "100", "media": "https://x.test/m/1"},
    "Comment Likes": {"link": "https://x.test/p", "quantity": "100", "username": "owner"},
    "Comment Replies": {"link": "https://x.test/p", "username": "owner", "comments": "good pic\ngreat photo\n:)\n;)"},
    "Poll": {"link": "https://x.test/p", "quantity": "100", "answer_number": "7"},
    "Invites from Groups": {"link": "https://x.test/p", "quantity": "100", "groups": "g1\ng2"},
    "Subscriptions": {"username": "someone", "min": "100", "max": "200", "delay": "30"},
    "Web Traffic": {"link": "https://x.test/p", "quantity": "1000", "country": "US", "device": "5", "type_of_traffic": "3"},
}

EXPECTED_QUANTITY = {
    "Package": 1, "Custom Comments": 2, "Custom Comments Package": 3, "Mentions Custom List": 3,
    "Comment Replies": 4, "Subscriptions": 0, "Web Traffic": 1000,
}

RULES = OrderRules()  # the defaults (frozen)


def read(type_name: str, params: dict[str, str], *, low: int = 1, high: int = 10000,
         dripfeed: bool = True, rules: OrderRules = RULES) -> OrderRequest:
    return read_order_request(
        SERVICE_TYPES[type_name], params, min_quantity=low, max_quantity=high,
        dripfeed_allowed=dripfeed, rules=rules,
    )


def error(type_name: str, params: dict[str, str], **kw: Any) -> PanelError:
    with pytest.raises(PanelError) as info:
        read(type_name, params, **kw)
    return info.value


def test_every_type_of_the_field_notes_is_known_with_its_fields() -> None:
    assert set(SERVICE_TYPES) == set(FIELD_NOTES) == set(VALID)
    for name, (required, optional) in FIELD_NOTES.items():
        stype = SERVICE_TYPES[name]
        assert set(stype.required) == required, name
        assert set(stype.optional) == optional, name


@pytest.mark.parametrize("type_name", sorted(VALID))
def test_a_valid_request_is_accepted(type_name: str) -> None:
    request = read(type_name, VALID[type_name])
    assert request.quantity == EXPECTED_QUANTITY.get(type_name, 100)
    if "link" in FIELD_NOTES[type_name][0]:
        assert request.link == "https://x.test/p"
    assert request.runs is None and request.interval is None


@pytest.mark.parametrize(
    "type_name, field",
    [(t, f) for t, (required, _) in sorted(FIELD_NOTES.items()) for f in sorted(required)],
)
@pytest.mark.parametrize("how", ["absent", "blank"])
def test_each_missing_required_field_is_named(type_name: str, field: str, how: str) -> None:
    params = dict(VALID[type_name])
    if how == "absent":
        params.pop(field)
    else:
        params[field] = "  \r\n "
    exc = error(type_name, params)
    assert exc.code is ErrorCode.MISSING_FIELD
    assert exc.values == {"field": field}


def test_subscriptions_take_no_link() -> None:
    request = read("Subscriptions", {**VALID["Subscriptions"], "link": "https://ignored.test"})
    assert request.link == "someone"  # the username stands for the link (duplicate rule)
    assert request.details == {"username": "someone", "min": 100, "max": 200, "delay": 30}


def test_package_quantity_is_the_package_whatever_is_sent() -> None:
    assert read("Package", {**VALID["Package"], "quantity": "500"}).quantity == 1


@pytest.mark.parametrize(
    "raw", ["abc", "1.5", "-5", "1e3", "0x10", "1_000", "１００", "١٠٠", "9" * 19, "10 0"],
)
def test_a_bad_integer_is_an_invalid_field(raw: str) -> None:
    exc = error("Default", {**VALID["Default"], "quantity": raw})
    assert exc.code is ErrorCode.INVALID_FIELD and exc.values == {"field": "quantity"}


@pytest.mark.parametrize("raw, value", [(" 100 ", 100), ("+100", 100), ("0100", 100)])
def test_integers_with_spaces_sign_or_zeros(raw: str, value: int) -> None:
    assert read("Default", {**VALID["Default"], "quantity": raw}).quantity == value


@pytest.mark.parametrize(
    "field, raw", [("answer_number", "0"), ("answer_number", "x"), ("device", "6"), ("device", "0"), ("type_of_traffic", "4")],
)
def test_bad_typed_detail_fields(field: str, raw: str) -> None:
    type_name = "Poll" if field == "answer_number" else "Web Traffic"
    exc = error(type_name, {**VALID[type_name], field: raw})
    assert exc.code is ErrorCode.INVALID_FIELD and exc.values == {"field": field}


def test_quantity_below_min_and_above_max_carry_the_limit() -> None:
    below = error("Default", {**VALID["Default"], "quantity": "49"}, low=50, high=10000)
    assert below.code is ErrorCode.QUANTITY_BELOW_MIN and below.values == {"min": 50}
    above = error("Default", {**VALID["Default"], "quantity": "10001"}, low=50, high=10000)
    assert above.code is ErrorCode.QUANTITY_ABOVE_MAX and above.values == {"max": 10000}
    zero = error("Default", {**VALID["Default"], "quantity": "0"}, low=50)
    assert zero.code is ErrorCode.QUANTITY_BELOW_MIN
    assert read("Default", {**VALID["Default"], "quantity": "50"}, low=50).quantity == 50
    assert read("Default", {**VALID["Default"], "quantity": "10000"}, high=10000).quantity == 10000


# --- list fields: lines separated by \r\n or \n, blank lines ignored -------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a\nb\nc", ["a", "b", "c"]),
        ("a\r\nb\r\nc\r\n", ["a", "b", "c"]),
        ("a\r\n\r\n\nb\n  \n", ["a", "b"]),
        ("\n\n  only  \n", ["only"]),
        ("one line", ["one line"]),
    ],
)
def test_lines(text: str, expected: list[str]) -> None:
    assert lines(text) == expected


@pytest.mark.parametrize("type_name", ["Custom Comments", "Comment Replies"])
def test_comment_quantity_is_the_number_of_non_blank_lines(type_name: str) -> None:
    params = {**VALID[type_name], "comments": "first\r\nsecond\n\n\r\nthird\n   \nfourth\r\n"}
    request = read(type_name, params)
    assert request.quantity == 4
    assert request.details["comments"] == ["first", "second", "third", "fourth"]


def test_usernames_list_gives_the_quantity_of_a_custom_list() -> None:
    request = read("Mentions Custom List", {**VALID["Mentions Custom List"], "usernames": "a\r\nb\n\nc\nd\ne"})
    assert request.quantity == 5


def test_a_list_shorter_than_the_minimum_is_below_min() -> None:
    exc = error("Custom Comments", {**VALID["Custom Comments"], "comments": "a\nb\nc"}, low=10)
    assert exc.code is ErrorCode.QUANTITY_BELOW_MIN and exc.values == {"min": 10}
    exc = error("Custom Comments", {**VALID["Custom Comments"], "comments": "a\nb\nc"}, high=2)
    assert exc.code is ErrorCode.QUANTITY_ABOVE_MAX and exc.values == {"max": 2}


def test_a_list_over_the_line_limit_is_invalid() -> None:
    rules = OrderRules(max_lines=3)
    exc = error("Custom Comments", {**VALID["Custom Comments"], "comments": "a\nb\nc\nd"}, rules=rules)
    assert exc.code is ErrorCode.INVALID_FIELD and exc.values == {"field": "comments"}


def test_oversized_or_nul_text_and_long_links_are_invalid() -> None:
    rules = OrderRules(max_text=20)  # the link (16 chars) fits
    exc = error("Mentions Hashtag", {**VALID["Mentions Hashtag"], "hashtag": "#" + "x" * 20}, rules=rules)
    assert exc.values == {"field": "hashtag"}
    exc = error("Mentions Hashtag", {**VALID["Mentions Hashtag"], "hashtag": "#a\x00b"})
    assert exc.code is ErrorCode.INVALID_FIELD and exc.values == {"field": "hashtag"}
    exc = error("Default", {**VALID["Default"], "link": "https://x.test/" + "a" * 2040})
    assert exc.code is ErrorCode.INVALID_FIELD and exc.values == {"field": "link"}


# --- drip-feed -------------------------------------------------------------------------


@pytest.mark.parametrize("type_name", ["Default", "Web Traffic"])
def test_dripfeed_total_is_quantity_times_runs(type_name: str) -> None:
    params = {**VALID[type_name], "quantity": "100", "runs": "10", "interval": "60"}
    request = read(type_name, params)
    assert (request.quantity, request.runs, request.interval) == (1000, 10, 60)


def test_dripfeed_min_and_max_apply_to_the_total() -> None:
    params = {**VALID["Default"], "quantity": "100", "runs": "10", "interval": "60"}
    exc = error("Default", params, low=50, high=999)
    assert exc.code is ErrorCode.QUANTITY_ABOVE_MAX and exc.values == {"max": 999}
    # 10 per run is below the minimum of 50, but 10 x 6 runs = 60 is not.
    small = {**VALID["Default"], "quantity": "10", "runs": "6", "interval": "5"}
    assert read("Default", small, low=50).quantity == 60
    exc = error("Default", {**small, "runs": "4"}, low=50)
    assert exc.code is ErrorCode.QUANTITY_BELOW_MIN and exc.values == {"min": 50}


def test_dripfeed_on_a_service_without_it_is_refused() -> None:
    params = {**VALID["Default"], "runs": "10", "interval": "60"}
    exc = error("Default", params, dripfeed=False)
    assert exc.code is ErrorCode.DRIPFEED_NOT_SUPPORTED
    # A blank runs is no drip-feed at all.
    assert read("Default", {**VALID["Default"], "runs": " ", "interval": "60"}, dripfeed=False).runs is None


def test_dripfeed_fields_on_a_type_without_dripfeed_are_ignored() -> None:
    request = read("Poll", {**VALID["Poll"], "runs": "10", "interval": "60"})
    assert (request.quantity, request.runs) == (100, None)


@pytest.mark.parametrize(
    "runs, interval, field, code",
    [
        ("10", None, "interval", ErrorCode.MISSING_FIELD),
        ("0", "60", "runs", ErrorCode.INVALID_FIELD),
        ("1001", "60", "runs", ErrorCode.INVALID_FIELD),
        ("x", "60", "runs", ErrorCode.INVALID_FIELD),
        ("10", "0", "interval", ErrorCode.INVALID_FIELD),
        ("10", "43201", "interval", ErrorCode.INVALID_FIELD),
        ("10", "1.5", "interval", ErrorCode.INVALID_FIELD),
    ],
)
def test_bad_runs_or_interval(runs: str, interval: str | None, field: str, code: ErrorCode) -> None:
    params = {**VALID["Default"], "quantity": "10", "runs": runs}
    if interval is not None:
        params["interval"] = interval
    exc = error("Default", params)
    assert exc.code is code and exc.values == {"field": field}


def test_interval_bounds_without_an_interval_list() -> None:
    base = {**VALID["Default"], "quantity": "10", "runs": "2"}
    assert read("Default", {**base, "interval": "1"}).interval == 1
    assert read("Default", {**base, "interval": "43200"}).interval == 43200


def test_interval_must_be_in_the_dialects_list_when_it_has_one() -> None:
    rules = OrderRules(intervals=(0, 15, 30, 60))
    base = {**VALID["Default"], "quantity": "10", "runs": "2"}
    assert read("Default", {**base, "interval": "15"}, rules=rules).interval == 15
    assert read("Default", {**base, "interval": "0"}, rules=rules).interval == 0
    exc = error("Default", {**base, "interval": "20"}, rules=rules)
    assert exc.code is ErrorCode.INVALID_FIELD and exc.values == {"field": "interval"}


# --- subscriptions ---------------------------------------------------------------------


def test_subscription_min_above_max_is_invalid() -> None:
    exc = error("Subscriptions", {**VALID["Subscriptions"], "min": "300", "max": "200"})
    assert exc.code is ErrorCode.INVALID_FIELD and exc.values == {"field": "max"}
    assert read("Subscriptions", {**VALID["Subscriptions"], "min": "200", "max": "200"}).details["min"] == 200


def test_subscription_min_and_max_within_the_service_limits() -> None:
    exc = error("Subscriptions", {**VALID["Subscriptions"], "min": "10"}, low=50)
    assert exc.code is ErrorCode.QUANTITY_BELOW_MIN and exc.values == {"min": 50}
    exc = error("Subscriptions", {**VALID["Subscriptions"], "max": "6000"}, high=5000)
    assert exc.code is ErrorCode.QUANTITY_ABOVE_MAX and exc.values == {"max": 5000}


STANDARD_DELAYS = [0, 5, 10, 15, 20, 30, 40, 50, 60, 90, 120, 150, 180, 210, 240, 270, 300, 360, 420, 480, 540, 600]


@pytest.mark.parametrize("delay", STANDARD_DELAYS)
def test_every_documented_delay_is_allowed(delay: int) -> None:
    assert read("Subscriptions", {**VALID["Subscriptions"], "delay": str(delay)}).details["delay"] == delay


@pytest.mark.parametrize("delay", ["7", "601", "-5", "x"])
def test_other_delays_are_invalid(delay: str) -> None:
    exc = error("Subscriptions", {**VALID["Subscriptions"], "delay": delay})
    assert exc.code is ErrorCode.INVALID_FIELD and exc.values == {"field": "delay"}


def test_delays_follow_the_rules_of_an_older_template() -> None:
    rules = OrderRules(delays=(0, 5, 10, 15, 30, 60, 90))
    exc = error("Subscriptions", {**VALID["Subscriptions"], "delay": "20"}, rules=rules)
    assert exc.values == {"field": "delay"}
    assert read("Subscriptions", {**VALID["Subscriptions"], "delay": "90"}, rules=rules).details["delay"] == 90


def test_subscription_posts_and_expiry() -> None:
    request = read(
        "Subscriptions", {**VALID["Subscriptions"], "posts": "10", "old_posts": "5", "expiry": "11/11/2022"}
    )
    assert request.quantity == 15
    assert request.details["expiry"] == "11/11/2022"
    assert request.expires_at == 1668124800.0  # typed: midnight UTC of 11 November 2022
    # posts=0 alone is "old posts only" (the panels' PHP example): the posts the panel finds, not unlimited.
    assert read("Subscriptions", {**VALID["Subscriptions"], "posts": "0"}).quantity == OLD_POSTS_FOUND
    assert read("Subscriptions", {k: v for k, v in VALID["Subscriptions"].items() if k != "posts"}).quantity == 0


@pytest.mark.parametrize("expiry", ["2022-11-11", "31/02/2022", "11/13/2022", "tomorrow"])
def test_expiry_must_be_d_m_Y(expiry: str) -> None:
    exc = error("Subscriptions", {**VALID["Subscriptions"], "expiry": expiry})
    assert exc.code is ErrorCode.INVALID_FIELD and exc.values == {"field": "expiry"}


def test_subscription_posts_must_be_integers() -> None:
    exc = error("Subscriptions", {**VALID["Subscriptions"], "old_posts": "five"})
    assert exc.values == {"field": "old_posts"}


# --- web traffic -----------------------------------------------------------------------


@pytest.mark.parametrize("traffic, needs", [("1", "google_keyword"), ("2", "referring_url")])
def test_web_traffic_needs_the_field_its_type_of_traffic_names(traffic: str, needs: str) -> None:
    params = {**VALID["Web Traffic"], "type_of_traffic": traffic}
    exc = error("Web Traffic", params)
    assert exc.code is ErrorCode.MISSING_FIELD and exc.values == {"field": needs}
    exc = error("Web Traffic", {**params, needs: "   "})
    assert exc.code is ErrorCode.MISSING_FIELD and exc.values == {"field": needs}
    request = read("Web Traffic", {**params, needs: "value"})
    assert request.details[needs] == "value"


def test_web_traffic_blank_referrer_needs_neither() -> None:
    request = read("Web Traffic", VALID["Web Traffic"])
    assert request.details == {"country": "US", "device": 5, "type_of_traffic": 3}


def test_service_type_lookup_by_name_or_slug() -> None:
    assert service_type("Custom Comments") is SERVICE_TYPES["Custom Comments"]
    assert service_type("custom_comments") is SERVICE_TYPES["Custom Comments"]
    with pytest.raises(ValueError, match="unknown service type 'Likes'; known types: Default, Package"):
        service_type("Likes")


def test_each_free_text_field_has_its_limit() -> None:
    rules = OrderRules()
    base = {**VALID["Web Traffic"], "type_of_traffic": "2"}
    url = "https://r.test/" + "a" * 1000  # past the one-line limit, within the link's
    assert read("Web Traffic", {**base, "referring_url": url}).details["referring_url"] == url
    long_url = "https://r.test/" + "a" * rules.max_link
    assert error("Web Traffic", {**base, "referring_url": long_url}).values == {"field": "referring_url"}
    assert error("Web Traffic", {**base, "country": "U" * (rules.max_text + 1)}).values == {"field": "country"}
    exc = error("Custom Comments", {**VALID["Custom Comments"], "comments": "c" * (rules.max_list_text + 1)})
    assert exc.values == {"field": "comments"}


@pytest.mark.parametrize("absent", ["undefined", "null", ""])
def test_lenient_optional_numbers_are_absent_unless_the_dialect_says_otherwise(absent: str) -> None:
    params = {**VALID["Default"], "runs": absent, "interval": absent}
    assert read("Default", params).runs is None
    strict = OrderRules(lenient_optional=False)
    if absent:
        assert error("Default", params, rules=strict).values == {"field": "runs"}
    assert error("Default", {**VALID["Default"], "runs": "3", "interval": absent}).values == {"field": "interval"}
    assert error("Default", {**VALID["Default"], "runs": "x"}).values == {"field": "runs"}


def test_an_order_request_is_a_frozen_value() -> None:
    # Built by its own __init__ (not the dataclass's): still frozen, compared and replaced by its fields.
    request = OrderRequest("https://x.test/1", 50)
    assert request == OrderRequest(link="https://x.test/1", quantity=50, runs=None, interval=None, details={})
    assert request.details == {} and request.details is not OrderRequest("y", 1).details
    assert dataclasses.replace(request, quantity=60).quantity == 60
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.link = "https://x.test/2"  # type: ignore[misc]


_GENERAL_WAY = OrderRules(type_fields={"Default": (("link", "quantity"), ("runs", "interval"))})  # the same lists


@pytest.mark.parametrize("fields", [
    {"link": "https://x.test/p", "quantity": "100"},
    {"link": "  https://x.test/p  ", "quantity": " +0100 "},
    {"quantity": "100"}, {"link": "", "quantity": "100"}, {"link": "   ", "quantity": "x"},
    {"link": "https://x.test/p"}, {"link": "https://x.test/p", "quantity": " "},
    {"link": "https://x.test/p", "quantity": "1.5"}, {"link": "https://x.test/p", "quantity": "-1"},
    {"link": "https://x.test/p", "quantity": "0"}, {"link": "https://x.test/p", "quantity": "10001"},
    {"link": "https://x.test/p", "quantity": "10" * 10}, {"link": "https://x.test/p", "quantity": "١٢"},
    {"link": "https://x.test/\x00", "quantity": "100"}, {"link": "https://x.test/\ud800", "quantity": "100"},
    {"link": "https://x.test/é", "quantity": "100"}, {"link": "x" * 2048, "quantity": "100"},
    {"link": "x" * 2049, "quantity": "x"}, {"link": "https://x.test/p", "quantity": "100", "interval": "5"},
    {"link": "https://x.test/p", "quantity": "100", "runs": "2", "interval": "5"},
])
def test_the_common_add_reads_as_the_general_way_reads_it(fields: dict[str, str]) -> None:
    """Default's link and quantity are read in one step (the request path); every answer, and every error
    in its order, is the general way's (a dialect with field lists of its own takes that way)."""
    def read(rules: OrderRules) -> OrderRequest | tuple[ErrorCode, dict[str, Any]]:
        try:
            return read_order_request(SERVICE_TYPES["Default"], fields, min_quantity=10, max_quantity=10000,
                                      dripfeed_allowed=True, rules=rules)
        except PanelError as exc:
            return exc.code, exc.values

    assert SERVICE_TYPES["Default"].plain
    assert not [t for t in SERVICE_TYPES.values() if t.plain and t.name != "Default"]
    assert read(OrderRules()) == read(_GENERAL_WAY)
