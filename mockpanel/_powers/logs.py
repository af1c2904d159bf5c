"""Logs: the standard ``logging`` module, logger ``mockpanel``.

At info, one line per API request (action, key id redacted, status, time), one per fault
fired, one when a state file is replayed; at debug, each request's fields and answer too.
``mockpanel serve --access-log`` turns them on. Nothing logged holds a key: what is
logged comes from the journal, which has redacted it already, or from redacted forms; and at
debug, where a request's fields show, any key of the panel that a client pasted into a field is
hidden too (the journal's ``hide``, _panel/scrub.py; only at debug: never a cost on the info line).
"""

from __future__ import annotations

import datetime
import json
import logging
import sys
from typing import Any, Callable, Iterable, Mapping

from .._domain.accounts import redact_id

LOG = logging.getLogger("mockpanel")
INFO, DEBUG = logging.INFO, logging.DEBUG
_HANDLER = "mockpanel-stderr"
_SHOWN = 2000  # characters of fields or answer at debug
_WORDS = 200  # characters of an error answer's words on its request's line


def _who(kid: str) -> str:
    return redact_id(kid) if kid else "(no key)"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def error_words(answer: Any) -> str | None:
    """The words of an API answer that is an error, or None: ``{"error": "..."}``, or a
    ``{"status": "error", "message": "..."}`` envelope (dialects write both). Panels answer most
    errors with HTTP 200, so the status alone does not tell a log reader that a request failed."""
    if not isinstance(answer, dict):
        return None
    words = answer.get("error")
    if words is None and str(answer.get("status", "")).lower() == "error":
        words = answer.get("message", "error")
    if words is None or words is False:
        return None
    text = words if isinstance(words, str) else json.dumps(words, ensure_ascii=False, default=str)
    return text if len(text) <= _WORDS else text[: _WORDS - 3] + "..."


def request(seq: int, params: Mapping[str, str], kid: str, status: int | None, seconds: float,
            fault: str | None, state: str, answer: Any, hide: Callable[[Any], Any] | None = None) -> None:
    """One answered request (``params`` and ``answer`` are the journal's, key redacted); an
    error answer's words follow, quoted as JSON (a newline in them cannot start a false line). At
    debug, the fields and answer pass through ``hide`` (the panel's keys pasted into a field)."""
    action = (params.get("action") or "").strip() or "(no action)"
    shown = "dropped" if status is None else str(status)
    words = error_words(_decoded(answer)) if _may_be_error(answer) else None
    extra = f" error {json.dumps(words, ensure_ascii=False)}" if words is not None else ""
    if fault:
        extra += f" [fault {fault}]"
    if state == "abandoned":
        extra += " [abandoned by the client]"
    LOG.info("#%d %s %s -> %s in %.1f ms%s", seq, action, _who(kid), shown, seconds * 1000, extra)
    if LOG.isEnabledFor(DEBUG):
        fields = {k: v for k, v in params.items() if k != "action"}
        sent, said = fields, _decoded(answer)
        if hide is not None:
            sent, said = hide(sent), hide(said)
        LOG.debug("#%d fields %s answer %s", seq, _short(sent), _short(said))


def _decoded(answer: Any) -> Any:
    return answer.decode() if isinstance(answer, bytes) and hasattr(answer, "decode") else answer


def _may_be_error(answer: Any) -> bool:
    """Cheap: an answer kept as bytes (a 1 MB services list) is decoded only if it may be an error object."""
    if isinstance(answer, bytes):
        return answer[:1] == b"{" and (b'"error"' in answer or b'"message"' in answer)
    return isinstance(answer, dict)


def faults_fired(action: str, kid: str, faults: Iterable[Any]) -> None:
    """The faults that fired for one request (``Fault`` objects)."""
    if not LOG.isEnabledFor(INFO):
        return
    for fault in faults:
        what = f"{fault.kind} {fault.status}" if fault.kind == "http" else fault.kind
        if fault.kind == "latency":
            what += f" {fault.seconds:g}s"
        LOG.info("fault %s fired on %s %s", what, action or "(no action)", _who(kid))


def abandoned(seq: int, seconds: float) -> None:
    LOG.info("#%d abandoned by the client during a %gs delay", seq, seconds)


def replayed(path: str, changes: int) -> None:
    LOG.info("state %s replayed: %d change(s)", path, changes)


FORMATS = ("text", "json")


class JsonLines(logging.Formatter):
    """One JSON object per record, for log collectors: time (ISO 8601, UTC), level, logger, message
    (as the text format words it: keys already redacted), and the exception when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self.formatTime(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        at = datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc)
        return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _formatter(fmt: str) -> logging.Formatter:
    if fmt == "json":
        return JsonLines()
    return logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")


def configure(level: str = "warning", access_log: bool = False, fmt: str = "text") -> None:
    """For ``mockpanel serve``: the ``mockpanel`` logger to stderr, at info with
    ``access_log`` (or ``level`` info), at debug with ``level`` debug; ``fmt`` "json": one
    JSON object a line (``--log-format json``)."""
    if fmt not in FORMATS:
        raise ValueError(f"log format {fmt!r}: give one of {', '.join(FORMATS)}")
    wanted = getattr(logging, level.upper(), logging.WARNING)
    if access_log:
        wanted = min(wanted, INFO)
    LOG.setLevel(wanted)
    handler = next((h for h in LOG.handlers if h.get_name() == _HANDLER), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.set_name(_HANDLER)  # configured once, however often serve is started in one process
        LOG.addHandler(handler)
    handler.setFormatter(_formatter(fmt))
    LOG.propagate = False  # uvicorn may configure the root logger too: one line, not two
