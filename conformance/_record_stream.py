"""A services answer too large for the answer cap, read as it arrives: one service at a time.

The session reads every answer whole, within ``--max-answer-bytes``. A panel selling tens of
thousands of services may list more than that; ``mockpanel record`` then asks for the list once
more and reads it here: the bytes go through a small scanner that knows only where each item of
the top-level JSON array ends, and each item is parsed alone. Memory is bounded per service
(``max_item`` bytes) and the list by ``max_items``; an answer that is not a JSON array, an item
too large or nested too deep, or an answer that breaks off is a ``StreamError`` saying which.
"""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import orjson

from ._exchange import MAX_DEPTH, USER_AGENT
from ._wire import Deadline, DeadlineTransport

MAX_ITEM_BYTES = 256 * 1024  # one service: name, category and a long description fit many times over

_OUTSIDE = re.compile(rb'[][{}",]')
_INSIDE = re.compile(rb'["\\]')
_SPACE = b" \t\r\n"


class StreamError(Exception):
    """The list could not be read; the message says why."""


class ArrayItems:
    """Fed a JSON array's bytes in chunks, hands back each top-level item as soon as it is complete."""

    def __init__(self, *, max_item: int = MAX_ITEM_BYTES, max_items: int = 100_000, max_depth: int = MAX_DEPTH) -> None:
        self.max_item, self.max_items, self.max_depth = max_item, max_items, max_depth
        self.level = 0  # 1 inside the top-level array
        self.in_string = self.escaped = False
        self.started = self.done = False
        self.item = bytearray()
        self.count = 0

    def feed(self, chunk: bytes) -> list[Any]:
        out: list[Any] = []
        i, n = 0, len(chunk)
        while i < n and not self.done:
            if self.in_string:
                if self.escaped:
                    self.escaped = False
                    self._keep(chunk[i:i + 1])
                    i += 1
                    continue
                match = _INSIDE.search(chunk, i)
                end = match.end() if match else n
                self._keep(chunk[i:end])
                if match:
                    self.escaped = match.group() == b"\\"
                    self.in_string = match.group() != b'"'
                i = end
                continue
            match = _OUTSIDE.search(chunk, i)
            stop = match.start() if match else n
            between = chunk[i:stop]
            if not self.started and between.strip(_SPACE):
                raise StreamError(f"the services answer is not a JSON list (it starts {between.strip()[:40]!r})")
            self._keep(between)
            if match is None:
                break
            token, i = match.group(), match.end()
            if not self.started:
                if token != b"[":
                    raise StreamError(f"the services answer is not a JSON list (it starts {token!r})")
                self.started, self.level = True, 1
            elif self.level == 1 and token in (b",", b"]"):
                self._finish(out, last=token == b"]")
                self.done = token == b"]"
            else:
                if token in (b"[", b"{"):
                    self.level += 1
                    if self.level > self.max_depth:
                        raise StreamError(f"the services answer nests deeper than {self.max_depth} levels; "
                                          "no panel's list does, so it is not read")
                elif token in (b"]", b"}"):
                    self.level -= 1
                elif token == b'"':
                    self.in_string = True
                self._keep(token)
        return out

    def _keep(self, part: bytes) -> None:
        if self.level >= 1 and part:
            self.item += part
            if len(self.item) > self.max_item:
                raise StreamError(f"services[{self.count}] is larger than {self.max_item} bytes; "
                                  "no service is, so the list is not read")

    def _finish(self, out: list[Any], *, last: bool) -> None:
        text = bytes(self.item).strip(_SPACE)
        self.item.clear()
        if not text:
            if last and self.count == 0:
                return  # []
            raise StreamError(f"the services answer has an empty item at services[{self.count}]: not JSON")
        try:
            out.append(orjson.loads(text))
        except orjson.JSONDecodeError as exc:
            raise StreamError(f"services[{self.count}] is not JSON ({exc})") from None
        self.count += 1
        if self.count > self.max_items:
            raise StreamError(f"the panel lists more than {self.max_items} services; no panel sells that many")


def stream_items(url: str, fields: dict[str, str], *, timeout: float, max_items: int) -> list[Any]:
    """POST ``fields`` to ``url`` and read the answer, a JSON array, item by item within ``timeout`` (the
    whole answer); StreamError if it cannot be read as one."""
    deadline = Deadline()
    reader = ArrayItems(max_items=max_items)
    items: list[Any] = []
    with httpx.Client(transport=DeadlineTransport(deadline), timeout=timeout, follow_redirects=False,
                      headers={"user-agent": USER_AGENT}) as client:
        deadline.at = time.monotonic() + timeout
        try:
            with client.stream("POST", url, data=fields) as response:
                if response.status_code != 200:
                    raise StreamError(f"the services answer came with HTTP {response.status_code} the second time")
                for chunk in response.iter_bytes():
                    items += reader.feed(chunk)
                    if reader.done:
                        break
        except httpx.TimeoutException:
            raise StreamError(f"the services list took longer than {timeout:g} s (--timeout) to arrive") from None
        except httpx.HTTPError as exc:
            raise StreamError(f"the services answer broke off ({type(exc).__name__})") from None
        finally:
            deadline.at = None
    if not reader.done:
        raise StreamError(f"the services answer ended before its closing ']' (after {reader.count} services)")
    return items
