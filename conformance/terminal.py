"""The terminal a command writes to: colour, and a live progress line.

On a terminal, long phases show one line that updates in place (``\\r``) with counts and an ETA, and
pass/fail words and errors are coloured. Anywhere else (a pipe, a file, CI's log) the output is plain
lines: no escape sequence, no carriage return, a heartbeat line now and then instead of the live line.
Colour also goes when ``NO_COLOR`` is set to anything but the empty string (https://no-color.org/),
when ``TERM`` is ``dumb``, or with the command's ``--no-color``.

The judge's command and the mock's share this module (the mock may read the judge's public modules; the
judge never imports the mock).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from types import TracebackType
from typing import Callable, TextIO

import click

__all__ = ["InputError", "Terminal", "Meter", "Ticker", "is_terminal", "wants_colour", "NO_COLOR_HELP"]

NO_COLOR_HELP = "No colour (also: NO_COLOR set to anything; never on a pipe or a file)."

# SGR codes: one style per meaning, so every command colours the same word the same way.
STYLES = {
    "pass": "32",  # green
    "fail": "1;31",  # bold red
    "warn": "33",  # yellow
    "error": "1;31",
    "dim": "2",
}
PASS_WORDS = {"ok", "pass", "passed"}
FAIL_WORDS = {"fail", "failed", "flagged", "error", "errors"}
WARN_WORDS = {"warning", "warnings", "skip", "skipped", "not exercised", "not supported"}


def is_terminal(stream: TextIO) -> bool:
    """``stream`` is an interactive terminal (not a pipe, a file, or a closed stream)."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except (ValueError, OSError):  # closed, or detached
        return False


def wants_colour(stream: TextIO, no_color: bool = False) -> bool:
    """Colour on ``stream``: a terminal that is not ``dumb``, with no ``NO_COLOR`` and no ``--no-color``."""
    if no_color or os.environ.get("NO_COLOR", "") != "" or os.environ.get("TERM") == "dumb":
        return False
    return is_terminal(stream)


class InputError(click.ClickException):
    """A file or value the command cannot use (a catalogue that is not UTF-8, a profile that is not JSON, a
    currency that is not one): shown as one line, ``Error: ...``, with no usage banner, since the command
    line itself was right. Exit 2, as for a usage error: the command did not run."""

    exit_code = 2


class Terminal:
    """Lines, coloured words and one live status line on one stream.

    ``live`` (default: the stream is a terminal) redraws the status line in place; otherwise ``status``
    writes a plain heartbeat line at most every ``heartbeat`` seconds. Thread-safe: a ticker thread and
    the command's own lines may write at once.
    """

    def __init__(self, stream: TextIO, *, colour: bool | None = None, live: bool | None = None,
                 heartbeat: float = 5.0) -> None:
        self.stream = stream
        self.colour = wants_colour(stream) if colour is None else colour
        self.live = is_terminal(stream) if live is None else live
        self.heartbeat = heartbeat
        self._shown = 0  # width of the live line on screen (0: none)
        self._text = ""  # the live line on screen
        self._last_beat = float("-inf")
        self._lock = threading.Lock()

    def paint(self, text: str, style: str) -> str:
        """``text`` in the style (``pass``, ``fail``, ``warn``, ``error``, ``dim``) when colouring, else as is."""
        code = STYLES.get(style)
        return f"\x1b[{code}m{text}\x1b[0m" if self.colour and code else text

    def outcome(self, text: str) -> str:
        """An outcome word (``ok``, ``FAIL ...``, ``warning ...``) painted by what it says."""
        word = text.strip().lower()
        for words, style in ((PASS_WORDS, "pass"), (FAIL_WORDS, "fail"), (WARN_WORDS, "warn")):
            if any(word == w or word.startswith(w + " ") or word.startswith(w + ":") for w in words):
                return self.paint(text, style)
        return text

    def line(self, text: str = "") -> None:
        """A line of output; the live line, if shown, is cleared first (the next status redraws it)."""
        with self._lock:
            self._clear()
            self.stream.write(text + "\n")
            self.stream.flush()

    def status(self, text: str) -> None:
        """The live line now says ``text``; off a terminal, a heartbeat line if one is due."""
        with self._lock:
            if self.live:
                width = max(10, shutil.get_terminal_size((80, 24)).columns - 1)  # never wrap: \r returns one row only
                shown = text if len(text) <= width else text[: width - 3] + "..."
                if shown == self._text and self._shown:
                    return  # already on screen: a redraw would only add bytes
                self._text = shown
                pad = " " * max(0, self._shown - len(shown))
                self.stream.write("\r" + shown + pad)
                self.stream.flush()
                self._shown = len(shown)
                return
            now = time.monotonic()
            if now - self._last_beat >= self.heartbeat:
                self._last_beat = now
                self.stream.write(text + "\n")
                self.stream.flush()

    def done(self) -> None:
        """The live phase is over: its line is cleared."""
        with self._lock:
            self._clear()

    def _clear(self) -> None:
        if self._shown:
            self.stream.write("\r" + " " * self._shown + "\r")
            self._shown = 0


class Meter:
    """Counts of a phase and its ETA: ``generating 4,000/10,000 (40 %), 3 s left``."""

    def __init__(self, label: str, total: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.label = label
        self.total = max(0, total)
        self.done = 0
        self.clock = clock
        self.started = clock()

    def text(self, extra: str = "") -> str:
        elapsed = self.clock() - self.started
        parts = [f"{self.label} {self.done:,}/{self.total:,}"]
        if self.total:
            parts[0] += f" ({100 * self.done // self.total} %)"
        if 0 < self.done < self.total and elapsed > 0:
            parts.append(f"ETA {duration(elapsed / self.done * (self.total - self.done))}")
        parts.append(f"{duration(elapsed)} elapsed")
        if extra:
            parts.append(extra)
        return ", ".join(parts)


def duration(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``1 h 02 min``."""
    s = max(0, int(seconds + 0.5))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class Ticker:
    """Redraws ``render()`` on the terminal's live line every ``every`` seconds while the block runs
    (a thread, only on a live terminal); the line is cleared at the end. Off a terminal it does nothing:
    the command's own lines are the heartbeat there."""

    def __init__(self, terminal: Terminal, render: Callable[[], str], every: float = 0.5) -> None:
        self.terminal = terminal
        self.render = render
        self.every = every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Ticker:
        if self.terminal.live:
            self.terminal.status(self.render())
            self._thread = threading.Thread(target=self._run, name="mockpanel-progress", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.terminal.status(self.render())

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.terminal.done()
