"""Recording: every state-changing operation the domain lists (``MUTATIONS``) reaches a recorder.

The domain only declares which methods change the panel; ``record_mutations`` wraps each of
them on the control panel's class, so a method added to the list is recorded without more
code. With a recorder attached, a change runs at one pinned instant and, if it succeeds, is
committed before it returns (a failed call changes nothing, and is not recorded).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol

from ..domain.mutations import MUTATIONS


class Recorder(Protocol):
    """Told of every change to a panel (persistence, ``mockpanel serve --state``)."""

    def prepare(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Before the change: what to record, or raise (nothing has changed yet)."""

    def commit(self, entry: Any, at: float) -> None:
        """After it succeeded: make it durable, or put the panel back as it was and raise."""


def recorded(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    """``method`` told to the panel's recorder, if it has one (``panel.replaying``: not told)."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        recorder = self.recorder
        if recorder is None:
            return method(self, *args, **kwargs)
        with self.lock, self.clock.pinned() as now:
            if self.replaying:  # a state file being replayed: the change is in the file already
                return method(self, *args, **kwargs)
            entry = recorder.prepare(name, args, kwargs)
            result = method(self, *args, **kwargs)
            recorder.commit(entry, now)
            return result

    return wrapper


def record_mutations(cls: type) -> None:
    """Wrap every listed operation of ``cls`` (inherited or its own) with ``recorded``."""
    for name in MUTATIONS:
        method = getattr(cls, name, None)
        if method is None:
            raise TypeError(f"{cls.__name__} has no {name}, which the domain lists as a change")
        setattr(cls, name, recorded(name, method))
