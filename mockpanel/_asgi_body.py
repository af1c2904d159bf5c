"""Reading an ASGI request body up to a limit: shared by the panel's API (_endpoint/api.py) and the
recording proxy (_proxy/forward.py), which must not load the mock's server to do it."""

from __future__ import annotations

from starlette.types import Receive


class BodyTooLarge(Exception):
    """The body is over the caller's limit (the caller answers 413)."""


class ClientGone(Exception):
    """The client disconnected before sending its whole body: nothing to act on."""


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole body, or BodyTooLarge as soon as more than ``limit`` bytes came, however small the chunks."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone  # a cut body may still parse as a valid (shorter) request
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
