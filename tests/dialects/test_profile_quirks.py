"""Profile fields for what real panels' scripts do beyond spelling: a prefix before the JSON, an empty
answer, a collated key, an answer for unknown actions, a batch field not read, a request refused before
its key is read, words and bodies per field. Each in a profile of its own, over a real server and client.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockpanel import ServerThread, VirtualClock, build_panel, create_app
from mockpanel._dialects.profile import DialectError, load_dialect
from tests.helpers.broken_panels import START

KEY = "Quirk-Key-0001"
LINK = "https://instagram.com/quirk_user"


def post(http: httpx.Client, url: str, **fields: str) -> httpx.Response:
    return http.post(url, data={"key": KEY, **fields})


def call(http: httpx.Client, url: str, **fields: str) -> Any:
    return post(http, url, **fields).json()


def _own(tmp_path: Path, **fields: Any) -> str:
    path = tmp_path / "own.json"
    path.write_text(json.dumps({"name": "own", "extends": "standard", "description": "x", **fields}))
    return str(path)


def test_a_json_prefix_comes_before_every_answer_and_alone_for_an_empty_one(tmp_path: Path) -> None:
    name = _own(tmp_path, json={"prefix": "\n"}, status={"no_id": "empty"})
    panel = build_panel(name, clock=VirtualClock(speed=0, start=START), seed=1)
    panel.create_account(KEY, balance="100")
    with ServerThread(create_app(panel, name)) as server, httpx.Client(timeout=10) as http:
        url = server.url + "/api/v2"
        order = call(http, url, action="add", service="1", link=LINK, quantity="100")["order"]
        balance = post(http, url, action="balance")
        many = post(http, url, action="status", orders=f"{order},{order + 1}")
        empty = post(http, url, action="status")
    assert balance.content.startswith(b"\n{") and balance.json() == {"balance": "99.91000", "currency": "USD"}
    assert many.content.startswith(b"\n{") and many.json()[str(order + 1)] == {"error": "Incorrect order ID"}
    assert empty.content == b"\n"


def test_key_case_alone_keeps_trailing_spaces_significant(tmp_path: Path) -> None:
    name = _own(tmp_path, key_case="insensitive")
    panel = build_panel(name, clock=VirtualClock(speed=0, start=START), seed=1)
    panel.create_account(KEY, balance="1")
    with ServerThread(create_app(panel, name)) as server, httpx.Client(timeout=10) as http:
        url = server.url + "/api/v2"
        assert "balance" in http.post(url, data={"key": KEY.swapcase(), "action": "balance"}).json()
        assert http.post(url, data={"key": KEY + " ", "action": "balance"}).json() == {"error": "Invalid API key"}


def test_a_key_opened_or_removed_after_a_request_is_compared_as_the_collation_does(tmp_path: Path) -> None:
    """Keys are found by their fold through an index rebuilt when a key is opened or removed: a key opened after
    another spelling was looked up is found, and a removed one is refused in every spelling."""
    name = _own(tmp_path, key_case="insensitive")
    panel = build_panel(name, clock=VirtualClock(speed=0, start=START), seed=1)
    panel.create_account(KEY, balance="1")
    with ServerThread(create_app(panel, name)) as server, httpx.Client(timeout=10) as http:
        def balance(key: str) -> object:
            return http.post(server.url + "/api/v2", data={"key": key, "action": "balance"}).json()

        assert "balance" in balance(KEY.swapcase())
        assert balance("Later-Key-9".upper()) == {"error": "Invalid API key"}
        panel.create_account("Later-Key-9", balance="1")
        assert "balance" in balance("Later-Key-9".upper())
        panel.remove_account(KEY)
        assert balance(KEY.swapcase()) == {"error": "Invalid API key"}
        assert balance(KEY) == {"error": "Invalid API key"}


@pytest.mark.parametrize("fields, named", [
    ({"key_trailing_spaces": "trimmed"}, "'key_trailing_spaces'"),
    ({"json": {"prefix": "x" * 17}}, "'json.prefix'"),
    ({"status": {"no_id": "nothing"}}, "'status.no_id'"),
    ({"add": {"service": "php"}}, "'add.service'"),
    ({"add": {"quantity": "js"}}, "'add.quantity'"),
    ({"add": {"comment_separators": "|"}}, "'add.comment_separators'"),
    ({"status": {"dripfeed_fields": {"runs": "charge"}}}, "status.dripfeed_fields.runs"),
    ({"field_errors": {"missing_field": "Bad"}}, "'field_errors'"),
    ({"field_errors": {"no_such_code.link": "Bad"}}, "'field_errors'"),
    ({"error_bodies": {"invalid_field.": {"error": "{message}"}}}, "'error_bodies'"),
    ({"error_bodies": {"refil:incorrect_order_id": {"refill": "0"}}}, "names no action"),
    ({"error_bodies": {"refill:no_such_code": {"refill": "0"}}}, "'error_bodies'"),
    ({"error_bodies": {"refill:missing_field.order": {"refill": "0"}}}, "names a code only"),
    ({"services": {"fields": {"desc": "maybe"}}}, "services.fields.desc"),
    ({"unknown_action": None, "empty_request": "nothing"}, "'empty_request'"),
    ({"unknown_action": {"body": None}}, "'unknown_action'"),
    ({"batch": {"read": "no"}}, "'batch.read'"),
])
def test_each_new_field_is_checked_on_load(tmp_path: Path, fields: dict[str, Any], named: str) -> None:
    with pytest.raises(DialectError, match=named):
        load_dialect(_own(tmp_path, **fields))


def test_an_unknown_action_answers_the_profiles_json_and_a_blank_request_its_error(tmp_path: Path) -> None:
    name = _own(tmp_path, actions=["services", "add", "status", "balance"], unknown_action={"answer": None},
                empty_request="incorrect_request", batch={"read": False})
    panel = build_panel(name, clock=VirtualClock(speed=0, start=START), seed=1)
    panel.create_account(KEY, balance="100")
    with ServerThread(create_app(panel, name)) as server, httpx.Client(timeout=10) as http:
        url = server.url + "/api/v2"
        unknown = post(http, url, action="refill", order="1")
        no_key = http.post(url, data={"action": "balance"}).json()
        wrong_key = http.post(url, data={"key": "nobody", "action": "balance"}).json()
        no_action = call(http, url)
        order = call(http, url, action="add", service="1", link=LINK, quantity="100")["order"]
        batch = call(http, url, action="status", orders=f"{order},{order}")
        single = call(http, url, action="status", order=str(order), orders="999")
    assert (unknown.status_code, unknown.content) == (200, b"null")
    assert no_key == no_action == {"error": "Incorrect request"}  # before the key is looked up
    assert wrong_key == {"error": "Invalid API key"}
    assert batch == {"error": "Incorrect order ID"}  # orders= is not read: no order was asked for
    assert single["status"] == "Pending"  # the single field is read, the batch ignored
