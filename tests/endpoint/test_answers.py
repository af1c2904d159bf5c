"""_endpoint/actions.py's Answers: balance and services sent from cached bytes, and every change
that must show (a ledger entry, a refund falling due, a catalogue change, another dialect)."""

from __future__ import annotations

import gc
import json
import time
from decimal import Decimal

from mockpanel import create_app, inprocess_client, load_dialect
from mockpanel._dialects.frozen import thawed
from mockpanel._dialects.profile import available_dialects
from mockpanel._dialects.render import EMPTY
from mockpanel._domain.catalog import Catalog
from mockpanel._endpoint.actions import Answers, dispatch
from mockpanel._endpoint.context import SCOPE_KEY, Call
from mockpanel._powers.journal import Journal
from tests.helpers.common import KEY

STANDARD = load_dialect("standard")


def answer(answers: Answers, action: str, dialect=STANDARD, **fields: str):
    payload, body = answers.answer(dialect, {"key": KEY, "action": action, **fields})
    afresh = dispatch(answers.panel, dialect, {"key": KEY, "action": action, **fields})
    if payload is EMPTY:  # a dialect that answers nothing (smartpanel-script's status without an id)
        assert afresh is EMPTY and body == dialect.json_prefix.encode()
    else:
        assert json.loads(body) == payload == afresh
    return payload, body


def balance(answers: Answers, dialect=STANDARD) -> Decimal:
    return Decimal(answer(answers, "balance", dialect)[0]["balance"])


def test_a_balance_is_sent_from_cached_bytes_until_the_ledger_moves(panel, clock):
    answers = Answers(panel)
    first = answer(answers, "balance")
    assert answer(answers, "balance")[1] is first[1]  # the same bytes object: nothing rendered again
    panel.deposit(KEY, "5")
    assert balance(answers) == 105
    order = panel.add(KEY, "1", {"link": "https://x.test/a", "quantity": "1000"})
    assert balance(answers) < 105
    panel.set_order(order, status="Canceled")  # a full refund, credited when it falls due
    clock.advance(hours=1)
    assert balance(answers) == 105
    panel.withdraw(KEY, "105")
    assert balance(answers) == 0


def test_a_balance_is_cached_per_account_and_dialect(panel):
    panel.create_account("other-key", balance="7")
    answers = Answers(panel)
    assert balance(answers) == 100
    assert Decimal(answers.answer(STANDARD, {"key": "other-key", "action": "balance"})[0]["balance"]) == 7
    wrong = {"key": "wrong", "action": "balance"}
    assert answers.answer(STANDARD, wrong)[0] == dispatch(panel, STANDARD, wrong)
    seen = set()
    for name in available_dialects():
        dialect = load_dialect(name)
        if "balance" in dialect.actions:
            seen.add(answer(answers, "balance", dialect)[1])  # its own spelling, not another's bytes
    assert len(seen) > 1


def test_services_are_sent_from_cached_bytes_until_the_catalogue_changes(panel):
    answers = Answers(panel)
    first = answer(answers, "services")
    assert answer(answers, "services")[1] is first[1]
    sid = int(first[0][0]["service"])
    panel.update_service(sid, rate="9.99")
    assert answer(answers, "services")[0][0]["rate"] == "9.99"
    panel.update_service(sid, enabled=False)
    assert sid not in [int(s["service"]) for s in answer(answers, "services")[0]]
    panel.put_service({**panel.catalog.get(sid).to_json(), "enabled": True, "name": "Back again"})
    assert "Back again" in [s["name"] for s in answer(answers, "services")[0]]
    for name in available_dialects():
        dialect = load_dialect(name)
        if "services" in dialect.actions:
            answer(answers, "services", dialect)
    panel.reset(catalog=Catalog([]))  # another catalogue object, at the same version
    panel.create_account(KEY, balance="1")
    assert answer(answers, "services")[0] == thawed(STANDARD.services_empty)  # the profile keeps a read-only one


def test_over_http_a_changed_panel_is_seen_at_once(panel):
    with inprocess_client(create_app(panel)) as client:
        def post(action: str):
            return client.post("/api/v2", data={"key": KEY, "action": action}).json()
        assert Decimal(post("balance")["balance"]) == 100
        panel.deposit(KEY, "1")
        assert Decimal(post("balance")["balance"]) == 101
        names = [s["name"] for s in post("services")]
        panel.update_service(int(post("services")[0]["service"]), name="Renamed")
        assert [s["name"] for s in post("services")] == ["Renamed", *names[1:]]


def test_a_row_of_references_counts_shared_bytes_in_full_and_holds_no_tracked_container(panel):
    journal = Journal(lambda: 1000.0, max_bytes=20_000)
    answers = Answers(panel)
    for _ in range(30):
        fields = {"key": KEY, "action": "services"}
        payload, body = answers.answer(STANDARD, fields)
        journal.record({SCOPE_KEY: Call(fields, time.perf_counter(), body=body)}, fields, payload, 200, 0.0)
    # The 30 rows share one bytes object, but the bound counts it in each row: if the
    # cache dropped it, the rows alone would hold it.
    assert journal.nbytes <= 20_000 and len(journal) == 20_000 // (len(body) + 400 + len("key\0action" + KEY + "\0services"))
    gc.collect()
    gc.collect()  # a tuple is untracked once the tuples inside it are: the second pass
    assert not any(gc.is_tracked(row) for row in journal._entries)  # nothing left for the collector to scan
    entry = journal.entries()[-1]
    assert (entry.seq, entry.params, entry.response, entry.key_id) == (30, {"action": "services"}, payload, entry.key_id)
    assert KEY not in json.dumps(entry.to_json()) and entry.key.startswith("key#")


def test_a_multi_status_with_cached_final_entries_answers_as_dispatch_does(panel, clock):
    panel.create_account("other-key", balance="50")
    mine = [panel.add(KEY, "1", {"link": f"https://x.test/{i}", "quantity": "100"}) for i in range(6)]
    theirs = panel.add("other-key", "1", {"link": "https://x.test/o", "quantity": "100"})
    answers = Answers(panel)
    lists = [",".join(map(str, mine)), f"{mine[0]}, 0{mine[1]},{theirs},x,,99999999", f"[{mine[2]},{mine[3]}]",
             ",".join(str(mine[0]) for _ in range(3)), ",".join(["1"] * 101), "", " , "]

    every = [STANDARD, *(load_dialect(n) for n in available_dialects())]

    def check(dialects=every) -> None:
        for dialect in dialects:
            if "status" in dialect.actions:
                for ids in lists:
                    answer(answers, "status", dialect, orders=ids)  # == dispatch's, checked in answer()

    check()  # Pending, rendered afresh
    clock.advance(days=3)
    check()  # final now: rendered, then taken from the cache
    check([STANDARD])
    panel.set_order(mine[0], start_count=777)  # a final order's start count can still be forced
    check([STANDARD])
    panel.create_account(KEY + "-x", balance="1")
    check()
    assert answer(answers, "status", orders=str(mine[0]))[0][str(mine[0])]["start_count"] in ("777", 777)
    panel.reset()  # another order book: the same ids are other orders (or none)
    panel.create_account(KEY, balance="10")
    check()
