"""Tests are isolated from each other: defaults, dialect profiles and panel URLs (docs/pytest.md)."""

from __future__ import annotations

import dataclasses
import re

import httpx
import pytest

from mockpanel._dialects.profile import load_dialect
from mockpanel._domain.errors import ErrorCode
from mockpanel._domain.lifecycle import Status
from mockpanel._server.hub import HubServer
from mockpanel._testing import MockPanel, mock_panel

pytest_plugins = ["pytester"]

QUIET = ("-p", "no:randomly", "-p", "no:cacheprovider", "-p", "no:benchmark")

MUTATE_DEFAULTS = """
import pytest

def test_a_writes_into_the_defaults(mockpanel_defaults, mockpanel_factory):
    mockpanel_defaults["balance"] = "1"
    mockpanel_defaults["dialect"] = "smartpanel-v1"
    del mockpanel_defaults["seed"]
    assert mockpanel_factory(seed=0).balance() == 1  # this test does see what it wrote
    mockpanel_defaults["surprise"] = True

def test_b_sees_the_defaults_as_they_were(mockpanel_defaults, mockpanel):
    assert "surprise" not in mockpanel_defaults and mockpanel_defaults["seed"] == %(seed)s
    assert mockpanel_defaults["balance"] == "%(balance)s" and mockpanel.balance() == %(balance)s
    assert mockpanel.url.endswith("/api/v2") and mockpanel.dialect.name == "standard"
"""


def test_a_test_that_writes_into_mockpanel_defaults_does_not_change_the_next_test_s(pytester):
    pytester.makepyfile(MUTATE_DEFAULTS % {"seed": 0, "balance": 100})
    pytester.runpytest(*QUIET).assert_outcomes(passed=2)


def test_a_conftest_s_session_override_is_kept_apart_too(pytester):
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture(scope="session")
        def mockpanel_defaults(mockpanel_defaults):
            return {**mockpanel_defaults, "balance": "9", "seed": 7}
        """
    )
    pytester.makepyfile(MUTATE_DEFAULTS % {"seed": 7, "balance": 9})
    pytester.runpytest(*QUIET).assert_outcomes(passed=2)


def test_a_dialect_cannot_be_changed():
    dialect = load_dialect("smartpanel-v1")
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'name'"):
        dialect.name = "other"  # type: ignore[misc]
    writes = [
        lambda: dialect.statuses.__setitem__(Status.COMPLETED, "Done"),  # type: ignore[attr-defined]
        lambda: dialect.errors.__setitem__(ErrorCode.INVALID_KEY, "ok"),  # type: ignore[attr-defined]
        lambda: dialect.service_fields.pop("rate"),  # type: ignore[attr-defined]
        lambda: dialect.raw["batch"].__setitem__("limit", 1),
        lambda: dialect.raw["endpoints"].append("/x"),
        lambda: dialect.family.money.__setitem__("balance", ("number", 2)),  # type: ignore[attr-defined]
    ]
    for write in writes:
        with pytest.raises((TypeError, AttributeError), match="mappingproxy|tuple"):
            write()
    assert load_dialect("smartpanel-v1") == dialect  # and nothing was changed


def test_the_dialect_every_panel_shares_is_the_same_unchangeable_object():
    with HubServer() as server:
        first, second = MockPanel(server), MockPanel(server)
        assert first.dialect is second.dialect  # one cached profile: why it must be read-only
        with pytest.raises(TypeError, match="does not support item assignment"):
            first.dialect.statuses[Status.COMPLETED] = "Done"  # type: ignore[index]
        with second.client() as http:  # answers built from frozen profile values are still plain JSON
            assert http.post("", data={"key": second.key, "action": "balance"}).json() == {
                "balance": "100.00000", "currency": "USD"}


def test_a_panel_s_url_is_not_guessable_from_another_s():
    with HubServer() as server:
        panels = [MockPanel(server) for _ in range(5)]
        ids = [p.prefix.removeprefix("/p/") for p in panels]
        assert len(set(ids)) == len(ids)
        assert all(re.fullmatch(r"[0-9a-f]{24}", i) for i in ids), ids  # 96 random bits, not a counter
        with httpx.Client(timeout=10) as http:
            assert http.post(panels[0].url, data={"key": panels[0].key, "action": "balance"}).status_code == 200
            for n in range(0, 12):  # counting finds none of them
                assert http.post(f"{server.url}/p/{n}/api/v2", data={"key": panels[0].key, "action": "balance"}).status_code == 404


def test_mock_panels_on_their_own_hubs_get_different_ids():
    with mock_panel() as a, mock_panel() as b:
        assert a.prefix != b.prefix
