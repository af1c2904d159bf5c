"""Durable time: a clock whose every reading is committed to the state file before it is shown.

The state file keeps a *horizon*: a virtual time no reading has passed. A reading past
it first commits a new horizon a little ahead (``LEASE`` real seconds at the clock's
speed), so a running clock costs one small commit a second while it is read, and
none while nobody reads it. After a ``kill -9`` the clock resumes at the horizon:
never before anything answered, at most a lease ahead of it. Should the commit fail,
the clock stops at the horizon rather than show a time a restart could take back.

``Horizon`` is the clock's guard (``VirtualClock.set_guard``): the clock stays the one
object that fixtures, journals and the panel hold, and asks the guard first.
"""

from __future__ import annotations

from typing import Callable

from .._domain.clock import VirtualClock

LEASE = 1.0  # real seconds of virtual time committed ahead of the readings

Commit = Callable[[float], None]  # make a horizon durable (raises StateUnavailable)


class Horizon:
    """The time a clock's readings may reach: committed before a reading or a move passes it."""

    def __init__(self, clock: VirtualClock, at: float, commit: Commit) -> None:
        self.clock = clock
        self.at = at
        self._commit = commit

    def ahead(self, at: float, speed: float | None = None) -> float:
        """The horizon to commit so that readings up to ``at`` (and a lease more) are covered."""
        return at + LEASE * (self.clock.speed if speed is None else speed)

    def extend(self, horizon: float) -> None:
        """Commit ``horizon`` (if later than the current one) before anything reads past it."""
        if horizon > self.at:
            self._commit(horizon)
            self.at = horizon

    # --- the clock's guard ------------------------------------------------------------

    def reading(self, at: float) -> float:
        if at <= self.at:
            return at
        try:
            self.extend(self.ahead(at))
        except Exception:  # the file cannot be written: time waits at the last durable instant
            return self.at
        return at

    def moving(self, at: float, speed: float) -> None:
        """Durable first: a failed commit raises, and the clock does not move."""
        horizon = self.ahead(at, speed)
        if horizon > self.at:
            self.extend(horizon)
        elif horizon < self.at and speed != self.clock.speed:
            # A new speed: no reading has passed ``at``, so lowering is safe; it is also optional,
            # and makes a frozen clock resume where it stopped.
            try:
                self._commit(horizon)
                self.at = horizon
            except Exception:
                pass
