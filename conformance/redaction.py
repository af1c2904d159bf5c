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

A distinctive key is found in any of the encodings a panel or a client writes it in, each character
as it is or escaped, mixed as they come: JSON's escapes (``\\/`` as PHP's json_encode writes ``/``,
``\\u00e9``, ``\\"``), percent-encoding (``%2F``, ``%C3%A9``, ``+`` for a space) and HTML's character
references (``&#47;``, ``&#x2f;``, ``&amp;``).
"""

from __future__ import annotations

import hashlib
import html.entities
import re
from typing import Any

KEY_FIELDS = ("key", "api_key", "apikey", "api-key", "token", "api_token")
EMPTY = "(empty)"  # how a report shows an empty key
_FIELD = "|".join(re.escape(name) for name in KEY_FIELDS)


def redact(key: str) -> str:
    """How a key is shown to people: never the key, only enough to tell two apart."""
    return "key#" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def distinctive(key: str) -> bool:
    return len(key) >= 8 and not key.isdigit()


_ESCAPE_MARKS = re.compile(r"[\\%&+]")  # a text without these holds every key as it is, or not at all
_JSON_SHORT = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _hex(digits: str) -> str:
    return "".join(f"[{d.lower()}{d.upper()}]" if d.isalpha() else d for d in digits)


def _char_forms(char: str) -> str:
    """A pattern for ``char`` as it is or escaped: JSON, percent-encoding, HTML references."""
    code = ord(char)
    forms = {re.escape(char)}
    units = char.encode("utf-16-be", "surrogatepass")  # JSON's \uXXXX, a surrogate pair past the BMP
    forms.add("".join(r"\\u" + _hex(f"{units[i]:02x}{units[i + 1]:02x}") for i in range(0, len(units), 2)))
    if char in _JSON_SHORT:
        forms.add(re.escape(_JSON_SHORT[char]))
    forms.add("".join("%" + _hex(f"{byte:02x}") for byte in char.encode("utf-8", "surrogatepass")))
    if char == " ":
        forms.add(r"\+")
    forms.add(f"&#0*{code};")
    forms.add("&#[xX]0*" + _hex(f"{code:x}") + ";")
    name = html.entities.codepoint2name.get(code) or ("apos" if char == "'" else None)
    if name is not None:
        forms.add(f"&{name};")
    return "(?:" + "|".join(sorted(forms, key=len, reverse=True)) + ")"


def encoded_pattern(key: str) -> str:
    """A pattern matching ``key`` however each of its characters is written (see the module's docstring)."""
    return "".join(_char_forms(char) for char in key)


class Redactor:
    """Replaces every key the suite has sent with its redacted form."""

    def __init__(self) -> None:
        self._strong: dict[str, str] = {}
        self._plain: dict[str, str] = {}
        self._pattern: re.Pattern[str] | None = None
        self._field: re.Pattern[str] | None = None
        self._encoded: re.Pattern[str] | None = None  # the distinctive keys in any encoding
        self._each: dict[str, re.Pattern[str]] = {}  # ... one by one, to tell which one matched

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
        self._encoded = None  # built when a text with an escape in it is first read (_any_encoding)
        plain = sorted(self._plain, key=len, reverse=True)
        self._field = re.compile(
            rf"""((?<![\w-])["']?(?:{_FIELD})["']?\s*[:=]\s*["']?)({"|".join(re.escape(k) for k in plain)})"""
            r"""(?=["'&\s,;}\]]|$)""", re.IGNORECASE) if plain else None

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self._strong) + tuple(self._plain)

    def _hide_encoded(self, match: re.Match[str]) -> str:
        found = match.group(0)
        for key, pattern in self._each.items():
            if pattern.fullmatch(found):
                return self._strong[key]
        return found  # not reached: the joined pattern matches only what one of them does

    def _any_encoding(self) -> re.Pattern[str]:
        if self._encoded is None:
            strong = sorted(self._strong, key=len, reverse=True)
            for k in strong:
                if k not in self._each:
                    self._each[k] = re.compile(encoded_pattern(k))
            self._encoded = re.compile("|".join(self._each[k].pattern for k in strong))
        return self._encoded

    def _strings(self, text: str) -> str:
        if self._pattern is not None:
            text = self._pattern.sub(lambda m: self._strong[m.group(0)], text)
            if _ESCAPE_MARKS.search(text):
                text = self._any_encoding().sub(self._hide_encoded, text)
        return text

    def __call__(self, text: str) -> str:
        text = self._strings(text)
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
        if isinstance(value, str):
            return self._strings(value)
        return value

    def value(self, key: str | None) -> str:
        """A key as shown in a report: always redacted, whatever it is."""
        if not key:
            return EMPTY
        return redact(key)
