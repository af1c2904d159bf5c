"""The read-only tier: preflight, then properties that spend nothing.

Only services, balance, status and refill_status are sent: of unknown ids (too
large to exist), with wrong keys, unknown actions, malformed fields, batches up to
and over the limit. Never add, refill or cancel (the session refuses them).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from . import _strategies as S
from .context import Context
from .expect import decimal
from .session import NOT_JSON, Exchange, StopRun, normalize_action
from .verdicts import Checks


class CannotRun(Exception):
    """The run cannot start: unreachable, not a panel, a key refused (exit code 2)."""


def _send(ctx: Context, params: dict[str, str], key: str | None = None) -> Exchange:
    key = ctx.config.key if key is None else key
    return ctx.session.send({"key": key, **params})


def preflight(ctx: Context) -> None:
    """Is this a panel, does it take the key? Records services and balance checks."""
    c = Checks()
    services = _send(ctx, {"action": "services"})
    if services.error and services.status is None:
        raise CannotRun(f"cannot reach {ctx.session.config.url}: {services.error}")
    if services.status is not None and 300 <= services.status < 400:
        where = f" to {services.location}" if services.location else ""
        raise CannotRun(f"the URL redirects{where} (HTTP {services.status}); give the URL it redirects to")
    balance = _send(ctx, {"action": "balance"})
    if services.status == balance.status and services.status in (401, 403, 404, 405, 410):
        raise CannotRun(f"{ctx.session.config.url} answers HTTP {services.status} to the API's POST: is it the "
                        "panel's API endpoint (…/api/v2)?")
    if not services.is_json and not balance.is_json:
        raise CannotRun(
            f"{ctx.session.config.url} does not answer like a panel: services and balance are not JSON "
            f"(HTTP {services.status}: {services.body[:80]!r}). Is the URL the API endpoint (…/api/v2)?"
        )
    refused = [ctx.expect.error_message(e.data) for e in (services, balance)]
    if all(refused):
        raise CannotRun(f"the panel refused --key: {refused[1][0]!r}")  # type: ignore[index]
    listed = ctx.expect.services(c, services)
    ctx.target.services = listed or []
    got = ctx.expect.balance(c, balance)
    if got is not None:
        ctx.target.balance, ctx.target.currency = got
    ctx.verdicts.absorb(c)
    # The panel's own unknown-action error: an action of the API answered with it is one the panel lacks.
    ctx.expect.learn_unknown(_send(ctx, {"action": "mockpanel_no_such_action"}))
    if ctx.config.second_key:
        second = _send(ctx, {"action": "balance"}, key=ctx.config.second_key)
        refusal = ctx.expect.error_message(second.data)
        if refusal is not None and not (isinstance(second.data, dict) and "balance" in second.data):
            raise CannotRun(f"the panel refused --second-key: {refusal[0]!r}")
        c2 = Checks()
        got2 = ctx.expect.balance(c2, second)
        ctx.verdicts.absorb(c2)
        if got2 is not None:
            ctx.target.second_balance = got2[0]
        elif isinstance(second.data, dict):  # a balance in the wrong shape (already flagged): read it anyway
            ctx.target.second_balance = decimal(second.data.get("balance"))


def note_unsupported(ctx: Context) -> None:
    """Say once, in the notes, which actions the panel does not support."""
    for action in ctx.verdicts.unsupported:
        ctx.note(ctx.verdicts.unsupported_line(action))


def near_keys(ctx: Context) -> None:
    """AUTH-03: the real key in other letter case or with spaces, each tried on balance and services."""
    c = Checks()
    real = tuple(k for k in (ctx.config.key, ctx.config.second_key) if k)
    for what, value in S.near_keys(ctx.config.key):
        if value in real:
            continue
        for action in S.key_probe_actions():
            ex = ctx.session.send({"key": value, "action": action}, keys=real)
            same = {"in other letter case": ctx.dialect.key_case == "insensitive",  # the same key, by the dialect
                    "with a trailing space": ctx.dialect.key_trailing_spaces == "ignored"}.get(what, False)
            if same:
                c.require("V2-AUTH-03", ex.is_json and not ctx.expect.is_error(ex.data),
                          f"the key {what} was refused; the dialect compares keys as its collation does", ex)
                continue
            ctx.expect.error(c, ex, "V2-AUTH-03", codes=("invalid_key",), wording_rid="V2-ERR-03",
                             what=f"an error for the key {what}")
    ctx.verdicts.absorb(c)
    outcome = "ok" if not c.failed_ids() else "FLAGGED " + ", ".join(sorted(c.failed_ids()))
    ctx.progress.check("auth: the key in other letter case, with spaces around it", outcome)


def every(ctx: Context, label: str, values: tuple[str, ...], probe: Any) -> None:
    """Each value once, in order (not drawn): every malformed kind is tried, whatever the seed."""
    if ctx.stopped or ctx.props.stopped:
        return
    violated: set[str] = set()
    try:
        for value in values:
            c = probe(value)
            ctx.verdicts.absorb(c)
            violated |= c.failed_ids()
    except StopRun as exc:
        ctx.stop(str(exc))
    outcome = "ok" if not violated else "FLAGGED " + ", ".join(sorted(violated))
    ctx.progress.check(f"{label} ({len(values)})", outcome)


def _report(ctx: Context, label: str, violated: set[str], examples: int) -> None:
    if ctx.props.stopped:
        ctx.stop(ctx.props.stopped)
    outcome = "ok" if not violated else "FLAGGED " + ", ".join(sorted(violated))
    ctx.progress.check(f"{label} ({examples} examples)", outcome)


def run(ctx: Context) -> None:
    cfg, d, expect = ctx.config, ctx.dialect, ctx.expect
    n = cfg.examples
    real = tuple(k for k in (cfg.key, cfg.second_key) if k)

    def auth(example: Any) -> Checks:
        wrong, request = example
        c = Checks()
        if not ctx.verdicts.supports(request.get("action", "")):  # answered as unknown already: not sent again
            return c
        params = {"key": wrong.value} if wrong.value is not None else {}
        params.update(request)
        ex = ctx.session.send(params, keys=real)
        rid = {"wrong": "V2-AUTH-01", "case": "V2-AUTH-03"}.get(wrong.kind, "V2-AUTH-02")
        what = {"missing": "a missing key", "empty": "an empty key", "case": "a key in other letter case"}.get(
            wrong.kind, "a wrong key")
        # A dialect that answers a request without a key before reading its action (empty_request) refuses it
        # with that error: the answer says nothing of the action, and is the refusal AUTH-02 asks for.
        keyless = d.empty_request if wrong.kind in ("missing", "empty") else None
        code = keyless or "invalid_key"
        wording = {"invalid_key": "V2-ERR-03", "incorrect_request": "V2-ERR-04"}.get(code)
        if keyless is None and expect.unsupported(c, ex):  # the action is missing, whatever the key
            return c
        if wrong.kind == "case" and d.key_case == "insensitive":  # the same key to this dialect
            return c
        if expect.error(c, ex, rid, codes=(code,), wording_rid=wording, what=f"an error for {what}"):
            # Another error of the dialect (say "Incorrect order ID") means the key got past authentication.
            message = expect.error_message(ex.data)[0]  # type: ignore[index]
            other = expect.other_error(message, code)
            if other is not None:
                c.fail(rid, f"the panel answered {message!r} ({other}): it accepted the key and went on", ex)
        return c

    _report(ctx, "auth: wrong, empty and missing keys", ctx.props.run(
        "auth", st.tuples(S.wrong_keys(real), S.read_request()), auth, examples=n + 10), n + 10)
    near_keys(ctx)

    def action(value: str | None) -> Checks:
        c = Checks()
        params = {"key": cfg.key}
        if value is not None:
            params["action"] = value
        ex = ctx.session.send(params)
        if value and d.unknown_action is not None:  # the dialect's own answer to an action it lacks (MSM's null)
            c.require("V2-GEN-04", ex.is_json and ex.data == d.unknown_action[0],
                      f"expected {d.unknown_action[0]!r} for an unknown action, as the dialect answers it", ex)
            return c
        expect.error(c, ex, "V2-GEN-04", codes=("incorrect_request",), wording_rid="V2-ERR-04",
                     what="an error for an unknown action")
        return c

    _report(ctx, "unknown, empty and missing actions", ctx.props.run("action", S.unknown_actions(), action), n)

    def unknown_order(order_id: str) -> Checks:
        c = Checks()
        ex = _send(ctx, {"action": "status", "order": order_id})
        expect.error(c, ex, "V2-STA-01", codes=("incorrect_order_id",), wording_rid="V2-ERR-01",
                     what="an error for an unknown order")
        return c

    _report(ctx, "status of unknown order ids", ctx.props.run("unknown-order", S.UNKNOWN_IDS, unknown_order), n)

    def malformed_order(order_id: str) -> Checks:
        c = Checks()
        if not order_id.strip() and d.status_no_id == "empty":  # the dialect answers nothing to a status without an id
            return c
        ex = _send(ctx, {"action": "status", "order": order_id})
        expect.error(c, ex, "V2-STA-01", what="an error for a malformed order id")
        return c

    _report(ctx, "status of malformed order ids", ctx.props.run("malformed-order", S.malformed_ids(), malformed_order), n)
    every(ctx, "status of every malformed kind of order id", S.MALFORMED_IDS, malformed_order)

    def batch(ids: list[str]) -> Checks:
        c = Checks()
        ex = _send(ctx, {"action": "status", "orders": ",".join(ids)})
        expect.status_batch(c, ex, ids, unknown=set(ids))
        return c

    limit = d.batch_limit
    refused_all = False  # every batch within the limit refused: nothing about batches is proven by a refusal
    if not d.batch_read:  # orders= is not read: nothing of a batch to judge
        for rid in ("V2-BAT-01", "V2-BAT-02", "V2-BAT-03", "V2-BAT-04"):
            ctx.verdicts.not_exercised(rid, f"the dialect {d.name!r} reads no batch (orders= is not read)")
    else:
        _report(ctx, f"multi-status of 1 to {limit} unknown ids", ctx.props.run(
            "batch", S.id_batches(limit), batch, examples=max(6, n // 2)), max(6, n // 2))
        refused_all = "V2-BAT-03" in ctx.verdicts.findings and not ctx.verdicts.passed["V2-BAT-03"]
        for rid in ("V2-BAT-01", "V2-BAT-02"):  # the true cause, if no batch was ever answered
            if refused_all:
                ctx.verdicts.not_exercised(rid, "every multi-status was refused (V2-BAT-03): no batch was answered "
                                           "to judge")
        if "V2-BAT-01" in ctx.verdicts.findings and not ctx.verdicts.exercised("V2-BAT-02"):
            ctx.verdicts.not_exercised("V2-BAT-02", "the multi-status answers were not keyed by the ids asked "
                                       "(V2-BAT-01): which asked id an item answers could not be told")

    def over_limit(ids: list[str]) -> Checks:
        c = Checks()
        ex = _send(ctx, {"action": "status", "orders": ",".join(ids)})
        if expect.error(c, ex, "V2-BAT-04", what=f"an error for a batch of more than {limit} ids"):
            # A refusal counts only if it refuses the batch's size: not an unknown order, not a missing field.
            message = expect.error_message(ex.data)[0]  # type: ignore[index]
            other = expect.other_error(message, "too_many_ids")
            if other is not None:
                c.fail("V2-BAT-04", f"a batch of {len(ids)} ids was answered {message!r}, the dialect's words for "
                       f"{other}: that refuses something else than the batch's size", ex)
        return c

    if d.batch_limit_documented and d.batch_read and refused_all:
        # The panel refuses batches within the limit too: a refusal over it proves nothing.
        ctx.verdicts.not_exercised("V2-BAT-04", "the panel refuses batches within the limit too (V2-BAT-03): a "
                                   "refusal of one over the limit proves nothing")
    elif d.batch_limit_documented and d.batch_read:
        _report(ctx, f"multi-status over the limit of {limit}", ctx.props.run(
            "over-limit", S.over_limit_batches(limit), over_limit, examples=3, shrink=False), 3)  # any size shows it
    else:  # a bound the profile sets only to keep the mock safe: a panel of this family has none
        ctx.verdicts.not_exercised("V2-BAT-04", f"the dialect {d.name!r} documents no batch limit (its {limit} "
                                   "only keeps the mock bounded)")

    if ctx.supports("refill_status"):
        def unknown_refill(refill_id: str) -> Checks:
            c = Checks()
            if not ctx.supports("refill_status"):  # answered as unknown: not sent again
                return c
            ex = _send(ctx, {"action": "refill_status", "refill": refill_id})
            if expect.unsupported(c, ex):
                return c
            expect.error(c, ex, "V2-REF-04", codes=("incorrect_refill_id",), wording_rid="V2-ERR-02",
                         what="an error for an unknown refill")
            return c

        _report(ctx, "refill_status of unknown refill ids", ctx.props.run(
            "unknown-refill", S.UNKNOWN_IDS, unknown_refill, examples=max(5, n // 2)), max(5, n // 2))

        def malformed_refill(refill_id: str) -> Checks:
            c = Checks()
            if not ctx.supports("refill_status"):
                return c
            ex = _send(ctx, {"action": "refill_status", "refill": refill_id})
            if not expect.unsupported(c, ex):
                expect.error(c, ex, "V2-REF-04", what="an error for a malformed refill id")
            return c

        every(ctx, "refill_status of every malformed kind of refill id", S.MALFORMED_IDS, malformed_refill)

        def refill_batch(ids: list[str]) -> Checks:
            c = Checks()
            if not ctx.supports("refill_status"):
                return c
            ex = _send(ctx, {"action": "refill_status", "refills": ",".join(ids)})
            if not expect.unsupported(c, ex):
                expect.refill_batch_status(c, ex, ids, unknown=set(ids))
            return c

        if d.batch_read:
            _report(ctx, f"multi refill status of 1 to {limit} unknown ids", ctx.props.run(
                "refill-batch", S.id_batches(limit), refill_batch, examples=max(4, n // 4)), max(4, n // 4))
        else:  # refills= is a batch like orders=: a family that reads neither answers it as one refill of no id
            ctx.verdicts.not_exercised("V2-BAT-05", f"the dialect {d.name!r} reads no batch (refills= is not read)")

    def fuzz(params: dict[str, str]) -> Checks:
        c = Checks()
        action = normalize_action(params.get("action"))
        if not ctx.verdicts.supports(action):  # answered as unknown already: not sent again
            return c
        if action == "status" and d.status_no_id == "empty" and not any(
                str(params.get(f) or "").strip() for f in ("order", "orders")):
            return c  # the dialect answers nothing to a status without an id (docs/dialects.md, status.no_id)
        ex = ctx.session.send({"key": cfg.key, **params})
        expect.unsupported(c, ex)  # an optional action answered as unknown: recorded, never sent again
        data = expect.response(c, ex)
        if data is not NOT_JSON and expect.is_error(data) and ex.status and ex.status < 500:
            c.require("V2-GEN-03", ex.status in d.http_statuses(), f"the error came with HTTP {ex.status}", ex)
        return c

    _report(ctx, "hostile fields and values", ctx.props.run("fuzz", S.fuzz_requests(), fuzz, examples=n + 10), n + 10)
    note_unsupported(ctx)
