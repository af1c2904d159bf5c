"""Which ``Host`` names a server answers: the defence against DNS rebinding (docs/control-api.md).

A web page on ``http://rebind.test:8080`` whose name its owner points at 127.0.0.1 is, to the
browser, its own origin: it may read every answer it gets. The mock tells such requests apart by
their ``Host`` header, which names the page's site, and refuses them before anything runs. It
answers loopback names and addresses (``localhost`` and its subdomains, RFC 6761; 127.0.0.0/8,
``::1``), the address the connection reached (what ``--host`` bound, or the interface's own
address under 0.0.0.0) and the names it is given (``--allow-host NAME``; ``*`` answers any).
A request with no ``Host`` (an HTTP/1.0 client) is answered: a browser always sends one.

Both ways of serving a connection (``protocol.PanelProtocol``, ``guard.GuardedProtocol``) ask
``Hosts.allows`` once per request, before the request reaches the hot path or the app.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from .._control_api.access import is_loopback

ANY = "*"
REFUSED = 421  # Misdirected Request (RFC 9110 section 15.5.20): not a name this server answers for
_CACHED = 256  # decisions kept per server: a client sending ever new names costs a parse each, no memory


def host_name(value: str) -> str:
    """The name in a ``Host`` value (``name``, ``name:port``, ``[v6]``, ``[v6]:port``), lower case,
    without its port, brackets or trailing dot."""
    value = value.strip()
    if value.startswith("["):
        name = value[1:].partition("]")[0]
    else:
        name, colon, port = value.rpartition(":")
        if not colon or (port and not port.isdigit()) or ":" in name:  # no port, or a bare IPv6 address
            name = value
    return _plain(name)


def _plain(name: str) -> str:
    name = name.rstrip(".").lower()
    try:
        address = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return name
    mapped = getattr(address, "ipv4_mapped", None)  # a dual-stack socket's name for an IPv4 client
    return str(mapped or address)  # ::0001 and ::1 are one address


class Hosts:
    """The names a server answers: loopback ones, the connection's own address, and ``allowed``."""

    def __init__(self, allowed: Iterable[str] = ()) -> None:
        names = [name.strip() for name in allowed if name.strip()]
        self.any = ANY in names
        self.names = frozenset(host_name(name) for name in names if name != ANY)
        self.served: set[bytes] = set()  # Host values answered on any connection, as sent: one lookup a request
        self._decided: dict[tuple[bytes, str | None], bool] = {}

    def allows(self, value: bytes | None, local: str | None) -> bool:
        """Whether a request whose ``Host`` header is ``value`` (None: it sent none), on a connection
        that reached the address ``local``, is answered."""
        if value is None or self.any or value in self.served:
            return True
        decided = self._decided.get((value, local))
        if decided is None:
            try:
                name = host_name(value.decode("ascii"))
            except UnicodeDecodeError:
                name = ""
            anywhere = bool(name) and (name in self.names or is_loopback(name))
            decided = anywhere or (bool(name) and name == local)
            if anywhere and len(self.served) < _CACHED:
                self.served.add(value)
            elif len(self._decided) < _CACHED:
                self._decided[(value, local)] = decided
        return decided

    def refusal(self, value: bytes) -> str:
        """The error a refused request gets: what was refused and how to serve that name."""
        name = host_name(value.decode("latin-1"))[:100]
        given = f", {', '.join(sorted(self.names))}" if self.names else ""
        return (
            f"this server does not answer for the name {name!r} (the request's Host header): it answers "
            f"localhost, loopback addresses, the address it listens on{given}. A web page reaching a server on "
            f"this machine through a name of its own (DNS rebinding) is refused this way; to serve {name!r}, "
            f"start the server with --allow-host {name}"
        )


def local_address(sockname: object) -> str | None:
    """The address a connection reached (its socket's own name), as ``host_name`` spells it."""
    if isinstance(sockname, tuple) and sockname and isinstance(sockname[0], str):
        return _plain(sockname[0])
    return None


LOOPBACK_ONLY = Hosts()
