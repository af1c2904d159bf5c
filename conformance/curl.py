"""Copy-as-curl: a shell command that sends a recorded request again, with the keys as variables.

What was recorded is redacted (``key#`` and 8 hex digits, conformance/redaction.py); a
command carries no key either. Each redacted key the caller can name becomes a shell variable
(``"$MOCKPANEL_KEY"``), set by whoever runs the command; any other redacted value (a key the
suite derived from yours for the authentication checks, a cookie the proxy hid) stays as it
was shown, and a comment line above the command says so. Every other character is single-quoted for POSIX shells: nothing in a
recorded value is ever expanded or run.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping

from .redaction import EMPTY, KEY_FIELDS

REDACTED = re.compile(r"key(?:#|%23)([0-9a-f]{8})")
# Headers a command leaves to curl: each connection's own, and what curl writes itself.
LEFT_TO_CURL = frozenset({"host", "content-length", "connection", "keep-alive", "proxy-connection", "te", "trailer",
                          "transfer-encoding", "upgrade", "expect", "accept-encoding", "user-agent", "accept"})


def _quote(literal: str) -> str:
    return shlex.quote(literal) if literal else ""


def shell_word(text: str, variables: Mapping[str, str]) -> str:
    """``text`` as one shell word: quoted, with each redacted key of ``variables`` (its ``key#…``
    form -> a variable name) written as ``"$NAME"``."""
    parts: list[str] = []
    at = 0
    for match in REDACTED.finditer(text):
        name = variables.get("key#" + match.group(1))
        if name is None:
            continue
        parts.append(_quote(text[at:match.start()]))
        parts.append(f'"${name}"')
        at = match.end()
    parts.append(_quote(text[at:]))
    word = "".join(parts)
    return word or "''"


def _unnamed(texts: Iterable[str], variables: Mapping[str, str]) -> list[str]:
    seen: list[str] = []
    for text in texts:
        for match in REDACTED.finditer(text):
            shown = "key#" + match.group(1)
            if shown not in variables and shown not in seen:
                seen.append(shown)
    return seen


def form_command(url: str, fields: Mapping[str, str], variables: Mapping[str, str]) -> str:
    """A form-encoded POST of ``fields`` to ``url``, as the conformance suite sends its requests."""
    values = {name: ("" if name.lower() in KEY_FIELDS and value == EMPTY else value) for name, value in fields.items()}
    args = [f"--data-urlencode {shell_word(f'{name}={value}', variables)}" for name, value in values.items()]
    if not args:
        args = ["-X POST"]
    return _command(url, args, [url, *values.values()], variables)


def raw_command(method: str, url: str, headers: Iterable[tuple[str, str]], body: str,
                variables: Mapping[str, str]) -> str:
    """``method`` to ``url`` with ``headers`` and the body as it was sent (a form, JSON, multipart);
    ``--data-raw``: a body starting with @ is sent as it is, not read from a file."""
    kept = [(k, v) for k, v in headers if k.lower() not in LEFT_TO_CURL]
    args = [] if (method == "POST" and body) or (method == "GET" and not body) else [f"-X {shlex.quote(method)}"]
    args += [f"-H {shell_word(f'{k}: {v}', variables)}" for k, v in kept]
    if body:
        args.append(f"--data-raw {shell_word(body, variables)}")
    return _command(url, args, [url, body, *(v for _, v in kept)], variables)


def _command(url: str, args: list[str], texts: list[str], variables: Mapping[str, str]) -> str:
    lines = [f"curl -sS -i {shell_word(url, variables)}", *args]
    command = " \\\n  ".join(lines)
    unnamed = _unnamed(texts, variables)
    if unnamed:  # a comment line: pasted with the command, the shell skips it
        command = (f"# {', '.join(unnamed)}: a secret shown redacted, not a key named by a variable (a key the "
                   "suite derived from yours, a cookie); put its real value in its place to send this again\n" + command)
    return command
