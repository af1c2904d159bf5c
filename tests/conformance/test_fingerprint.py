"""Fingerprinting: the read-only probes name the dialect a panel speaks."""

from __future__ import annotations

import httpx
import pytest

from mockpanel import VirtualClock, available_dialects, build_panel, create_app, load_dialect
from conformance.fingerprint import fingerprint
from mockpanel._server.inprocess import inprocess_client

KEY = "fingerprint-key"
# Profiles that answer every read-only probe alike: the seeds 000 and 001 document the
# standard API unchanged, and smmpanel.ru is SmartPanel v1 with its own catalogue.
SAME_ON_THE_WIRE = [{"standard", "smmprime", "smmprovider"}, {"smm.plus"}, {"smmpro.in"}, {"smartpanel-v1", "smmpanel.ru"},
                    {"package-id"}, {"hardened"}, {"smartpanel-derived"}, {"objectid"}, {"smartpanel-script"}, {"msm"}, {"msm-refill"}]


def mock_of(name: str) -> tuple[httpx.Client, str]:
    dialect = load_dialect(name)
    panel = build_panel(dialect, clock=VirtualClock(speed=0))
    panel.create_account(KEY, balance="5")
    return inprocess_client(create_app(panel, dialect)), dialect.endpoints[0]


def test_the_groups_cover_every_builtin_profile():
    assert set().union(*SAME_ON_THE_WIRE) == set(available_dialects())


@pytest.mark.parametrize("name", sorted(available_dialects()))
def test_fingerprint_names_the_profile_the_mock_speaks(name):
    client, path = mock_of(name)
    with client:
        result = fingerprint("http://mockpanel.local" + path, KEY, client=client)
    group = next(g for g in SAME_ON_THE_WIRE if name in g)
    assert set(result.closest) == group, result.summary()
    matched, total = result.scores[name]
    assert matched == total and total >= 15, result.summary()
    assert result.deviations == []


def test_fingerprint_reports_each_deviation_of_a_panel_between_dialects(tmp_path):
    # A hybrid, like followeran.com: the SmartPanel shapes served on /api/v2.
    hybrid = tmp_path / "hybrid.json"
    hybrid.write_text('{"name": "hybrid", "extends": "smartpanel-v1", "description": "x", "endpoints": ["/api/v2"]}')
    dialect = load_dialect(str(hybrid))
    panel = build_panel(dialect, clock=VirtualClock(speed=0))
    panel.create_account(KEY, balance="5")
    with inprocess_client(create_app(panel, dialect)) as client:
        result = fingerprint("http://mockpanel.local/api/v2", KEY, client=client)
    assert result.best == "smartpanel-v1"
    assert result.deviations == [("endpoint", "/api/v1", "/api/v2")]
    assert "deviation endpoint: smartpanel-v1 expects '/api/v1', the panel answered '/api/v2'" in result.summary()


def test_fingerprint_sends_nothing_that_spends(tmp_path):
    client, path = mock_of("standard")
    sent: list[dict[str, str]] = []
    original = client.post

    def spy(url, data=None, **kw):
        sent.append(dict(data))
        return original(url, data=data, **kw)

    client.post = spy  # type: ignore[method-assign]
    with client:
        fingerprint("http://mockpanel.local" + path, KEY, client=client)
    assert {f["action"] for f in sent} >= {"balance", "services", "status"}
    assert not {f["action"] for f in sent} & {"add", "refill", "cancel"}
    for f in sent:  # status and refill_status only name ids no panel has
        for name in ("order", "orders", "refill", "refills"):
            assert name not in f or f[name].startswith("98765432100")


def test_the_fingerprint_reads_the_profiles_with_the_judges_reader():
    from conformance.fingerprint import predict
    from conformance.profile import Dialect as JudgeDialect
    from conformance.profile import load_dialect as judge_load

    for name in available_dialects():
        dialect = judge_load(name)
        assert isinstance(dialect, JudgeDialect)
        features = predict(dialect)
        assert features["endpoint"] == load_dialect(name).endpoints[0]
        assert features["error.invalid_key"] == dialect.errors["invalid_key"]
        assert features["services.type_case"] == dialect.type_spelling
