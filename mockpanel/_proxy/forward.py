"""The spy: a raw ASGI app that forwards each request to the panel unchanged and streams the
panel's answer back unchanged (status, headers, body bytes), keeping a redacted copy in the journal.

It sends nothing of its own: one request in, the same request out. What it changes, and why:
hop-by-hop headers (``Connection``, ``Keep-Alive``, ``Transfer-Encoding``...) belong to each
connection, and ``Host`` names the panel. It answers by itself only when it cannot forward: a
request body over ``max_body`` (413) or a panel that does not answer (502, journaled), both in
plain text starting ``mockpanel proxy:``; a target that is not a path (``OPTIONS *``) gets a 400, and
anything it did not foresee a 502 and one line in the log, never a traceback.
"""

from __future__ import annotations

import json
import logging
import time
import zlib
from typing import Any
from urllib.parse import parse_qsl

import httpx
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from .._asgi_body import BodyTooLarge, ClientGone, read_body
from .journal import ANSWER_BYTES, BODY_BYTES, ForwardedExchange, Headers, ProxyJournal

HOP = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"})
MAX_BODY = 10 << 20  # a request body larger than this is refused (413); API requests are small
LOG = logging.getLogger("mockpanel.proxy")


def _target(scope: Scope) -> str:
    raw = scope.get("raw_path") or str(scope.get("path", "")).encode()
    return bytes(raw).decode("latin-1")


async def fields_of(scope: Scope, body: bytes, content_type: str) -> dict[str, str]:
    """Query fields overlaid with body fields (form, JSON object or multipart), as the panel reads them."""
    out = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
    kind = content_type.split(";")[0].strip().lower()
    try:
        if kind == "application/json" or (not kind and body[:1] == b"{"):
            data = json.loads(body)
            if isinstance(data, dict):
                out.update({str(k): ",".join(map(str, v)) if isinstance(v, list) else str(v) for k, v in data.items()})
        elif kind == "multipart/form-data":
            async def replay() -> dict[str, Any]:
                return {"type": "http.request", "body": body, "more_body": False}

            form = await Request(scope, replay).form(max_files=0, max_fields=1000)
            out.update({k: v for k, v in form.items() if isinstance(v, str)})
        elif body:
            out.update(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
    except Exception:  # noqa: BLE001, S110 - a body the proxy cannot read is still forwarded as it is
        pass
    return out


def _decoded(raw: bytes, encoding: str) -> bytes:
    """The answer's bytes with its content-encoding undone, for the judge (the client gets ``raw``)."""
    encoding = encoding.strip().lower()
    try:
        if encoding in ("gzip", "x-gzip"):
            return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(raw, ANSWER_BYTES + 1)
        if encoding == "deflate":
            return zlib.decompressobj().decompress(raw, ANSWER_BYTES + 1)
    except zlib.error:
        return b""
    return raw


class Proxy:
    """Forward everything to ``upstream`` (scheme://host:port); the path and query are the client's."""

    def __init__(self, upstream: str, journal: ProxyJournal, *, timeout: float = 60.0, max_body: int = MAX_BODY) -> None:
        url = httpx.URL(upstream)
        self.origin = f"{url.scheme}://{url.netloc.decode('ascii')}"
        self.host = url.netloc.decode("ascii")
        self.journal = journal
        self.max_body = max_body
        self.client = httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False,
                                        limits=httpx.Limits(max_connections=100))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await self.client.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.forward(scope, receive, watched)
        except Exception as exc:  # whatever the client or the panel sent: one line in the log, never a traceback
            red = self.journal.redactor  # an error may quote a URL or a body: keys hidden as everywhere
            LOG.warning("mockpanel proxy: %s %s failed: %s: %s", scope.get("method"), red(_target(scope)[:200]),
                        type(exc).__name__, red(str(exc)[:300]))
            if not started:
                await self._own(send, 502, f"mockpanel proxy: the request could not be forwarded ({type(exc).__name__})")

    async def forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        started, begun = time.time(), time.perf_counter()
        headers: Headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        query = scope.get("query_string", b"").decode("latin-1")
        path = scope.get("raw_path") or scope["path"].encode()
        if not path.startswith(b"/"):  # OPTIONS *, or an absolute-form target: not a path of the panel's
            await self._own(send, 400, f"mockpanel proxy: the request target {_target(scope)[:100]!r} is not a path; "
                                       "only requests for the panel's own paths (/api/v2 ...) are forwarded")
            return
        url = self.origin + path.decode("latin-1") + (f"?{query}" if query else "")
        content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
        j = self.journal
        try:
            body = await read_body(receive, self.max_body)
        except BodyTooLarge:
            await self._own(send, 413, f"mockpanel proxy: the request body is over {self.max_body} bytes; not forwarded")
            return
        except ClientGone:  # the client went away before its request was whole
            return
        fields = await fields_of(scope, body, content_type)
        j.learn_from(fields, headers)
        kept_body, _ = j.text(body, BODY_BYTES)
        entry = ForwardedExchange(0, started, 0.0, scope["method"], self.origin + path.decode("latin-1") +
                      (f"?{j.query(query)}" if query else ""), j.headers(headers), kept_body, j.fields(fields))
        sent_names = {k.lower() for k, _ in headers}
        request = self.client.build_request(scope["method"], url, content=body, headers=[
            (k, v) for k, v in headers if k.lower() not in HOP and k.lower() not in ("host", "content-length")])
        for name in list(request.headers):  # httpx's defaults (User-Agent, Accept...) are not the client's
            if name.lower() not in sent_names and name.lower() not in ("host", "content-length"):
                del request.headers[name]
        request.headers["host"] = self.host
        try:
            response = await self.client.send(request, stream=True)
        except httpx.HTTPError as exc:
            entry.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            entry.seconds = time.perf_counter() - begun
            j.add(entry)
            await self._own(send, 502, f"mockpanel proxy: the panel did not answer ({entry.error})")
            return
        kept = bytearray()
        size = 0
        try:
            out = [(k, v) for k, v in response.headers.raw if k.decode("latin-1").lower() not in HOP]
            await send({"type": "http.response.start", "status": response.status_code, "headers": out})
            async for chunk in response.aiter_raw():
                size += len(chunk)
                if len(kept) <= ANSWER_BYTES:
                    kept += chunk[: ANSWER_BYTES + 1 - len(kept)]
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()
            entry.seconds = time.perf_counter() - begun
            entry.status = response.status_code
            entry.response_headers = j.headers([(k.decode("latin-1"), v.decode("latin-1"))
                                                for k, v in response.headers.raw])
            entry.response_body, entry.cut = j.text(
                _decoded(bytes(kept), response.headers.get("content-encoding", "")), ANSWER_BYTES)
            entry.cut = entry.cut or size > ANSWER_BYTES
            entry.response_size = size
            j.add(entry)

    async def _own(self, send: Send, status: int, message: str) -> None:
        body = message.encode()
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body, "more_body": False})
