"""Dialects: how one panel spells API v2 on the wire. Data in fixtures/dialects."""

from .profile import Dialect, available_dialects, load_dialect

__all__ = ["Dialect", "available_dialects", "load_dialect"]
