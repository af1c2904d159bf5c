"""Running the proxy: uvicorn on a loopback socket until Ctrl+C (or SIGTERM), then the report and HAR."""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Callable
from typing import Any

import uvicorn

from .._server.serving import server, server_options
from .forward import Proxy
from .journal import ProxyJournal
from .report import ProxyReport, build, write_har, write_report


def listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def serve_proxy(url: str, sock: socket.socket, *, dialect: str = "standard", report: str | None = None,
                har: str | None = None, timeout: float = 60.0, journal_limit: int = 10_000,
                on_ready: Callable[[], None] = lambda: None) -> ProxyReport:
    """Forward to ``url``'s panel until interrupted; then write ``report`` and ``har`` and return the report."""
    journal = ProxyJournal(limit=journal_limit)
    app = Proxy(url, journal, timeout=timeout)
    config = uvicorn.Config(app, **server_options(log_level="warning", limit_concurrency=500,
                                                  timeout_graceful_shutdown=5, lifespan="on"))
    on_ready()
    if threading.current_thread() is threading.main_thread():  # uvicorn re-raises SIGTERM after its shutdown:
        signal.signal(signal.SIGTERM, _interrupt)  # end through the report, as Ctrl+C does
    try:
        server(config).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl+C after its graceful shutdown
        pass
    finally:
        sock.close()
    result = build(url, journal, dialect)
    if report is not None:
        write_report(result, report)
    if har is not None:
        write_har(journal, har, url)
    return result


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
