"""mockpanel/_cli.py: ``mockpanel dialects``, ``mockpanel serve`` (in-process checks and a real process)."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from decimal import Decimal
from typing import Callable, Iterator

import httpx
import pytest

from tests.helpers.common import NoServe
from click.testing import CliRunner

from mockpanel import __version__, available_dialects, redact
from mockpanel._cli import main

SECRET = "secret-key-Zq81"


def test_version_and_help():
    runner = CliRunner()
    assert runner.invoke(main, ["--version"]).output.strip() == f"mockpanel, version {__version__}"
    help_text = runner.invoke(main, ["serve", "--help"]).output
    for option in ("--host", "--port", "--key", "--balance", "--currency", "--seed", "--speed", "--catalog", "--dialect"):
        assert option in help_text


def test_dialects_lists_every_builtin_profile():
    result = CliRunner().invoke(main, ["dialects"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    entries = available_dialects()
    assert len(lines) == len(entries)
    for line, (name, description) in zip(lines, entries.items()):
        assert line.split()[0] == name
        assert line.endswith(description)


@pytest.mark.parametrize("args,words", [
    (["--balance", "lots"], "balance"),
    (["--balance", "-5"], "negative"),
    (["--dialect", "no-such-dialect"], "no dialect named"),
    (["--catalog", "/no/such/catalog.json"], "catalog"),
    (["--key", "dup-key-1", "--key", "dup-key-1"], "more than once"),
])
def test_bad_options_are_usage_errors_before_anything_is_bound(args, words, monkeypatch):
    def must_not_listen(*a: object) -> None:
        raise AssertionError("serve went on to bind a port")  # never serve forever from a unit test

    monkeypatch.setattr("mockpanel._cli._listen", must_not_listen)
    result = CliRunner().invoke(main, ["serve", "--port", "1", *args])
    assert result.exit_code == 2, result.output
    assert words in result.output.lower()
    assert "API:" not in result.output  # refused before the banner


# --- a real ``mockpanel serve`` process ---------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """``mockpanel serve`` in a subprocess; its output read line by line in a thread."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mockpanel", "serve", *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )
        self.lines: "queue.Queue[str]" = queue.Queue()
        self.output: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def banner(self, timeout: float = 20) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                assert self.proc.poll() is None, f"serve exited early: {''.join(self.output)}"
                continue
            self.output.append(line)
            if line.startswith("Press Ctrl+C"):
                return [x.rstrip("\n") for x in self.output]
        raise AssertionError(f"no banner within {timeout} s: {''.join(self.output)}")

    def post(self, url: str, data: dict[str, str], timeout: float = 20) -> httpx.Response:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return httpx.post(url, data=data, timeout=5)
            except httpx.ConnectError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise
                time.sleep(0.05)

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._reader.join(10)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        while not self.lines.empty():
            self.output.append(self.lines.get())
        return "".join(self.output)


@pytest.fixture
def serve() -> Iterator[type]:
    started: list[Served] = []

    def start(*args: str) -> Served:
        s = Served(*args)
        started.append(s)
        return s

    yield start  # type: ignore[misc]
    for s in started:
        s.stop()


def on_a_picked_port(serve: Callable[..., Served], *args: str) -> tuple[int, Served, list[str]]:
    """``serve --port N ARGS`` with N picked free, and its banner; picked again if another process took N before
    serve bound it (serve then exits saying the address is in use)."""
    for _ in range(3):
        port = free_port()
        served = serve("--port", str(port), *args)
        try:
            return port, served, served.banner()
        except AssertionError:
            if served.proc.poll() is None or "in use" not in served.stop().lower():
                raise
    raise AssertionError("three ports picked free were each taken before serve bound them")


def test_serve_prints_the_endpoint_and_redacted_keys_then_answers(serve):
    port, served, banner = on_a_picked_port(serve, "--key", SECRET, "--key", "test-key", "--balance", "12.5",
                                            "--speed", "0", "--seed", "3", "--log-level", "info")
    url = f"http://127.0.0.1:{port}/api/v2"
    assert f"API: {url}" in banner
    assert any(redact(SECRET) in line and "12.5" in line for line in banner), banner
    assert any(line.strip().startswith("key test-key:") for line in banner)  # the documented demo key is shown
    r = served.post(url, {"key": SECRET, "action": "balance"})
    assert r.json() == {"balance": "12.50000", "currency": "USD"}
    if shutil.which("curl"):  # the README's own command
        done = subprocess.run(["curl", "-s", "-d", f"key={SECRET}&action=balance", url], capture_output=True, text=True, timeout=30)
        assert done.stdout == '{"balance":"12.50000","currency":"USD"}'
    order = served.post(url, {"key": SECRET, "action": "add", "service": "1", "link": "https://cli.test", "quantity": "100"}).json()
    assert isinstance(order["order"], int)
    httpx.get(url, params={"key": SECRET, "action": "nope"}, timeout=5)
    assert Decimal(served.post(url, {"key": SECRET, "action": "balance"}).json()["balance"]) == Decimal("12.41")
    output = served.stop()
    assert SECRET not in output  # not in the banner, not in the log (even at info level)
    assert served.proc.returncode == 0, output


def test_serve_port_zero_shows_the_port_it_got(serve):
    served = serve("--port", "0", "--speed", "0")
    banner = served.banner()
    [api] = [line for line in banner if line.startswith("API: ")]
    url = api[len("API: "):]
    port = int(url.rsplit(":", 1)[1].split("/", 1)[0])
    assert port != 0, banner
    assert served.post(url, {"key": "test-key", "action": "balance"}).json() == {"balance": "1000.00000", "currency": "USD"}


def test_serve_on_a_taken_port_says_so(serve):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        served = serve("--port", str(taken.getsockname()[1]))
        served.proc.wait(20)
        output = served.stop()
    assert served.proc.returncode != 0
    assert "address already in use" in output.lower() or "in use" in output.lower()
    assert "Traceback" not in output
    assert "API:" not in output  # no banner for a server that is not listening


@pytest.mark.skipif(shutil.which("mockpanel") is None, reason="the mockpanel console script is not on PATH")
def test_the_console_script_is_installed():
    done = subprocess.run(["mockpanel", "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and __version__ in done.stdout


# --- bad arguments never end in a traceback; a non-loopback bind without a token warns ---------------


@pytest.mark.parametrize("args,words", [
    (["--port", "70000"], "70000 is not in the range"),
    (["--port", "-1"], "-1 is not in the range"),
    (["--port", "eighty"], "not a valid integer"),
    (["--speed", "-1"], "not in the range"),
    (["--read-timeout", "0"], "not in the range"),
])
def test_out_of_range_arguments_are_usage_errors(args, words, monkeypatch):
    monkeypatch.setattr("mockpanel._cli._listen", lambda *a: pytest.fail("serve went on to bind a port"))
    result = CliRunner().invoke(main, ["serve", *args])
    assert result.exit_code == 2 and words in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("host", ["203.0.113.7", "no-such-host.invalid", "::ffff:203.0.113.7", "a" * 300])
def test_a_host_that_cannot_be_bound_is_a_one_line_error(serve, host):
    served = serve("--host", host, "--port", "0")
    served.proc.wait(30)
    output = served.stop()
    assert served.proc.returncode == 1, output
    assert "cannot listen on" in output and "Traceback" not in output, output
    assert "API:" not in output


def _serve_as_if_on(host: str, monkeypatch: pytest.MonkeyPatch, *args: str, env: dict[str, str] | None = None):
    """``serve --host HOST`` with the socket bound on loopback instead (tests bind nothing else)."""
    from mockpanel import _cli as cli
    from mockpanel._server import serving

    real_listen = cli._listen
    monkeypatch.setattr(cli, "_listen", lambda h, p: real_listen("127.0.0.1", 0))
    monkeypatch.setattr(serving, "server", NoServe)
    return CliRunner().invoke(main, ["serve", "--host", host, *args], env=env)


@pytest.mark.parametrize("host, warned", [("0.0.0.0", True), ("::", True), ("192.0.2.10", True),
                                          ("127.0.0.1", False), ("localhost", False), ("::1", False)])
def test_a_non_loopback_bind_without_an_admin_token_warns(monkeypatch, host, warned):
    result = _serve_as_if_on(host, monkeypatch, env={"MOCKPANEL_ADMIN_TOKEN": ""})
    assert result.exit_code == 0, result.output
    assert ("Warning:" in result.output) is warned, result.output
    if warned:
        assert "MOCKPANEL_ADMIN_TOKEN" in result.output and host in result.output


def test_no_warning_with_an_admin_token_from_the_environment(monkeypatch):
    result = _serve_as_if_on("0.0.0.0", monkeypatch, env={"MOCKPANEL_ADMIN_TOKEN": "tok-env"})
    assert result.exit_code == 0 and "Warning:" not in result.output and "admin token required" in result.output


def test_keys_come_from_mockpanel_keys_unless_given_on_the_command_line(monkeypatch):
    env = {"MOCKPANEL_KEYS": " sk-env-one , sk-env-two,,", "MOCKPANEL_ADMIN_TOKEN": ""}
    result = _serve_as_if_on("127.0.0.1", monkeypatch, env=env)
    assert result.exit_code == 0, result.output
    shown = [line.strip() for line in result.output.splitlines() if line.strip().startswith("key ")]
    assert shown == [f"key {redact('sk-env-one')}: balance 1000.00000 USD", f"key {redact('sk-env-two')}: balance 1000.00000 USD"]
    assert "sk-env" not in result.output
    given = _serve_as_if_on("127.0.0.1", monkeypatch, "--key", "sk-cli", env=env)
    assert [line.strip() for line in given.output.splitlines() if line.strip().startswith("key ")] == [
        f"key {redact('sk-cli')}: balance 1000.00000 USD"
    ]


@pytest.mark.parametrize("keys, words", [("sk-a,sk-a", "more than once (--key or MOCKPANEL_KEYS)"), ("x" * 600, "at most 512")])
def test_bad_keys_from_the_environment_are_usage_errors(monkeypatch, keys, words):
    monkeypatch.setattr("mockpanel._cli._listen", lambda *a: pytest.fail("serve went on to bind a port"))
    result = CliRunner().invoke(main, ["serve"], env={"MOCKPANEL_KEYS": keys})
    assert result.exit_code == 2 and words in result.output, result.output
    assert "sk-a" not in result.output and "x" * 600 not in result.output  # refused keys are not echoed either


def test_the_read_timeout_default_is_the_protocol_s():
    from mockpanel._cli import READ_TIMEOUT
    from mockpanel._server import guard
    from mockpanel._server import own_answers
    from mockpanel._server import protocol

    assert READ_TIMEOUT == own_answers.READ_TIMEOUT == protocol.PanelProtocol.read_timeout == guard.GuardedProtocol.read_timeout
