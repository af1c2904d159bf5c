"""``mockpanel record``: a panel's catalogue and dialect, recorded read-only, served again.

The round trip: a mock speaking profile X, recorded, and the recording served, answers every
read-only probe as X does: the conformance read-only tier judged against the recorded profile
passes, and the recording's fingerprint names X.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conformance import RunConfig, run
from conformance.fingerprint import fingerprint
from conformance.profile import available_dialects
from conformance.record import record, write

from mockpanel import ServerThread, build_panel, create_app
from mockpanel._cli import main
from tests.helpers.common import HTTP, serving

KEY = "record-key-1"


def _serve(dialect: str, catalog: str | None = None) -> ServerThread:
    panel = build_panel(dialect, catalog=catalog, seed=1, speed=0)
    panel.create_account(KEY, balance="100")
    return ServerThread(create_app(panel, dialect))


def _url(server: ServerThread, dialect: str) -> str:
    from mockpanel._dialects import load_dialect

    return server.url + load_dialect(dialect).endpoints[0]


@pytest.mark.parametrize("name", list(available_dialects()))
def test_a_recording_of_each_profile_speaks_it(name: str, tmp_path: Path) -> None:
    with _serve(name) as original:
        url = _url(original, name)
        recording = record(url, KEY, rate=0)
        actions = [e["action"] for e in HTTP.get(original.url + "/_mock/journal").json()]
    assert not {"add", "refill", "cancel"} & set(actions)  # read-only
    assert len(actions) == recording.requests <= 16
    catalog, dialect = write(recording, tmp_path)
    assert KEY not in catalog.read_text() + dialect.read_text() + (tmp_path / "report.txt").read_text()
    profile = json.loads(dialect.read_text())
    assert profile["extends"] in recording.fingerprint.closest and name in recording.fingerprint.closest
    assert "_comments" in profile
    with _serve(str(dialect), str(catalog)) as served:
        served_url = _url(served, str(dialect))
        report = run(RunConfig(url=served_url, key=KEY, dialect=str(dialect), examples=2, max_requests=600))
        assert report.exit_code == 0, [(r.requirement.id, r.finding.message) for r in report.results if r.finding]
        assert name in fingerprint(served_url, KEY).closest
        again = record(served_url, KEY, rate=0)
    # Every probe is answered as the original answered it: the same status and the same bytes.
    assert again.fingerprint.observation.raw == recording.fingerprint.observation.raw
    assert again.catalog == recording.catalog


def test_a_deviation_becomes_a_setting_with_the_answer_that_showed_it(tmp_path: Path) -> None:
    custom = tmp_path / "odd.json"
    custom.write_text(json.dumps({
        "name": "odd", "extends": "standard", "description": "standard with other words and 2-decimal balances",
        "errors": {"invalid_key": "Wrong key, friend", "incorrect_order_id": "No such order"},
        "balance": {"decimals": 2}, "batch": {"item_error": "string"},
    }))
    with _serve(str(custom)) as server:
        recording = record(server.url + "/api/v2", KEY, rate=0)
    profile = recording.profile
    assert profile["extends"] == "standard"
    assert profile["errors"] == {"invalid_key": "Wrong key, friend", "incorrect_order_id": "No such order"}
    assert profile["balance"] == {"decimals": 2} and profile["batch"] == {"item_error": "string"}
    note = profile["_comments"]["errors.invalid_key"]
    assert "'Invalid API key'" in note and "probe bad_key" in note and "Wrong key, friend" in note
    assert "probe multi_status" in profile["_comments"]["batch.item_error"]
    catalog, dialect = write(recording, tmp_path / "rec")
    with _serve(str(dialect), str(catalog)) as served:
        report = run(RunConfig(url=served.url + "/api/v2", key=KEY, dialect=str(custom), examples=2))
    assert report.exit_code == 0, [(r.requirement.id, r.finding.message) for r in report.results if r.finding]


def test_record_and_serve_from_on_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    with _serve("smartpanel-v1") as original:
        result = CliRunner().invoke(main, ["record", original.url + "/api/v1", "--key", KEY, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "closest dialect: smartpanel-v1" in result.output and KEY not in result.output
    with serving("--from", str(out), "--key", KEY) as origin:
        answer = HTTP.post(origin + "/api/v1", data={"key": KEY, "action": "balance"})
        assert answer.json() == {"status": "success", "balance": "1000.00", "currency": "USD"}
        assert HTTP.get(origin + "/_mock/").json()["dialect"] == "recorded-127.0.0.1"


def test_serve_from_a_folder_without_a_recording_says_what_is_missing(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["serve", "--from", str(tmp_path)])
    assert result.exit_code == 2
    assert "dialect.json and catalog.json not found" in result.output and "mockpanel record" in result.output


def test_record_of_an_address_that_does_not_answer_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["record", "http://127.0.0.1:9/api/v2", "--key", KEY, "--out",
                                       str(tmp_path / "x"), "--timeout", "2"])
    assert result.exit_code == 1 and "no answer from http://127.0.0.1:9/api/v2" in result.output
    assert not (tmp_path / "x").exists()


def test_record_with_a_key_the_panel_refuses_writes_nothing_and_says_so(tmp_path: Path) -> None:
    with _serve("standard") as server:
        result = CliRunner().invoke(main, ["record", server.url + "/api/v2", "--key", "not-the-key-9",
                                           "--out", str(tmp_path / "x")])
    assert result.exit_code == 1 and "did not answer balance with a balance" in result.output
    assert "Invalid API key" in result.output and "not-the-key-9" not in result.output
    assert not (tmp_path / "x").exists()
