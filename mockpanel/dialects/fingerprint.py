"""Which dialect does a live panel speak? Moved to the conformance suite (the judge).

The fingerprint is part of the judge, which reads the dialect profiles with its own
reader; it lives in ``mockpanel.conformance.fingerprint``. This module re-exports it so
that existing imports keep working.
"""

from __future__ import annotations

from mockpanel.conformance.fingerprint import (
    ALL_TYPES,
    UNKNOWN_IDS,
    Answer,
    Fingerprint,
    Observation,
    Post,
    fingerprint,
    fingerprint_with,
    observe,
    predict,
    score,
)

__all__ = [
    "ALL_TYPES", "UNKNOWN_IDS", "Answer", "Fingerprint", "Observation", "Post", "fingerprint", "fingerprint_with",
    "observe", "predict", "score",
]
