"""What mockpanel's own tests share that is not a fixture: the test key, the two HTTP paths, one shared
httpx client, and ``mockpanel serve`` in a subprocess. Fixtures are in tests/conftest.py."""

from __future__ import annotations

import os
import shlex
import socket
import re
import subprocess
import sys
import time
from contextlib import contextmanager
from typing import Iterator

import httpx
import pytest

from mockpanel._server.serving import http_path

KEY = "test-key-1"

# The two ways a server serves HTTP (_server/serving.py), for tests that run on both: the direct path
# only where this process's uvicorn and httptools pass its start-up check (.ci/floors runs the
# suite on releases where they do not).
DIRECT = http_path().direct
ON_DIRECT = pytest.mark.skipif(not DIRECT, reason=f"this process serves by {http_path()}")
PATHS = [pytest.param(True, id="direct", marks=ON_DIRECT), pytest.param(False, id="public")]


# Shared by the tests that talk to a hub: making an httpx.Client costs ~90 ms (its TLS context).
HTTP = httpx.Client(timeout=5)


@contextmanager
def serving(*args: str) -> Iterator[str]:
    """``mockpanel serve --port 0 ARGS`` in a subprocess; yields its origin (http://host:port)."""
    with serving_process(*args) as (origin, _):
        yield origin


@contextmanager
def serving_process(*args: str, env: dict[str, str] | None = None) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``serving``, yielding the process too (its memory, its output); ``env``: more environment."""
    command = [sys.executable, "-m", "mockpanel", "serve", "--port", "0", "--speed", "0", *args]
    with serving_command(command, {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}) as served:
        yield served


@contextmanager
def serving_command(command: list[str], env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``command`` (``mockpanel serve`` or ``proxy``) in a subprocess with exactly ``env``; yields the loopback origin it
    answers on (a server bound to 0.0.0.0 is reached through 127.0.0.1) and the process."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    assert proc.stdout is not None
    try:
        origin, seen = None, []
        deadline = time.monotonic() + 30
        while origin is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            seen.append(line)
            match = re.search(r"(?:^API|^mockpanel proxy): http://([^/\s]+):(\d+)/", line)
            if match:
                host = "127.0.0.1" if match.group(1) in ("0.0.0.0", "127.0.0.1") else match.group(1)
                origin = f"http://{host}:{match.group(2)}"
            if not line and proc.poll() is not None:
                break
        assert origin, f"{shlex.join(command)} did not print its API URL:\n{''.join(seen)}"
        for _ in range(250):  # the banner comes just before uvicorn serves
            try:
                httpx.get(origin + "/_mock/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.02)
        yield origin, proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        proc.stdout.close()


class NoServe:
    """``serving.server`` stand-in: ``serve`` runs up to the point of serving, then returns."""

    def __init__(self, config: object) -> None:
        pass

    def run(self, sockets: list[socket.socket]) -> None:
        for s in sockets:
            s.close()
