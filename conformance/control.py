"""A mock's control API (/_mock/), when the panel has one: finding it, driving its clock,
making a second key, and what the run changed there (said at the end of the run).

Everything it answers is read within the session's limits; anything but the expected
shape counts as "no control API" or stops the run cleanly (StopRun), never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urlparse

from .profile import Dialect

from .session import Session, StopRun

ClockDriver = Callable[[float], None]


def control_root(url: str, dialect: Dialect) -> str:
    """Where the mock's /_mock/ control API would be, next to the API path."""
    base = url.rstrip("/")
    for path in sorted(dialect.endpoints, key=len, reverse=True):
        if base.endswith(path.rstrip("/")):
            return base[: len(base) - len(path.rstrip("/"))]
    parsed = urlparse(base)
    return f"{parsed.scheme}://{parsed.netloc}"


def discover_control(session: Session, root: str) -> bool:
    try:
        r = session.get(root + "/_mock/")
        data = r.json() if r.status_code == 200 else None
    except (StopRun, ValueError):
        return False
    return isinstance(data, dict) and "endpoints" in data


@dataclass
class MockChanges:
    """What the run changed on a mock through its control API: said at the end of the run."""

    clock: float = 0.0  # seconds the clock was moved
    keys: list[str] = field(default_factory=list)  # redacted

    def line(self) -> str | None:
        if not self.clock and not self.keys:
            return None
        parts = []
        if self.clock:
            parts.append(f"moved its clock {duration_text(self.clock)} forward")
        if self.keys:
            parts.append(f"added {len(self.keys)} key(s) ({', '.join(self.keys)})")
        return "this run changed the mock: " + " and ".join(parts)


def duration_text(seconds: float) -> str:
    if seconds >= 86400:
        return f"by {seconds / 86400:.1f} days ({seconds:g} s)"
    if seconds >= 3600:
        return f"by {seconds / 3600:.1f} h ({seconds:g} s)"
    return f"by {seconds:g} s"


def control_clock(session: Session, root: str, changes: MockChanges | None = None) -> ClockDriver:
    def advance(seconds: float) -> None:
        r = session.post_json(root + "/_mock/clock", {"advance": seconds})
        if not 200 <= r.status_code < 300:
            text = session.redactor(r.text[:100])
            raise StopRun(f"the mock's control API refused to advance the clock: HTTP {r.status_code} {text}")
        if changes is not None:
            changes.clock += seconds

    return advance


def control_key(session: Session, root: str) -> str | None:
    """A second key (balance 0) made by the mock's control API; None if it answers anything else."""
    made = session.post_json(root + "/_mock/keys", {"balance": "0"})
    try:
        data = made.json() if made.status_code in (200, 201) else None
    except ValueError:
        return None
    key = data.get("key") if isinstance(data, dict) else None
    return key if isinstance(key, str) and key.strip() and len(key) <= 512 else None
