"""Starting, watching and stopping the benchmark's server processes (by their pid only)."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    name: str
    args: list[str]
    process: subprocess.Popen[str] | None = None
    info: dict[str, Any] = field(default_factory=dict)
    log: Path | None = None
    _ready: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.info['port']}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, loop: str, log_dir: Path) -> None:
        self.log = log_dir / f"{self.name}.log"
        cmd = [sys.executable, "-m", "bench.serve", "--loop", loop, *self.args]
        self.process = subprocess.Popen(
            cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=self.log.open("w"), text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:  # also drains the pipe for the server's lifetime
            if line.startswith("BENCH_READY "):
                self.info = json.loads(line[len("BENCH_READY "):])
                self._ready.set()

    def wait_ready(self, deadline: float) -> None:
        assert self.process is not None
        while not self._ready.wait(0.1):
            if self.process.poll() is not None:
                raise RuntimeError(f"benchmark server {self.name} exited ({self.process.returncode}):\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"benchmark server {self.name} was not ready in time:\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        if self.log is None or not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far."""
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def rss(self) -> int:
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def live_info(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url + "/bench/info", timeout=10) as response:
            return json.loads(response.read())

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # uvicorn shuts down gracefully
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)


class Fleet:
    """All servers of one run: started together, stopped together (context manager)."""

    def __init__(self, servers: list[Server], loop: str, ready_timeout: float) -> None:
        self.servers = {s.name: s for s in servers}
        self.loop = loop
        self.ready_timeout = ready_timeout
        self._tmp = tempfile.TemporaryDirectory(prefix="mockpanel-bench-")

    def __enter__(self) -> Fleet:
        try:
            for server in self.servers.values():
                server.start(self.loop, Path(self._tmp.name))
            deadline = time.monotonic() + self.ready_timeout
            for server in self.servers.values():
                server.wait_ready(deadline)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self.servers.values():
            server.stop()
        self._tmp.cleanup()

    def __getitem__(self, name: str) -> Server:
        return self.servers[name]


def machine_cpu() -> tuple[float, float]:
    """(busy, steal) CPU-seconds of the whole machine so far, from /proc/stat.

    busy = user + nice + system + irq + softirq; steal is what the hypervisor took.
    """
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    steal = fields[7] if len(fields) > 7 else 0
    return (user + nice + system + irq + softirq) / CLOCK_TICKS, steal / CLOCK_TICKS


def loadgen_cpu() -> float:
    """CPU-seconds used so far by this process and its finished children (wrk, py-spy)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
