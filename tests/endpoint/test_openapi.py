"""The panel API's OpenAPI document (``mockpanel openapi``, ``GET /_mock/openapi/api.json``): valid OpenAPI 3.1
for every built-in dialect, exactly the dialect's actions, its money and errors as the mock writes them.
Schemathesis against a real server: test_openapi_schemathesis.py."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from openapi_spec_validator import validate

from mockpanel import ServerThread, build_panel, create_app
from mockpanel._cli import main
from mockpanel._dialects.profile import available_dialects, load_dialect
from mockpanel._endpoint.openapi import panel_openapi
from mockpanel._server.inprocess import SyncASGITransport

TOKEN = "openapi-admin-token"
DIALECTS = sorted(available_dialects())


def _schema(document: dict[str, Any], name: str) -> dict[str, Any]:
    schema: dict[str, Any] = document["components"]["schemas"][name]
    return schema


@pytest.mark.parametrize("name", DIALECTS)
def test_every_built_in_dialects_document_is_valid_openapi_3_1(name):
    document = panel_openapi(load_dialect(name))
    validate(document)  # raises naming the part that is wrong
    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) == {p.rstrip("/") for p in load_dialect(name).endpoints}


@pytest.mark.parametrize("name", DIALECTS)
def test_the_documents_actions_are_exactly_the_dialects(name):
    dialect = load_dialect(name)
    document = panel_openapi(dialect)
    request = _schema(document, "Request")
    assert set(request["discriminator"]["mapping"]) == set(dialect.actions)
    consts = {_schema(document, ref["$ref"].rsplit("/", 1)[1])["properties"]["action"]["const"] for ref in request["oneOf"]}
    assert consts == set(dialect.actions)
    for operation in document["paths"][dialect.endpoints[0].rstrip("/")].values():
        answers = operation["responses"]["200"]["content"]
        (media,) = answers
        assert media == dialect.content_type.split(";")[0]


def test_msm_lacks_refill_and_cancel_and_answers_null_to_an_unknown_action():
    document = panel_openapi(load_dialect("msm"))
    assert set(_schema(document, "Request")["discriminator"]["mapping"]) == {"services", "add", "status", "balance"}
    ok = document["paths"]["/api/v2"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]["anyOf"]
    assert {"const": None, "description": "The answer to an unknown action"} in ok
    assert {"type": "object", "required": ["error", "status"],
            "properties": {"error": {"type": "string"}, "status": {"const": "102"}},
            "additionalProperties": False} in ok  # invalid_key's body


def test_money_is_a_string_with_the_dialects_decimals():
    standard = panel_openapi(load_dialect("standard"))
    balance = _schema(standard, "BalanceAnswer")["properties"]["balance"]
    assert balance["type"] == "string"
    assert re.fullmatch(balance["pattern"], "1000.00000") and not re.fullmatch(balance["pattern"], "1000.0000")
    hardened = panel_openapi(load_dialect("hardened"))  # charges 6 decimals, balance 4
    assert re.fullmatch(_schema(hardened, "BalanceAnswer")["properties"]["balance"]["pattern"], "12.3400")
    status = _schema(hardened, "StatusAnswer")["anyOf"][0]
    assert re.fullmatch(status["properties"]["charge"]["pattern"], "0.090000")
    package = panel_openapi(load_dialect("package-id"))  # a JSON number in multi-status
    batch = _schema(package, "StatusAnswer")["anyOf"][1]["additionalProperties"]["anyOf"][0]
    assert batch["properties"]["charge"] == {"type": "number", "minimum": 0}


def test_errors_come_with_the_dialects_http_statuses():
    hardened = panel_openapi(load_dialect("hardened"))
    responses = hardened["paths"]["/api/v2"]["post"]["responses"]
    assert {"200", "400", "401", "402", "403", "404", "413", "429"} <= set(responses)
    assert responses["429"]["content"]["application/json"]["schema"]["properties"]["error"] == {"const": "Too many requests"}
    assert set(hardened["components"]["securitySchemes"]) == {"bearer", "apiKeyHeader"}
    assert "key" not in _schema(hardened, "BalanceRequest")["required"]  # it may come in a header
    standard = panel_openapi(load_dialect("standard"))["paths"]["/api/v2"]["post"]["responses"]
    assert set(standard) == {"200", "413"}  # every error is a 200 with an error body, as the panels answer


def test_get_and_post_take_the_same_request_and_the_other_methods_are_declared():
    document = panel_openapi(load_dialect("standard"))
    operations = document["paths"]["/api/v2"]
    assert set(operations) == {"get", "post", "put", "patch", "delete", "trace"}
    assert operations["get"]["parameters"][0]["schema"] == {"$ref": "#/components/schemas/Request"}
    assert set(operations["post"]["requestBody"]["content"]) == {"application/x-www-form-urlencoded",
                                                                  "multipart/form-data"}
    assert all(operations[m]["deprecated"] for m in ("put", "patch", "delete", "trace"))


def test_mockpanel_openapi_prints_the_document():
    result = CliRunner().invoke(main, ["openapi", "--dialect", "objectid"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == panel_openapi(load_dialect("objectid"))
    missing = CliRunner().invoke(main, ["openapi", "--dialect", "no-such-dialect"])
    assert missing.exit_code == 1 and "no dialect named 'no-such-dialect'" in missing.output


@pytest.fixture(scope="module")
def guarded() -> Iterator[str]:
    with ServerThread(create_app(build_panel("smartpanel-v1"), "smartpanel-v1", admin_token=TOKEN)) as server:
        yield server.url


def test_the_server_serves_its_dialects_document_without_the_admin_token(guarded):
    answer = httpx.get(guarded + "/_mock/openapi/api.json", timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json() == panel_openapi(load_dialect("smartpanel-v1"))
    assert httpx.get(guarded + "/_mock/openapi.json", timeout=10).status_code == 401  # the control API's wants it
    index = httpx.get(guarded + "/_mock/", headers={"X-Mock-Token": TOKEN}, timeout=10).json()
    assert "GET /_mock/openapi/api.json" in index["endpoints"]


def test_a_client_on_another_machine_gets_it():
    app = create_app(build_panel())
    with httpx.Client(transport=SyncASGITransport(app, client=("192.0.2.7", 4000)), base_url="http://x") as far:
        assert far.get("/_mock/openapi/api.json").json()["servers"] == [{"url": "/"}]
        assert far.get("/_mock/clock").status_code == 403


def test_ids_are_written_as_the_dialect_writes_them():
    objectid = panel_openapi(load_dialect("objectid"))
    assert _schema(objectid, "StatusRequest")["properties"]["order"]["pattern"] == r"^[0-9a-fA-F]{24}$"
    assert _schema(objectid, "AddRequest")["properties"]["service"]["pattern"] == r"^[0-9]+$"  # services keep numbers
    assert _schema(objectid, "AddAnswer")["properties"]["order"]["pattern"] == r"^[0-9a-fA-F]{24}$"
    standard = panel_openapi(load_dialect("standard"))
    assert _schema(standard, "AddAnswer")["properties"]["order"] == {"type": "integer", "minimum": 1}
    assert "orders" in _schema(standard, "StatusRequest")["properties"]
    assert "orders" not in _schema(panel_openapi(load_dialect("msm")), "StatusRequest")["properties"]  # not read


def test_a_panel_on_the_pytest_hub_names_its_own_prefix(mock):
    document = httpx.get(mock.control_url + "/openapi/api.json", timeout=10).json()
    assert document["servers"] == [{"url": mock.prefix}]
    (path,) = document["paths"]
    origin = mock.control_url.removesuffix(mock.prefix + "/_mock")
    answer = httpx.post(origin + mock.prefix + path, data={"key": "nobody", "action": "balance"}, timeout=10)
    assert answer.json() == {"error": "Invalid API key"}  # the document's server and path reach the panel's API
