"""One virtual clock drives everything: order lifecycles, refills, the journal."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator, Protocol


class ClockGuard(Protocol):
    """Asked before the clock shows a reading or moves (a state file's: _persistence/clock.py).

    The one way to make time durable without knowing how the clock keeps it."""

    def reading(self, at: float) -> float:
        """What to show for the reading ``at``: ``at``, or an earlier time the guard holds the clock at."""

    def moving(self, at: float, speed: float) -> None:
        """Before a move: from now on the clock reads ``at``, then runs at ``speed``; raise to refuse it."""


class VirtualClock:
    """Virtual time = an anchor + real time elapsed since the anchor x speed.

    ``speed`` 1 follows real time, 60 makes an hour pass in a minute, 0 freezes the
    clock. ``advance`` jumps forward. The clock never moves backwards. A guard
    (``set_guard``) sees every reading and every move first.
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
        self._guard: ClockGuard | None = None

    @property
    def speed(self) -> float:
        """Virtual seconds per real second (0: frozen)."""
        return self._speed

    @property
    def frozen(self) -> bool:
        """True while the clock does not move by itself (speed 0)."""
        return self._speed == 0

    def set_guard(self, guard: ClockGuard | None) -> None:
        """Show every reading to ``guard``, and tell it of every move first (None: no guard)."""
        self._guard = guard

    def now(self) -> float:
        """Virtual seconds since the Unix epoch."""
        if self._pinned:
            pinned: float | None = getattr(self._pins, "at", None)
            if pinned is not None:
                return pinned  # read through the guard when it was pinned, or replayed from a file
        at = self._anchor_virtual + (self._timer() - self._anchor_real) * self._speed
        guard = self._guard
        return at if guard is None else guard.reading(at)

    def natural(self) -> float:
        """The clock's own time: not pinned, and not held back by its guard."""
        with self._lock:
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
        return self.move(float(seconds) + 60 * float(minutes) + 3600 * float(hours) + 86400 * float(days))

    def set_speed(self, speed: float) -> None:
        """Change the speed from now on; time already passed is kept."""
        self.move(speed=speed)

    def move(self, seconds: float = 0.0, speed: float | None = None) -> float:
        """Jump ``seconds`` forward and change the speed (None: keep it), as one move; returns the new time.

        Both are checked, and the guard asked once, before either happens: a refused move moves nothing."""
        delta = float(seconds)
        if not delta >= 0 or delta == float("inf"):
            raise ValueError(
                f"advance() takes a finite, non-negative duration, got {delta!r} seconds: "
                "the clock never moves backwards."
            )
        new_speed = None if speed is None else _check_speed(speed)
        guard = self._guard
        if guard is not None:  # outside the lock: the guard may write a file
            guard.moving(self.natural() + delta, self._speed if new_speed is None else new_speed)
        with self._lock:
            if new_speed is not None:  # time passed so far is kept at the old speed
                real = self._timer()
                self._anchor_virtual += (real - self._anchor_real) * self._speed
                self._anchor_real = real
                self._speed = new_speed
            self._anchor_virtual += delta
        return self.now()

    def freeze(self) -> None:
        """Stop the clock where it is: only ``advance`` moves it then."""
        self.set_speed(0)

    @contextmanager
    def held(self) -> Iterator[None]:
        """Whatever the block does to the clock, it comes back as it was (its time and speed)."""
        with self._lock:
            saved = (self._anchor_real, self._anchor_virtual, self._speed)
        try:
            yield
        finally:
            with self._lock:
                self._anchor_real, self._anchor_virtual, self._speed = saved

    def start_over_at(self, virtual: float) -> None:
        """Put a clock that nothing has used yet at ``virtual`` (to replay a saved past)."""
        with self._lock:
            self._anchor_virtual = float(virtual)
            self._anchor_real = self._timer()

    def set_time(self, virtual: float) -> None:
        """Jump to a later virtual time (used when loading saved state)."""
        virtual = float(virtual)
        if not -float("inf") < virtual < float("inf"):  # NaN would poison every later now()
            raise ValueError(f"set_time() takes a finite time in seconds, got {virtual!r}")
        current = self.now()
        if virtual < current:
            raise ValueError(
                f"set_time({virtual}) is before the clock's current time {current}: "
                "the clock never moves backwards."
            )
        self.move(max(0.0, virtual - self.natural()))


def _check_speed(speed: float) -> float:
    speed = float(speed)
    if not (0 <= speed < float("inf")):
        raise ValueError(
            f"speed must be a finite number >= 0 (0 freezes the clock), got {speed!r}"
        )
    return speed
