"""Recording: every state-changing operation the domain lists (``MUTATIONS``) reaches a recorder.

The domain only declares which methods change the panel; the control panel runs each of
them through its ``Recording``, a wrapper that, with a recorder attached (a state file),
runs the change at one pinned instant and, if it succeeds, commits it before it returns (a
failed call changes nothing, and is not recorded). Without a recorder it only calls.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, Protocol, TypeVar

from .._domain.clock import VirtualClock

P = ParamSpec("P")
R = TypeVar("R")


class Recorder(Protocol):
    """Told of every change to a panel (persistence, ``mockpanel serve --state``)."""

    def prepare(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Before the change: what to record, or raise (nothing has changed yet)."""

    def commit(self, entry: Any, at: float) -> None:
        """After it succeeded: make it durable, or put the panel back as it was and raise."""


class Recording:
    """A panel's changes, told to its recorder (if one is attached) as they happen."""

    def __init__(self, lock: threading.RLock, clock: VirtualClock) -> None:
        self.lock = lock  # the panel's: a change and its record are one step for other threads
        self.clock = clock
        self.recorder: Recorder | None = None
        self.replaying = False  # a state file is being replayed into the panel: record nothing

    def attach(self, recorder: Recorder) -> None:
        """Tell ``recorder`` of every change from now on."""
        self.recorder = recorder

    def detach(self) -> None:
        self.recorder = None

    @contextmanager
    def replay(self) -> Iterator[None]:
        """Within the block, changes are not told: they come from the recorder's own file."""
        with self.lock:
            self.replaying = True
            try:
                yield
            finally:
                self.replaying = False

    def run(self, name: str, change: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """``change(*args, **kwargs)``, the operation ``name`` of ``MUTATIONS``, told to the recorder."""
        recorder = self.recorder
        if recorder is None:
            return change(*args, **kwargs)
        with self.lock, self.clock.pinned() as now:
            if self.replaying:  # checked under the lock: a replay holds it
                return change(*args, **kwargs)
            entry = recorder.prepare(name, args, kwargs)
            result = change(*args, **kwargs)
            recorder.commit(entry, now)
            return result
