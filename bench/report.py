"""What a bench run reports: the machine it ran on, the code it measured, and the table."""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from . import peers
from .load import wrk_path
from .servers import REPO


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
        mem_gib = round(int(mem.split()[1]) / 2**20, 1)
    except (OSError, StopIteration):
        mem_gib = None
    versions = {}
    for pkg in ("mockpanel", "starlette", "uvicorn", "httptools", "uvloop", "orjson"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    wrk = None
    if wrk_path():
        done = subprocess.run([wrk_path(), "-v"], capture_output=True, text=True, timeout=10, check=False)  # type: ignore[list-item]
        wrk = (done.stdout or done.stderr).splitlines()[0].strip() if (done.stdout or done.stderr) else None
    return {
        "cpu": model, "cpus": os.cpu_count(), "mem_gib": mem_gib, "python": platform.python_version(),
        "platform": platform.platform(), "packages": versions, "wrk": wrk, **peers.versions(),
    }


def source() -> dict[str, Any]:
    """Which code was measured: the commit, whether the tree differs from it, and a digest
    of mockpanel's sources (two runs with the same digest measured the same mock)."""

    digest = hashlib.sha256()
    for path in sorted((REPO / "mockpanel").rglob("*.py")) + sorted((REPO / "fixtures").rglob("*.json")):
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    out: dict[str, Any] = {"digest": digest.hexdigest()[:12], "commit": None, "modified": None}
    try:
        git = ["git", "-C", str(REPO)]
        head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10, check=False)
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--", "mockpanel", "fixtures"], capture_output=True, text=True, timeout=10, check=False
        )
        if head.returncode == 0:
            out["commit"] = head.stdout.strip()
            out["modified"] = len(dirty.stdout.splitlines())
    except OSError:  # no git: the digest still tells runs apart
        pass
    return out


def mib(n: int | None) -> str:
    return f"{n / 2**20:,.1f} MiB" if n is not None else "-"


def render(report: dict[str, Any]) -> str:
    o = report["options"]
    modified = report["source"]["modified"]
    lines = [
        (
            f"mockpanel bench  {report['date']}  {report['machine']['cpus']} CPU {report['machine']['cpu']}  "
            f"code {report['source']['commit']}{f'+{modified} modified' if modified else ''}"
            f" (digest {report['source']['digest']})"
        ),
        (
            f"load: {o['loadgen']}, {o['connections']} connections, {o['rounds']} x {o['duration']:g} s per config "
            f"(median), interleaved{', each between two runs of bare (paired)' if o.get('paired') else ''}; "
            f"servers: uvicorn 1 worker, httptools, loop {o['loop']}, no access log"
        ),
        *([f"peer: {report['machine']['wiremock']} on {report['machine']['java']}, its defaults (JVM threads on both cores)"]
          if any(r["server"].startswith("wiremock") for r in report["results"]) else []),
        "",
        (
            f"{'config':<20}{'rps':>10}{'vs bare':>9}{'paired':>8}{'p50 ms':>9}{'p99 ms':>9}{'p99.9 ms':>10}{'cpu us/req':>12}"
            f"{'cpu vs bare':>13}{'errors':>8}{'RSS after':>13}"
        ),
    ]
    for r in report["results"]:
        ratio = f"{r['ratio']:.0%}" if r["ratio"] is not None else "-"
        paired = f"{r['ratio_paired']:.0%}" if r.get("ratio_paired") is not None else "-"
        cpu = f"{r['cpu_us_per_req']:,.0f}" if r["cpu_us_per_req"] is not None else "-"
        cpu_ratio = f"{r['cpu_ratio']:.0%}" if r["cpu_ratio"] is not None else "-"
        rss = report["stores"].get(r["server"], {}).get("rss_now")  # the server's, after all runs
        lines.append(
            f"{r['config']:<20}{r['rps']:>10,.0f}{ratio:>9}{paired:>8}{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}"
            f"{r['p999_ms']:>10.1f}{cpu:>12}{cpu_ratio:>13}{r['errors']:>8}{mib(rss):>13}"
        )
    stores = {k: v for k, v in report["stores"].items() if "orders" in v}
    if stores:
        header = (
            f"{'store':<8}{'orders':>11}{'populate s':>12}{'orders/s':>10}{'RSS before':>13}{'RSS filled':>13}"
            f"{'B/order':>9}{'RSS after runs':>16}"
        )
        lines += ["", header]
        for name, s in stores.items():
            p = s["populate"]
            rate = f"{s['orders'] / p['seconds']:,.0f}" if p["seconds"] else "-"
            bpo = f"{s['bytes_per_order']:.0f}" if s["bytes_per_order"] is not None else "-"
            lines.append(
                f"{name:<8}{s['orders']:>11,}{p['seconds']:>12.1f}{rate:>10}{mib(s['rss_before_populate']):>13}"
                f"{mib(s['rss_after_populate']):>13}{bpo:>9}{mib(s['rss_now']):>16}"
            )
    gc_lines = []
    server_of = {r["config"]: r["server"] for r in report["results"]}
    served: dict[str, int] = {}
    for c in report["runs"]:  # warm-ups included: the collector ran during them too
        served[server_of[c["config"]]] = served.get(server_of[c["config"]], 0) + sum(r["requests"] for r in c["runs"])
    for name, s in report["stores"].items():
        g = s["gc_during_runs"]
        if g is None:
            continue
        total = sum(g.get("total_ms", []))
        per = f", {total * 1e3 / served[name]:.1f} us/request" if served.get(name) else ""
        gc_lines.append(f"  {name}: collections during runs gen0/1/2 = {'/'.join(map(str, g['collections']))}, "
                        f"longest pause gen0/1/2 = {'/'.join(f'{x:.1f}' for x in g['longest_ms_so_far'])} ms, "
                        f"total {total:,.0f} ms{per}; tracked objects {g.get('tracked_before') or 0:,} -> {g.get('tracked_after') or 0:,}")
    lines += ["", "garbage collector:", *gc_lines]
    for kind, rows in (report.get("shared") or {}).items():
        names = [k for k in rows[0] if k not in ("round", "cost", "errors")]
        lines += ["", f"{kind}, the two stores at once on one CPU (bench/shared.py): "
                      f"{names[1]}'s cost per request over {names[0]}'s, per run"]
        lines.append("  " + "  ".join(f"{r[names[0]]:,.0f} / {r[names[1]]:,.0f} rps: {r['cost'] - 1:+.0%}" for r in rows))
    if report["targets"]:
        lines += ["", "targets (ratios from this run):"]
        for t in report["targets"]:
            value, unit = t["value"], t.get("unit", "ratio")
            shown = (f"{value:.0%}" if unit == "ratio" else f"{value:+.0%}" if unit == "growth"
                     else f"{value:,.1f} ms" if unit == "ms" else f"{value:,.0f} {unit}")
            mark = "-" if t["met"] is None else "met" if t["met"] else "MISSED"
            lines.append(f"  {t['target']:<40} {shown:>8}  {mark:<6}  goal {t['goal']}")
    noisy = sum(1 for c in report["runs"] for r in c["runs"] if r["noisy"] and not r["warmup"])
    if noisy:
        lines += ["", f"warning: {noisy} timed run(s) were disturbed (--max-steal, --max-other) even after --retries"]
    drifted = sum(1 for c in report["runs"] for r in c["runs"] if r.get("drifted"))
    kept = [r for c in report["runs"] for r in c["runs"] if r.get("bare_drift") is not None and not r.get("drifted")]
    if drifted:
        lines += ["", f"{drifted} run(s) repeated because bare moved more than --max-drift "
                      f"({o.get('max_drift', 0):.0%}) across them; left out of the medians"]
    still = sum(1 for r in kept if r["bare_drift"] > o.get("max_drift", 1.0))
    if still:
        lines += [f"warning: {still} kept run(s) still had bare move more than --max-drift across them (out of --retries)"]
    errors = sum(r["errors"] for r in report["results"])
    errors += sum(r["errors"] for rows in (report.get("shared") or {}).values() for r in rows)
    if errors:
        lines += ["", f"warning: {errors} requests failed or answered an error: those numbers are not valid"]
    return "\n".join(lines)
