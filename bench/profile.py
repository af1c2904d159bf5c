"""Sampling a benchmark server with py-spy while it is under load (``--profile``)."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Iterator

_FRAME = re.compile(r"^(?P<fn>.*?) \((?P<file>[^():]*?)(?::\d+)?\)$")


class Recorder:
    def __init__(self, process: subprocess.Popen[bytes], seconds: float) -> None:
        self.process = process
        self.seconds = seconds

    def finish(self) -> bool:
        try:
            return self.process.wait(self.seconds + 30) == 0
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            return False


def record(pid: int, seconds: float, out: Path, rate: int = 250) -> Recorder | None:
    """Start py-spy on ``pid`` for ``seconds``; collapsed stacks go to ``out``."""
    exe = shutil.which("py-spy")
    if exe is None:
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [exe, "record", "-p", str(pid), "-d", str(max(1, round(seconds))), "-r", str(rate),
           "-f", "raw", "-o", str(out)]
    return Recorder(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), seconds)


def _name(frame: str) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    file = match.group("file")
    short = "/".join(Path(file).parts[-2:]) if file else ""
    return f"{match.group('fn')} ({short})"


def _samples(path: Path) -> Iterator[tuple[list[str], int]]:
    """Each stack of a collapsed-stacks file (outermost frame first) with its sample count."""
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if count.isdigit():
            yield stack.split(";"), int(count)


def _shares(counts: Counter[str], total: int, limit: int | None = None) -> list[tuple[str, float]]:
    return [(name, n / total) for name, n in counts.most_common(limit)] if total else []


def top_functions(path: Path, limit: int = 25) -> list[tuple[str, float]]:
    """Functions by inclusive share of samples (each counted once per stack)."""
    inclusive: Counter[str] = Counter()
    total = 0
    for frames, n in _samples(path):
        total += n
        for name in {_name(f) for f in frames}:
            inclusive[name] += n
    return _shares(inclusive, total, limit)


def self_functions(path: Path, limit: int = 25) -> list[tuple[str, float]]:
    """Functions by self share of samples (the innermost frame)."""
    own: Counter[str] = Counter()
    total = 0
    for frames, n in _samples(path):
        total += n
        own[_name(frames[-1])] += n
    return _shares(own, total, limit)


# Where each sample's time goes, by the piece of work the lean request path changes. A sample
# belongs to the innermost frame that one of these rules claims (first rule that matches
# wins): the groups are disjoint, so their shares add up to 100 %.
GROUPS: tuple[tuple[str, str, str], ...] = (
    # (group, file suffix, function prefix; "" = any)
    ("key digest", "_domain/accounts.py", "key_"),
    ("journal record", "_powers/journal.py", ""),
    ("form parser", "_endpoint/params.py", "urlencoded_fields"),
    ("form parser", "urllib/parse.py", ""),
    ("JSON encode", "_dialects/render.py", "encode"),
    ("render", "_dialects/render.py", ""),
    ("render", "<status renderer", ""),
    ("domain", "mockpanel/_domain/", ""),
    ("dispatch, ids", "_endpoint/actions.py", ""),
    ("dispatch, ids", "_dialects/parse.py", ""),
    ("fault check", "_powers/faults.py", ""),
    ("uvicorn send (socket write)", "http/httptools_impl.py", "RequestResponseCycle.send"),
    ("hot path", "_server/hotpath.py", ""),
    # mockpanel's HTTP protocol: its checks, and the direct answer's socket write (_server/protocol.py)
    ("mockpanel protocol (checks, socket write)", "_server/protocol.py", ""),
    ("mock ASGI layers", "_server/app.py", ""),
    ("mock ASGI layers", "_endpoint/api.py", ""),
    ("mock ASGI layers", "_server/hub.py", ""),
    ("Starlette (bare's app)", "starlette/", ""),
    ("Starlette (bare's app)", "bench/apps.py", "bare_app"),
    ("uvicorn, httptools, event loop", "uvicorn/", ""),
    ("uvicorn, httptools, event loop", "asyncio/", ""),
    ("uvicorn, httptools, event loop", "uvloop", ""),
)


def _group(frame: str) -> str | None:
    match = _FRAME.match(frame)
    fn, file = (match.group("fn"), match.group("file")) if match else (frame, "")
    where = file or fn
    for group, suffix, prefix in GROUPS:
        if (suffix in where or suffix in fn) and fn.startswith(prefix):
            return group
    return None


def by_group(path: Path) -> list[tuple[str, float]]:
    """Share of samples of each group of GROUPS (and ``other``), largest first."""
    shares: Counter[str] = Counter()
    total = 0
    for frames, n in _samples(path):
        total += n
        shares[next((g for g in map(_group, reversed(frames)) if g is not None), "other")] += n
    return _shares(shares, total)
