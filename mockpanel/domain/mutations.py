"""The panel's state-changing operations, listed once: each is a Panel method marked ``@mutation``.

``MUTATIONS`` (name -> whether its first argument is an API key) is filled as the methods are
defined; state files record and replay exactly these (persistence reads the list), so an action
cannot change the panel without reaching the disk. A ``Recorder`` is told of each change.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

MUTATIONS: dict[str, bool] = {}


class Recorder(Protocol):
    """Told of every change to a panel (persistence, ``mockpanel serve --state``)."""

    def prepare(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Before the change: what to record, or raise (nothing has changed yet)."""

    def commit(self, entry: Any, at: float) -> None:
        """After it succeeded: make it durable, or put the panel back as it was and raise."""


F = TypeVar("F", bound=Callable[..., Any])


def mutation(method: F) -> F:
    """Mark a method that changes the panel: with a recorder attached, it runs at one pinned
    instant and, if it succeeds, is committed before it returns (failed calls change nothing)."""
    name = method.__name__
    params = list(inspect.signature(method).parameters)
    MUTATIONS[name] = len(params) > 1 and params[1] == "key"

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        recorder = self.recorder
        if recorder is None:
            return method(self, *args, **kwargs)
        with self.lock, self.clock.pinned() as now:
            if self.replaying:
                return method(self, *args, **kwargs)
            entry = recorder.prepare(name, args, kwargs)
            result = method(self, *args, **kwargs)
            recorder.commit(entry, now)
            return result

    return wrapper  # type: ignore[return-value]
