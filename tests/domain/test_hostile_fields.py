"""Hostile and careless field values over a real server: numbers past any column, text that
is not text, oversized free text, and the "undefined" a JavaScript client sends."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import httpx
import pytest

from mockpanel import build_panel
from tests.helpers.common import HTTP, KEY, serving

LONE = "\ud800"  # json.dumps writes it as the escape "\ud800"


def post_json(url: str, body: dict[str, object]) -> httpx.Response:
    return HTTP.post(url, content=json.dumps(body).encode(), headers={"Content-Type": "application/json"})


def control_answers(origin: str, order_id: int | None = None) -> None:
    """The control API, the journal and the export still answer, as JSON."""
    paths = ["/_mock/state", "/_mock/journal"] + ([] if order_id is None else [f"/_mock/orders/{order_id}"])
    for path in paths:
        answer = HTTP.get(origin + path)
        assert answer.status_code == 200, (path, answer.text[:200])
        answer.json()


@pytest.fixture
def origin(live):
    return f"http://127.0.0.1:{live.port}"


def test_a_trigger_number_past_int64_is_a_json_error_and_later_orders_read_their_own_numbers(origin):
    api = origin + "/api/v2"
    bad = HTTP.post(api, data={"key": KEY, "action": "add", "service": "1", "quantity": "100",
                               "link": "https://a.test/?mockpanel=start-99999999999999999999"})
    assert bad.status_code == 200 and "error" in bad.json()
    for quantity, start in (("150", "11"), ("260", "22")):
        good = HTTP.post(api, data={"key": KEY, "action": "add", "service": "1", "quantity": quantity,
                                    "link": f"https://a.test/{quantity}?mockpanel=start-{start},now"})
        order = HTTP.get(f"{origin}/_mock/orders/{good.json()['order']}").json()
        assert (str(order["quantity"]), str(order["start_count"])) == (quantity, start), order


@pytest.mark.parametrize("field", ["orders", "order", "refills", "refill"])
def test_a_lone_surrogate_in_an_id_field_is_a_json_answer(origin, field):
    action = {"orders": "status", "order": "status", "refills": "refill_status", "refill": "refill_status"}[field]
    answer = post_json(origin + "/api/v2", {"key": KEY, "action": action, field: LONE + ",1"})
    assert answer.status_code == 200
    assert answer.json()
    for batch in ("cancel", "refill"):
        answer = post_json(origin + "/api/v2", {"key": KEY, "action": batch, "orders": f"10001,{LONE}"})
        assert answer.status_code == 200 and isinstance(answer.json(), list)
    control_answers(origin)


def test_a_lone_surrogate_in_a_link_is_stored_encodable_and_everything_keeps_answering(origin):
    answer = post_json(origin + "/api/v2", {"key": KEY, "action": "add", "service": "1", "quantity": "100",
                                            "link": f"https://a.test/{LONE}x"})
    assert answer.status_code == 200
    order_id = answer.json()["order"]
    stored = HTTP.get(f"{origin}/_mock/orders/{order_id}").json()
    assert stored["link"] == "https://a.test/\ufffdx"
    status = post_json(origin + "/api/v2", {"key": KEY, "action": "status", "orders": f"{order_id},{LONE}"})
    assert status.status_code == 200 and str(order_id) in status.json()
    control_answers(origin, order_id)


def test_a_lone_surrogate_in_process_is_refused_not_stored(panel):
    from mockpanel._domain.errors import PanelError

    with pytest.raises(PanelError) as exc:
        panel.add(KEY, "1", {"link": f"https://a.test/{LONE}", "quantity": "100"})
    assert exc.value.values == {"field": "link"}
    assert len(panel.orders) == 0


@pytest.mark.parametrize("field,value", [
    ("link", "https://a.test/" + "a" * 2048),
    ("usernames", "\n".join(f"user{i}" for i in range(10_001))),
    ("usernames", "u" * 100_001),
    ("hashtags", "#" + "h" * 100_000),
])
def test_free_text_past_its_limit_is_refused_with_the_documented_error(origin, field, value):
    fields = {"key": KEY, "action": "add", "service": "9", "link": "https://a.test/m", "quantity": "100",
              "usernames": "alice\nbob", "hashtags": "#a\n#b", field: value}
    answer = HTTP.post(origin + "/api/v2", data=fields)
    assert answer.json() == {"error": f"Incorrect {field}"}
    assert HTTP.get(origin + "/_mock/state").json()["orders"]["rows"] == []


def test_the_limits_come_from_the_dialect_profile(tmp_path):
    profile = tmp_path / "tight.json"
    profile.write_text(json.dumps({"extends": "standard", "name": "tight", "limits": {"link": 30, "lenient_optional": False}}))
    panel = build_panel(str(profile), seed=1)
    assert (panel.settings.rules.max_link, panel.settings.rules.lenient_optional) == (30, False)
    assert panel.settings.rules.max_lines == 10_000  # the rest from the standard profile
    panel.create_account(KEY, balance="10")
    from mockpanel._domain.errors import PanelError

    with pytest.raises(PanelError) as exc:
        panel.add(KEY, "1", {"link": "https://a.test/" + "x" * 20, "quantity": "100"})
    assert exc.value.values == {"field": "link"}
    with pytest.raises(PanelError) as exc:
        panel.add(KEY, "1", {"link": "https://a.test/x", "quantity": "100", "runs": "undefined"})
    assert exc.value.values == {"field": "runs"}  # leniency off: "undefined" is a bad number again


# What a JavaScript client sends when it leaves the optional arguments out (axios + qs, fetch + URLSearchParams).
JS_CLIENT = textwrap.dedent(
    """
    import sys, urllib.parse, urllib.request
    def order(link, quantity, runs=None, interval=None):
        # `${runs}` in a JavaScript template: what a left-out argument becomes on the wire
        js = lambda v: "undefined" if v is None else str(v)
        body = f"key=%s&action=add&service=1&link={link}&quantity={quantity}&runs={js(runs)}&interval={js(interval)}"
        with urllib.request.urlopen(sys.argv[1] + "/api/v2", (body % sys.argv[2]).encode()) as answer:
            return answer.read().decode()
    print(order("https://a.test/js1", 100))
    print(order("https://a.test/js2", 100, 3, 10))
    print(order("https://a.test/js3", 100, "abc", 10))
    print(order("https://a.test/js4", 100, 3))
    """
)


def test_a_client_sending_runs_undefined_places_a_plain_order_against_mockpanel_serve():
    with serving() as origin:
        HTTP.post(origin + "/_mock/keys", json={"key": "js-key", "balance": "50"}).raise_for_status()
        out = subprocess.run([sys.executable, "-c", JS_CLIENT, origin, "js-key"], capture_output=True, text=True, timeout=30)
        plain, dripfeed, bad_runs, no_interval = (json.loads(line) for line in out.stdout.splitlines())
        assert "order" in plain and "order" in dripfeed, out
        assert bad_runs == {"error": "Incorrect runs"}  # present and invalid: still its error
        assert no_interval == {"error": "Incorrect interval"}
        first = HTTP.get(f"{origin}/_mock/orders/{plain['order']}").json()
        second = HTTP.get(f"{origin}/_mock/orders/{dripfeed['order']}").json()
        assert str(first["quantity"]) == "100" and str(second["quantity"]) == "300"


# A Node client written the usual way: optional arguments left out reach URLSearchParams as undefined.
NODE_CLIENT = textwrap.dedent(
    """
    const [origin, key] = process.argv.slice(-2);
    async function order(link, quantity, runs, interval) {
      const body = new URLSearchParams({ key, action: "add", service: "1", link, quantity, runs, interval });
      const answer = await fetch(origin + "/api/v2", { method: "POST", body });
      return answer.json();
    }
    (async () => {
      console.log(JSON.stringify(await order("https://a.test/node1", 100)));
      console.log(JSON.stringify(await order("https://a.test/node2", 100, 2, 15)));
    })();
    """
)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (Debian: apt-get install nodejs)")
def test_a_node_client_leaving_runs_out_works_against_mockpanel_serve():
    with serving() as origin:
        HTTP.post(origin + "/_mock/keys", json={"key": "node-key", "balance": "50"}).raise_for_status()
        out = subprocess.run(["node", "-e", NODE_CLIENT, "--", origin, "node-key"], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        plain, dripfeed = (json.loads(line) for line in out.stdout.splitlines())
        assert "order" in plain and "order" in dripfeed, out.stdout
        first = HTTP.get(f"{origin}/_mock/orders/{plain['order']}").json()
        second = HTTP.get(f"{origin}/_mock/orders/{dripfeed['order']}").json()
        assert (first["runs"], first["quantity"]) == (None, 100)
        assert (second["runs"], second["interval"], second["quantity"]) == (2, 15, 200)


@pytest.mark.parametrize("absent", ["", "undefined", "null", " NULL ", "Undefined"])
def test_an_optional_number_sent_absent_is_absent(panel, absent):
    order_id = panel.add(KEY, "1", {"link": f"https://a.test/{absent!r}", "quantity": "100", "runs": absent, "interval": absent})
    assert (panel.find_order(order_id).quantity, panel.find_order(order_id).runs) == (100, None)
    sub = panel.add(KEY, "18", {"username": f"u{absent!r}", "min": "100", "max": "200", "delay": "0",
                                "posts": absent, "old_posts": absent, "expiry": absent})
    assert panel.find_order(sub).details == {"username": f"u{absent!r}", "min": 100, "max": 200, "delay": 0}


def test_free_text_at_its_limit_is_accepted(panel):
    rules = panel.settings.rules
    link = "https://a.test/"
    fields = {"link": link + "a" * (rules.max_link - len(link)), "quantity": "100",
              "usernames": "\n".join("u" * 9 for _ in range(rules.max_lines)), "hashtags": "#" * rules.max_list_text}
    order = panel.find_order(panel.add(KEY, "9", fields))
    assert len(order.link) == rules.max_link and len(order.details["usernames"]) == rules.max_lines


def test_a_key_or_currency_that_is_not_text_is_refused(panel):
    for key, currency in ((LONE, None), ("k\x00", None), ("fine-key", LONE), ("fine-key", "X" * 17)):
        with pytest.raises(ValueError, match="API key|currency"):
            panel.create_account(key, balance="1", currency=currency)
    from mockpanel._domain.errors import PanelError

    with pytest.raises(PanelError):
        panel.account(LONE)  # a lookup finds nothing, it does not crash


def test_a_multipart_charset_that_decodes_to_surrogates_is_cleaned(origin):
    parts = [("key", KEY), ("action", "add"), ("service", "1"), ("quantity", "100"), ("link", "https://a.test/\\ud800")]
    body = b"".join(b'--XX\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (n.encode(), v.encode()) for n, v in parts)
    answer = HTTP.post(origin + "/api/v2", content=body + b"--XX--\r\n",
                       headers={"Content-Type": "multipart/form-data; boundary=XX; charset=unicode_escape"})
    order_id = answer.json()["order"]
    assert HTTP.get(f"{origin}/_mock/orders/{order_id}").json()["link"] == "https://a.test/\ufffd"
    control_answers(origin, order_id)
