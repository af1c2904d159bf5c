"""A small hostile panel (a raw ASGI app) for the judge's own safety tests.

Each behaviour lives under its own path: ``{origin}/{mode}/api/v2`` is the API, and
``{origin}/{mode}/_mock/`` the control API the runner looks for next to it. The
base panel answers services, balance, add and status in the API v2 shapes, just
well enough to get a run past its preflight; each mode then misbehaves:

- ``plain``: nothing more (a numeric key like ``1000``, a balance of ``1000.00``);
- ``overcharge``: every add with the right key takes 50.00 for a service listed at 1.00 per 1000;
- ``negative``: the only service is listed at a rate of -5.00;
- ``trickle``: every answer sends one byte every 2 s (at most 60 bytes);
- ``huge``: every answer is a 300 MB body, streamed in 1 MiB chunks with no Content-Length;
- ``gzipbomb``: every answer is about 300 KB of gzip that inflates to 300 MB;
- ``control``: a ``/_mock/`` that says it is a mock, then answers garbage (keys, clock);
- ``redirect``: every request answers 302 to another place;
- ``endless429``: every request answers 429 Too Many Requests, Retry-After 0;
- ``garbage``: every field of every answer has the wrong type or an absurd value;
- ``slow``: a fair panel whose orders stay In progress for ever (the run waits for them).

Every request it answers, and every add it saw or charged, is counted in ``HostilePanel.seen``.
"""

from __future__ import annotations

import asyncio
import functools
import zlib
from collections import Counter
from decimal import Decimal
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qs

import orjson

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

HUGE_BYTES = 300 * 1024 * 1024
CHUNK = 1024 * 1024


@functools.lru_cache(maxsize=1)
def gzip_bomb() -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip container
    zeros = b"0" * CHUNK
    return b"".join([packer.compress(zeros) for _ in range(HUGE_BYTES // CHUNK)] + [packer.flush()])


def service(sid: int, rate: str, name: str = "Followers") -> dict[str, Any]:
    return {"service": sid, "name": name, "type": "Default", "category": "Hostile", "rate": rate,
            "min": "10", "max": "1000", "refill": False, "cancel": False}


GARBAGE: dict[str, Any] = {
    "services": [{"service": [1], "name": None, "type": {"a": 1}, "category": 5, "rate": "1e999999",
                  "min": "-0", "max": "NaN", "refill": "maybe", "cancel": []},
                 {"service": 2, "name": "x" * 5000, "type": "Default", "rate": "Infinity", "min": 1e308, "max": True},
                 "not an object", 12.5],
    "balance": {"balance": {"amount": "1"}, "currency": ["USD"]},
    "status": {"charge": [], "status": {"s": 1}, "remains": "-5", "start_count": None},
}


class HostilePanel:
    def __init__(self, key: str = "hostile-key-0123456789", balance: str = "100.00") -> None:
        self.key = key
        self.opening = Decimal(balance)
        self.balances: dict[str, Decimal] = {}
        self.orders: dict[str, dict[str, Decimal]] = {}  # mode -> order id -> charge
        self.seen: Counter[str] = Counter()  # "mode action" -> count; "mode add-charged"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        parts = scope["path"].strip("/").split("/", 1)
        mode, rest = parts[0], (parts[1] if len(parts) > 1 else "")
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > 65536 or not message.get("more_body"):
                break
        if rest.startswith("_mock"):
            await self.control(mode, rest, send)
            return
        fields = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        action = fields.get("action", "")
        self.seen[f"{mode} {action}"] += 1
        if mode == "gzipbomb":
            await self.answer(send, gzip_bomb(), headers=[(b"content-encoding", b"gzip")])
        elif mode in ("trickle", "huge"):
            gone = asyncio.Event()
            watch = asyncio.ensure_future(_until_disconnect(receive, gone))
            try:
                await (self.trickle(send, gone) if mode == "trickle" else self.huge(send, gone))
            finally:
                watch.cancel()
        elif mode == "redirect":
            await self.answer(send, b"", status=302, headers=[(b"location", b"http://127.0.0.1:9/elsewhere")])
        elif mode == "endless429":
            await self.answer(send, b'{"error": "Too many requests"}', status=429, headers=[(b"retry-after", b"0")])
        else:
            await self.answer(send, orjson.dumps(self.api(mode, fields)))

    # --- the base panel -------------------------------------------------------------

    def api(self, mode: str, fields: dict[str, str]) -> Any:
        action = fields.get("action", "")
        if fields.get("key") != self.key:
            return {"error": "Invalid API key"}
        balance = self.balances.setdefault(mode, self.opening)
        if mode == "garbage":
            return GARBAGE.get(action, [{"error": ["\u0000", None]}, -1e308])
        if action == "services":
            return [service(1, "-5.00")] if mode == "negative" else [service(1, "1.00")]
        if action == "balance":
            return {"balance": f"{balance:.2f}", "currency": "USD"}
        if action == "add":
            self.seen[f"{mode} add-seen"] += 1
            quantity = fields.get("quantity", "")
            if fields.get("service") != "1" or not quantity.isdigit() or not 10 <= int(quantity) <= 1000:
                return {"error": "Incorrect request"}
            charge = Decimal("50.00") if mode == "overcharge" else Decimal(quantity) / 1000
            self.balances[mode] = balance - charge
            self.seen[f"{mode} add-charged"] += 1
            orders = self.orders.setdefault(mode, {})
            oid = str(100 + len(orders))
            orders[oid] = charge
            return {"order": int(oid)}
        if action == "status":
            orders = self.orders.get(mode, {})
            if "orders" in fields:
                return {oid: self.status(orders.get(oid), mode) for oid in fields["orders"].split(",")[:100]}
            return self.status(orders.get(fields.get("order", "")), mode)
        return {"error": "Incorrect request"}

    @staticmethod
    def status(charge: Decimal | None, mode: str) -> dict[str, Any]:
        if charge is None:
            return {"error": "Incorrect order ID"}
        word, remains = ("In progress", "5") if mode == "slow" else ("Completed", "0")
        return {"charge": f"{charge:.2f}", "start_count": "0", "status": word, "remains": remains, "currency": "USD"}

    async def control(self, mode: str, rest: str, send: Send) -> None:
        self.seen[f"{mode} control {rest}"] += 1
        if mode != "control":
            await self.answer(send, b'{"error": "not found"}', status=404)
        elif rest.rstrip("/") == "_mock":
            await self.answer(send, b'{"endpoints": ["POST /_mock/clock"]}')
        elif rest.startswith("_mock/keys"):
            await self.answer(send, b'[{"key": 5}, "\xff\xfe not a key"]')
        elif rest.startswith("_mock/clock"):
            await self.answer(send, b"<html>\x00garbage", status=500, content_type=b"text/html")
        else:
            await self.answer(send, b"\xff{not json", content_type=b"application/json")

    # --- the misbehaviours ------------------------------------------------------------

    @staticmethod
    async def answer(send: Send, body: bytes, *, status: int = 200, content_type: bytes = b"application/json",
                     headers: list[tuple[bytes, bytes]] = ()) -> None:  # type: ignore[assignment]
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
                                *headers]})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    async def trickle(send: Send, gone: asyncio.Event) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        for i in range(60):
            if gone.is_set():
                return
            await send({"type": "http.response.body", "body": b"[" if i == 0 else b" ", "more_body": True})
            await asyncio.sleep(2)
        await send({"type": "http.response.body", "body": b"]"})

    @staticmethod
    async def huge(send: Send, gone: asyncio.Event) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        chunk = b"[" + b"1," * (CHUNK // 2 - 1) + b"1"
        for _ in range(HUGE_BYTES // CHUNK):
            if gone.is_set():
                return
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"]"})


async def _until_disconnect(receive: Receive, gone: asyncio.Event) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    gone.set()
