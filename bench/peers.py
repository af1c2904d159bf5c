"""The peers: a WireMock standalone stub answering what the bare endpoint answers.

WireMock is what a client developer reaches for when a stub is enough, so the mock
must not be slower than it. It runs as its own JVM (``java -jar``, the jar that the
npm package ``wiremock`` ships), on loopback, with one mapping: the same form POST of
``action=balance`` to ``/api/v2`` gets the bare endpoint's constant JSON. Two
processes: its request journal on (WireMock's default) and off
(``--no-request-journal``). WireMock's journal keeps every request for the process's
lifetime; here that lifetime is one bounded bench run.

Install the jar once, outside the repository:
``npm install --prefix ~/.cache/mockpanel-bench wiremock``
(or point ``MOCKPANEL_BENCH_WIREMOCK_JAR`` at a standalone jar).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .apps import CONSTANT
from .servers import Server

CACHE = Path(os.environ.get("MOCKPANEL_BENCH_CACHE", Path.home() / ".cache" / "mockpanel-bench"))
INSTALL = f"npm install --prefix {CACHE} wiremock"
# WireMock's own defaults otherwise: what a user who starts the standalone jar gets.
WIREMOCK_FLAGS = ("--bind-address", "127.0.0.1", "--disable-banner")


def wiremock_jar() -> Path | None:
    """The standalone jar: ``MOCKPANEL_BENCH_WIREMOCK_JAR``, or the newest in the npm cache."""
    explicit = os.environ.get("MOCKPANEL_BENCH_WIREMOCK_JAR")
    if explicit:
        return Path(explicit) if Path(explicit).is_file() else None
    build = CACHE / "node_modules" / "wiremock" / "build"
    jars = sorted(build.glob("wiremock-standalone-*.jar"), key=lambda p: p.stat().st_mtime)
    return jars[-1] if jars else None


def wiremock_missing() -> str | None:
    """Why WireMock cannot run here (None when it can)."""
    if shutil.which("java") is None:
        return "java is not installed (apt-get install default-jre-headless)"
    if wiremock_jar() is None:
        where = os.environ.get("MOCKPANEL_BENCH_WIREMOCK_JAR") or str(CACHE / "node_modules/wiremock/build")
        return f"no WireMock standalone jar in {where}; install it with: {INSTALL}"
    return None


def stub_mapping() -> dict[str, Any]:
    """The stub: the bare endpoint's answer for a form POST of action=balance."""
    return {
        "request": {"method": "POST", "urlPath": "/api/v2", "bodyPatterns": [{"contains": "action=balance"}]},
        "response": {"status": 200, "body": CONSTANT.decode(), "headers": {"Content-Type": "application/json", "Content-Length": str(len(CONSTANT))}},
    }


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class WireMock(Server):
    """A WireMock standalone JVM, started and stopped like the other servers (by pid)."""

    journal: bool = True
    binds: int = 0  # attempts so far: the free port may be taken before the JVM binds it
    _log_dir: Path = field(default=Path("."), repr=False)

    def start(self, loop: str, log_dir: Path) -> None:  # loop: a Python setting, not WireMock's
        jar = wiremock_jar()
        if jar is None:
            raise RuntimeError(wiremock_missing() or "no WireMock jar")
        self.binds += 1
        self._log_dir = log_dir
        root = log_dir / self.name
        (root / "mappings").mkdir(parents=True, exist_ok=True)
        (root / "mappings" / "balance.json").write_text(json.dumps(stub_mapping()))
        port = free_port()
        self.log = log_dir / f"{self.name}.log"
        cmd = ["java", "-jar", str(jar), "--port", str(port), "--root-dir", str(root), *WIREMOCK_FLAGS, *self.args]
        if not self.journal:
            cmd.append("--no-request-journal")
        with self.log.open("w") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(  # type: ignore[assignment]
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        self.info = {"app": "wiremock", "port": port, "journal": self.journal, "jar": jar.name}

    def wait_ready(self, deadline: float) -> None:
        assert self.process is not None
        while True:
            if self.process.poll() is not None:
                if "Failed to bind" in self.log_tail() and self.binds < 3:
                    self.start("", self._log_dir)  # another process took the port first: another one
                    continue
                raise RuntimeError(f"WireMock ({self.name}) exited ({self.process.returncode}):\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/__admin/mappings", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"WireMock ({self.name}) was not ready in time:\n{self.log_tail()}")
            time.sleep(0.2)

    def live_info(self) -> dict[str, Any]:
        return {**self.info, "rss": self.rss(), "gc": None}


def versions() -> dict[str, str | None]:
    """The java and WireMock that the peers ran on, for the report's header."""
    java = None
    if shutil.which("java"):
        done = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=20, check=False)
        java = (done.stderr or done.stdout).splitlines()[0].strip() if (done.stderr or done.stdout) else None
    jar = wiremock_jar()
    return {"java": java, "wiremock": jar.name if jar else None}


def wiremock_servers() -> list[WireMock]:
    return [WireMock("wiremock", [], journal=True), WireMock("wiremock-nojournal", [], journal=False)]
