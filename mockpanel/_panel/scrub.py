"""Every key a panel knows, hidden in the free text it shows: ``scrub(panel, value)``.

A client may paste a key into a link, a comment or a username: its own, or another tenant's. The
panel stores the text as it was sent (the state file replays it exactly, and the duplicate-link rule
compares it), so whatever *shows* it (the control API, the dashboard and its downloads, the journal's
HAR, the debug log) passes it through here first, and sees ``key#1a2b3c4d`` (``accounts.redact``)
instead of any key of the panel's accounts.

Which keys, and where (as the suite's redactor does, conformance/redaction.py):

- a *distinctive* key (8 characters or more, not only digits) wherever it occurs, as it is or
  escaped (percent-encoding, ``+`` for a space, HTML references);
- a *plain* key (short, or only digits like ``1000``) only where it stands as a key, as the value of
  a ``key=`` field (``key``, ``api_key``, ``token``...), so a quantity of 1000 stays 1000;
- a key restored from a state file is known only by its digest (``KeyDigest``): it is found where it
  stands as a word (a run of letters, digits, ``-`` and ``_`` of 8 characters or more) or as a key
  field's value, hashed and looked up.

The cost is bounded by the text, not by the number of keys: the keys are indexed by length (built
once per change of the panel's keys, ``AccountBook.changes``: 11-15 ms with 10,000 keys), and a
text is read once per distinct key length, only in its runs of the keys' characters (a link pasting a
key: about 3 us, whether the panel has 1 key or 10,000; a page of 500 orders: 3-8 ms; bench/scrub.py). It runs only where
something is shown (pages, control answers, files handed out, reports), never on the API's request
path, but for the debug log lines, which a server writes only when asked to.
"""

from __future__ import annotations

import html
import re
import threading
import weakref
from typing import Any, TypeVar, cast
from urllib.parse import unquote_plus

from conformance.redaction import KEY_FIELDS, distinctive, encoded_pattern

from .._domain.account_book import AccountBook
from .._domain.accounts import KeyDigest, key_digest, redact
from .panel import Panel

__all__ = ["KeyScrubber", "scrub", "scrubber"]

_ESCAPES = re.compile(r"[%&+]")  # a text without these holds every key as it is, or not at all
_WORD = re.compile(r"[A-Za-z0-9_-]{8,}")  # where a key known by its digest is looked for
_FIELD_VALUE = re.compile(rf"""((?<![\w-])["']?(?:{"|".join(re.escape(f) for f in KEY_FIELDS)})["']?\s*[:=]\s*["']?)"""
                          r"""([^"'&\s,;}\]]+)""", re.IGNORECASE)


class KeyScrubber:
    """The keys of one panel's accounts, indexed to be found in text (``text``) or in a JSON-like value
    (``value``: strings, list items and mapping keys and values; other values as they are)."""

    def __init__(self, keys: list[str], digests: set[bytes]) -> None:
        self._by_length: dict[int, set[str]] = {}  # distinctive keys, by length
        self._plain: set[str] = set()
        for key in keys:
            if distinctive(key):
                self._by_length.setdefault(len(key), set()).add(key)
            else:
                self._plain.add(key)
        self._lengths = sorted(self._by_length, reverse=True)  # the longest first: a key inside a longer one
        # Every window of a length, cut in C: a text is read once per distinct key length, whatever the keys;
        # and only its runs of the keys' characters long enough to hold one (most text has none: hex keys
        # in a link of words).
        self._cut = {n: re.compile(f"(?=(.{{{n}}}))", re.DOTALL) for n in self._lengths}
        chars = "".join(sorted(set("".join(key for keys in self._by_length.values() for key in keys))))
        self._runs = re.compile(f"[{re.escape(chars)}]{{{min(self._lengths)},}}") if chars else None
        self._digests = digests  # every account's, those known only by digest included
        self._hidden = len(keys) < len(digests)  # some accounts are known only by their digest
        self._patterns: dict[str, re.Pattern[str]] = {}  # a found key in any encoding, compiled once
        # A shorter text holds no key: not the shortest distinctive key, nor "key=" and one character.
        self._least = min([*self._lengths[-1:], *([5] if self._plain or self._hidden else [])], default=0)

    def text(self, text: str) -> str:
        """``text`` with every key of the panel replaced by its redacted form."""
        if not self._digests or len(text) < self._least:
            return text
        found = self._found(text)
        for key in sorted(found, key=len, reverse=True) if found else ():  # the longest first: a key inside a longer one
            text = text.replace(key, redact(key))
        if _ESCAPES.search(text):  # a key written escaped: found in the decoded text, each form of it hidden
            decoded = html.unescape(unquote_plus(text))
            for key in sorted(self._found(decoded) if decoded != text else (), key=len, reverse=True):
                pattern = self._patterns.get(key)
                if pattern is None:
                    pattern = self._patterns[key] = re.compile(encoded_pattern(key))
                text = pattern.sub(redact(key), text)
        if (self._plain or self._hidden) and ("=" in text or ":" in text):
            text = _FIELD_VALUE.sub(self._field, text)
        return text

    def value(self, value: Any, keep: tuple[str, ...] = ()) -> Any:
        """A JSON-like value with every string scrubbed (``text``), but the values of members named in
        ``keep``; the rest as it is."""
        if not self._digests:
            return value
        return self._value(value, keep)

    def _value(self, value: Any, keep: tuple[str, ...]) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {(self.text(k) if isinstance(k, str) else k): (v if k in keep else self._value(v, keep))
                    for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._value(v, keep) for v in value]
        return value

    def _found(self, text: str) -> set[str]:
        """The distinctive keys in ``text`` as they are, and the words that are keys known by digest."""
        found: set[str] = set()
        for run in self._runs.findall(text) if self._runs is not None else ():
            for length in self._lengths:
                if len(run) >= length:
                    found.update(self._by_length[length].intersection(self._cut[length].findall(run)))
        if self._hidden:
            found.update(w for w in _WORD.findall(text) if key_digest(w) in self._digests)
        return found

    def _field(self, match: re.Match[str]) -> str:
        """A key where it stands as a key field's value (``key=1000``): plain keys, and keys known by digest."""
        value = match.group(2)
        if value in self._plain or (self._hidden and key_digest(value) in self._digests):
            return match.group(1) + redact(value)
        return match.group(0)


_BUILT: weakref.WeakKeyDictionary[AccountBook, tuple[int, KeyScrubber]] = weakref.WeakKeyDictionary()
_BUILDING = threading.Lock()
T = TypeVar("T")


def scrubber(panel: Panel) -> KeyScrubber:
    """The panel's ``KeyScrubber`` for its keys as they are now: built again only when a key was opened
    or removed since (a reset or a restored state replaces the book, and so builds a new one)."""
    with panel.lock:  # the keys read under the lock; the index built outside it, off the API's way
        book = panel.account_book
        changes = book.changes
        built = _BUILT.get(book)
        if built is not None and built[0] == changes:
            return built[1]
        keys = [a.key for a in book if a.key and not isinstance(a.key, KeyDigest)]
        digests = set(book.by_digest)
    made = KeyScrubber(keys, digests)
    with _BUILDING:
        _BUILT[book] = (changes, made)
    return made


def scrub(panel: Panel, value: T) -> T:
    """``value`` (a text, or a JSON-like value) with every key ``panel`` knows hidden (``KeyScrubber``):
    of the same shape, but a tuple comes back a list."""
    return cast(T, scrubber(panel).value(value))

