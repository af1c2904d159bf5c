"""What the mock itself saw: the read-only tier sent no add, refill or cancel and
changed nothing; the orders tier never spent past --max-spend; no key leaks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from typing import Any

import httpx
import pytest

from mockpanel import ServerThread, VirtualClock, build_panel, create_app
from conformance._report_html import to_html
from conformance._reports import to_json, to_junit
from tests.helpers.broken_panels import (
    DEFECTS, KEY_ECHO, MAIN_KEY, QUANTITY_LEFT_TO_THE_PANEL, SECOND_KEY, START, open_keys, run_suite,
)
from tests.helpers.common import serving

WRITES = {"add", "refill", "cancel"}


def recorded(app: Any) -> list[dict[str, str]]:
    """Every API request the mock answered, as the mock's own endpoint saw it."""
    seen: list[dict[str, str]] = []
    app.state.api.observers.append(lambda scope, fields, payload, status, seconds: seen.append(dict(fields)))
    return seen


def journal_actions(app: Any) -> list[str] | None:
    control = getattr(app.state, "control", None)
    if control is None:
        return None
    return [entry.action for entry in control.journal.entries()]


def test_read_only_sends_no_add_refill_or_cancel_and_changes_nothing() -> None:
    panel = build_panel(clock=VirtualClock(speed=0, start=START), seed=1)
    open_keys(panel)
    app = create_app(panel)
    seen = recorded(app)
    with ServerThread(app) as server:
        report = run_suite(server.url + "/api/v2", panel, "read-only", examples=20)
    assert report.exit_code == 0 and len(seen) == report.requests > 100
    actions = {(f.get("action") or "").strip().lower() for f in seen}
    assert not actions & WRITES, actions & WRITES
    journal = journal_actions(app)
    if journal is not None:  # the control API's journal agrees
        assert len(journal) == len(seen) and not {a.strip().lower() for a in journal} & WRITES
    assert len(panel.orders) == 0 and len(panel.refills) == 0
    for key in (MAIN_KEY, SECOND_KEY):
        assert {e.kind for e in panel.ledger(key)} <= {"deposit"}
    assert panel.balance(MAIN_KEY)[0] == Decimal("100")
    assert report.committed == 0


@pytest.mark.parametrize("cap", ["0.05", "0.5", "3"])
def test_the_orders_tier_never_spends_past_max_spend(cap: str) -> None:
    panel = build_panel(clock=VirtualClock(speed=0, start=START), seed=1)
    open_keys(panel)
    with ServerThread(create_app(panel)) as server:
        report = run_suite(server.url + "/api/v2", panel, "orders", max_spend=cap)
    charged = sum((e.amount for e in panel.ledger(MAIN_KEY) if e.kind == "charge"), Decimal(0))
    assert 0 < charged <= Decimal(cap)  # what the mock charged, before any refund
    assert report.committed <= Decimal(cap)
    assert report.exit_code == 0, report.flagged()
    budget = [r for r in report.results if "--max-spend" in r.reason]
    assert budget, "a small cap leaves some orders out, and says so"


def test_the_cap_holds_even_when_the_panel_accepts_orders_it_should_refuse() -> None:
    # Wrong min and max in the list: the panel takes the invalid orders the suite sends as probes.
    for name in ("minimum_not_enforced", "maximum_not_enforced"):
        defect = next(d for d in DEFECTS if d.name == name)
        panel, app = defect.build()
        open_keys(panel)
        with ServerThread(app) as server:
            report = run_suite(server.url + "/api/v2", panel, "orders", max_spend="1.5")
        charged = sum((e.amount for e in panel.ledger(MAIN_KEY) if e.kind == "charge"), Decimal(0))
        assert charged <= Decimal("1.5") and report.committed <= Decimal("1.5")
        assert defect.flags <= set(report.flagged())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_an_add_without_its_quantity_is_sent_only_if_the_max_quantity_fits_the_cap(seed: int) -> None:
    # The panel places an add without a quantity at the service's max (12.000 on the cheapest Default service):
    # the probe reserves that, so at a cap of 5 it is not sent (and says why), at 40 it is, and is flagged.
    for cap, sent in (("5", False), ("40", True)):
        panel, app = QUANTITY_LEFT_TO_THE_PANEL.build()
        open_keys(panel)
        with ServerThread(app) as server:
            report = run_suite(server.url + "/api/v2", panel, "orders", max_spend=cap, seed=seed, examples=4,
                               programs=2, steps=12)
        charged = sum((e.amount for e in panel.ledger(MAIN_KEY) if e.kind == "charge"), Decimal(0))
        lost = Decimal(100) - panel.balance(MAIN_KEY)[0]
        assert 0 < lost <= charged <= Decimal(cap), (cap, lost, charged)  # the panel's own books, not the suite's
        result = report.result("V2-TYP-01")
        if sent:
            assert set(report.flagged()) == {"V2-TYP-01"}, report.flagged()
            assert "without 'quantity'" in result.finding.message, result.finding.message
        else:
            assert report.exit_code == 0, report.flagged()
            assert "without 'quantity'" in result.detail and "--max-spend" in result.detail, result.detail


def test_no_key_reaches_any_output_even_when_the_panel_echoes_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import io

    from conformance.context import Progress, RunConfig
    from conformance.runner import run

    panel, app = KEY_ECHO.build()
    open_keys(panel)
    out = io.StringIO()
    with ServerThread(app) as server:
        report = run(RunConfig(url=server.url + "/api/v2", key=MAIN_KEY, second_key=SECOND_KEY, tier="orders",
                               link="https://instagram.com/example_user", max_spend=Decimal("5"), examples=8,
                               use_control_api=False),
                     clock=lambda s: panel.clock.advance(s), progress=Progress(out))
    texts = [out.getvalue(), to_json(report, with_trace=True), to_junit(report), to_html(report)]
    assert any("api_key" in t for t in texts)  # the echoed field is there, its value is not
    for secret in (MAIN_KEY, SECOND_KEY, MAIN_KEY[:-1], MAIN_KEY[1:], MAIN_KEY.swapcase()):
        for text in texts:
            assert secret not in text


def test_a_panel_that_charges_more_than_its_list_is_stopped_after_one_add(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`mockpanel serve` with the reprice fault, an orders run capped at 1: one overcharged add at most."""
    with serving("--key", "reprice-key-0123456789") as origin:
        fault = httpx.post(origin + "/_mock/faults", json={"kind": "reprice", "action": "add", "when": "before",
                                                           "rate": "1000"}, timeout=10)
        assert fault.status_code in (200, 201), fault.text
        run = subprocess.run(
            [sys.executable, "-m", "mockpanel", "conformance", origin + "/api/v2", "--key", "reprice-key-0123456789",
             "--tier", "orders", "--max-spend", "1", "--link", "https://instagram.com/x", "--examples", "3",
             "--json", str(tmp_path / "r.json")],
            capture_output=True, text=True, timeout=300, cwd=tmp_path,
            env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")})
        ledger = httpx.get(origin + "/_mock/keys/reprice-key-0123456789/ledger", timeout=10).json()["entries"]
    charges = [Decimal(e["amount"]) for e in ledger if e["kind"] == "charge"]
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]
    assert "Traceback" not in run.stdout + run.stderr
    # at most the cap plus one overcharged add: drop the largest charge and the rest fits in the cap
    assert charges and sum(charges) - max(charges) <= Decimal("1"), charges
    assert len([c for c in charges if c > Decimal("1")]) <= 1, charges
    assert "more than its price list said" in run.stdout and "FAILED  V2-ORD-02" in run.stdout
    changed = [line for line in run.stdout.splitlines() if "this run changed the mock:" in line]
    assert changed and "added 1 key(s)" in changed[0], changed
    assert "clock" not in changed[0] or "(3600 s) forward" in changed[0], changed  # the quiet period's hour
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["spend"]["overcharge"] and Decimal(report["spend"]["taken"]) == sum(charges)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "r.json"]  # nothing else left behind


def test_a_proxied_read_only_run_sends_only_read_actions_and_probe_names_no_panel_has() -> None:
    from conformance.actions import PROBE_PREFIX, read_actions
    from tests.helpers.broken_panels import Rewrite

    panel = build_panel(clock=VirtualClock(speed=0, start=START), seed=1)
    open_keys(panel)
    seen: list[dict[str, str]] = []

    def proxy(panel: Any, fields: dict[str, str]) -> dict[str, str]:
        seen.append(dict(fields))  # as the panel receives them, every field
        return fields

    app = Rewrite(create_app(panel), panel, request=proxy)
    with ServerThread(app) as server:  # --dialect auto: the fingerprint's probes go through the proxy too
        report = run_suite(server.url + "/api/v2", panel, "read-only", examples=10, dialect="auto")
    assert report.exit_code == 0, report.flagged()
    assert len(seen) == report.requests
    # A PHP panel reads action[]=… as the action too: every field it may read as the action is checked.
    sent = [value.strip().lower() for fields in seen for name, value in fields.items()
            if name == "action" or name.replace(" ", "").lower().startswith("action[")]
    assert sent
    odd = {a for a in sent if a not in read_actions() and a != "" and not a.startswith(PROBE_PREFIX)}
    assert odd == set()
    probes = {a for a in sent if a.startswith(PROBE_PREFIX)}
    assert probes and all(a[len(PROBE_PREFIX):] not in ("add", "refill", "cancel") for a in probes)
    assert len(panel.orders) == 0 and not panel.refills
