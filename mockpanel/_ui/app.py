"""The dashboard's routes: the page, its live sections, its static files and its controls.

Access is the control API's: loopback clients, or, when the server has an admin token,
requests that carry it (a header, or the HttpOnly cookie the page's sign-in form sets).
The controls answer only requests with the ``X-Mockpanel-UI`` header, which a page of
another site cannot send without a CORS preflight that this server never grants.

The pages are rendered as the reports are (conformance/pages.py: one Jinja2 environment, the
same base.html and look), with the dashboard's templates first; each page is sent with a
Content-Security-Policy that lets only this server's own files load, run and be framed by nothing.
"""

from __future__ import annotations

import hmac
import json
from decimal import Decimal
from pathlib import Path
from typing import Any, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route, Router

from conformance import pages
from .._domain.accounts import redact
from .._domain.errors import PanelError
from .._domain.numbers import parse_int
from .._control_api.access import forged, refusal, token_of
from .._powers.control import Control
from .._powers.journal_har import journal_har
from .._panel.scrub import scrub, scrubber
from . import view

HERE = Path(__file__).parent
TEMPLATES = pages.environment(HERE / "templates", money=view.money_filter, short_link=view.short_link)
SECTIONS = ("clock", "keys", "orders", "refills", "faults", "journal")
COOKIE = "mockpanel_token"
STATIC = {"ui.js": "text/javascript", "ui.css": "text/css"}
SHARED = {pages.STYLESHEET: pages.TEMPLATES / pages.STYLESHEET}  # the look every page shares (the reports too)
# A page runs only this server's script and style, fetches only from it, posts its forms only to it, and no
# other site may frame it (a framed dashboard could be clicked by a page on top: clickjacking).
POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
          "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
FILE_HEADERS = {"cache-control": "no-cache", "x-content-type-options": "nosniff"}
# No Referrer-Policy "no-referrer": under it a browser sends "Origin: null" with the page's own posts (the
# sign-in), which the origin check (forged) must refuse.
PAGE_HEADERS = {"cache-control": "no-store", "content-security-policy": POLICY, "x-content-type-options": "nosniff"}


def _base(request: Request) -> str:
    path = request.url.path
    return path[: path.rindex("/_mock/ui") + len("/_mock/ui")] if "/_mock/ui" in path else "/_mock/ui"


def _refused(request: Request) -> Response | None:
    token = getattr(request.app.state, "admin_token", None)
    cookie = request.cookies.get(COOKIE)
    if token and cookie and hmac.compare_digest(cookie.encode(), token.encode()):
        return forged(request)
    return refusal(request) or forged(request)


def _control(request: Request) -> Control:
    return request.app.state.control  # type: ignore[no-any-return]


def _origin(request: Request) -> str:
    """This server as the browser reached it: ``http://HOST:PORT`` (the Host check passed already)."""
    return f"{request.url.scheme}://{request.headers.get('host') or request.url.netloc}"


def _sign_in(request: Request, refused: Response) -> Response:
    """The sign-in page in place of a refused page. A first visit (no token sent at all) is asked for
    the token, not told off; a token that was sent and is wrong, or a client that is not on loopback, is."""
    status = refused.status_code
    asked = status == 401 and token_of(request) is None and COOKIE not in request.cookies
    message = None if asked else json.loads(bytes(refused.body))["error"]
    if status == 401 and COOKIE in request.cookies and token_of(request) is None:
        message = "the admin token this browser kept is no longer this server's: enter the new one"
    return _html(TEMPLATES.get_template("login.html").render(base=_base(request), status=status, message=message), status)


async def page(request: Request) -> Response:
    refused = _refused(request)
    if refused is not None:
        return _sign_in(request, refused)
    ctx = view.context(_control(request), request.query_params, _base(request), _origin(request))
    return _html(TEMPLATES.get_template("page.html").render(ctx))


async def order_page(request: Request) -> Response:
    """One order: its plan and ETA, its money and refills (GET /_mock/orders/ID, on a page)."""
    refused = _refused(request)
    if refused is not None:
        return _sign_in(request, refused)
    ctx = _order_context(request)
    if ctx is None:
        return _html(TEMPLATES.get_template("order.html").render(_missing(request)), 404)
    return _html(TEMPLATES.get_template("order.html").render(ctx))


def _order_context(request: Request) -> dict[str, Any] | None:
    control = _control(request)
    order_id = request.path_params.get("order_id") or parse_int(request.query_params.get("order", ""))
    if order_id is None:
        return None  # "?order=abc": no such order
    try:
        order = view.order_detail(control, order_id)
    except (KeyError, PanelError):
        return None
    clock = control.clock()
    return {"base": _base(request), "order": order, "dialect": control.dialect.name,
            "money_places": control.dialect.money_decimals, "clock": {**clock, "text": view.clock_text(clock["now"])}}


def _missing(request: Request) -> dict[str, Any]:
    control = _control(request)
    clock = control.clock()
    return {"base": _base(request), "order": None, "order_id": request.path_params.get("order_id"),
            "dialect": control.dialect.name, "clock": {**clock, "text": view.clock_text(clock["now"])}}


def _html(text: str, status: int = 200) -> Response:
    # "replace": text a client sent that is not valid Unicode (a lone surrogate) shows as "?", never a 500
    return Response(text.encode("utf-8", "replace"), status, media_type="text/html", headers=PAGE_HEADERS)


async def live(request: Request) -> Response:
    """The page's sections, rendered again for the same query (the script polls this)."""
    refused = _refused(request)
    if refused is not None:
        return refused
    if "order" in request.query_params:  # an order's page: its clock and the order
        ctx = _order_context(request)
        if ctx is None:
            return JSONResponse({"error": "no such order on this panel"}, 404)
        sections = {name: TEMPLATES.get_template(f"_{name}.html").render(ctx) for name in ("clock", "order")}
        return Response(json.dumps({"sections": sections, "now": ctx["clock"]["now"]}), media_type="application/json",
                        headers={"cache-control": "no-store"})
    ctx = view.context(_control(request), request.query_params, _base(request), _origin(request))
    sections = {name: TEMPLATES.get_template(f"_{name}.html").render(ctx) for name in SECTIONS}
    body = json.dumps({"sections": sections, "now": ctx["clock"]["now"]})  # ASCII: lone surrogates stay escaped
    return Response(body, media_type="application/json", headers={"cache-control": "no-store"})


async def login(request: Request) -> Response:
    refused = forged(request, json_body=False)  # the sign-in is a form: its origin is checked, not its type
    if refused is not None:
        return refused
    form = await request.form(max_fields=5)
    token = getattr(request.app.state, "admin_token", None)
    given = str(form.get("token") or "")
    base = _base(request)
    if not token or not hmac.compare_digest(given.encode(), token.encode()):
        text = TEMPLATES.get_template("login.html").render(base=base, status=401, message="that is not this server's admin token")
        return _html(text, 401)
    response = RedirectResponse(base, status_code=303)
    response.set_cookie(COOKIE, given, path=base, httponly=True, samesite="strict")
    return response


async def services(request: Request) -> Response:
    """The services whose id or name holds ``q``, a bounded page of them (the service filter of a big catalogue)."""
    refused = _refused(request)
    if refused is not None:
        return refused
    text = request.query_params.get("q", "")[:200]
    return JSONResponse(view.services_found(_control(request), text), headers={"cache-control": "no-store"})


async def download(request: Request) -> Response:
    """The journal as HAR, or the whole state as a snapshot, as a file to save (GET /_mock/journal.har
    and GET /_mock/state, reached with the page's own sign-in)."""
    refused = _refused(request)
    if refused is not None:
        return refused
    control = _control(request)
    name = request.path_params["name"]
    if name == "journal.har":
        # The HAR names the API's URLs from the request's root: the panel's, not the page's.
        root = _base(request).removesuffix("/_mock/ui")
        response: Response = journal_har(control, Request({**request.scope, "root_path": root}), None)
    elif name == "state.json":
        response = Response(_state_without_keys(control), media_type="application/json")
    else:
        return JSONResponse({"error": "Not found"}, 404)
    response.headers["content-disposition"] = f'attachment; filename="mockpanel-{name}"'
    response.headers["cache-control"] = "no-store"
    return response


def _state_without_keys(control: Control) -> str:
    """The snapshot (GET /_mock/state) with any key a client pasted into a link or a comment redacted, as
    the page shows it: accounts are stored by digest already, and a file the page hands out holds no key."""
    state = json.loads(json.dumps(control.export_state(), default=str))
    # A digest is no key: left as it is, whatever a short key's letters.
    return json.dumps(scrubber(control.panel).value(state, keep=("digest",)))


async def static(request: Request) -> Response:
    name = request.path_params["name"]
    if name in SHARED:
        return FileResponse(SHARED[name], media_type="text/css", headers=FILE_HEADERS)
    if name not in STATIC:
        return JSONResponse({"error": "Not found"}, 404)
    return FileResponse(HERE / "static" / name, media_type=STATIC[name], headers=FILE_HEADERS)


# --- the controls -------------------------------------------------------------------------

Action = Callable[[Control, Request, dict[str, Any]], Any]


def _action(handler: Action) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        refused = _refused(request)
        if refused is not None:
            return refused
        if request.headers.get("x-mockpanel-ui") != "1":
            return JSONResponse({"error": "the dashboard's controls need the header X-Mockpanel-UI: 1"}, 403)
        control = _control(request)
        try:
            raw = await request.body()
            body = json.loads(raw, parse_float=Decimal) if raw.strip() else {}
            if not isinstance(body, dict):
                raise ValueError("send a JSON object")
            return JSONResponse(scrub(control.panel, _plain(handler(control, request, body))))
        except KeyError as exc:  # errors may quote what was sent: the panel's keys hidden there too
            return JSONResponse({"error": scrub(control.panel, str(exc.args[0])) if exc.args else "not found"}, 404)
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": scrub(control.panel, str(exc))}, 400)
        except PanelError as exc:
            return JSONResponse({"error": f"the panel refused: {control.dialect.message(exc.code, exc.values)}"}, 400)

    return endpoint


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _clock(c: Control, r: Request, b: dict[str, Any]) -> Any:
    return c.set_clock(advance=b.get("advance"), speed=b.get("speed"), freeze=b.get("freeze"))


def _force(c: Control, r: Request, b: dict[str, Any]) -> Any:
    """Force an order's status now; a Partial with no ``remains`` keeps what was delivered
    (half the quantity for an order that delivered nothing yet)."""
    order_id = r.path_params["order_id"]
    status, remains = b.get("status"), b.get("remains")
    if remains in ("", None):
        remains = None
        if isinstance(status, str) and status.strip().lower() == "partial":
            panel = c.panel
            with panel.lock:
                order = panel.find_order(order_id)
                delivered = order.delivered_at(panel.clock.now())
                remains = order.quantity - delivered if delivered else max(1, order.quantity // 2)
    elif not isinstance(remains, int) and parse_int(remains) is None:
        raise ValueError(f"'remains' is a whole number, got {remains!r}")
    result = c.set_order(order_id, status=status, remains=None if remains is None else int(remains))
    return {"order": result["order"], "status": result["status"], "remains": result["remains"]}


def _add_fault(c: Control, r: Request, b: dict[str, Any]) -> Any:
    """A fault from the page's form: the key is chosen by its id (the page never has keys), ``processed``
    is yes/no, numbers come as text."""
    spec = {k: v for k, v in b.items() if v not in ("", None)}
    for name in ("status", "count", "skip"):
        number = parse_int(spec.get(name))
        if isinstance(spec.get(name), str) and number is not None:
            spec[name] = number
    if "key" in spec:
        account = c.panel.account_book.by_id.get(str(spec["key"]))
        if account is None or not account.key:
            raise ValueError("fault field 'key': no such key on this panel (choose one of the list)")
        spec["key"] = account.key
    processed = spec.get("processed")
    if isinstance(processed, str):
        if processed not in ("yes", "no"):
            raise ValueError(f"fault field 'processed' is yes or no, got {processed!r}")
        spec["processed"] = processed == "yes"
    return c.add_fault(spec).to_json()


def _reset(c: Control, r: Request, b: dict[str, Any]) -> Any:
    return c.reset()


def _remove_fault(c: Control, r: Request, b: dict[str, Any]) -> Any:
    c.faults.remove(r.path_params["fault_id"])
    return {"removed": True}


def _clear_faults(c: Control, r: Request, b: dict[str, Any]) -> Any:
    c.faults.clear()
    return {"cleared": True}


def _add_key(c: Control, r: Request, b: dict[str, Any]) -> Any:
    key = b.get("key") or None
    made = c.create_key(key, balance=b.get("balance") or "0", currency=b.get("currency") or None)
    return {"key": redact(made["key"]), "balance": made["balance"]}  # the page never gets the key


def _topup(c: Control, r: Request, b: dict[str, Any]) -> Any:
    account = c.panel.account_book.by_id.get(r.path_params["key_id"])
    if account is None:
        raise KeyError("no such key on this panel")
    return c.topup(account.key, b.get("amount"))


def router() -> Router:
    routes = [
        Route("/", page, methods=["GET", "HEAD"]),
        Route("/orders/{order_id:int}", order_page, methods=["GET", "HEAD"]),
        Route("/live", live, methods=["GET"]),
        Route("/services", services, methods=["GET"]),
        Route("/download/{name}", download, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/static/{name}", static, methods=["GET", "HEAD"]),
        Route("/act/clock", _action(_clock), methods=["POST"]),
        Route("/act/reset", _action(_reset), methods=["POST"]),
        Route("/act/orders/{order_id:int}", _action(_force), methods=["POST"]),
        Route("/act/faults", _action(_add_fault), methods=["POST"]),
        Route("/act/faults", _action(_clear_faults), methods=["DELETE"]),
        Route("/act/faults/{fault_id:int}", _action(_remove_fault), methods=["DELETE"]),
        Route("/act/keys", _action(_add_key), methods=["POST"]),
        Route("/act/keys/{key_id}/topup", _action(_topup), methods=["POST"]),
    ]
    return Router(routes)
