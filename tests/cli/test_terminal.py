"""Progress and colour as a user sees them: the commands run on a real pseudo-terminal (live ``\\r`` line,
colour), with NO_COLOR or --no-color (no colour), and on a pipe (plain lines only)."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance.terminal import Meter, Terminal, Ticker, duration, wants_colour
from tests.helpers.common import serving

ESC = b"\x1b["
GREEN_OK = b"\x1b[32mok\x1b[0m"


def on_tty(args: list[str], env: dict[str, str] | None = None, timeout: float = 60) -> tuple[int, bytes]:
    """``python -m mockpanel ARGS`` with stdin, stdout and stderr on a new pseudo-terminal; its exit code and
    every byte it wrote there."""
    master, slave = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    environment.update({"TERM": "xterm", "COLUMNS": "200", "PYTHONUNBUFFERED": "1", **(env or {})})
    proc = subprocess.Popen([sys.executable, "-m", "mockpanel", *args], stdin=slave, stdout=slave, stderr=slave,
                            env=environment, close_fds=True)
    os.close(slave)
    out = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ended = proc.poll() is not None  # asked before select: all it wrote before it ended is read first
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
            elif ended:
                break
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return code, bytes(out)


def piped(args: list[str], env: dict[str, str] | None = None, timeout: float = 60) -> tuple[int, bytes]:
    environment = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    environment.update({"TERM": "xterm", **(env or {})})
    done = subprocess.run([sys.executable, "-m", "mockpanel", *args], capture_output=True, env=environment,
                          timeout=timeout, check=False)
    return done.returncode, done.stdout + done.stderr


# --- the pieces, in process ----------------------------------------------------------------------------------


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert wants_colour(Tty()) and not wants_colour(io.StringIO())
    assert not wants_colour(Tty(), no_color=True)
    monkeypatch.setenv("NO_COLOR", "")  # the empty string is "not set" (no-color.org)
    assert wants_colour(Tty())
    monkeypatch.setenv("NO_COLOR", "0")  # any other value, even 0
    assert not wants_colour(Tty())
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "dumb")
    assert not wants_colour(Tty())


def test_the_live_line_is_redrawn_in_place_and_cleared_before_a_line() -> None:
    out = Tty()
    term = Terminal(out, colour=False, live=True)
    term.status("generating 10/100")
    term.status("generating 9/100")  # shorter: the old tail is padded away
    term.line("done")
    assert out.getvalue() == "\rgenerating 10/100\rgenerating 9/100 " + "\r" + " " * 16 + "\r" + "done\n"


def test_the_live_line_never_wraps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "21")  # a \r returns to the start of one row only: a wrapped line would pile up
    out = Tty()
    Terminal(out, colour=False, live=True).status("x" * 50)
    assert out.getvalue() == "\r" + "x" * 17 + "..."


def test_off_a_terminal_status_is_a_heartbeat_line_now_and_then() -> None:
    out = io.StringIO()
    term = Terminal(out, colour=False, live=False, heartbeat=60)
    for n in range(5):
        term.status(f"waiting {n}")
    assert out.getvalue() == "waiting 0\n" and "\r" not in out.getvalue()


def test_outcomes_are_painted_by_what_they_say() -> None:
    term = Terminal(io.StringIO(), colour=True, live=False)
    assert term.outcome("ok") == "\x1b[32mok\x1b[0m"
    assert term.outcome("FLAGGED V2-ERR-01").startswith("\x1b[1;31m")
    assert term.outcome("done") == "done"
    assert Terminal(io.StringIO(), colour=False, live=False).outcome("ok") == "ok"


def test_the_meter_counts_and_estimates() -> None:
    now = [100.0]
    meter = Meter("cells", 10, clock=lambda: now[0])
    assert meter.text() == "cells 0/10 (0 %), 0 s elapsed"
    meter.done, now[0] = 4, 140.0
    assert meter.text("1 failed") == "cells 4/10 (40 %), ETA 1 min 00 s, 40 s elapsed, 1 failed"
    assert duration(3725) == "1 h 02 min"


def test_the_ticker_redraws_only_on_a_terminal() -> None:
    live, plain = Tty(), io.StringIO()
    for stream, is_live in ((live, True), (plain, False)):
        calls: list[int] = []

        def render() -> str:
            calls.append(1)
            return f"tick {min(len(calls), 6) // 3}"  # tick 0, 0, 1, 1, 1, 2, 2 ...

        with Ticker(Terminal(stream, colour=False, live=is_live), render, every=0.01):
            deadline = time.monotonic() + 10
            while is_live and len(calls) < 8 and time.monotonic() < deadline:  # a busy machine: wait for the thread
                time.sleep(0.01)
            if not is_live:
                time.sleep(0.05)
    shown = live.getvalue()
    assert shown.startswith("\rtick 0\rtick 1\rtick 2") and shown.endswith("\r" + " " * len("tick 2") + "\r")
    assert shown.count("\rtick") == 3  # the same text is not drawn again
    assert plain.getvalue() == ""


# --- the commands, on a pseudo-terminal and on a pipe ----------------------------------------------------------


def test_catalog_generate_shows_its_progress_on_a_terminal_only(tmp_path: Path) -> None:
    pytest.importorskip("faker")
    args = ["catalog", "generate", "--services", "2000", "-o", str(tmp_path / "c.json")]
    code, out = on_tty(args)
    assert code == 0, out
    assert b"\rgenerating services 0/2,000 (0 %)" in out and b"wrote " in out
    code, out = piped(args)
    assert code == 0 and b"\r" not in out and ESC not in out and b"generating" not in out, out


def test_conformance_colours_and_shows_its_wait_live_on_a_terminal_only() -> None:
    with serving() as origin:  # a frozen clock and no control API: the orders tier has to wait for its orders
        url = origin + "/api/v2"
        # The budget counts from the orders tier's start: on a loaded machine placing the orders took more than
        # 1 s of it, and the run had no time left to wait (no waiting line). 5 s leaves time for a wait.
        args = ["conformance", url, "--key", "test-key", "--examples", "1", "--tier", "orders", "--no-control-api",
                "--time-budget", "5", "--programs", "1", "--steps", "1", "--max-spend", "100",
                "--link", "https://instagram.com/p/x"]
        code, tty = on_tty(args)
        quick = ["conformance", url, "--key", "test-key", "--examples", "1"]
        _, no_color_env = on_tty(quick, env={"NO_COLOR": "1"})
        _, no_color_flag = on_tty([*quick, "--no-color"])
        _, pipe = piped([*args[:-1], "https://instagram.com/p/y"])  # a new link: the first run's orders still hold x
    assert code == 0, tty
    assert GREEN_OK in tty and b"\x1b[32mPASSED\x1b[0m" in tty
    assert b"\r  waiting: " in tty and b"left of --time-budget" in tty  # the live line, redrawn in place
    assert b"\r  starting: 0 requests sent (budget 2,000)" in tty  # the run's own live line, from its start
    for out in (no_color_env, no_color_flag):
        assert b"result: PASSED" in out and ESC not in out, out
    assert b"result: PASSED" in pipe and ESC not in pipe and b"\r" not in pipe
    assert b"\n  waiting: " in pipe  # off a terminal: the heartbeat lines, as before
    assert b"requests sent" not in pipe


def test_gauntlet_shows_cells_live_and_colours_pass_on_a_terminal_only() -> None:
    args = ["gauntlet", "--dialects", "standard,msm", "--", sys.executable, "-c", "pass"]
    code, tty = on_tty(args)
    assert code == 0, tty
    assert b"\rcells 0/2 (0 %)" in tty and b"\x1b[32mpass\x1b[0m" in tty
    code, out = on_tty(["gauntlet", "--no-color", *args[1:]])
    assert code == 0 and b"pass" in out and ESC not in out, out
    code, out = piped(args)
    assert code == 0 and b"pass" in out and ESC not in out and b"\r" not in out, out


def test_errors_are_coloured_on_a_terminal_only() -> None:
    code, out = on_tty(["serve", "--catalog", "no-such-catalogue"])
    assert code == 2 and b"\x1b[1;31mError:\x1b[0m --catalog 'no-such-catalogue'" in out, out
    code, out = on_tty(["serve", "--catalog", "no-such-catalogue"], env={"NO_COLOR": "yes"})
    assert code == 2 and b"Error: --catalog" in out and ESC not in out, out
    code, out = piped(["serve", "--catalog", "no-such-catalogue"])
    assert code == 2 and out.startswith(b"Error: --catalog") and ESC not in out, out


def test_could_not_run_is_red_on_a_terminal_only() -> None:
    args = ["conformance", "http://127.0.0.1:9/api/v2", "--key", "k", "--timeout", "2"]  # nothing listens on port 9
    code, out = on_tty(args)
    assert code == 2 and b"\x1b[1;31mcould not run:\x1b[0m " in out, out
    code, out = piped(args)
    assert code == 2 and b"could not run: " in out and ESC not in out, out
