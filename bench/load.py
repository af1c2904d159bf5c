"""Load generators: wrk (preferred) and a bounded Python fallback, with one interface.

Both keep ``connections`` keep-alive connections busy for ``duration`` seconds
(closed loop, like the baseline's ``wrk -t2 -c64 -d10s --latency``), rotate
pre-formatted urlencoded POST bodies, and count as an error every answer that is not
HTTP 200 or whose body contains ``"error"``: a fast wrong answer must not look fast.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

UNIQUE = "{n}"  # in a body: replaced by a token unique to each request (distinct links)


@dataclass(frozen=True)
class Workload:
    """What one config sends: POST bodies to rotate, to ``path`` on the server."""

    bodies: tuple[str, ...]
    path: str = "/api/v2"

    @property
    def unique(self) -> bool:
        return any(UNIQUE in b for b in self.bodies)


@dataclass
class Result:
    requests: int
    seconds: float
    errors: int  # non-200, '"error"' in the body, socket errors and timeouts
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    tool: str

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, float | int | str]:
        out = asdict(self)
        out["rps"] = round(self.rps, 1)
        return out


def wrk_path() -> str | None:
    return shutil.which("wrk")


class LoadError(RuntimeError):
    pass


# --- wrk -----------------------------------------------------------------------------

_WRK_SCRIPT = r"""
local bodies = {BODIES}
local unique = {UNIQUE}
local nonce = "{NONCE}"
local threads = {}
local started = 0

function setup(thread)
  started = started + 1
  thread:set("tid", started)
  table.insert(threads, thread)
end

function init(args)
  i = 0
  errors = 0
  reqs = {}
  local headers = {["Content-Type"] = "application/x-www-form-urlencoded"}
  for k, body in ipairs(bodies) do
    if unique then
      local a, b = string.find(body, "{n}", 1, true)
      reqs[k] = {string.sub(body, 1, a - 1), string.sub(body, b + 1)}
    else
      reqs[k] = wrk.format("POST", nil, headers, body)
    end
  end
  hdrs = headers
end

function request()
  i = i + 1
  local r = reqs[(i % #reqs) + 1]
  if unique then
    return wrk.format("POST", nil, hdrs, r[1] .. nonce .. "t" .. tid .. "n" .. i .. r[2])
  end
  return r
end

function response(status, headers, body)
  if status ~= 200 or string.find(body, '"error"', 1, true) then
    errors = errors + 1
  end
end

function done(summary, latency, requests)
  local e = 0
  for _, t in ipairs(threads) do e = e + t:get("errors") end
  local s = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"body_errors":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d}\n',
    summary.requests, summary.duration, e, s.connect, s.read, s.write, s.status, s.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max))
end
"""


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def wrk_script(workload: Workload, nonce: str) -> str:
    bodies = "{" + ",\n".join(_lua_string(b) for b in workload.bodies) + "}"
    return (
        _WRK_SCRIPT.replace("{BODIES}", bodies)
        .replace("{UNIQUE}", "true" if workload.unique else "false")
        .replace("{NONCE}", nonce)
    )


def run_wrk(
    url: str, workload: Workload, *, connections: int, duration: float, threads: int = 2, nonce: str = "r",
    cpus: set[int] | None = None,
) -> Result:
    """One wrk run; with ``cpus``, wrk runs on those CPUs only."""
    exe = wrk_path()
    if exe is None:
        raise LoadError("wrk is not installed (apt-get install wrk), use --loadgen python")
    seconds = max(1, round(duration))  # wrk takes whole seconds
    with tempfile.TemporaryDirectory(prefix="mockpanel-bench-") as tmp:
        script = Path(tmp) / "load.lua"
        script.write_text(wrk_script(workload, nonce))
        cmd = [
            exe, f"-t{min(threads, connections)}", f"-c{connections}", f"-d{seconds}s",
            "--timeout", "5s", "-s", str(script), url + workload.path,
        ]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30, check=False,
                                  preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)
        except subprocess.TimeoutExpired:
            raise LoadError(f"wrk did not finish within {seconds + 30} s") from None
    match = re.search(r"^BENCH_RESULT (\{.*\})$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or match is None:
        raise LoadError(f"wrk failed (exit {done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    r = json.loads(match.group(1))
    socket_errors = r["connect"] + r["read"] + r["write"] + r["timeout"]
    return Result(
        requests=r["requests"],
        seconds=r["duration_us"] / 1e6,
        errors=r["body_errors"] + socket_errors,
        p50_ms=r["p50"] / 1e3,
        p90_ms=r["p90"] / 1e3,
        p99_ms=r["p99"] / 1e3,
        p999_ms=r["p999"] / 1e3,
        max_ms=r["max"] / 1e3,
        tool="wrk",
    )


# --- the Python fallback ----------------------------------------------------------------

_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)


class _Connection(asyncio.Protocol):
    """One keep-alive connection sending a request as soon as the previous answer is in."""

    def __init__(self, load: _PyLoad, cid: int) -> None:
        self.load = load
        self.cid = cid
        self.buffer = bytearray()
        self.sent_at = 0.0
        self.count = 0
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._send()

    def _send(self) -> None:
        self.count += 1
        self.sent_at = time.perf_counter()
        self.transport.write(self.load.request(self.cid, self.count))  # type: ignore[union-attr]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return
        match = _CONTENT_LENGTH.search(self.buffer, 0, head_end + 2)
        if match is None:  # every answer here carries a length; anything else is broken
            self.load.errors += 1
            self.transport.close()  # type: ignore[union-attr]
            return
        end = head_end + 4 + int(match.group(1))
        if len(self.buffer) < end:
            return
        now = time.perf_counter()
        ok = self.buffer.startswith(b"HTTP/1.1 200") and b'"error"' not in self.buffer[head_end:end]
        del self.buffer[:end]
        self.load.record(now - self.sent_at, ok)
        if now < self.load.deadline:
            self._send()
        else:
            self.transport.close()  # type: ignore[union-attr]

    def connection_lost(self, exc: Exception | None) -> None:
        if time.perf_counter() < self.load.deadline:  # the server dropped us mid-run
            self.load.errors += 1
        if not self.closed.done():
            self.closed.set_result(None)


class _PyLoad:
    def __init__(self, host: str, path: str, workload: Workload, nonce: str) -> None:
        self.prefix = (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
        ).encode()
        self.workload = workload
        self.nonce = nonce
        self.fixed = [self._frame(b) for b in workload.bodies] if not workload.unique else []
        self.latencies: list[float] = []
        self.errors = 0
        self.deadline = 0.0

    def _frame(self, body: str) -> bytes:
        data = body.encode()
        return self.prefix + b"Content-Length: %d\r\n\r\n" % len(data) + data

    def request(self, cid: int, n: int) -> bytes:
        if self.fixed:
            return self.fixed[(cid * 7919 + n) % len(self.fixed)]
        body = self.workload.bodies[n % len(self.workload.bodies)]
        return self._frame(body.replace(UNIQUE, f"{self.nonce}c{cid}n{n}"))

    def record(self, seconds: float, ok: bool) -> None:
        self.latencies.append(seconds)
        if not ok:
            self.errors += 1


async def _drive(host: str, port: int, load: _PyLoad, connections: int, duration: float) -> float:
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    load.deadline = started + duration
    conns = []
    for cid in range(connections):
        _, proto = await loop.create_connection(lambda c=cid: _Connection(load, c), host, port)
        conns.append(proto)
    # Every connection stops by itself after the deadline; bound the wait anyway.
    await asyncio.wait_for(asyncio.gather(*(c.closed for c in conns)), timeout=duration + 10)
    return time.perf_counter() - started


def _percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def run_python(url: str, workload: Workload, *, connections: int, duration: float, nonce: str = "r") -> Result:
    match = re.fullmatch(r"http://([^:/]+):(\d+)", url)
    if match is None:
        raise LoadError(f"the Python load generator takes http://HOST:PORT, got {url}")
    host, port = match.group(1), int(match.group(2))
    load = _PyLoad(f"{host}:{port}", workload.path, workload, nonce)
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        runner = asyncio.run
    try:
        elapsed = runner(_drive(host, port, load, connections, duration))
    except (TimeoutError, OSError) as exc:
        raise LoadError(f"the Python load generator failed against {url}: {exc!r}") from None
    values = sorted(load.latencies)
    ms = [v * 1e3 for v in values]
    return Result(
        requests=len(values),
        seconds=elapsed,
        errors=load.errors,
        p50_ms=_percentile(ms, 50),
        p90_ms=_percentile(ms, 90),
        p99_ms=_percentile(ms, 99),
        p999_ms=_percentile(ms, 99.9),
        max_ms=ms[-1] if ms else 0.0,
        tool="python",
    )


def run_load(
    tool: str, url: str, workload: Workload, *, connections: int, duration: float, threads: int = 2, nonce: str = "r"
) -> Result:
    if tool == "wrk":
        return run_wrk(url, workload, connections=connections, duration=duration, threads=threads, nonce=nonce)
    return run_python(url, workload, connections=connections, duration=duration, nonce=nonce)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0
