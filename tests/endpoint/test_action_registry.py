"""The action table: two toy actions added through it alone, and seen everywhere it reaches.

``ping`` (read: the account's currency; with ``order``, only for an order of the key) and
``bump`` (write: one unit onto the balance) are registered in the table's data
(conformance/actions.py) and in the mock's side of it (``SERVED``: a handler and a renderer),
for one test, and nowhere else. Then a real uvicorn server answers them in the dialect's words,
``mockpanel record`` keeps ``ping`` in a recorded profile, the proxy's judge judges its errors
by the table, and the read-only tier sends ``ping`` but never ``bump``.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

from hypothesis import find

import httpx
import pytest
from conformance import RunConfig, load_catalogue, run
from conformance import _strategies as strategies
from conformance import actions as table
from conformance.actions import Action, ActionError
from conformance.profile import DialectError as JudgeDialectError
from conformance.profile import load_dialect as judge_dialect
from conformance.record import record, write
from conformance.session import SafetyError, Session, SessionConfig

from mockpanel import ServerThread, build_panel, create_app
from mockpanel._dialects import render
from mockpanel._dialects.profile import Dialect, DialectError, load_dialect
from mockpanel._domain.accounts import Account
from mockpanel._proxy.forward import Proxy
from mockpanel._proxy.journal import ProxyJournal
from mockpanel._proxy.judge import TrafficJudge, findings
from mockpanel._endpoint import actions as served
from mockpanel._endpoint.actions import ActionTableError, Served

KEY = "registry-key-1"
PING = Action("ping", "read", ("incorrect_order_id",), "V2-ERR-01", {"order": "id"}, optional=True)
BUMP = Action("bump", "write", (), "V2-ERR-03", optional=True)


def _ping(panel: Any, dialect: Dialect, key: str, account: Account, params: Any) -> str:
    order = params.get("order")
    if order is not None:  # only an order of this key: the status of another is an unknown id
        panel.status(key, int(order) if order.strip().isdigit() else -1)
    return account.currency


def _bump(panel: Any, dialect: Dialect, key: str, account: Account, params: Any) -> Decimal:
    return panel.deposit(key, "1", note="bump")  # type: ignore[no-any-return]


def _pong(dialect: Dialect, currency: str) -> Any:
    return render.envelope(dialect, "ping", {"pong": currency})


def _bumped(dialect: Dialect, balance: Decimal) -> Any:
    return render.envelope(dialect, "bump", {"balance": render.money(dialect, balance)})


@pytest.fixture
def toys(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``ping`` and ``bump`` in the action table and the mock's side of it, for one test."""
    monkeypatch.setitem(table.ACTIONS, "ping", PING)
    monkeypatch.setitem(table.ACTIONS, "bump", BUMP)
    monkeypatch.setitem(served.SERVED, "ping", Served(_ping, _pong))
    monkeypatch.setitem(served.SERVED, "bump", Served(_bump, _bumped))
    yield


def _profile(tmp_path: Path, **fields: Any) -> str:
    path = tmp_path / "toy.json"
    path.write_text(json.dumps({"name": "toy", "extends": "standard", "description": "standard with a toy",
                                **fields}))
    return str(path)


def _serve(dialect: str) -> ServerThread:
    panel = build_panel(dialect, seed=1, speed=0)
    panel.create_account(KEY, balance="100")
    return ServerThread(create_app(panel, dialect))


def _post(url: str, **fields: str) -> Any:
    return httpx.post(url, data={"key": KEY, **fields}, timeout=10).json()


def test_a_toy_action_is_served_over_http_in_the_dialects_words(toys: None, tmp_path: Path) -> None:
    words = _profile(tmp_path, success_envelope={"ping": {"status": "ok"}})
    with _serve(words) as server:
        api = server.url + "/api/v2"
        assert _post(api, action="ping") == {"status": "ok", "pong": "USD"}  # its renderer, the profile's envelope
        assert _post(api, action="ping", order="123") == {"error": "Incorrect order ID"}  # its handler's error
        assert _post(api, action="bump") == {"balance": "101.00000"}
        assert _post(api, action="balance")["balance"] == "101.00000"
        assert [e["action"] for e in httpx.get(server.url + "/_mock/journal", timeout=10).json()] == [
            "ping", "ping", "bump", "balance"]
    # A profile that lists its own actions has only those: smartpanel-v1 answers ping as an unknown action.
    with _serve("smartpanel-v1") as server:
        assert _post(server.url + "/api/v1", action="ping") == {"error": "This action is Invalid"}


def test_a_toy_action_is_kept_in_a_recorded_profile(toys: None, tmp_path: Path) -> None:
    # A panel without refill_status: the recording lists its actions, in the table's order, ping among them.
    lacking = _profile(tmp_path, actions=["services", "add", "status", "refill", "cancel", "balance", "ping", "bump"])
    with _serve(lacking) as server:
        recording = record(server.url + "/api/v2", KEY, rate=0)
        sent = [e["action"] for e in httpx.get(server.url + "/_mock/journal", timeout=10).json()]
    assert recording.profile["extends"] == "standard"
    assert recording.profile["actions"] == ["services", "add", "status", "refill", "cancel", "balance", "ping", "bump"]
    assert "bump" not in sent and "ping" not in sent  # the recorder sends only its read-only probes
    _, dialect = write(recording, tmp_path / "recorded")
    assert judge_dialect(str(dialect)).actions == load_dialect(str(dialect)).actions >= {"ping", "bump"}


def test_a_toy_action_is_judged_by_the_proxy_by_the_tables_errors(
        toys: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with _serve("standard") as upstream:
        journal = ProxyJournal()
        with ServerThread(Proxy(upstream.url, journal, timeout=10), lifespan="on") as proxy:  # closes its client
            via = proxy.url + "/api/v2"
            assert _post(via, action="ping") == {"pong": "USD"}
            assert _post(via, action="ping", order="123") == {"error": "Incorrect order ID"}
    entries = journal.entries()
    assert [e.params["action"] for e in entries] == ["ping", "ping"]
    dialect = judge_dialect("standard")
    assert findings(dialect, entries) == []  # incorrect_order_id is one of ping's errors
    monkeypatch.setitem(table.ACTIONS, "ping", Action("ping", "read", (), "V2-ERR-01", {"order": "id"}))
    found = findings(dialect, entries)
    assert [(f.rid, f.exchanges[0].n) for f in found] == [("V2-ERR-01", 2)]  # now it is none of ping's errors
    assert "'Incorrect order ID'" in found[0].message and "for ping" in found[0].message


def test_the_read_only_tier_sends_a_toy_read_action_and_never_a_toy_write(toys: None) -> None:
    sent: list[dict[str, str]] = []

    def panel(request: httpx.Request) -> httpx.Response:
        from urllib.parse import parse_qsl

        sent.append(dict(parse_qsl(request.content.decode())))
        return httpx.Response(200, json={"pong": "USD"})

    session = Session(SessionConfig(url="https://panel.example/api/v2", rate=0), transport=httpx.MockTransport(panel))
    session.send({"key": KEY, "action": "ping"})
    for word in ("bump", " BUMP ", "teleport"):  # a write of the table, or a word it does not know
        with pytest.raises(SafetyError, match="never sends action="):
            session.send({"key": KEY, "action": word})
    assert [s["action"] for s in sent] == ["ping"]
    orders = Session(SessionConfig(url="https://panel.example/api/v2", rate=0, tier="orders"),
                     transport=httpx.MockTransport(panel))
    orders.send({"key": KEY, "action": "bump"})  # the orders tier may
    assert [s["action"] for s in sent] == ["ping", "bump"]


def test_a_read_only_run_against_a_mock_with_the_toys_sends_ping_never_bump(toys: None) -> None:
    # Wrong keys are tried on every read action of the table, with its id fields holding unknown ids.
    assert find(strategies.read_request(), lambda r: r["action"] == "ping")["order"].isdigit()
    with _serve("standard") as server:
        report = run(RunConfig(url=server.url + "/api/v2", key=KEY, examples=20, max_requests=600))
        sent = {action: httpx.get(server.url + "/_mock/journal", params={"action": action}, timeout=10).json()
                for action in ("ping", "bump", "add", "refill", "cancel")}
    assert report.exit_code == 0, [(r.requirement.id, r.finding.message) for r in report.results if r.finding]
    assert sent["ping"] and all(e["action"] == "ping" for e in sent["ping"])
    assert sent["bump"] == sent["add"] == sent["refill"] == sent["cancel"] == []


def test_a_profile_naming_an_unknown_action_is_refused_by_both_readers(tmp_path: Path) -> None:
    path = _profile(tmp_path, actions=["balance", "ping"])
    with pytest.raises(DialectError, match=r"unknown action\(s\) \['ping'\].*conformance/actions.py"):
        load_dialect(path)
    with pytest.raises(JudgeDialectError, match=r"unknown action\(s\) \['ping'\].*conformance/actions.py"):
        judge_dialect(path)
    with pytest.raises(DialectError, match="'success_envelope' maps an action"):
        load_dialect(_profile(tmp_path, success_envelope={"ping": {"status": "ok"}}))


def test_a_profile_naming_a_registered_toy_loads_in_both_readers(toys: None, tmp_path: Path) -> None:
    path = _profile(tmp_path, actions=["balance", "ping"])
    assert load_dialect(path).actions == judge_dialect(path).actions == {"balance", "ping"}
    assert {"ping", "bump"} <= load_dialect("standard").actions  # a profile listing none has the table's defaults
    assert "ping" not in load_dialect("smartpanel-v1").actions


def test_the_mock_refuses_to_start_with_an_action_it_cannot_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    panel = build_panel(seed=1)
    monkeypatch.setitem(table.ACTIONS, "ping", PING)
    with pytest.raises(ActionTableError, match=r"\['ping'\].*no handler and renderer.*SERVED"):
        create_app(panel)
    monkeypatch.delitem(table.ACTIONS, "ping")
    monkeypatch.setitem(served.SERVED, "bump", Served(_bump, _bumped))
    with pytest.raises(ActionTableError, match=r"\['bump'\].*add an Action there"):
        create_app(panel)


def test_every_action_of_the_table_is_served_and_every_judge_check_is_of_one() -> None:
    served.check_served()
    assert set(served.SERVED) == set(table.names())
    requirements = load_catalogue().by_id
    assert all(a.wording in requirements for a in table.ACTIONS.values())
    assert set(TrafficJudge(judge_dialect("standard")).checks) <= set(table.names())
    assert set(table.read_actions()) == {"services", "status", "refill_status", "balance"}


@pytest.mark.parametrize("entry, words", [
    (Action("Ping", "read", (), "V2-ERR-03"), "a lower-case word"),
    (Action("mockpanel_ping", "read", (), "V2-ERR-03"), "not starting with 'mockpanel_'"),
    (Action("ping", "delete", (), "V2-ERR-03"), "kind is 'read' or 'write'"),  # type: ignore[arg-type]
    (Action("ping", "read", ("no_such_code",), "V2-ERR-03"), "unknown error code(s) ['no_such_code']"),
    (Action("ping", "read", (), "V2-ERR-03", {"order": "list"}), "field kind(s) {'order': 'list'}"),
])
def test_a_bad_entry_is_refused_with_what_to_do(entry: Action, words: str) -> None:
    with pytest.raises(ActionError) as info:
        table.check(entry)
    assert words in str(info.value) and "conformance/actions.py" in str(info.value)


def test_the_read_only_allow_list() -> None:
    for word in ("", "balance", "status", "services", "refill_status", "mockpanel_no_such_action"):
        assert table.read_only_may_send(word), word
    for word in ("add", "refill", "cancel", "delete", "order", "add_order", "massorder"):
        assert not table.read_only_may_send(word), word


def test_without_the_toys_ping_is_an_unknown_action() -> None:
    panel = build_panel(seed=1)
    panel.create_account(KEY, balance="1")
    with ServerThread(create_app(panel)) as server:
        assert _post(server.url + "/api/v2", action="ping") == {"error": "Incorrect request"}
