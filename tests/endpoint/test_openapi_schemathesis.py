"""Schemathesis (``schemathesis run``, every default check) against a real server per built-in dialect,
with the panel API's OpenAPI document the server itself serves (docs/openapi.md).

One run per distinct document: dialects whose documents are equal but for their titles (``standard``,
``smmprime`` and ``smmprovider``; ``smartpanel-v1`` and ``smmpanel.ru``) share one. Each run is bounded
(``--max-examples``, a fixed ``--seed``). A failure means the document or the mock is wrong.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from mockpanel import ServerThread, VirtualClock, build_panel, create_app
from mockpanel._dialects.profile import available_dialects, load_dialect
from mockpanel._dialects.render import as_id
from mockpanel._domain.lifecycle import Status
from mockpanel._endpoint.openapi import panel_openapi
from tests.helpers.broken_panels import START

pytestmark = pytest.mark.slow

KEY = "Openapi-Key-0001"
ROOT = Path(__file__).resolve().parents[2]
# Schemathesis's defaults follow REST habits that API v2 does not (docs/openapi.md, "Schemathesis"): a refused
# request is answered with HTTP 200 and an error body (and, in a batch, each id's error inside its entry);
# every method gets the same answer, and OpenAPI 3.1 can declare all but QUERY.
NEGATIVE = ["200", "400", "401", "402", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]
# Schemathesis's default probes but QUERY: the document declares every other method (OpenAPI 3.1 has no QUERY).
UNEXPECTED = ["get", "put", "post", "delete", "options", "patch", "trace"]
POSITIVE = ["2xx", "3xx", "400", "401", "402", "403", "404", "409", "429", "5xx"]
CONFIG = f"""
[checks.negative_data_rejection]
expected-statuses = {json.dumps(NEGATIVE)}
[checks.positive_data_acceptance]
expected-statuses = {json.dumps(POSITIVE)}
[phases.coverage]
unexpected-methods = {json.dumps(UNEXPECTED)}
"""


def _distinct() -> list[str]:
    """The first dialect of each group whose documents are equal but for their titles."""
    seen: dict[str, str] = {}
    for name in available_dialects():
        document = panel_openapi(load_dialect(name))
        document.pop("info")
        seen.setdefault(json.dumps(document, sort_keys=True), name)
    return sorted(seen.values())


def _known(name: str) -> dict[str, object]:
    """A panel of the dialect with a key, orders (one completed, one refilled) and its services."""
    dialect = load_dialect(name)
    panel = build_panel(dialect, clock=VirtualClock(speed=0, start=START), seed=3)
    panel.create_account(KEY, balance="500")
    default = next(s for s in panel.catalog if s.type.name == "Default" and s.refill)
    orders = [panel.add(KEY, default.id, {"link": f"https://instagram.com/p/openapi{i}", "quantity": str(default.min)})
              for i in range(3)]
    panel.set_order(orders[0], status=Status.COMPLETED)
    refills = [panel.refill(KEY, orders[0])] if "refill" in dialect.actions else []
    return {
        "panel": panel,
        "known": {
            "key": KEY,
            "service": [str(default.id)] + [str(s.id) for s in list(panel.catalog)[:5]],
            "link": [f"https://instagram.com/p/st{i}" for i in range(40)],
            "quantity": [str(default.min), str(default.min * 2), "1"],
            "order": [str(as_id(dialect.add_order_kind, i)) for i in orders],
            "refill": [str(as_id(dialect.refill_single, i)) for i in refills] or ["1"],
        },
    }


@pytest.mark.parametrize("name", _distinct())
def test_schemathesis_finds_no_failure(name: str, tmp_path: Path) -> None:
    made = _known(name)
    with ServerThread(create_app(made["panel"], name)) as server:  # type: ignore[arg-type]
        document = httpx.get(server.url + "/_mock/openapi/api.json", timeout=10).json()
        assert document["servers"] == [{"url": "/"}]
        (tmp_path / "api.json").write_text(json.dumps(document))
        (tmp_path / "schemathesis.toml").write_text(CONFIG)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "SCHEMATHESIS_HOOKS": "tests.helpers.schemathesis_hooks",
               "MOCKPANEL_SCHEMATHESIS_KNOWN": json.dumps(made["known"]), "NO_COLOR": "1"}
        run = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "run", str(tmp_path / "api.json"), "--url", server.url,
             "--max-examples", "15", "--seed", "7", "--continue-on-failure", "--no-shrink"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
        )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "Tested: 6" in run.stdout  # every operation ran (get, post and the other methods)
