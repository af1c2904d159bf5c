"""A real uvicorn server in a background thread, on a free loopback port (httpx's pattern)."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from .serving import server, server_options


class ServerThread:
    """Serve ``app`` on ``host``:``port`` (0 picks a free port) until ``stop()``; ``config``: uvicorn's
    options, and ``serving.server_options``' own. uvicorn leaves the signal handlers of a thread that is
    not the main one alone.

    >>> with ServerThread(app) as server:
    ...     httpx.get(server.url + "/api/v2")
    """

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0, **config: Any) -> None:
        self.host = host
        # proto IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP,
        # and without it every response waits ~40 ms for a delayed ACK (Nagle).
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._sock.bind((host, port))
        except OSError:
            self._sock.close()  # a taken port: do not leak the socket (a ResourceWarning)
            raise
        self.port: int = self._sock.getsockname()[1]
        options = server_options(**{"log_level": "warning", "lifespan": "off", "loop": "asyncio", **config})
        self._server = server(uvicorn.Config(app, **options))
        self._thread = threading.Thread(target=self._run, name=f"mockpanel-server-{self.port}", daemon=True)

    @property
    def url(self) -> str:
        """The server's origin, ``http://127.0.0.1:PORT`` (the API is under the dialect's path)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._sock])
        except SystemExit:  # uvicorn exits on a startup failure; here that ends only this thread
            pass

    def start(self, timeout: float = 10.0) -> "ServerThread":
        """Start serving and wait until the port accepts connections; returns self."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"the mock server on {self.url} failed to start; see the log above")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the mock server on {self.url} did not start within {timeout} s")
            time.sleep(0.005)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server and wait for its thread to end."""
        self._server.should_exit = True
        self._thread.join(timeout)
        self._sock.close()

    def __enter__(self) -> "ServerThread":
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
