"""The garbage collector in a long-running server (``mockpanel serve``).

Everything built at start-up (the code, the catalogue, the orders of a loaded state file) lives
as long as the server; a full collection would scan all of it again and again while clients
wait. ``freeze_startup`` moves it out of the collector's reach, so full collections look only at
what the requests made since (docs/limits.md: what this costs in memory).
"""

from __future__ import annotations

import gc


def freeze_startup() -> None:
    """Collect what start-up left behind, then freeze what is left (``gc.freeze``)."""
    gc.collect()
    gc.freeze()
