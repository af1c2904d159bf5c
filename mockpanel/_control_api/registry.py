"""One entry of the control API's registry (``ENDPOINTS`` in control_http.py) and how it is served.

An ``Endpoint`` says everything about one endpoint: its route, how its input is read, what it
answers and how the OpenAPI document describes it. The list endpoints (listing.py) are entries
of the same registry that read their query in their own way (``ListEndpoint``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Mapping

import orjson
from starlette.requests import Request as HttpRequest
from starlette.responses import Response
from starlette.routing import Route

from .._domain.errors import PanelError
from .._panel.scrub import scrub
from . import schema as s
from .access import control_error, forged, refusal

if TYPE_CHECKING:  # pragma: no cover
    from .._powers.control import Control

Handler = Callable[["Control", HttpRequest, Any], Any]
RAW_JSON = "any JSON value"


@dataclass(frozen=True)
class Endpoint:
    """One control endpoint. ``path`` is under /_mock, in Starlette's syntax (``{order_id:int}``);
    ``body``/``query`` are the schemas its input is decoded with (``RAW_JSON``: any JSON value);
    ``answer`` is the JSON Schema of a success answer (without it, only its type: ``returns``)."""

    method: str
    path: str
    handler: Handler
    summary: str
    body: type | str | None = None
    query: type | None = None
    status: int = 200
    returns: str = "object"  # "object" or "array": the shape of a success answer
    answer: Mapping[str, Any] | None = field(default=None, compare=False)
    open_to_all: bool = False  # answered without the admin token or loopback (health checks); GET only
    # Answered exactly as made: the key its caller just created, the snapshot PUT /state takes back.
    # Every other answer has each key of the panel hidden wherever it shows (a link, a comment: scrub.py).
    exact: bool = False

    async def read(self, request: HttpRequest) -> Any:
        """The request's input, checked: a SchemaError (400 naming the field) when it is wrong."""
        if self.query is not None:
            return s.decode_query(dict(request.query_params), self.query)
        if self.body is None:
            return None
        raw = await request.body()
        return _raw_json(raw) if self.body == RAW_JSON else s.decode_body(raw, self.body)  # type: ignore[arg-type]

    def operation(self) -> dict[str, Any] | None:
        """Its OpenAPI operation when it describes itself; None: built from its schemas (openapi.py)."""
        return None

    def route(self, path: str | None = None) -> Route:
        """Its route (at ``path`` instead of its own, for /_mock without the slash)."""
        return Route(path or self.path, _serve(self), methods=[self.method])


def public_path(path: str) -> str:
    """``/orders/{order_id:int}`` -> ``/_mock/orders/{order_id}``."""
    return "/_mock" + re.sub(r"\{(\w+):\w+\}", r"{\1}", path)


def _raw_json(raw: bytes) -> Any:
    if not raw.strip():
        return {}
    try:
        orjson.loads(raw)  # strict: refuses lone surrogates (\ud800), which would poison the state
        return json.loads(raw, parse_float=Decimal)  # money stays exact
    except (ValueError, UnicodeDecodeError):
        raise s.SchemaError(
            "the body is not valid JSON (or holds a lone surrogate such as \\ud800); "
            "send JSON in UTF-8 with Content-Type: application/json"
        ) from None


def _json(value: Any) -> bytes:
    try:
        return orjson.dumps(value, default=str)
    except TypeError:  # a lone surrogate in stored text (a link): JSON escapes it (\ud800), orjson refuses it
        return json.dumps(value, default=str).encode()


def _serve(entry: Endpoint) -> Callable[[HttpRequest], Awaitable[Response]]:
    async def endpoint(request: HttpRequest) -> Response:
        refused = (None if entry.open_to_all else refusal(request)) or forged(request)
        if refused is not None:
            return refused
        control: Control = request.app.state.control
        try:
            answer = entry.handler(control, request, await entry.read(request))
            if isinstance(answer, Response):  # an answer sent as it is made (the journal's HAR)
                return answer
            shown = answer if entry.exact else scrub(control.panel, answer)
            return Response(_json(shown), entry.status, media_type="application/json")
        except s.SchemaError as exc:  # errors may quote what was sent: the panel's keys hidden there too
            return control_error(400, scrub(control.panel, str(exc)), exc.field)
        except KeyError as exc:
            return control_error(404, scrub(control.panel, str(exc.args[0])) if exc.args else "not found")
        except (ValueError, TypeError, ArithmeticError) as exc:
            return control_error(400, scrub(control.panel, str(exc)) or type(exc).__name__)
        except PanelError as exc:
            return control_error(400, f"the panel refused: {control.dialect.message(exc.code, exc.values)}")

    return endpoint
