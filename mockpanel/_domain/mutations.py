"""The panel's state-changing operations, listed once: each is a method marked ``@mutation``
(of the domain's ``PanelCore``, or of the control side's forcing and snapshots).

``MUTATIONS`` (name -> whether its first argument is an API key) is filled as the methods are
defined. The domain only declares the list; the panel users get (_panel/panel.py) runs every
listed operation through its recording (_panel/recording.py), and state files record and
replay exactly these (persistence reads the list), so an action cannot change the panel
without reaching the disk.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

MUTATIONS: dict[str, bool] = {}

F = TypeVar("F", bound=Callable[..., Any])


def mutation(method: F) -> F:
    """Mark a method that changes the panel (it is listed in ``MUTATIONS``; the method is unchanged)."""
    params = list(inspect.signature(method).parameters)
    MUTATIONS[method.__name__] = len(params) > 1 and params[1] == "key"
    return method
