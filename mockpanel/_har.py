"""HAR 1.2 (HTTP Archive) from recorded exchanges: the proxy's journal and the mock's.

The format: http://www.softwareishard.com/blog/har-12-spec/ (every required field of log,
entry, request, response, content, cache and timings is written). The exchanges given here
are already redacted: this module only shapes them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from http import HTTPStatus
import json
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from ._version import __version__

Headers = list[tuple[str, str]]


@dataclass
class HarExchange:
    """One request and its answer, keys already redacted."""

    started: float  # wall clock, seconds since the epoch
    seconds: float  # from the request's arrival to the answer's last byte
    method: str
    url: str  # with its query string
    request_headers: Headers = field(default_factory=list)
    request_body: str | None = None
    request_mime: str = ""
    status: int = 0  # 0: no answer
    response_headers: Headers = field(default_factory=list)
    response_body: str = ""
    response_mime: str = ""
    response_size: int = -1  # bytes of the body as sent; -1 unknown
    comment: str = ""


def _pairs(items: Headers) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in items]


def _status_text(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def har_entry(x: HarExchange) -> dict[str, Any]:
    started = dt.datetime.fromtimestamp(x.started, dt.UTC).isoformat(timespec="milliseconds")
    millis = round(max(x.seconds, 0.0) * 1000, 3)
    request: dict[str, Any] = {
        "method": x.method, "url": x.url, "httpVersion": "HTTP/1.1", "cookies": [],
        "headers": _pairs(x.request_headers),
        "queryString": _pairs(parse_qsl(urlsplit(x.url).query, keep_blank_values=True)),
        "headersSize": -1, "bodySize": len(x.request_body.encode()) if x.request_body is not None else 0,
    }
    if x.request_body is not None:
        request["postData"] = {"mimeType": x.request_mime, "text": x.request_body}
    size = x.response_size if x.response_size >= 0 else len(x.response_body.encode())
    response = {
        "status": x.status, "statusText": _status_text(x.status), "httpVersion": "HTTP/1.1", "cookies": [],
        "headers": _pairs(x.response_headers),
        "content": {"size": size, "mimeType": x.response_mime, "text": x.response_body},
        "redirectURL": next((v for k, v in x.response_headers if k.lower() == "location"), ""),
        "headersSize": -1, "bodySize": size if x.status else -1,
    }
    entry: dict[str, Any] = {
        "startedDateTime": started, "time": millis, "request": request, "response": response, "cache": {},
        "timings": {"send": 0, "wait": millis, "receive": 0},
    }
    if x.comment:
        entry["comment"] = x.comment
    return entry


def har_log(exchanges: list[HarExchange], *, creator: str = "mockpanel", comment: str = "") -> dict[str, Any]:
    """The whole HAR document: ``{"log": {...}}``."""
    log: dict[str, Any] = {
        "version": "1.2",
        "creator": {"name": creator, "version": __version__},
        "entries": [har_entry(x) for x in exchanges],
    }
    if comment:
        log["comment"] = comment
    return {"log": log}


def _dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:  # a lone surrogate a client sent: JSON escapes it (\ud800), orjson refuses it
        return json.dumps(value).encode()


def har_stream(exchanges: Iterable[HarExchange], *, creator: str = "mockpanel", comment: str = "") -> Iterator[bytes]:
    """The document ``har_log`` makes, as JSON bytes, one entry at a time: a journal of any size is
    sent without the whole document in memory."""
    head: dict[str, Any] = {"version": "1.2", "creator": {"name": creator, "version": __version__}}
    if comment:
        head["comment"] = comment
    yield b'{"log":' + _dumps(head)[:-1] + b',"entries":['
    first = True
    for x in exchanges:
        yield (b"" if first else b",") + _dumps(har_entry(x))
        first = False
    yield b"]}}"
