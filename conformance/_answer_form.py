"""What kind of answer a panel gave: an error (in any envelope), null, an empty body, an empty
object or list, an HTML page, other text, a bare value, or JSON data.

Real panels answer what they do not know in many ways: ``{"error": "Incorrect request"}``,
``{"status": "error", "message": …}``, ``null`` (a PHP ``json_encode`` of nothing), an empty
body, ``{}``, a login page. The suite learns the form of the answer to an action no panel has
(``learn``), and an action of the API answered in that same form is one the panel does not
support. ``describe`` says what the answer was, in words a report can quote.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ._exchange import Exchange
from ._values import short

# The kinds an answer to an unknown action may take, and so the kinds that say "not supported".
UNKNOWN_KINDS = ("error", "null", "empty body", "empty object", "empty list", "HTML page", "text", "value")
_HTML = ("<!doctype html", "<html", "<head", "<body", "<title", "<br", "<b>", "<div", "<p>", "<h1")


@dataclass(frozen=True)
class AnswerForm:
    kind: str  # one of UNKNOWN_KINDS, "json" (data), or "no answer"
    detail: str = ""  # an error's words, a text's first line, a bare value
    status: int | None = None  # the HTTP status, for answers that are not JSON (a page's status tells pages apart)

    def describe(self) -> str:
        if self.kind == "error":
            return f"the error {self.detail!r}"
        if self.kind in ("text", "value"):
            return f"{'the text' if self.kind == 'text' else 'the bare value'} {self.detail}"
        if self.kind in ("HTML page", "empty body"):
            return f"an {self.kind} (HTTP {self.status})"  # an HTML page, an empty body
        if self.kind in ("empty object", "empty list"):
            return f"an {self.kind} ({'{}' if self.kind == 'empty object' else '[]'})"
        return self.kind  # null, json, no answer


def looks_like_html(body: str, content_type: str) -> bool:
    start = body.lstrip()[:200].lower()
    return "html" in content_type.lower() or any(start.startswith(tag) for tag in _HTML)


def form_of(ex: Exchange, error_message: Callable[[Any], tuple[Any, str] | None]) -> AnswerForm:
    """The form of ``ex``'s answer; ``error_message`` reads an error in the dialect's envelopes (and others)."""
    if ex.error or ex.status is None:
        return AnswerForm("no answer")
    if not ex.is_json:
        body = ex.body.strip()
        if not body:
            return AnswerForm("empty body", status=ex.status)
        if looks_like_html(body, ex.content_type):
            return AnswerForm("HTML page", status=ex.status)
        return AnswerForm("text", short(body.splitlines()[0], 80), ex.status)
    data = ex.data
    if data is None:
        return AnswerForm("null")
    if isinstance(data, dict) and not data:
        return AnswerForm("empty object")
    if isinstance(data, list) and not data:
        return AnswerForm("empty list")
    if not isinstance(data, (dict, list)):
        return AnswerForm("value", short(data, 80))
    found = error_message(data)
    if found is not None:
        return AnswerForm("error", found[0] if isinstance(found[0], str) else short(found[0], 80))
    return AnswerForm("json")
