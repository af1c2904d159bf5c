"""Copy-as-curl: the command a report gives sends the recorded request again, through a real shell and
a real curl to a real mock, with the key read from a variable and every other character as it was."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from conformance.curl import form_command, raw_command, shell_word
from conformance.redaction import redact
from mockpanel import ServerThread, build_panel, create_app
from tests.helpers.common import HTTP

KEY = "curl-test-key-1"
NASTY = "a'b \"q\" $HOME `id` $(id) \\ ; & | > < * ? ~ !x\nsecond line é ✓ %41 +"

pytestmark = pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None,
                                reason="needs curl and bash (apt-get install curl)")


@pytest.fixture(scope="module")
def url():  # type: ignore[no-untyped-def]
    panel = build_panel("standard", seed=1, speed=0)
    panel.create_account(KEY, balance="10")
    with ServerThread(create_app(panel, "standard")) as server:
        yield server.url


def run(command: str, **env: str) -> str:
    done = subprocess.run(["bash", "-c", command], env={"PATH": os.environ["PATH"], **env}, capture_output=True,
                          text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def last(url: str) -> dict:  # type: ignore[type-arg]
    return HTTP.get(url + "/_mock/journal").json()[-1]  # type: ignore[no-any-return]


def test_a_form_request_is_sent_again_field_for_field_with_the_key_from_the_variable(url: str) -> None:
    shown = {"key": redact(KEY), "action": "status", "order": NASTY}
    command = form_command(url + "/api/v2", shown, {redact(KEY): "MOCKPANEL_KEY"})
    assert KEY not in command and '"$MOCKPANEL_KEY"' in command
    out = run(command, MOCKPANEL_KEY=KEY, HOME="/should-not-appear")
    assert out.startswith("HTTP/1.1 200") and "Incorrect order ID" in out  # -i: the status line too
    entry = last(url)
    assert entry["key"] == redact(KEY)  # the real key reached the panel: the account was found
    assert entry["params"] == {"action": "status", "order": NASTY}  # nothing expanded, nothing lost


def test_a_raw_body_and_a_bearer_header_are_sent_again(url: str) -> None:
    body = json.dumps({"key": redact(KEY), "action": "balance", "note": NASTY})
    headers = [("Content-Type", "application/json"), ("Authorization", f"Bearer {redact(KEY)}"),
               ("User-Agent", "left to curl"), ("Host", "left to curl")]
    command = raw_command("POST", url + "/api/v2", headers, body, {redact(KEY): "MOCKPANEL_KEY"})
    assert "User-Agent" not in command and "Host:" not in command and "--data-raw" in command
    out = run(command, MOCKPANEL_KEY=KEY)
    assert '"balance"' in out.split("\n\n", 1)[1]  # the panel read the key from the JSON body
    assert last(url)["params"]["note"] == NASTY


def test_a_key_the_report_cannot_name_stays_redacted_and_the_command_says_so() -> None:
    other = redact("near-copy-of-the-key")
    command = form_command("http://127.0.0.1:9/api/v2", {"key": other, "action": "balance"}, {redact(KEY): "MOCKPANEL_KEY"})
    assert command.startswith(f"# {other}: a secret shown redacted") and "$MOCKPANEL_KEY" not in command
    assert form_command("http://127.0.0.1:9/api/v2", {"key": "(empty)"}, {}).endswith("--data-urlencode key=")


def test_a_shell_word_is_quoted_around_each_variable() -> None:
    variables = {redact(KEY): "K"}
    assert shell_word(f"a b{redact(KEY)}c'd", variables) == "'a b'\"$K\"'c'\"'\"'d'"
    assert shell_word(f"key=key%23{redact(KEY)[4:]}", variables) == 'key="$K"'  # percent-encoded in a URL
    assert shell_word("", variables) == "''"
