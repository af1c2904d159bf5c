"""The garbage collector in a long-running server (``mockpanel serve``).

Everything built at start-up (the code, the catalogue, the orders of a loaded state file) lives
as long as the server; a full collection would scan all of it again and again while clients
wait. ``freeze_startup`` moves it out of the collector's reach, so full collections look only at
what the requests made since (docs/limits.md: what this costs in memory).

A request leaves few objects in a reference cycle (reference counting frees the rest), but the
collector counts every container made: at the default threshold of 700 an add set off a young
collection every few hundred requests, and one of the older generations every ten of those. A
larger young generation (``YOUNG``) runs it far less often, and the older ones with it; what may
wait for it stays bounded (at most ``YOUNG`` objects made since the last collection).

Why 100,000: an add then left about three small tuples behind for a while (its link's index
entry, its end in a heap of link ends, since replaced by a sweep, and its journal row, which
replaces the oldest once the journal is full). At 10,000 the collector ran every ~3,000 adds and cost
about 6 us of server CPU per add under load (the bench's add server: 59 us per add, 53 us with no
young collection at all); at 100,000 an add costs 53-65 us. The price is a longer pause now and
then: the longest young collection of a bench run took 24-68 ms, against 7-23 ms at 10,000
(bench/README.md, "The add at 70 %"). A mock's clients wait seconds, not milliseconds.
"""

from __future__ import annotations

import gc

YOUNG = 100_000  # containers made (less those freed) before a young collection; CPython's default: 700


def freeze_startup() -> None:
    """Collect what start-up left behind, freeze what is left (``gc.freeze``), and collect the
    young generation less often from then on (``YOUNG``; the older thresholds as they were)."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG, middle, old)
