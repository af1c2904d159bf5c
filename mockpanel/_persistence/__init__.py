"""Keeping a panel's state on disk: ``mockpanel serve --state FILE`` (a SQLite file, see docs/persistence.md)."""

from .errors import StateFileError, StateUnavailable
from .records import Identity
from .store import StateFile

__all__ = ["Identity", "StateFile", "StateFileError", "StateUnavailable"]
