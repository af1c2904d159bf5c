"""``mockpanel serve``'s conventions: every option from an environment variable (shown in --help,
the command line winning), ``--cors`` and ``--log-format json``, in a real ``mockpanel serve``."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.helpers.common import NoServe
from click.testing import CliRunner

from mockpanel._cli import main

KEY = "sk-conventions-secret-0001"
ENV_OF = {
    "--host": "MOCKPANEL_HOST", "--port": "MOCKPANEL_PORT", "--dialect": "MOCKPANEL_DIALECT",
    "--catalog": "MOCKPANEL_CATALOG", "--speed": "MOCKPANEL_SPEED", "--seed": "MOCKPANEL_SEED",
    "--state": "MOCKPANEL_STATE", "--balance": "MOCKPANEL_BALANCE", "--currency": "MOCKPANEL_CURRENCY",
    "--loop": "MOCKPANEL_LOOP", "--log-level": "MOCKPANEL_LOG_LEVEL", "--log-format": "MOCKPANEL_LOG_FORMAT",
    "--read-timeout": "MOCKPANEL_READ_TIMEOUT", "--access-log": "MOCKPANEL_ACCESS_LOG",
    "--journal-bytes": "MOCKPANEL_JOURNAL_BYTES", "--from": "MOCKPANEL_FROM", "--admin-token": "MOCKPANEL_ADMIN_TOKEN",
    "--allow-host": "MOCKPANEL_ALLOW_HOSTS", "--book-bytes": "MOCKPANEL_BOOK_BYTES", "--cors": "MOCKPANEL_CORS",
    "--allow-unsafe-fault-content": "MOCKPANEL_ALLOW_UNSAFE_FAULT_CONTENT",
}


def test_every_serve_option_names_its_environment_variable_in_help():
    command = main.commands["serve"]
    options = {o.opts[0]: o for o in command.params if o.opts[0].startswith("--") and o.opts[0] != "--help"}
    assert set(options) - {"--key"} == set(ENV_OF)  # --key: MOCKPANEL_KEYS, comma-separated (its help says so)
    help_text = " ".join(CliRunner().invoke(main, ["serve", "--help"], terminal_width=400).output.split())
    for flag, env in ENV_OF.items():
        assert options[flag].envvar == env
        assert f"env var: {env}" in help_text, flag
    assert "MOCKPANEL_KEYS" in help_text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(env: dict[str, str], *args: str) -> tuple[subprocess.Popen[str], list[str]]:
    """``mockpanel serve ARGS`` with ``env`` added; its stdout up to 'Press Ctrl+C' (stderr kept apart)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MOCKPANEL_")}
    proc = subprocess.Popen([sys.executable, "-m", "mockpanel", "serve", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**clean, "PYTHONUNBUFFERED": "1", **env})
    assert proc.stdout is not None
    banner: list[str] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        banner.append(line.rstrip("\n"))
        if line.startswith("Press Ctrl+C"):
            return proc, banner
    proc.kill()
    raise AssertionError(f"no banner: {banner} {proc.communicate(timeout=10)}")


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate(timeout=10)
    return err


def _answered(url: str, **kwargs: object) -> httpx.Response:
    for _ in range(200):  # the banner comes just before uvicorn serves
        try:
            return httpx.post(url, timeout=10, **kwargs)  # type: ignore[arg-type]
        except httpx.ConnectError:
            time.sleep(0.02)
    raise AssertionError(f"{url} never answered")


def test_serve_takes_its_options_from_the_environment_and_logs_json_lines():
    for attempt in range(3):  # a port free when picked can be another process's by the time serve binds it
        port = _free_port()
        try:
            proc, banner = _start({
                "MOCKPANEL_HOST": "127.0.0.1", "MOCKPANEL_PORT": str(port), "MOCKPANEL_DIALECT": "msm",
                "MOCKPANEL_CATALOG": "generate:7:3", "MOCKPANEL_SPEED": "0", "MOCKPANEL_SEED": "42",
                "MOCKPANEL_KEYS": KEY, "MOCKPANEL_BALANCE": "12.5", "MOCKPANEL_CORS": "http://localhost:3000 https://b.example",
                "MOCKPANEL_ACCESS_LOG": "1", "MOCKPANEL_LOG_FORMAT": "json",
            })
            break
        except AssertionError as exc:  # no banner: serve exited, saying why
            if attempt == 2 or "in use" not in str(exc).lower():
                raise
    try:
        assert "dialect msm, 3 services, clock speed 0x, seed 42" in banner[0], banner  # msm sells 3 of the 7 (8 without)
        assert f"API: http://127.0.0.1:{port}/" in banner[1], banner
        api = banner[1].split("API: ", 1)[1]
        answer = _answered(api, data={"key": KEY, "action": "balance"}, headers={"Origin": "https://b.example"})
        assert answer.json()["balance"].startswith("12.5")
        assert answer.headers["access-control-allow-origin"] == "https://b.example"
        assert "access-control-allow-origin" not in httpx.get(
            f"http://127.0.0.1:{port}/_mock/health", headers={"Origin": "https://b.example"}, timeout=10).headers
    finally:
        err = _stop(proc)
    assert KEY not in err and KEY not in "\n".join(banner)
    records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    balance = [r for r in records if " balance " in r["message"]]
    assert balance, err
    assert balance[0]["level"] == "info" and balance[0]["logger"] == "mockpanel"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", balance[0]["time"])
    assert "-> 200" in balance[0]["message"]


@pytest.mark.parametrize("args, env, shown", [
    ([], {"MOCKPANEL_SEED": "7"}, "seed 7"),
    (["--seed", "3"], {"MOCKPANEL_SEED": "7"}, "seed 3"),  # the command line wins
    (["--speed", "2"], {"MOCKPANEL_SPEED": "60"}, "clock speed 2x"),
])
def test_the_command_line_wins_over_the_environment(monkeypatch, args, env, shown):
    from mockpanel._server import serving

    monkeypatch.setattr(serving, "server", NoServe)
    result = CliRunner().invoke(main, ["serve", "--port", "0", *args], env={"MOCKPANEL_ADMIN_TOKEN": "", **env})
    assert result.exit_code == 0, result.output
    assert shown in result.output


@pytest.mark.parametrize("env, words", [
    ({"MOCKPANEL_CORS": "localhost:3000"}, "is not an origin"),
    ({"MOCKPANEL_LOG_FORMAT": "xml"}, "'xml' is not one of 'text', 'json'"),
    ({"MOCKPANEL_PORT": "eighty", "MOCKPANEL_HOST": "127.0.0.1"}, "'eighty' is not a valid integer"),
])
def test_a_bad_value_from_the_environment_is_a_usage_error(monkeypatch, env, words):
    from mockpanel._server import serving

    monkeypatch.setattr(serving, "server", NoServe)
    args = [] if "MOCKPANEL_PORT" in env else ["--port", "0"]  # refused while the options are read: nothing bound
    result = CliRunner().invoke(main, ["serve", *args], env=env)
    assert result.exit_code == 2 and words in result.output, result.output
    assert "API:" not in result.output
