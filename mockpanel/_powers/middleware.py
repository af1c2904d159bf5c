"""The fault middleware, in front of the API endpoint: it reads each request's fields once
(handing them on in the scope, so the endpoint does not read the body again), fires the
faults and in-band link words that apply, and applies domain faults."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Mapping

from starlette.types import Receive, Scope, Send

from .._domain.accounts import key_id
from .._domain.errors import PanelError
from .triggers import find as find_trigger
from . import logs
from .._endpoint.api import ApiEndpoint, BodyTooLarge, ClientGone, json_bytes, request_fields, send_json
from .._endpoint.context import SCOPE_KEY, Call
from .faults import DOMAIN, MAX_LATENCY, TRANSPORT, Fault, answer, capture, fault_from_spec

if TYPE_CHECKING:  # pragma: no cover
    from .control import Control


_WORD_FAULTS = {
    "html": {"kind": "html"}, "cloudflare": {"kind": "html"}, "malformed": {"kind": "malformed"},
    "truncated": {"kind": "truncated"}, "empty": {"kind": "empty"}, "drop": {"kind": "drop"},
}


def word_fault(word: str) -> dict[str, Any] | None:
    """The fault an in-band link word asks for (``http-502``, ``slow-2``, ``drop`` ...)."""
    if word in _WORD_FAULTS:
        return dict(_WORD_FAULTS[word])
    name, _, arg = word.partition("-")
    if name == "http" and arg.isascii() and arg.isdigit():
        return {"kind": "http", "status": int(arg)}
    if name in ("slow", "latency") and arg.isascii() and arg.replace(".", "", 1).isdigit():
        return {"kind": "latency", "seconds": float(arg)}
    return None


class FaultMiddleware:
    """In front of the API endpoint: reads the fields once, fires faults and link words."""

    def __init__(self, endpoint: ApiEndpoint, control: "Control") -> None:
        self.endpoint = endpoint
        self.control = control

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self.endpoint
        started = time.perf_counter()
        try:
            fields = await request_fields(scope, receive, endpoint.max_body)
        except BodyTooLarge:
            body = json_bytes({"error": f"Request body too large (limit {endpoint.max_body} bytes)"})
            await send_json(send, 413, body, scope.get("method") == "HEAD", [(b"connection", b"close")])
            return
        except ClientGone:  # the client went away mid-body: nothing to act on
            return
        call = scope[SCOPE_KEY] = Call(fields, time.perf_counter())
        faults = self.control.faults
        link = fields.get("link")
        if not faults and (link is None or "mockpanel" not in link.lower()):
            # Nothing can fire: answered at once, so it is journalled when answered, in arrival order.
            try:
                await endpoint(scope, receive, send)
            except Exception:
                if call.body is None:  # it failed before it was answered: in the journal, unanswered, as before
                    self.control.journal.arrive(scope, fields)
                raise
            return
        self.control.journal.arrive(scope, fields)  # in the journal from now on, in arrival order
        action = (fields.get("action") or "").strip()
        has_words = action == "add" and "mockpanel" in (link or "").lower()
        if not (faults or has_words) or not self._valid_key(fields.get("key")):
            await endpoint(scope, receive, send)  # no valid key: no fault fires, no trigger word counts
            return
        fired = faults.fire(action, key_id(fields.get("key") or "")) if faults else []
        if has_words:
            try:
                words = self._link_faults(fields["link"])
            except ValueError as exc:
                call.started = started
                payload = {"error": str(exc)}
                self.control.journal.record(scope, fields, payload, 200, 0.0)
                await send_json(send, 200, json_bytes(payload))
                return
            fired += words
        if not fired:
            await endpoint(scope, receive, send)
            return
        logs.faults_fired(action, key_id(fields.get("key") or ""), fired)
        call.started = started
        await self._with_faults(fired, scope, receive, send, fields)

    def _valid_key(self, key: str | None) -> bool:
        try:
            self.control.panel.account(key or "")
        except PanelError:
            return False
        return True

    def _link_faults(self, link: str) -> list[Fault]:
        trigger = find_trigger(link)
        out: list[Fault] = []
        for word in trigger.other if trigger is not None else ():
            spec = word_fault(word)
            if spec is None:
                raise ValueError(
                    f"unknown mockpanel trigger {word!r} in the link; see the README, 'In-band triggers' "
                    "(outcomes: completed, partial-N, canceled, pending; timing: now, in-15m; start-N; "
                    "refill-completed, refill-rejected; faults: http-502, html, malformed, truncated, empty, drop, slow-2)"
                )
            out.append(fault_from_spec({**spec, "count": 1}, 0))
        delay = sum(f.seconds for f in out if f.kind == "latency")
        if delay > MAX_LATENCY:
            raise ValueError(
                f"the link's slow words add up to {delay:g} s; one request waits at most {MAX_LATENCY:g} s in all"
            )
        return out

    async def _with_faults(self, fired: list[Fault], scope: Scope, receive: Receive, send: Send, fields: dict[str, str]) -> None:
        control = self.control
        for fault in fired:
            if fault.kind in DOMAIN and fault.when == "before":
                apply_domain(control, fault, fields, [])
        delay = min(sum(f.seconds for f in fired if f.kind == "latency"), MAX_LATENCY)  # stacked faults: capped
        if delay:
            await control.journal.hold(scope, receive, delay)  # shown delayed, or abandoned
        transport = next((f for f in fired if f.kind in TRANSPORT), None)
        watch = [f for f in fired if f.kind in DOMAIN and f.when == "after"]
        placed_before = _order_count(control, fields) if watch else 0
        pending = bool(watch)

        def after() -> None:
            # Once the panel has acted, before the client hears anything: a client that
            # reacts at once to the answer must already find the changed panel.
            nonlocal pending
            if pending:
                pending = False
                placed = _new_orders(control, fields, placed_before)
                for fault in watch:
                    apply_domain(control, fault, fields, placed)

        async def send_after(message: Any) -> None:
            if message["type"] == "http.response.start":
                after()
            await send(message)

        if transport is None:
            latency = next((f for f in fired if f.kind == "latency"), None)
            if latency is not None:
                scope[SCOPE_KEY].fault = latency
            await self.endpoint(scope, receive, send_after if watch else send)
            after()
            return
        scope[SCOPE_KEY].fault = transport
        produced = None
        if transport.processed:
            produced = await capture(self.endpoint, scope, receive)
        else:
            control.journal.record(scope, fields, None, 0, 0.0)
        after()
        await answer(transport, scope, send, produced)


def _order_count(control: "Control", fields: Mapping[str, str]) -> int:
    try:
        return len(control.panel.account(fields.get("key")).order_ids)
    except PanelError:
        return 0


def _new_orders(control: "Control", fields: Mapping[str, str], before: int) -> list[int]:
    try:
        return list(control.panel.account(fields.get("key")).order_ids[before:])
    except PanelError:
        return []


def apply_domain(control: "Control", fault: Fault, fields: Mapping[str, str], orders: list[int]) -> None:
    """Change the panel as a domain fault says; a fault that finds nothing to act on does nothing."""
    panel = control.panel
    try:
        if fault.kind in ("disable", "reprice"):
            sid = fault.service if fault.service is not None else int((fields.get("service") or "0").strip() or 0)
            changes = {"enabled": False} if fault.kind == "disable" else {"rate": str(fault.rate)}
            control.update_service(sid, **changes)
        elif fault.kind == "drain":
            key = fields.get("key") or ""
            balance, _ = panel.balance(key)
            amount = balance if fault.amount is None else min(fault.amount, balance)
            if amount > 0:
                panel.withdraw(key, amount, note="spent by another client (drain fault)")
        elif fault.kind == "stuck":
            for order_id in orders:
                panel.set_order(order_id, status="Pending")
        elif fault.kind == "cancel":
            for order_id in orders:
                try:
                    panel.set_outcome(order_id, "Canceled")
                except ValueError:  # no longer Pending: the panel cancels it now
                    panel.set_order(order_id, status="Canceled")
    except (PanelError, KeyError, ValueError):
        pass
