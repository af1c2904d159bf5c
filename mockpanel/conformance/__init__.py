"""The conformance suite under the mockpanel name, for the documented ways in:
``pytest --pyargs mockpanel.conformance.pytest_suite`` and ``from mockpanel.conformance import run``.

The suite itself is the ``conformance`` package, apart from the mock; this names its public API only.
"""

from __future__ import annotations

from typing import Any

import conformance

__all__ = list(conformance.__all__)


def __getattr__(name: str) -> Any:  # lazy, as conformance's own names are
    if name in __all__:
        return getattr(conformance, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
