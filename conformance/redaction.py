"""Hiding keys from everything the suite records, and changing nothing else.

A key is shown as ``key#`` and 8 hex digits of its SHA-256: enough to tell two keys
apart, never the key. Two kinds of key:

- a *distinctive* key (8 characters or more, not only digits) cannot occur by chance:
  it is hidden wherever it occurs, inside any text or value, with its near-copies
  (one character shorter at either end, the case swapped) that the auth checks send;
- a *plain* key (short, or only digits like ``1000``) could be any number or word of
  an answer: it is hidden only where it stands as a key, as the value of a ``key``
  field (a request parameter, a JSON member, ``key=...`` in a text), so a balance of
  ``1000.00`` or an order id 1000 stay as the panel sent them.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

KEY_FIELDS = ("key", "api_key", "apikey", "api-key", "token", "api_token")
_FIELD = "|".join(re.escape(name) for name in KEY_FIELDS)


def redact(key: str) -> str:
    """How a key is shown to people: never the key, only enough to tell two apart."""
    return "key#" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def distinctive(key: str) -> bool:
    return len(key) >= 8 and not key.isdigit()


class Redactor:
    """Replaces every key the suite has sent with its redacted form."""

    def __init__(self) -> None:
        self._strong: dict[str, str] = {}
        self._plain: dict[str, str] = {}
        self._pattern: re.Pattern[str] | None = None
        self._field: re.Pattern[str] | None = None

    def add(self, key: str | None) -> None:
        """Register a real key (and, for a distinctive key, its near-copies)."""
        if not key:
            return
        if distinctive(key):
            for variant in (key, key[:-1], key[1:], key.swapcase()):
                if distinctive(variant):
                    self._strong.setdefault(variant, redact(variant))
        else:
            self._plain.setdefault(key, redact(key))
        self._compile()

    def _compile(self) -> None:
        strong = sorted(self._strong, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(k) for k in strong)) if strong else None
        plain = sorted(self._plain, key=len, reverse=True)
        self._field = re.compile(
            rf"""((?<![\w-])["']?(?:{_FIELD})["']?\s*[:=]\s*["']?)({"|".join(re.escape(k) for k in plain)})"""
            r"""(?=["'&\s,;}\]]|$)""", re.IGNORECASE) if plain else None

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self._strong) + tuple(self._plain)

    def __call__(self, text: str) -> str:
        if self._pattern is not None:
            text = self._pattern.sub(lambda m: self._strong[m.group(0)], text)
        if self._field is not None:
            text = self._field.sub(lambda m: m.group(1) + self._plain[m.group(2)], text)
        return text

    def touches(self, text: str) -> bool:
        """Whether ``text`` holds something this redactor would hide."""
        return self(text) != text

    def data(self, value: Any, field: str = "") -> Any:
        """A parsed JSON answer with the keys hidden; numbers and other values untouched."""
        if isinstance(value, dict):
            return {k: self.data(v, str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.data(v) for v in value]
        if field.lower() in KEY_FIELDS and not isinstance(value, bool) and isinstance(value, (str, int)):
            shown = str(value)
            if shown in self._plain or shown in self._strong:
                return redact(shown)
        if isinstance(value, str) and self._pattern is not None:
            return self._pattern.sub(lambda m: self._strong[m.group(0)], value)
        return value

    def value(self, key: str | None) -> str:
        """A key as shown in a report: always redacted, whatever it is."""
        if not key:
            return "(empty)"
        return redact(key)
