"""Shared fixtures for mockpanel's own tests."""

from __future__ import annotations

import os
from typing import Iterator

import pytest
import httpx
from hypothesis import settings

from mockpanel import MockPanel, Panel, ServerThread, VirtualClock, build_panel, create_app
from mockpanel._server.hub import HubServer
from mockpanel._server.inprocess import inprocess_client
from tests.helpers.common import HTTP, KEY

# Property tests judge behaviour, not speed: a 2-core CI machine running two workers can push one
# example past hypothesis's default 200 ms deadline, which would fail a correct test.
settings.register_profile("mockpanel", deadline=None)
# On CI the same examples every run (derandomize: a seed from each test's own code), so a rare example
# fails a developer's run, where it can be looked into, and never a submission out of the blue.
settings.register_profile("ci", parent=settings.get_profile("mockpanel"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "mockpanel")

@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(speed=0, start=1_700_000_000)


@pytest.fixture
def panel(clock: VirtualClock) -> Panel:
    panel = build_panel(clock=clock, seed=1)
    panel.create_account(KEY, balance="100")
    return panel


@pytest.fixture
def client(panel: Panel) -> Iterator[httpx.Client]:
    """In-process httpx client over the ASGI app (frozen clock, funded KEY)."""
    with inprocess_client(create_app(panel)) as c:
        yield c


@pytest.fixture
def live(panel: Panel) -> Iterator[ServerThread]:
    """A real uvicorn server on a free loopback port serving ``panel``."""
    with ServerThread(create_app(panel)) as server:
        yield server


@pytest.fixture(scope="session", autouse=True)
def _close_shared_http() -> Iterator[None]:
    yield
    HTTP.close()


@pytest.fixture(scope="module")
def hub() -> Iterator[HubServer]:
    """One real server for the module; each test gets its own panel on it (a MockPanel)."""
    with HubServer() as server:
        yield server


@pytest.fixture
def mock(hub: HubServer) -> Iterator[MockPanel]:
    mock = MockPanel(hub, key=KEY, seed=1)
    yield mock
    mock.close()
