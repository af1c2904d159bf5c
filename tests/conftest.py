"""Shared fixtures for mockpanel's own tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from contextlib import contextmanager
from typing import Iterator

import pytest
import httpx
from hypothesis import settings

from mockpanel import MockPanel, Panel, ServerThread, VirtualClock, build_panel, create_app
from mockpanel._server.hub import HubServer
from mockpanel._server.inprocess import inprocess_client
from mockpanel._server.serving import http_path

# Property tests judge behaviour, not speed: a 2-core CI machine running two workers can push one
# example past hypothesis's default 200 ms deadline, which would fail a correct test.
settings.register_profile("mockpanel", deadline=None)
settings.load_profile("mockpanel")

KEY = "test-key-1"

# The two ways a server serves HTTP (_server/serving.py), for tests that run on both: the direct path
# only where this process's uvicorn and httptools pass its start-up check (.ci/floors runs the
# suite on releases where they do not).
DIRECT = http_path().direct
ON_DIRECT = pytest.mark.skipif(not DIRECT, reason=f"this process serves by {http_path()}")
PATHS = [pytest.param(True, id="direct", marks=ON_DIRECT), pytest.param(False, id="public")]


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


# Shared by the tests that talk to a hub: making an httpx.Client costs ~90 ms (its TLS context).
HTTP = httpx.Client(timeout=5)


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


@contextmanager
def serving(*args: str) -> Iterator[str]:
    """``mockpanel serve --port 0 ARGS`` in a subprocess; yields its origin (http://host:port)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockpanel._cli", "serve", "--port", "0", "--speed", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        origin = None
        deadline = time.monotonic() + 20
        while origin is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            match = re.search(r"API: (http://[^/\s]+)", line)
            origin = match.group(1) if match else None
            if not line and proc.poll() is not None:
                break
        assert origin, "mockpanel serve did not print its API URL"
        for _ in range(200):  # the banner comes just before uvicorn serves
            try:
                HTTP.get(origin + "/")
                break
            except httpx.ConnectError:
                time.sleep(0.02)
        yield origin
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        proc.stdout.close()
