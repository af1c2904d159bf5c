"""A clock whose every reading is durable before it is shown.

The state file keeps a *horizon*: a virtual time no reading has passed. A reading past
it first commits a new horizon a little ahead (``LEASE`` real seconds at the clock's
speed), so a running clock costs one small commit a second while it is read, and
none while nobody reads it. After a ``kill -9`` the clock resumes at the horizon:
never before anything answered, at most a lease ahead of it. Should the commit fail,
the clock stops at the horizon rather than show a time a restart could take back.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

from ..domain.clock import VirtualClock

LEASE = 1.0  # real seconds of virtual time committed ahead of the readings

Commit = Callable[[float], None]  # make a horizon durable (raises StateUnavailable)


class DurableClock(VirtualClock):
    """A VirtualClock that commits its horizon before readings pass it.

    ``adopt`` turns a panel's existing clock into one in place (its class changes, not the
    object), because fixtures, journals and the panel all hold that one clock object.
    """

    _commit: Commit
    _horizon: float

    @classmethod
    def adopt(cls, clock: VirtualClock, horizon: float, commit: Commit) -> "DurableClock":
        clock.__class__ = cls
        durable: DurableClock = clock  # type: ignore[assignment]
        durable._horizon = horizon
        durable._commit = commit
        return durable

    def release(self) -> None:
        self.__class__ = VirtualClock  # type: ignore[assignment]

    @property
    def horizon(self) -> float:
        return self._horizon

    def natural(self) -> float:
        """The clock's time, not pinned and not held at the horizon."""
        with self._lock:
            return self._anchor_virtual + (self._timer() - self._anchor_real) * self._speed

    def ahead(self, at: float, speed: float | None = None) -> float:
        """The horizon to commit so that readings up to ``at`` (and a lease more) are covered."""
        return at + LEASE * (self._speed if speed is None else speed)

    def now(self) -> float:
        t = VirtualClock.now(self)
        if t <= self._horizon:
            return t
        try:
            self.extend(self.ahead(t))
        except Exception:  # the file cannot be written: time waits at the last durable instant
            return self._horizon
        return t

    def extend(self, horizon: float) -> None:
        """Commit ``horizon`` (if later than the current one) before anything reads past it."""
        if horizon > self._horizon:
            self._commit(horizon)
            self._horizon = horizon

    def advance(self, seconds: float = 0, minutes: float = 0, hours: float = 0, days: float = 0) -> float:
        delta = float(seconds) + 60 * float(minutes) + 3600 * float(hours) + 86400 * float(days)
        if delta >= 0 and delta != float("inf"):  # else the base class refuses it, changing nothing
            self.extend(self.ahead(self.natural() + delta))  # durable first: a failed commit moves nothing
        return VirtualClock.advance(self, seconds, minutes, hours, days)

    def set_time(self, virtual: float) -> None:
        if virtual == virtual and virtual != float("inf"):
            self.extend(self.ahead(float(virtual)))
        VirtualClock.set_time(self, virtual)

    @contextmanager
    def held(self) -> Iterator[None]:
        """Whatever the block does to the clock (a replay moves it), it comes back as it was."""
        with self._lock:
            saved = (self._anchor_real, self._anchor_virtual, self._speed)
        try:
            yield
        finally:
            with self._lock:
                self._anchor_real, self._anchor_virtual, self._speed = saved

    def set_speed(self, speed: float) -> None:
        """A new speed changes the lease: committed first, so a frozen clock resumes where it stopped."""
        speed = float(speed)
        if 0 <= speed < float("inf"):
            now = self.natural()
            horizon = max(now, self.ahead(now, speed))
            if horizon > self._horizon:
                self._commit(horizon)  # durable first: a failed commit changes nothing
                self._horizon = horizon
            elif horizon < self._horizon:  # no reading has passed now: lowering is safe, and optional
                try:
                    self._commit(horizon)  # so that a frozen clock resumes where it stopped
                    self._horizon = horizon
                except Exception:
                    pass
        VirtualClock.set_speed(self, speed)
