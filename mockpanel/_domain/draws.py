"""An account's seeded draws: the values of ``random.Random(seed)``, taken back in O(1).

A change is all or nothing, its draws included: an add that fails after drawing its plan must
leave the account's stream where it was, so that a seed gives the same plans whether or not a
failed change happened in between. Saving the generator's whole state before every change
(``getstate``: a tuple of 625 ints) cost more than drawing the plan. So the stream keeps a
second generator of the same seed, *behind*: never past the outermost change still open, and at
most ``_LAG`` values short of it. Marking a change catches the one behind up only once it lags
that far (the values drawn since, drawn again in ``getrandbits`` calls: the Mersenne Twister moves
by 32-bit words, two per ``random()``), so most marks cost a comparison; taking a change back
copies the one behind into the stream and replays what lies between it and the change's mark
(at most ``_LAG`` values). Only a take-back copies a state, and it happens only on a failure.

The values are exactly ``random.Random``'s, and ``getstate``/``setstate`` are its state at the
stream's position, as snapshots and state files keep it.
"""

from __future__ import annotations

import random
from typing import Any, Protocol

_CHUNK = 4096  # values redrawn per getrandbits call when the generator behind catches up: a bounded int
_LAG = 1024  # values the generator behind may lag before a mark catches it up: what a rewind replays at most, past its change


class Source(Protocol):
    """What a plan is drawn from: ``random.Random``, or an account's ``Draws``."""

    def random(self) -> float: ...

    def uniform(self, a: float, b: float) -> float: ...


def _skip(generator: random.Random, values: int) -> None:
    """Move ``generator`` on by ``values`` calls of ``random()`` (64 bits each), drawing them at once."""
    while values > 0:
        step = min(values, _CHUNK)
        generator.getrandbits(64 * step)
        values -= step


class Draws:
    """The account's stream of seeded values: ``random()`` and ``uniform()`` as ``random.Random``
    gives them, with ``mark()`` and ``rewind()`` for a change that may be taken back."""

    __slots__ = ("_stream", "_behind", "_drawn", "_behind_at", "_floor", "_open")

    def __init__(self, seed: str) -> None:
        self._stream = random.Random(seed)
        self._behind = random.Random(seed)
        self._drawn = 0  # values drawn from the stream since its seed (or its last setstate)
        self._behind_at = 0  # the position of the generator behind: never past an open change's mark
        self._floor = 0  # the mark of the outermost open change: no rewind goes further back
        self._open = 0  # changes marked and not ended

    def random(self) -> float:
        """The next value in [0, 1)."""
        self._drawn += 1
        return self._stream.random()

    def uniform(self, a: float, b: float) -> float:
        """The next value between ``a`` and ``b``, as ``random.Random.uniform`` computes it."""
        self._drawn += 1
        return a + (b - a) * self._stream.random()

    def four(self) -> tuple[float, float, float, float]:
        """The next four values of ``random()``, in one call: every order's plan draws four."""
        self._drawn += 4
        random = self._stream.random
        return random(), random(), random(), random()

    # --- a change that may be taken back ----------------------------------------------

    def mark(self) -> int:
        """Where the stream is, for ``rewind``; the change is open until ``end()``."""
        # No open change can go back further than here: the generator behind catches up, once it lags
        # by _LAG values (not at every mark: an add draws four, and a rewind, rare, replays the lag).
        if not self._open:
            self._floor = self._drawn
            if self._drawn - self._behind_at >= _LAG:
                _skip(self._behind, self._drawn - self._behind_at)
                self._behind_at = self._drawn
        self._open += 1
        return self._drawn

    def end(self) -> None:
        """The change marked last is over (kept or taken back)."""
        self._open -= 1

    def rewind(self, mark: int) -> None:
        """Put the stream back where it was at ``mark`` (a change taken back)."""
        if not self._floor <= mark <= self._drawn:
            raise RuntimeError(
                f"cannot rewind the draws to {mark}: the stream is at {self._drawn} and can go back to "
                f"{self._floor}; rewind only to a mark of a change still open"
            )
        self._stream.setstate(self._behind.getstate())
        _skip(self._stream, mark - self._behind_at)
        self._drawn = mark

    # --- the state, as random.Random's --------------------------------------------------

    def getstate(self) -> tuple[Any, ...]:
        """``random.Random.getstate()`` at the stream's position."""
        return self._stream.getstate()

    def setstate(self, state: tuple[Any, ...]) -> None:
        """Continue from a state ``getstate`` gave (a restored snapshot)."""
        self._stream.setstate(state)
        self._behind.setstate(state)
        self._drawn = self._behind_at = self._floor = 0



def four(source: Source) -> tuple[float, float, float, float]:
    """The next four values of ``source.random()``: in one call from an account's ``Draws``."""
    if isinstance(source, Draws):
        return source.four()
    return source.random(), source.random(), source.random(), source.random()
