"""What the request path knows of one API request, handed from layer to layer in the scope.

One typed object under one scope key, instead of loose ``scope["mockpanel.*"]`` entries:
the fault middleware makes it when the fields are read, the endpoint adds the answer's
bytes, the journal reads it when the answer is recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

SCOPE_KEY = "mockpanel.call"


class Shaping(Protocol):
    """What the journal reads of the fault that shapes an answer (a ``powers.faults.Fault``: the test
    powers sit above the endpoint, so the endpoint names only what it carries)."""

    @property
    def kind(self) -> str: ...

    @property
    def client_status(self) -> int | None: ...


@dataclass(slots=True)
class Call:
    """One API request on its way through the server."""

    fields: dict[str, str]
    started: float  # time.perf_counter() when its fields had been read
    entry: list[Any] | None = None  # its journal row, once it has arrived in the journal
    seq: int | None = None  # its journal number, once journalled (a row of references has no ``entry``)
    fault: Shaping | None = None  # the fault that shapes its answer (latency or transport)
    body: bytes | None = None  # the answer's JSON bytes as sent


def call_of(scope: Mapping[str, Any]) -> Call | None:
    """The request's ``Call``, or None (an endpoint called without the fault middleware)."""
    return scope.get(SCOPE_KEY)
