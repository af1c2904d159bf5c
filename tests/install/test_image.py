"""The container image, built and run where a docker engine answers (``docker info``); skipped otherwise,
saying why. The base image is MOCKPANEL_DOCKER_BASE if set, else the official ``python:X.Y-slim`` of this
Python if the registry answers, else a Debian base made here with debootstrap (no registry needed). The
wheels are this checkout's (tests/helpers/install.py), so the base's Python must be this one's version.
With the vfs storage driver a build takes minutes: the test is marked slow."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from tests.helpers.install import DOCKERFILE, ROOT, built

pytestmark = pytest.mark.slow

DEBOOTSTRAPPED = "mockpanel-debootstrap:bookworm"  # Debian 12's python3 is 3.11
TOKEN = "image-test-token"


def _docker(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)


def _engine() -> None:
    if shutil.which("docker") is None:
        pytest.skip("no docker client on PATH: the image is not built here")
    info = _docker("info", "--format", "{{.ServerVersion}}", timeout=30)
    if info.returncode != 0:
        reason = (info.stderr.strip().splitlines() or ["no answer"])[-1]
        pytest.skip(f"no docker engine answers (docker info: {reason}): the image is not built here")


def _python_of(image: str) -> str:
    done = _docker("run", "--rm", "--network", "none", image, "python3", "-c",
                   "import sys; print('%d.%d' % sys.version_info[:2])")
    return done.stdout.strip() if done.returncode == 0 else ""


def _debootstrap() -> None:
    """A minimal Debian 12 with python3 and venv, from Debian's own packages, imported as an image."""
    if shutil.which("debootstrap") is None or os.geteuid() != 0:
        pytest.skip("the registry is not reachable and debootstrap (as root) is not available to make a base image")
    with tempfile.TemporaryDirectory(prefix="mockpanel-rootfs-") as rootfs:
        made = subprocess.run(["debootstrap", "--variant=minbase", "--include=python3,python3-venv", "bookworm", rootfs,
                               "http://deb.debian.org/debian"], capture_output=True, text=True, timeout=1200)
        if made.returncode != 0:
            pytest.skip(f"debootstrap could not make a base image: {(made.stderr or made.stdout).strip()[-300:]}")
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(["docker", "import", "-", DEBOOTSTRAPPED], stdin=tar.stdout, capture_output=True,
                                  text=True, timeout=600)
        tar.wait(60)
        assert imported.returncode == 0, imported.stderr


def _base() -> str:
    wanted = os.environ.get("MOCKPANEL_DOCKER_BASE")
    version = "%d.%d" % sys.version_info[:2]
    if wanted:
        return wanted
    official = f"python:{version}-slim"
    if _docker("image", "inspect", official).returncode == 0 or _docker("pull", "-q", official, timeout=300).returncode == 0:
        return official
    if _docker("image", "inspect", DEBOOTSTRAPPED).returncode != 0:
        _debootstrap()
    if _python_of(DEBOOTSTRAPPED) != version:
        pytest.skip(f"the debootstrapped base has Python {_python_of(DEBOOTSTRAPPED)}, these wheels are for {version}")
    return DEBOOTSTRAPPED


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    _engine()
    base = _base()
    tag = f"mockpanel-test:{os.getpid()}"
    with tempfile.TemporaryDirectory(prefix="mockpanel-image-") as context:
        shutil.copy2(DOCKERFILE, Path(context) / "Dockerfile")
        shutil.copy2(ROOT / ".dockerignore", Path(context) / ".dockerignore")
        shutil.copytree(built().wheels, Path(context) / "dist" / "wheels")
        done = _docker("build", "-q", "--network", "none", "--build-arg", f"BASE={base}", "-t", tag, context, timeout=1800)
        assert done.returncode == 0, done.stderr[-3000:]  # --network none: the build fetches nothing
    try:
        yield tag
    finally:
        _docker("rmi", "-f", tag)


def _wait(what: str, check: object, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {seconds:g} s")


def test_the_image_serves_the_host_and_reports_healthy(image: str) -> None:
    started = _docker("run", "-d", "-p", "127.0.0.1::8080", "-e", f"MOCKPANEL_ADMIN_TOKEN={TOKEN}", image)
    assert started.returncode == 0, started.stderr
    container = started.stdout.strip()
    try:
        port = _docker("port", container, "8080/tcp").stdout.split()[0].rsplit(":", 1)[1]
        origin = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            try:
                return httpx.get(origin + "/_mock/health", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        _wait("the container's server answering the host", answers, 60)
        assert httpx.get(origin + "/_mock/health", timeout=5).json()["status"] == "ok"
        if shutil.which("curl"):  # as the docs show it
            curl = subprocess.run(["curl", "-sS", "-d", "key=test-key&action=balance", origin + "/api/v2"],
                                  capture_output=True, text=True, timeout=30)
            assert curl.stdout == '{"balance":"1000.00000","currency":"USD"}', curl.stderr
        balance = httpx.post(origin + "/api/v2", data={"key": "test-key", "action": "balance"}, timeout=5)
        assert balance.json() == {"balance": "1000.00000", "currency": "USD"}
        # The host is not the container's loopback: the control API wants the admin token.
        assert httpx.get(origin + "/_mock/clock", timeout=5).status_code == 401
        assert httpx.get(origin + "/_mock/clock", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5).status_code == 200
        assert _docker("exec", container, "python3", "-c", "import os; print(os.getuid())").stdout.strip() == "10001"
        _wait("docker's HEALTHCHECK reporting healthy", lambda: _docker(
            "inspect", "--format", "{{.State.Health.Status}}", container).stdout.strip() == "healthy", 90)
    finally:
        logs = _docker("logs", container).stdout
        _docker("rm", "-f", container)
    assert "API: http://0.0.0.0:8080/api/v2" in logs
