"""Status answers with orders' entries kept while they hold (_endpoint/multistatus.py): always the answer the
panel would render now, in every dialect, whatever changed since an entry was kept."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import orjson
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule

from mockpanel import VirtualClock, build_panel, load_dialect
from mockpanel._dialects import render
from mockpanel._endpoint import multistatus
from mockpanel._endpoint.actions import Answers, dispatch
from mockpanel._endpoint.multistatus import FinalStatuses

KEY = "multi-key-0123"


def _panel(dialect: str = "standard") -> Any:
    panel = build_panel(dialect, clock=VirtualClock(speed=0, start=1_700_000_000), seed=3)
    panel.create_account(KEY, balance="1000")
    for i in range(6):
        panel.add(KEY, "1", {"link": f"https://multi.test/{i}", "quantity": "100"})
    return panel


def _ids(panel: Any) -> list[int]:
    return list(panel.account(KEY).order_ids)


def _ended() -> tuple[Any, Any, Answers]:
    """A standard panel whose six orders have all ended, its dialect, and answers with nothing kept yet."""
    panel = _panel()
    panel.clock.advance(30 * 86400)
    return panel, load_dialect("standard"), Answers(panel)


def _fresh(panel: Any, dialect: Any, fields: dict[str, str]) -> tuple[Any, bytes]:
    """The answer as rendered from scratch (no entry kept)."""
    payload = dispatch(panel, dialect, fields)
    return payload, render.encode(dialect, payload)


@pytest.mark.parametrize("name", ["standard", "smartpanel-v1", "package-id", "smartpanel-script"])
def test_kept_entries_give_the_fresh_answer_in_every_dialect(name: str) -> None:
    panel = _panel(name)
    dialect = load_dialect(name)
    answers = Answers(panel)
    ids = _ids(panel)
    raw = ",".join([str(ids[0]), "99", "abc", str(ids[1]), str(ids[0]), "0" + str(ids[2]), str(ids[5])])
    fields = {"key": KEY, "action": "status", "orders": raw}
    for step in range(4):  # before and after the orders end, asked twice each
        if step == 2:
            panel.clock.advance(30 * 86400)
        payload, body = answers.answer(dialect, fields)
        assert (payload, body) == _fresh(panel, dialect, fields)
        assert json.loads(body) == json.loads(render.encode(dialect, payload))


@pytest.mark.parametrize("shape", ["{a},{b},123456789012345678901234", " {a}, {b} ", "[{a},{b}]", "{a},,{b}", "{a}"])
def test_every_spelling_of_an_id_list_gets_the_fresh_answer(shape: str) -> None:
    panel, dialect, answers = _ended()
    ids = _ids(panel)
    fields = {"key": KEY, "action": "status", "orders": shape.format(a=ids[0], b=ids[3])}
    for _ in range(2):
        assert answers.answer(dialect, fields) == _fresh(panel, dialect, fields)


def test_the_bytes_are_the_dicts_json_in_order_with_a_repeated_id_once() -> None:
    panel = _panel()
    panel.clock.advance(30 * 86400)
    ids = _ids(panel)
    finals = FinalStatuses()
    account = panel.account(KEY)
    dialect = load_dialect("standard")
    for _ in range(2):
        payload, body = finals.answer(panel, dialect, KEY, account, f"{ids[2]},{ids[0]},{ids[2]},7")
        assert body == orjson.dumps(payload) and list(payload) == [str(ids[2]), str(ids[0]), "7"]


def test_a_forced_start_count_on_a_final_order_shows_at_once() -> None:
    panel, dialect, answers = _ended()
    order = next(i for i in _ids(panel) if panel.status(KEY, i).status.value == "Completed")
    many = {"key": KEY, "action": "status", "orders": f"{order},{_ids(panel)[1]}"}
    one = {"key": KEY, "action": "status", "order": str(order)}
    answers.answer(dialect, many), answers.answer(dialect, one)
    panel.set_order(order, start_count=4321)
    assert answers.answer(dialect, many) == _fresh(panel, dialect, many)
    assert answers.answer(dialect, one) == _fresh(panel, dialect, one)
    assert answers.answer(dialect, one)[0]["start_count"] in (4321, "4321")


def test_the_orders_of_a_removed_key_are_unknown_when_the_key_comes_back() -> None:
    panel, dialect, answers = _ended()
    order = _ids(panel)[0]
    many = {"key": KEY, "action": "status", "orders": str(order)}
    one = {"key": KEY, "action": "status", "order": str(order)}
    assert "status" in answers.answer(dialect, many)[0][str(order)]
    assert "status" in answers.answer(dialect, one)[0]
    panel.remove_account(KEY)
    panel.create_account(KEY, balance="5")
    assert answers.answer(dialect, many) == _fresh(panel, dialect, many)
    assert "error" in answers.answer(dialect, many)[0][str(order)]
    assert answers.answer(dialect, one) == _fresh(panel, dialect, one) and "error" in answers.answer(dialect, one)[0]


def test_another_keys_final_order_is_never_answered_from_the_kept_entries() -> None:
    panel, dialect, answers = _ended()
    panel.create_account("other-key-4567", balance="5")
    order = _ids(panel)[0]
    answers.answer(dialect, {"key": KEY, "action": "status", "orders": str(order)})
    answers.answer(dialect, {"key": KEY, "action": "status", "order": str(order)})
    for fields in ({"key": "other-key-4567", "action": "status", "orders": str(order)},
                   {"key": "other-key-4567", "action": "status", "order": str(order)}):
        assert answers.answer(dialect, fields) == _fresh(panel, dialect, fields)
        assert "error" in json.dumps(answers.answer(dialect, fields)[0])


def test_a_reset_panel_forgets_the_kept_entries() -> None:
    panel, dialect, answers = _ended()
    order = _ids(panel)[0]
    fields = {"key": KEY, "action": "status", "orders": str(order)}
    answers.answer(dialect, fields)
    panel.reset()
    panel.create_account(KEY, balance="5")
    assert answers.answer(dialect, fields) == _fresh(panel, dialect, fields)


def test_a_polled_batch_of_final_orders_is_sent_the_same_bytes_until_an_order_changes() -> None:
    panel, dialect, answers = _ended()
    ids = _ids(panel)
    fields = {"key": KEY, "action": "status", "orders": ",".join(map(str, ids))}
    first = answers.answer(dialect, fields)
    again = answers.answer(dialect, fields)
    assert again[1] is first[1]  # the whole answer was kept
    panel.set_order(ids[3], start_count=777)
    changed = answers.answer(dialect, fields)
    assert changed == _fresh(panel, dialect, fields) and changed[1] is not first[1]
    assert changed[0][str(ids[3])]["start_count"] in (777, "777")


def test_a_batch_with_an_unknown_id_is_not_kept_whole_so_the_id_shows_once_placed() -> None:
    panel, dialect, answers = _ended()
    coming = max(_ids(panel)) + 1
    fields = {"key": KEY, "action": "status", "orders": f"{_ids(panel)[0]},{coming}"}
    assert "error" in answers.answer(dialect, fields)[0][str(coming)]
    panel.add(KEY, "1", {"link": "https://multi.test/late", "quantity": "100"})
    panel.clock.advance(30 * 86400)
    assert answers.answer(dialect, fields) == _fresh(panel, dialect, fields)
    assert "status" in answers.answer(dialect, fields)[0][str(coming)]


def test_a_running_order_s_entry_is_kept_until_it_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    panel = build_panel(clock=VirtualClock(speed=0, start=1_700_000_000), seed=3)
    panel.create_account(KEY, balance="1000")
    ids = [panel.add(KEY, "1", {"link": f"https://multi.test/r{i}", "quantity": "5000"}) for i in range(6)]
    panel.clock.advance(200)  # past Pending: each delivers a unit every 0.6 to 6 s for an hour or more
    dialect, answers = load_dialect("standard"), Answers(panel)
    fields = {"key": KEY, "action": "status", "orders": ",".join(map(str, ids))}
    worked_out: list[int] = []
    real = multistatus.state_until
    monkeypatch.setattr(multistatus, "state_until", lambda book, row, now: worked_out.append(row) or real(book, row, now))

    def poll() -> int:
        """Rows whose state was worked out anew for one poll, the answer checked against a fresh one."""
        before = len(worked_out)
        assert answers.answer(dialect, fields) == _fresh(panel, dialect, fields)
        return len(worked_out) - before

    assert poll() == 6
    running = sum(panel.status(KEY, i).status.value == "In progress" for i in ids)
    assert running == 5  # (seed 3: one was canceled while Pending)
    assert poll() == 0  # the same instant: every entry as it was
    panel.clock.advance(1e-3)
    assert poll() == 0  # no order shows another unit a millisecond later
    panel.clock.advance(30)
    assert poll() == running  # each running order has shown more units since; the final ones are as they were


class KeptAnswers(RuleBasedStateMachine):
    """Whatever happens to a panel, every status answer (single or batch, kept or not) is the one
    rendered from scratch now."""

    def __init__(self) -> None:
        super().__init__()
        self.panel, self.dialect, self.answers = _ended()  # six final orders, polled as a batch below
        self.other = "other-key-4567"
        self.panel.create_account(self.other, balance="1000")

    def _some_id(self, data: st.DataObject) -> int:
        first = self.panel.orders.first_id
        return data.draw(st.integers(first, first + 5) | st.integers(first - 1, self.panel.orders.next_id + 1))

    @rule(seconds=st.sampled_from([1e-6, 0.4, 1.0, 60.0, 3600.0, 30 * 86400.0]))
    def advance(self, seconds: float) -> None:
        self.panel.clock.advance(seconds)

    @rule(other=st.booleans())
    def add(self, other: bool) -> None:
        with contextlib.suppress(Exception):
            self.panel.add(self.other if other else KEY, "1",
                           {"link": f"https://multi.test/n{self.panel.orders.next_id}", "quantity": "100"})

    @rule(data=st.data(), change=st.sampled_from(["start_count", "Completed", "Partial", "Canceled",
                                                   "In progress", "outcome", "cancel", "refill"]))
    def force(self, data: st.DataObject, change: str) -> None:
        order = self._some_id(data)
        with contextlib.suppress(Exception):
            if change == "start_count":
                self.panel.set_order(order, start_count=data.draw(st.integers(0, 10_000)))
            elif change == "outcome":
                self.panel.set_outcome(order, data.draw(st.sampled_from(["Completed", "Partial", "Canceled"])))
            elif change == "cancel":
                self.panel.cancel(KEY, order)
            elif change == "refill":
                self.panel.refill(KEY, order)
            else:
                self.panel.set_order(order, status=change)

    @rule(data=st.data())
    def key_removed_and_back(self, data: st.DataObject) -> None:
        if data.draw(st.integers(0, 3)):  # seldom: the key's orders are gone after it
            return
        self.panel.remove_account(KEY)
        self.panel.create_account(KEY, balance="1000")

    @rule(data=st.data(), batch=st.sampled_from(["all", "first", "first three", "any"]))
    def poll(self, data: st.DataObject, batch: str) -> None:
        # The same few batches again and again, as a client polls: what was kept is asked for again.
        first = self.panel.orders.first_id
        ids = {"all": list(range(first, first + 6)), "first": [first], "first three": [first + 2, first, first + 1],
               "any": [self._some_id(data) for _ in range(data.draw(st.integers(1, 8)))]}[batch]
        key = data.draw(st.sampled_from([KEY, KEY, self.other]))
        for fields in ({"key": key, "action": "status", "orders": ",".join(map(str, ids))},
                       {"key": key, "action": "status", "order": str(ids[0])}):
            for _ in range(2):  # the second answer may come from what the first kept
                assert self.answers.answer(self.dialect, fields) == _fresh(self.panel, self.dialect, fields)


TestKeptAnswers = KeptAnswers.TestCase
TestKeptAnswers.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
