"""The server answers only the ``Host`` names it serves (_server/hosts.py), on both HTTP paths, on every
route: the API's hot path, the app's way, the control API and the dashboard; a rebinding name gets a
JSON 421 before anything runs."""

from __future__ import annotations

import json
import socket
from typing import Any, Iterator

import pytest

from mockpanel import Panel, ServerThread, build_panel, create_app
from mockpanel._server.hosts import Hosts, host_name
from tests.helpers.common import PATHS, serving

KEY = "hosts-key"


@pytest.fixture(scope="module", params=PATHS)
def served(request: pytest.FixtureRequest) -> Iterator[tuple[Panel, ServerThread]]:
    panel = build_panel(seed=3, speed=0)
    panel.create_account(KEY, balance="100")
    with ServerThread(create_app(panel), direct=request.param, allow_hosts=["panel.example"]) as server:
        yield panel, server


ADD = b"key=" + KEY.encode() + b"&action=add&service=1&link=https://x.test/h&quantity=1000"


def ask(port: int, host: bytes | None, method: bytes = b"POST", path: bytes = b"/api/v2",
        body: bytes = ADD) -> tuple[int, Any]:
    head = [method + b" " + path + b" HTTP/1.1"]
    if host is not None:
        head.append(b"Host: " + host)
    head += [b"Content-Type: application/x-www-form-urlencoded", b"Content-Length: %d" % len(body), b"Connection: close"]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"\r\n".join(head) + b"\r\n\r\n" + body)
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    status_line, _, rest = raw.partition(b"\r\n")
    return int(status_line.split()[1]), json.loads(rest.partition(b"\r\n\r\n")[2] or b"null")


@pytest.mark.parametrize("host", [b"rebind.test", b"rebind.test:8080", b"127.0.0.1.rebind.test", b"localhost.evil.test",
                                  b"0.0.0.0", b"[::2]", b"", b"caf\xc3\xa9.test"])
@pytest.mark.parametrize("method, path", [(b"POST", b"/api/v2"), (b"GET", b"/_mock/state"), (b"POST", b"/_mock/reset"),
                                          (b"GET", b"/_mock/ui")])
def test_a_name_the_server_does_not_serve_gets_a_421_and_changes_nothing(served, host, method, path):
    panel, server = served
    orders = len(panel.orders)
    status, answer = ask(server.port, host, method, path, ADD if path == b"/api/v2" else b"")
    assert status == 421, answer
    assert "does not answer for the name" in answer["error"] and "--allow-host" in answer["error"]
    assert len(panel.orders) == orders


@pytest.mark.parametrize("host", [b"127.0.0.1", b"127.0.0.1:1234", b"localhost", b"LOCALHOST:80", b"app.localhost",
                                  b"127.9.9.9", b"[::1]:8080", b"panel.example", b"Panel.Example.:443", None])
def test_loopback_names_its_own_address_and_the_allowed_names_are_served(served, host):
    panel, server = served
    status, answer = ask(server.port, host, body=b"key=" + KEY.encode() + b"&action=balance")
    assert status == 200 and "balance" in answer, answer


def test_the_names_are_read_as_hosts_with_their_ports_and_brackets():
    assert host_name("LocalHost:8080") == "localhost"
    assert host_name("[::0001]:80") == "::1"
    assert host_name("example.test.") == "example.test"
    assert host_name("[::ffff:127.0.0.1]") == "127.0.0.1"
    hosts = Hosts(["panel.example"])
    assert hosts.allows(b"10.1.2.3:8080", "10.1.2.3")  # the address the connection reached (bound to 0.0.0.0)
    assert not hosts.allows(b"10.1.2.3:8080", "10.1.2.4")
    assert Hosts(["*"]).allows(b"anything.test", None)
    assert hosts.allows(None, None)  # no Host at all: not a browser


def test_serve_answers_the_names_given_by_allow_host(monkeypatch):
    monkeypatch.setenv("MOCKPANEL_ALLOW_HOSTS", "third.example")  # --allow-host wins over the environment
    with serving("--allow-host", "panel.example", "--allow-host", "other.example") as origin:
        port = int(origin.rsplit(":", 1)[1])
        body = b"key=test-key&action=balance"
        assert ask(port, b"panel.example:%d" % port, body=body)[0] == 200
        assert ask(port, b"other.example", body=body)[0] == 200
        status, answer = ask(port, b"rebind.test", body=body)
        assert status == 421 and "--allow-host rebind.test" in answer["error"]
        assert ask(port, b"third.example", body=body)[0] == 421


def test_serve_reads_allowed_names_from_the_environment(monkeypatch):
    monkeypatch.setenv("MOCKPANEL_ALLOW_HOSTS", "mock other.example")
    with serving() as origin:
        port = int(origin.rsplit(":", 1)[1])
        body = b"key=test-key&action=balance"
        assert ask(port, b"mock:8080", body=body)[0] == 200 and ask(port, b"other.example", body=body)[0] == 200
        assert ask(port, b"rebind.test", body=body)[0] == 421
