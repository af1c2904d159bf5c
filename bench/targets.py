"""The speed goals, each with its value from one run, its goal and whether it is met.

Ratios are to the bare endpoint and to the WireMock stub measured in the same run (never
to figures from another run): on a shared VM only side-by-side figures compare. A ratio to bare
is the paired one when the run has it (``--paired``: each run against the bare runs just before
and after it), else the ratio of the medians. The cost of the large store against the small one
comes from runs of the two at once on one CPU when the run has them (bench/shared.py), else
from their paired ratios. Memory per stored order is compared with a committed earlier run
(``--baseline``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .shared import cost_growth


def targets(
    rows: list[dict[str, Any]], stores: dict[str, Any], small: str, large: str, services: str,
    baseline: dict[str, Any] | None = None, shared: dict[str, list[dict[str, Any]]] | None = None,
) -> list[dict[str, Any]]:
    """The speed goals, as ratios to the bare endpoint and to the WireMock stub measured in
    the same run; ``met`` is None for figures shown for information only."""
    by = {r["config"]: r for r in rows}
    out: list[dict[str, Any]] = []

    def vs_bare(row: dict[str, Any]) -> float:
        paired = row.get("ratio_paired")
        return float(paired if paired is not None else row["ratio"])

    def add(name: str, value: float | None, goal: str, ok: bool | None, unit: str = "ratio") -> None:
        out.append({"target": name, "value": value, "goal": goal, "met": ok, "unit": unit})

    wm, wm_off = by.get("wiremock"), by.get("wiremock-nojournal")
    for cfg in ("balance", f"status@{small}", f"status@{large}"):
        if cfg in by:
            add(f"{cfg} rps / bare", vs_bare(by[cfg]), ">= 90%", vs_bare(by[cfg]) >= 0.90)
            if wm and wm["rps"]:
                ratio = round(by[cfg]["rps"] / wm["rps"], 3)
                add(f"{cfg} rps / wiremock", ratio, ">= 100% (journal on, as the mock's)", ratio >= 1.0)
            if wm_off and wm_off["rps"]:
                add(f"{cfg} rps / wiremock-nojournal", round(by[cfg]["rps"] / wm_off["rps"], 3), "(information)", None)
    # What clients send most after a balance: an order (its link percent-encoded, as every
    # client library encodes it) and a poll of the orders they placed, still running (no final
    # order's kept entry applies: each of the 100 states is worked out at the request's time).
    for cfg, goal in (("add", 0.70), (f"multi-running@{small}", 0.40)):
        if cfg in by:
            add(f"{cfg} rps / bare", vs_bare(by[cfg]), f">= {goal:.0%}", vs_bare(by[cfg]) >= goal)
    m = by.get(f"multi@{large}")
    if m:
        add(f"multi@{large} rps / bare", vs_bare(m), ">= 40%", vs_bare(m) >= 0.40)
        add(f"multi@{large} p99 ms", m["p99_ms"], "<= 50 ms", m["p99_ms"] <= 50, "ms")
    for kind in ("status", "multi"):
        a, b = by.get(f"{kind}@{small}"), by.get(f"{kind}@{large}")
        together = cost_growth((shared or {}).get(kind, []))
        if together is not None:  # both stores loaded at once on one CPU (bench/shared.py)
            add(f"{kind} cost {large} vs {small}, at once", together, "within +-10%", abs(together) <= 0.10, "growth")
        if a and b and a["rps"] and b["rps"]:
            growth = round(vs_bare(a) / vs_bare(b) - 1, 3)  # cost per request = 1 / rps, each against its own bare runs
            if together is None:
                add(f"{kind} cost {large} vs {small}", growth, "within +-10%", abs(growth) <= 0.10, "growth")
            else:
                add(f"{kind} cost {large} vs {small}, via bare", growth, "(information)", None, "growth")
    # The bare endpoint for a catalogue is one answering the same bytes (about 1 MB for 5,000
    # services): against the 40-byte constant no server here comes near 50 %, bare included.
    sv, same = by.get(f"services@{services}"), by.get(f"bare-services@{services}")
    if sv and same and same["rps"]:
        ratio = round(sv["rps"] / same["rps"], 3)
        add(f"services@{services} rps / bare (same bytes)", ratio, ">= 50%", ratio >= 0.50)
    if sv:
        add(f"services@{services} rps / bare (constant)", sv["ratio"], "(information)", None)
    bpo = stores.get("large", {}).get("bytes_per_order")
    before = (baseline or {}).get("stores", {}).get("large", {}).get("bytes_per_order")
    if bpo is not None and before:
        # RSS deltas move by a few percent between identical runs: 5 % is "unchanged".
        add("bytes per stored order", bpo, f"<= baseline {before:.0f} (+5%)", bpo <= before * 1.05, "B")
    elif bpo is not None:
        add("bytes per stored order", bpo, "<= 300", bpo <= 300, "B")
    return out


def load_baseline(path: Path | None) -> dict[str, Any] | None:
    if path is None or not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        print(f"--baseline {path}: not readable ({exc}); comparing with the fixed goals", file=sys.stderr)
        return None
