"""A conformance run from start to end: preflight, read-only, orders, the report.

    from conformance import RunConfig, run
    report = run(RunConfig(url="http://127.0.0.1:8080/api/v2", key="test-key"))
    report.exit_code   # 0 passed, 1 a failure, 2 could not run

Exit codes: 0 when at least one requirement was exercised and none failed
(warnings allowed), 1 when a requirement failed, 2 when the run could not happen
(unreachable, not a panel, a key refused, bad arguments) or proved nothing.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import signal
import threading
import time
from contextlib import contextmanager
from decimal import Decimal
from types import FrameType
from typing import Any, Callable, Iterator, Mapping, TextIO
from urllib.parse import urlparse

import httpx

from . import __version__
from .fingerprint import Fingerprint, fingerprint_with
from .profile import Dialect, DialectError, load_dialect

from . import _machine as machine
from . import _readonly as readonly
from .catalogue import Requirement, load_catalogue
from .context import ClockDriver, Context, Progress, RunConfig, Target
from .control import control_clock, control_key, control_root, discover_control
from .expect import Expect
from ._orders import OrdersPhase
from ._properties import PropertyRunner
from ._readonly import CannotRun
from .report import Report
from .session import Exchange, SafetyError, Session, SessionConfig, StopRun
from .verdicts import FAILED, NOT_EXERCISED, PASSED, WARNING, Checks, Finding, Verdicts, counts

TIER_TEXT = {
    "read-only": "spends nothing; sends read actions only (no add, refill or cancel)",
    "orders": "places the cheapest orders to --link, never past --max-spend",
}


def is_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM: the run stops at once (no further request, no add) and ends with its report."""


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """While the run goes, SIGINT and SIGTERM raise ``Interrupted`` where the run is (a wait, an answer
    being read): it stops at once and ends with what it found. Only the main thread can have handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        if fired:  # the first one is already stopping the run; its report must still be written
            return
        fired.append(signum)
        raise Interrupted(signal.Signals(signum).name)

    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for sig in saved:
            signal.signal(sig, handler)
        yield
    finally:
        for sig, previous in saved.items():
            signal.signal(sig, previous)


def _default_reason(ctx: Context) -> Any:
    listed = {s.type for s in ctx.target.services}

    def reason(req: Requirement) -> str:
        if req.tier == "orders" and ctx.config.tier == "read-only":
            return "needs --tier orders (it places orders)"
        for need in req.needs:
            if need == "second_key" and not ctx.config.second_key:
                return "needs --second-key (a second API key on the same panel)"
            if need.startswith("action:") and need[7:] not in ctx.dialect.actions:
                return f"the dialect {ctx.dialect.name!r} has no {need[7:]} action"
            if need.startswith("service_type:") and need[13:] not in listed:
                return f"the panel lists no {need[13:]} service"
        if req.dripfeed and not any(s.type == "Default" and s.dripfeed for s in ctx.target.services):
            return "the panel lists no Default service with drip-feed"
        if ctx.stopped:
            return f"not reached: {ctx.stopped}"
        return "not reached in this run"

    return reason


def run(
    config: RunConfig,
    *,
    transport: httpx.BaseTransport | None = None,
    clock: ClockDriver | None = None,
    progress: Progress | None = None,
    stream: TextIO | None = None,
) -> Report:
    """Run the suite against ``config.url``; ``clock`` drives the panel's clock if given.

    Never raises: whatever the panel answers, the run ends with a Report (exit 2
    and the error when it could not judge, a suite bug included).
    """
    progress = progress or Progress(stream)
    started_wall = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    started = time.monotonic()
    catalogue = load_catalogue()
    opened: list[Session] = []

    def cannot(message: str, session: Session | None = None) -> Report:
        red = session.redactor if session else (lambda text: text)
        progress.line(f"{progress.paint('could not run:', 'error')} {red(message)}")
        return Report(
            url=red(config.url), dialect=str(config.dialect),
            tier=config.tier, seed=config.seed, started=started_wall, duration=time.monotonic() - started,
            requests=session.sent if session else 0, exit_code=2, error=red(message),
            results=Verdicts(catalogue).results(lambda r: f"not run: {red(message)}"),
            trace=list(session.trace) if session else [], redactor=session.redactor if session else None,
        )

    with stop_on_signals():
        try:
            return _start(config, catalogue, transport, clock, progress, started, started_wall, cannot, opened)
        except Interrupted as exc:  # before the checks began: nothing judged
            report = cannot(f"interrupted by {exc} before the checks began", opened[0] if opened else None)
            report.interrupted = str(exc)
            return report
        except Exception as exc:  # noqa: BLE001 - a suite bug must still end in a report, never a traceback
            session = opened[0] if opened else None
            detail = session.redactor(str(exc)[:300]) if session else type(exc).__name__
            try:
                return cannot(f"internal error in the suite ({type(exc).__name__}: {detail})", session)
            except Exception:  # noqa: BLE001
                return cannot(f"internal error in the suite ({type(exc).__name__})")
        finally:
            for session in opened:
                session.close()


def _start(config: RunConfig, catalogue: Any, transport: httpx.BaseTransport | None, clock: ClockDriver | None,
           progress: Progress, started: float, started_wall: str, cannot: Callable[..., Report],
           opened: list[Session]) -> Report:
    auto = config.dialect == "auto"
    try:
        dialect = load_dialect("standard" if auto else config.dialect)
    except DialectError as exc:
        return cannot(str(exc))
    if config.tier not in TIER_TEXT:
        return cannot(f"--tier must be read-only or orders, not {config.tier!r}")
    if config.tier == "orders" and (not config.link or config.max_spend <= 0):
        return cannot("--tier orders needs --link (where the orders go) and --max-spend (a positive cap)")
    rate = config.rate if config.rate is not None else (0.0 if is_loopback(config.url) else 2.0)
    units = _units(dialect)
    session = Session(
        SessionConfig(url=config.url, tier=config.tier, rate=rate, max_requests=config.max_requests,
                      timeout=config.timeout, max_spend=config.max_spend, max_answer_bytes=config.max_answer_bytes,
                      balance_unit=units["balance_unit"], charge_unit=units["charge_unit"]),
        transport=transport,
    )
    opened.append(session)
    for key in (config.key, config.second_key):
        session.redactor.add(key)
        session.follow(key)
    fingerprint_notes: list[str] = []
    if auto:
        try:
            found = _fingerprint(session, config)
        except (StopRun, SafetyError) as exc:
            return cannot(f"fingerprinting stopped: {exc}", session)
        if found is None:
            return cannot("the panel did not answer the fingerprint probes", session)
        dialect = load_dialect(found.best)
        config.dialect = found.best
        units = _units(dialect)
        session.spend.unit, session.spend.charge_unit = units["balance_unit"], units["charge_unit"]
        fingerprint_notes = ["--dialect auto: " + line.strip() for line in found.summary().splitlines()]
        for line in fingerprint_notes:
            progress.line(session.redactor(line))
    verdicts = Verdicts(catalogue)
    ctx = Context(
        config=config, dialect=dialect, catalogue=catalogue, session=session,
        expect=Expect(dialect, catalogue), verdicts=verdicts,
        props=PropertyRunner(verdicts, seed=config.seed, examples=config.examples),
        progress=progress, target=Target(), clock=clock,
    )
    session.balance_of = lambda ex: (ctx.expect.balance(Checks(), ex) or (None, ""))[0]
    session.refused = lambda ex: ctx.expect.is_error(ex.data)
    session.on_overcharge = lambda over: ctx.stop(over.message(ctx.target.currency))  # the run stops at once
    ctx.notes.extend(fingerprint_notes)
    if config.tier != "orders" and (config.link or config.max_spend):
        ctx.notes.append("--max-spend and --link apply to --tier orders only; this read-only run spent nothing")
    try:
        with progress.running(lambda: session.sent, config.max_requests):  # a live line, on a terminal only
            return _run(ctx, started, started_wall, rate)
    except Interrupted as exc:
        return _interrupted(ctx, str(exc), started, started_wall)
    except Exception as exc:  # noqa: BLE001 - keep what was found; exit 2 says it could not finish
        import traceback

        ctx.internal_errors.append(traceback.format_exc())
        ctx.notes.append(f"internal error in the suite: {type(exc).__name__}: {str(exc)[:300]}")
        ctx.stop(f"internal error in the suite ({type(exc).__name__})")
        report = _report(ctx, started, started_wall)
        _summary(ctx, report)
        return report


def _units(dialect: Dialect) -> dict[str, Decimal]:
    places = min(dialect.money_decimals, getattr(dialect, "balance_decimals", dialect.money_decimals))
    return {"balance_unit": Decimal(1).scaleb(-places), "charge_unit": Decimal(1).scaleb(-dialect.money_decimals)}


class _ProbeAnswer:
    """An Exchange as the fingerprint reads an answer (status, text, headers)."""

    def __init__(self, exchange: Exchange) -> None:
        self.status_code = exchange.status or 0
        cut = exchange.body.endswith("…") and exchange.is_json
        self.text = json.dumps(exchange.data) if cut else exchange.body
        self.headers = {"content-type": exchange.content_type}


def _fingerprint(session: Session, config: RunConfig) -> Fingerprint | None:
    """Name the panel's dialect from read-only probes sent through the session (paced, budgeted, redacted)."""
    def post(fields: Mapping[str, str]) -> _ProbeAnswer:
        exchange = session.send({"key": config.key, **fields})
        if exchange.error:
            raise StopRun(f"no answer from the panel: {exchange.error}")
        return _ProbeAnswer(exchange)

    try:
        return fingerprint_with(post, config.url)
    except StopRun:
        raise
    except (ValueError, KeyError):
        return None


def _run(ctx: Context, started: float, started_wall: str, rate: float) -> Report:
    cfg, session, progress = ctx.config, ctx.session, ctx.progress
    red = session.redactor
    progress.line(f"mockpanel conformance {__version__}")
    progress.line(f"  panel   {red(cfg.url)}  (dialect {ctx.dialect.name})")
    progress.line(f"  tier    {cfg.tier}: {TIER_TEXT[cfg.tier]}")
    progress.line(f"  keys    {red.value(cfg.key)}"
                  + (f", second key {red.value(cfg.second_key)}" if cfg.second_key else ", no second key"))
    pace = "no rate limit (loopback address)" if rate == 0 and cfg.rate is None else (
        "no rate limit" if rate == 0 else f"at most {rate:g} requests/s")
    progress.line(f"  limits  {pace}, budget {cfg.max_requests} requests, timeout {cfg.timeout:g} s, seed {cfg.seed}")
    if cfg.use_control_api:
        root = control_root(cfg.url, ctx.dialect)
        if discover_control(session, root):
            ctx.target.control_root = root
            progress.line(f"  mock    control API at {root}/_mock/ (a mock: its clock can be driven)")
            if ctx.clock is None and cfg.tier == "orders":
                ctx.clock = control_clock(session, root, ctx.changes)
            if cfg.tier == "orders" and not cfg.second_key:
                try:
                    made = control_key(session, root)
                except StopRun:
                    made = None
                if made is not None:
                    cfg.second_key = made
                    session.redactor.add(made)
                    session.follow(made)
                    ctx.changes.keys.append(red.value(made))
                    progress.line(f"          second key {red.value(made)} made by the control API (balance 0)")
    progress.line("preflight")
    try:
        readonly.preflight(ctx)
    except (CannotRun, StopRun) as exc:
        _changes(ctx)
        report = _report(ctx, started, started_wall, error=red(str(exc)))
        progress.line(f"{progress.paint('could not run:', 'error')} {red(str(exc))}")
        for note in report.notes:
            progress.line(f"  note: {note}")
        return report
    t = ctx.target
    progress.check(f"services: {len(t.services)} listed; balance {t.balance} {t.currency}", "ok")
    progress.line("read-only checks")
    try:
        readonly.run(ctx)
    except StopRun as exc:
        ctx.stop(str(exc))
    opening = closing = None
    phase = None
    if cfg.tier == "orders" and not ctx.stopped:
        progress.line("orders checks")
        opening = t.balance
        phase = machine.run(ctx)
        opening = phase.opening if phase.opening is not None else opening
        _overcharge(ctx)
        progress.check(f"{len(phase.orders)} orders placed, {session.adds_sent} adds sent "
                       f"(committed {session.committed} {t.currency})", "done")
        try:
            closing = readonly_balance(ctx)
        except StopRun:
            closing = None
    spent = _spent(ctx, phase, opening, closing) if phase is not None else None
    if session.cannot_follow and session.cannot_follow not in ctx.notes:
        ctx.notes.append(session.cannot_follow)
    _changes(ctx)
    report = _report(ctx, started, started_wall, spent=spent)
    _summary(ctx, report)
    return report


def _spent(ctx: Context, phase: OrdersPhase, opening: Decimal | None, closing: Decimal | None) -> Decimal | None:
    """The money the run's own orders took, net of refunds: the sum of their charges as last read. The balance
    is the cross-check (it also moves with what happens outside the run): a difference is noted, not counted."""
    drop = (opening - closing) if (opening is not None and closing is not None) else None
    charges = [o.last.charge if o.last is not None else None for o in phase.orders.values()]
    if any(c is None for c in charges):
        if drop is not None:
            ctx.notes.append(f"spent is read from the balance ({drop}): not every order's charge could be read")
        return drop
    spent = sum((c for c in charges if c is not None), Decimal(0))
    if drop is not None and abs(drop - spent) > phase.balance_unit * (len(charges) + 2) / 2:
        ctx.notes.append(f"the balance moved by {drop} over the run while its own orders were charged {spent} net of "
                         "refunds: money moved that the run did not cause (another client, a refund of an older "
                         "order), or the panel's balance disagrees with its charges (V2-ORD-08)")
    return spent


def _interrupted(ctx: Context, signame: str, started: float, started_wall: str) -> Report:
    """The report of a run a signal stopped: what was found so far; exit 1 if it found a failure, else 2."""
    ctx.stop(f"interrupted by {signame}")
    _overcharge(ctx)
    if ctx.session.cannot_follow and ctx.session.cannot_follow not in ctx.notes:
        ctx.notes.append(ctx.session.cannot_follow)
    _changes(ctx)
    report = _report(ctx, started, started_wall)
    report.interrupted = signame
    report.exit_code = 1 if report.counts[FAILED] else 2
    _summary(ctx, report)
    return report


def _overcharge(ctx: Context) -> None:
    """The panel took more than its price list said: the money requirement fails, the run stops."""
    over = ctx.session.overcharge
    if over is None:
        return
    message = over.message(ctx.target.currency)
    evidence = [e for e in ctx.session.trace if e.action in ("add", "balance", "status")][-4:]
    ctx.verdicts.fail(Finding("V2-ORD-02", message, evidence), replace=True)
    ctx.stop(message)


def _changes(ctx: Context) -> None:
    line = ctx.changes.line()
    if line and line not in ctx.notes:
        ctx.notes.append(line)


def readonly_balance(ctx: Context) -> Decimal | None:
    c = Checks()
    got = ctx.expect.balance(c, ctx.session.send({"key": ctx.config.key, "action": "balance"}))
    return got[0] if got else None


def _report(ctx: Context, started: float, started_wall: str, *, error: str | None = None,
            spent: Decimal | None = None) -> Report:
    session, cfg = ctx.session, ctx.config
    if error is not None:
        results = Verdicts(ctx.catalogue).results(lambda r: f"not run: {error}")
        code = 2
    else:
        results = ctx.verdicts.results(_default_reason(ctx))
        for r in results:
            if r.requirement.error_codes:
                words = " / ".join(repr(ctx.expect.wording(c)) if "{" not in _words(ctx.dialect, c)
                                   else repr(_words(ctx.dialect, c)) for c in r.requirement.error_codes)
                r.detail = r.detail or f"dialect {ctx.dialect.name}: {words}"
        c = counts(results)
        if c[FAILED]:  # a failure found is a failure, even if the run then stopped (a suite bug included)
            code = 1
        elif ctx.internal_errors:
            code = 2
        elif c[PASSED] == 0:
            code = 2  # a green run that proved nothing is not a pass
        else:
            code = 0
    notes = list(ctx.notes)
    if ctx.stopped:
        notes.append(f"the run stopped early: {ctx.stopped}")
    return Report(
        url=session.redactor(cfg.url), dialect=ctx.dialect.name, tier=cfg.tier, seed=cfg.seed,
        started=started_wall, duration=time.monotonic() - started, requests=session.sent, results=results,
        exit_code=code, error=error, committed=session.committed, spent=spent, max_spend=cfg.max_spend,
        taken=session.spend.taken, overcharge=session.overcharge.message(ctx.target.currency) if session.overcharge else None,
        currency=ctx.target.currency, key=session.redactor.value(cfg.key),
        second_key=session.redactor.value(cfg.second_key) if cfg.second_key else None,
        notes=[session.redactor(n) for n in notes], trace=list(session.trace), redactor=session.redactor,
    )


def _words(dialect: Dialect, code: str) -> str:
    """The dialect's words for an error code, looked up by the code's name (no import of the mock's codes)."""
    for name, text in dialect.errors.items():
        if getattr(name, "value", name) == code:
            return text
    raise KeyError(code)


def _summary(ctx: Context, report: Report) -> None:
    p = ctx.progress
    c = report.counts
    p.line("")
    for r in report.results:
        if r.outcome in (FAILED, WARNING):
            tag = "FAILED " if r.outcome == FAILED else "WARNING"
            message = r.finding.message if r.finding else ""
            p.line(f"  {p.paint(tag, 'fail' if r.outcome == FAILED else 'warn')} {r.requirement.id}  {r.requirement.title}")
            p.line(f"          {message[:200]}")
    for note in report.notes:
        p.line(f"  note: {note}")
    spend = ""
    if report.tier == "orders":
        cur = f" {report.currency}" if report.currency else ""
        spend = (f"; the panel took {report.taken}{cur} in all, spent "
                 f"{report.spent if report.spent is not None else '?'}{cur} net of refunds (committed "
                 f"{report.committed}{cur}, cap {report.max_spend}{cur})")
    p.line(
        f"summary: {c[PASSED]} passed, {c[FAILED]} failed, {c[WARNING]} warnings, {c[NOT_EXERCISED]} not exercised "
        f"of {len(report.results)} requirements; {report.requests} requests in {report.duration:.1f} s{spend}"
    )
    verdict = {0: "PASSED", 1: "FAILED", 2: "COULD NOT JUDGE"}[report.exit_code]
    if report.interrupted:
        verdict += f", INTERRUPTED by {report.interrupted}"
    p.line(f"result: {p.paint(verdict, 'pass' if report.exit_code == 0 else 'fail')} (exit {report.exit_code})")
