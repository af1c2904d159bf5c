"""One virtual clock drives everything: order lifecycles, refills, the journal."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator


class VirtualClock:
    """Virtual time = an anchor + real time elapsed since the anchor x speed.

    ``speed`` 1 follows real time, 60 makes an hour pass in a minute, 0 freezes the
    clock. ``advance`` jumps forward. The clock never moves backwards.
    """

    def __init__(
        self,
        *,
        speed: float = 1.0,
        start: float | None = None,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._timer = timer
        self._lock = threading.Lock()
        self._pins = threading.local()
        self._pinned = 0  # threads holding a pin now: none, the usual case, is one test in now()
        self._speed = _check_speed(speed)
        self._anchor_real = timer()
        self._anchor_virtual = time.time() if start is None else float(start)

    @property
    def speed(self) -> float:
        """Virtual seconds per real second (0: frozen)."""
        return self._speed

    @property
    def frozen(self) -> bool:
        """True while the clock does not move by itself (speed 0)."""
        return self._speed == 0

    def now(self) -> float:
        """Virtual seconds since the Unix epoch."""
        if self._pinned:
            pinned: float | None = getattr(self._pins, "at", None)
            if pinned is not None:
                return pinned
        return self._anchor_virtual + (self._timer() - self._anchor_real) * self._speed

    @contextmanager
    def pinned(self) -> Iterator[float]:
        """Within the block, this thread reads one instant: an operation happens at one time.

        State files record that instant, and replaying the operation at it gives the same result.
        """
        if getattr(self._pins, "at", None) is not None:
            yield self._pins.at  # already pinned by an outer operation
            return
        self._pins.at = self.now()
        with self._lock:
            self._pinned += 1
        try:
            yield self._pins.at
        finally:
            self._pins.at = None
            with self._lock:
                self._pinned -= 1

    @contextmanager
    def pinned_at(self, at: float) -> Iterator[None]:
        """Within the block, this thread reads ``at``: a state file replays an operation at the
        instant it ran."""
        outer = getattr(self._pins, "at", None)
        self._pins.at = at
        with self._lock:
            self._pinned += 1
        try:
            yield
        finally:
            self._pins.at = outer
            with self._lock:
                self._pinned -= 1

    def advance(
        self, seconds: float = 0, minutes: float = 0, hours: float = 0, days: float = 0
    ) -> float:
        """Move the clock forward; returns the new virtual time."""
        delta = float(seconds) + 60 * float(minutes) + 3600 * float(hours) + 86400 * float(days)
        if not delta >= 0 or delta == float("inf"):
            raise ValueError(
                f"advance() takes a finite, non-negative duration, got {delta!r} seconds: "
                "the clock never moves backwards."
            )
        with self._lock:
            self._anchor_virtual += delta
            return self.now()

    def set_speed(self, speed: float) -> None:
        """Change the speed from now on; time already passed is kept."""
        speed = _check_speed(speed)
        with self._lock:
            real = self._timer()
            self._anchor_virtual += (real - self._anchor_real) * self._speed
            self._anchor_real = real
            self._speed = speed

    def freeze(self) -> None:
        """Stop the clock where it is: only ``advance`` moves it then."""
        self.set_speed(0)

    def start_over_at(self, virtual: float) -> None:
        """Put a clock that nothing has used yet at ``virtual`` (to replay a saved past)."""
        with self._lock:
            self._anchor_virtual = float(virtual)
            self._anchor_real = self._timer()

    def set_time(self, virtual: float) -> None:
        """Jump to a later virtual time (used when loading saved state)."""
        with self._lock:
            current = self.now()
            virtual = float(virtual)
            if not -float("inf") < virtual < float("inf"):  # NaN would poison every later now()
                raise ValueError(f"set_time() takes a finite time in seconds, got {virtual!r}")
            if virtual < current:
                raise ValueError(
                    f"set_time({virtual}) is before the clock's current time {current}: "
                    "the clock never moves backwards."
                )
            self._anchor_virtual += virtual - current


def _check_speed(speed: float) -> float:
    speed = float(speed)
    if not (0 <= speed < float("inf")):
        raise ValueError(
            f"speed must be a finite number >= 0 (0 freezes the clock), got {speed!r}"
        )
    return speed
