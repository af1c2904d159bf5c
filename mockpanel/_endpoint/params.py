"""Reading an API request's fields from a query string and a body of any content type.

Real clients send form posts (urlencoded or multipart), GET query strings and JSON
bodies; body fields win over query fields. Whatever arrives, the result is a flat
``dict[str, str]``: repeated fields keep the last value (as PHP does), JSON numbers
and lists become the strings a form would carry, anything else is dropped.

Text that is not text (a JSON "\\ud800", a lone surrogate) becomes U+FFFD, as a
UTF-8 decoder with errors="replace" does: whatever is kept can be written out again.
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping
from urllib.parse import parse_qsl, unquote

import orjson


_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (pairs were joined by the JSON reader)."""
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)


def clean_fields(fields: Mapping[str, str]) -> Mapping[str, str]:
    """The fields, cleaned (the same mapping when there was nothing to clean: the usual case)."""
    if "".join(fields.values()).isascii() and "".join(fields).isascii():  # the usual case: four calls, no loop
        return fields
    return {clean_text(k): clean_text(v) for k, v in fields.items()}


def query_fields(query_string: bytes) -> dict[str, str]:
    if not query_string:
        return {}
    return dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))


def urlencoded_fields(body: bytes) -> dict[str, str]:
    if not body:
        return {}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("latin-1")
    # parse_qsl's rules (keep_blank_values=True, errors="replace"), without its per-field
    # calls: a name or value with no "%" or "+" is taken as it is; repeated names keep the last.
    out: dict[str, str] = {}
    plus = "+" in text  # looked for once: most bodies have none
    for part in text.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if "%" in name or (plus and "+" in name):
            name = _unquote_plus(name)
        if "%" in value or (plus and "+" in value):
            value = _unquote_plus(value)
        out[name] = value
    return out


# "%XX" for every ASCII character, either case: what clients escape in a link or a list of ids.
_ASCII_ESCAPES = {f"{a}{b}": chr(int(a + b, 16)) for a in "01234567" for b in "0123456789ABCDEFabcdef"}
# The escapes of a link and of a list of ids as clients write them (upper case: PHP's http_build_query,
# requests, httpx, urllib), each replaced in one C-level call. Decoding one to a character other
# than "%" can neither make nor hide another escape, so replacing each everywhere reads the text as
# unquote does; what still holds a "%" after them is read escape by escape.
_COMMON_ESCAPES = (("%2F", "/"), ("%3A", ":"), ("%2C", ","), ("%3F", "?"), ("%3D", "="), ("%26", "&"), ("%2c", ","))


def _unquote_plus(text: str) -> str:
    """``unquote_plus(text, errors="replace")``, as Starlette's form parser and parse_qsl decode:
    "+" is a space, "%XX" a byte, the bytes UTF-8 (U+FFFD for what is not), and a "%" that starts
    no escape stays as it is."""
    if "+" in text:
        text = text.replace("+", " ")
    decoded = text
    for escape, char in _COMMON_ESCAPES:
        decoded = decoded.replace(escape, char)
    if "%" not in decoded:
        return decoded
    # Other ASCII escapes ("@", "#", "~" ...) are looked up, not decoded as bytes; anything else
    # (a byte of a UTF-8 character, a stray "%") is unquote's.
    parts = text.split("%")
    try:
        return parts[0] + "".join([_ASCII_ESCAPES[part[:2]] + part[2:] for part in parts[1:]])
    except KeyError:
        return unquote(text, errors="replace")


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool):
        return "1" if value else ""  # PHP's cast, as the panels' example client sends it
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def json_fields(body: bytes) -> dict[str, str]:
    """A JSON object's fields; a body that is not a JSON object gives no fields."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        # orjson refuses integers beyond 64 bits; without this a huge "quantity" would
        # drop every field and be answered "Invalid API key". The stdlib reads them.
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return {}
    if not isinstance(data, dict):
        return {}
    out: dict[str, str] = {}
    for name, value in data.items():
        if isinstance(value, list):
            items = [_scalar(v) for v in value]
            if all(i is not None for i in items):
                out[name] = ",".join(items)  # type: ignore[arg-type]
        else:
            text = _scalar(value)
            if text is not None:
                out[name] = text
    return clean_fields(out)  # type: ignore[return-value]


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


FORM = "application/x-www-form-urlencoded"
_FORM_BYTES = FORM.encode()  # the spelling clients send: one comparison before parsing the header


def is_form(content_type: bytes) -> bool:
    """Whether a raw Content-Type header names an urlencoded form (``media_type`` says so),
    with the exact spelling clients send checked first."""
    return content_type == _FORM_BYTES or media_type(content_type.decode("latin-1")) == FORM
