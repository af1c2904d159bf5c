"""Hostile input against a real running server.

Hypothesis builds requests a careless or malicious client could send: odd methods,
paths, content types, bodies and parameters, written byte for byte on a raw socket.
Whatever arrives, the server never answers 5xx; every answer on /api/v2 (but HEAD)
is JSON; other paths get a JSON 404; and a rejected request changes nothing.
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterator
from urllib.parse import quote, quote_plus, unquote

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mockpanel import Panel, ServerThread, VirtualClock, build_panel, create_app, load_dialect
from mockpanel._endpoint.api import MAX_BODY
from mockpanel._server.own_answers import HEADER_LIMIT

KEY = "hostile-key"
OTHER = "bystander-key"
KEYS = (KEY, OTHER)
API_PATHS = ("/api/v2", "/api/v2/")
# The HTTP layer's own refusal of a request that is not HTTP/1.1 at all (a method token
# it does not know, raw non-ASCII in the target): a JSON 400 too (_server/protocol.py).
PARSER_REJECT = "Invalid HTTP request"


def parser_refused(answer: "Answer") -> bool:
    return (
        answer.status == 400
        and answer.headers.get("content-type") == "application/json"
        and answer.json()["error"].startswith(PARSER_REJECT)
    )
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


# --- a raw HTTP/1.1 client: sends exactly the bytes it is given --------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _dechunk(body: bytes) -> bytes:
    out, rest = b"", body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, rest = out + rest[:size], rest[size + 2 :]
    return out


def exchange(port: int, request: bytes, timeout: float = 10.0) -> Answer:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer (413) and close before reading all of a big body
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    raw = b"".join(chunks)
    head, sep, body = raw.partition(b"\r\n\r\n")
    assert sep, f"no complete HTTP answer (a hang or a dropped connection?): {raw[:200]!r}"
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    if headers.get("transfer-encoding") == "chunked":
        body = _dechunk(body)
    return Answer(status, headers, body)


def build_request(method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes | None) -> bytes:
    lines = [method + b" " + target + b" HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close"]
    lines += [name + b": " + value for name, value in headers]
    if body is not None:
        lines.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")


# --- the server and its state ---------------------------------------------------------


@pytest.fixture(scope="module")
def hostile() -> Iterator[tuple[Panel, ServerThread, dict[str, int]]]:
    """A frozen-clock panel with orders in every state, served on loopback."""
    panel = build_panel(clock=VirtualClock(speed=0, start=1_700_000_000), seed=7)
    panel.create_account(KEY, balance="100000")
    panel.create_account(OTHER, balance="50")
    ids = {
        "pending": panel.add(KEY, "1", {"link": "https://h.test/pending", "quantity": "100"}),
        "completed": panel.add(KEY, "1", {"link": "https://h.test/completed", "quantity": "100"}),
        "no_refill": panel.add(KEY, "3", {"link": "https://h.test/norefill", "quantity": "100"}),
        "other": panel.add(OTHER, "1", {"link": "https://h.test/other", "quantity": "100"}),
    }
    panel.set_order(ids["completed"], status="Completed")
    panel.set_order(ids["no_refill"], status="Completed")
    ids["refill"] = panel.refill(KEY, ids["completed"])
    with ServerThread(create_app(panel)) as server:
        yield panel, server, ids


def snapshot(panel: Panel) -> tuple[Any, ...]:
    """Everything a request could change: balances, ledgers, orders and their trajectories, refills."""
    with panel.lock:
        accounts = tuple(
            (panel.balance(key), tuple(panel.ledger(key)), tuple(panel.account(key).order_ids)) for key in KEYS
        )
        orders = tuple(
            (o.id, o.version, o.outcome, o.done_at, o.refunded, o.delivered_to) for o in panel.orders.values()
        )
        refills = tuple((r.id, r.order_id, r.outcome, r.done_at) for r in panel.refills.values())
        return accounts, orders, refills


def check_ledgers(panel: Panel) -> None:
    for key in KEYS:
        balance, _ = panel.balance(key)
        assert balance == sum((e.signed for e in panel.ledger(key)), Decimal(0)), "balance != ledger"
        assert balance >= 0


def rejected(answer: Answer, payload: Any) -> bool:
    """True when the request was refused as a whole, or every item of a batch was."""
    if answer.status != 200:
        return True
    if isinstance(payload, dict) and set(payload) == {"error"}:
        return True
    if isinstance(payload, list) and payload:
        return all(
            isinstance(item, dict)
            and any(isinstance(v, dict) and "error" in v for k, v in item.items() if k in ("cancel", "refill"))
            for item in payload
        )
    return False


def check(panel: Panel, port: int, request: bytes, *, api: bool, head: bool, malformed: bool) -> Answer:
    before = snapshot(panel)
    answer = exchange(port, request)
    assert answer.status < 500, (answer, request[:300])
    if malformed and parser_refused(answer):
        event("HTTP 400 from the HTTP parser")
        assert snapshot(panel) == before
        return answer
    payload: Any = None
    if head:
        assert answer.body == b""
        assert answer.status in (200, 404, 413)
    else:
        assert answer.headers.get("content-type", "").startswith("application/json"), (answer, request[:300])
        payload = answer.json()  # raises if the body is not JSON
        if not api:
            assert answer.status == 404 and "error" in payload, (answer, request[:300])
    if api:
        assert answer.status in (200, 413), (answer, request[:300])
    refused = rejected(answer, payload)
    event(f"HTTP {answer.status}, {'refused' if refused else 'accepted'}")  # see --hypothesis-show-statistics
    if refused and not head:
        assert snapshot(panel) == before, (payload, request[:300])
    check_ledgers(panel)
    return answer


# --- strategies ---------------------------------------------------------------------------

ACTIONS = ["services", "add", "status", "refill", "refill_status", "cancel", "balance"]
ids_text = st.one_of(
    st.integers(-5, 10**20).map(str),
    st.sampled_from(["10001", "10002", "10003", "10004", "501", "0", "-1", "1e3", "0x10", " 10001 ", "²", "١٢",
                     "10001.0", "", ",", "10001,,10002", "[10001,10002]", '["10001"]', "null", "true"]),
    st.lists(st.integers(0, 10020), min_size=1, max_size=120).map(lambda xs: ",".join(map(str, xs))),
    st.text(max_size=30),
)
quantities = st.one_of(
    st.integers(-10**6, 10**25).map(str),
    st.sampled_from(["100", "1e3", "1.5", "-100", "+100", " 100 ", "100abc", "NaN", "inf", "٣٠٠", "0", ""]),
    st.text(max_size=10),
)
field_values: dict[str, st.SearchStrategy[str]] = {
    "key": st.sampled_from([KEY, KEY, KEY, OTHER, "", "nope", KEY + " ", KEY.upper(), KEY + "\x00", "ключ"]),
    "action": st.one_of(st.sampled_from(ACTIONS + ["", "ADD", "Balance", "delete", "add "]), st.text(max_size=12)),
    "service": st.one_of(st.integers(-3, 25).map(str), st.sampled_from(["1_0", "abc", "", "99999999999999999999", "١"])),
    "link": st.one_of(st.text(max_size=40), st.just("https://h.test/pending"), st.just("x" * 3000)),
    "quantity": quantities,
    "runs": quantities,
    "interval": quantities,
    "order": ids_text,
    "orders": ids_text,
    "refill": ids_text,
    "refills": ids_text,
    "comments": st.one_of(st.text(max_size=60), st.just("a\nb\nc\n" * 5)),
    "usernames": st.text(max_size=40),
    "username": st.text(max_size=20),
    "min": quantities,
    "max": quantities,
    "delay": st.sampled_from(["0", "30", "7", "-1", "abc"]),
    "expiry": st.sampled_from(["11/11/2030", "31/02/2030", "x", ""]),
    "answer_number": quantities,
}
field_names = st.one_of(st.sampled_from(sorted(field_values)), st.text(max_size=8))


@st.composite
def fields(draw: st.DrawFn) -> list[tuple[str, str]]:
    """Field pairs; names may repeat (the last one wins) or be junk."""
    pairs = [("key", draw(field_values["key"])), ("action", draw(field_values["action"]))]
    for name in draw(st.lists(field_names, max_size=8)):
        pairs.append((name, draw(field_values.get(name, st.text(max_size=20)))))
    if draw(st.booleans()):
        pairs = draw(st.permutations(pairs))
    return pairs


def urlencode(pairs: list[tuple[str, str]]) -> bytes:
    return "&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in pairs).encode()


def multipart(pairs: list[tuple[str, str]], boundary: str = "hOsTiLe") -> bytes:
    parts = []
    for k, v in pairs:
        name = k.replace('"', "%22").replace("\r", "").replace("\n", "")
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{v}\r\n')
    return ("".join(parts) + f"--{boundary}--\r\n").encode("utf-8", "surrogatepass")


json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**30), 10**30), st.floats(allow_nan=False), st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


@st.composite
def json_body(draw: st.DrawFn, pairs: list[tuple[str, str]]) -> bytes:
    obj: dict[str, Any] = {}
    for k, v in pairs:
        obj[k] = draw(st.one_of(st.just(v), json_values)) if k not in ("key", "action") else v
    return json.dumps(obj, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")


CONTENT_TYPES = [
    None, "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=ISO-8859-1",
    "multipart/form-data; boundary=hOsTiLe", "multipart/form-data", "multipart/form-data; boundary=other",
    "application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "text/json", "text/plain",
    "application/xml", "garbage/;;;", "", "; charset=utf-8", "*/*",
]
odd_bodies = st.one_of(
    st.binary(max_size=400),
    st.sampled_from([
        b"", b"\x00", b"\x00" * 50, b"{", b"[", b"{]", b"null", b"123", b"1e99999", b'"key"', b"[1,2,3]",
        b'{"key": "hostile-key", "action": "balance"', b'{"key": "hostile-key", "action": "balance",}',
        b'{"key":"hostile-key","action":"add","service":1,"link":"x","quantity":123456789012345678901234567890}',
        b'{"key":"hostile-key","action":"add","service":1,"link":"x","quantity":1e400}',
        b"[" * 5000 + b"]" * 5000, b'{"a":' * 3000 + b"1" + b"}" * 3000,
        b"key=hostile-key&action=balance&key", b"key=hostile-key&&&&action=add&service=1&=&==&%zz=%",
        b"\xef\xbb\xbf{\"key\":\"hostile-key\",\"action\":\"balance\"}", b"key=\xff\xfe&action=\xc3\x28",
        b"--hOsTiLe\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nhostile-key",
    ]),
)


@st.composite
def requests_(draw: st.DrawFn) -> tuple[bytes, bool, bool, bool]:
    """A raw request, whether its path is the API, whether it is HEAD, whether HTTP-level malformed."""
    malformed = False
    kind = draw(st.integers(0, 9))  # mostly methods that reach the app
    if kind < 8:
        method = draw(st.sampled_from(["GET", "POST", "POST", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]))
    elif kind == 8:
        method = draw(st.sampled_from(["FOO", "M-SEARCH", "PURGE", "PROPFIND", "TRACE", "get", "G3T", "X_Y", "LINK"]))
    else:
        method = draw(st.from_regex(r"[A-Za-z!#$%&'*+.^_`|~-]{1,12}", fullmatch=True))
    if method not in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE", "PURGE", "PROPFIND", "LINK"):
        malformed = True  # llhttp knows a fixed list of methods; others it refuses
    where_to = draw(st.integers(0, 9))  # mostly the API
    if where_to < 6:
        path = draw(st.sampled_from(API_PATHS + ("/api/v%32", "/api/v2%2F")))
    elif where_to < 8:
        path = draw(st.sampled_from([
            "/api/v2//", "/API/V2", "/api/v1", "/api/v2/x", "/", "/api", "/api/v2.php",
            "/%2e%2e/api/v2", "/api/v2/%00", "/api/v2/..", "//api/v2", "/api/v2;x", "*",
        ]))
    elif where_to == 8:
        path = "/api/v2/" + quote(draw(st.text(min_size=1, max_size=40)), safe="")
    else:
        path = "/api/v2/" + "a" * draw(st.integers(1000, 20000))
    raw_unicode = draw(st.booleans()) and draw(st.booleans()) and draw(st.booleans())
    pairs = draw(fields())
    where = draw(st.sampled_from(["query", "body", "both", "other"]))  # where the main fields go
    if where in ("query", "both"):
        query = urlencode(pairs)
    else:  # no query, or another set of fields that the body's should override
        query = urlencode(draw(fields())) if draw(st.booleans()) else b""
    target = path.encode() + (b"?" + query if query else b"")
    if raw_unicode:
        target += "&x=é".encode()  # raw UTF-8 in the request line
        malformed = True
    content_type = draw(st.sampled_from(CONTENT_TYPES))
    shape = draw(st.sampled_from(["urlencoded", "multipart", "json", "odd", "none"]))
    body_pairs = pairs if where in ("body", "both") else draw(fields())
    if shape == "urlencoded":
        body: bytes | None = urlencode(body_pairs)
    elif shape == "multipart":
        body = multipart(body_pairs)
    elif shape == "json":
        body = draw(json_body(body_pairs))
    elif shape == "odd":
        body = draw(odd_bodies)
    else:
        body = None
    headers = [] if content_type is None else [(b"Content-Type", content_type.encode())]
    if draw(st.booleans()) and content_type:
        headers.append((b"Content-Type", b"text/plain"))  # a second, conflicting header
    if method == "CONNECT":
        malformed = True
    request = build_request(method.encode(), target, headers, body)
    api = (not target.startswith(b"*")) and unquote(path) in API_PATHS
    return request, api, method == "HEAD", malformed


# --- the tests --------------------------------------------------------------------------------


@SETTINGS
@given(req=requests_())
def test_hostile_requests_never_5xx_always_json_and_change_nothing_when_rejected(hostile, req):
    panel, server, _ = hostile
    request, api, head, malformed = req
    check(panel, server.port, request, api=api, head=head, malformed=malformed)


# Parameters: each action with wrong types, missing and repeated fields, too many ids.

@st.composite
def action_params(draw: st.DrawFn) -> list[tuple[str, str]]:
    action = draw(st.sampled_from(ACTIONS))
    pairs = [("key", draw(st.sampled_from([KEY, KEY, KEY, OTHER, "wrong"]))), ("action", action)]
    names = {
        "add": ["service", "link", "quantity", "runs", "interval", "comments", "usernames", "username", "min",
                "max", "delay", "expiry", "answer_number"],
        "status": ["order", "orders"], "refill": ["order", "orders"], "cancel": ["orders", "order"],
        "refill_status": ["refill", "refills"], "services": ["service"], "balance": ["currency"],
    }[action]
    chosen = draw(st.lists(st.sampled_from(names), max_size=6))  # repeats allowed: the last wins
    for name in chosen:
        pairs.append((name, draw(field_values.get(name, st.text(max_size=10)))))
    return pairs


@settings(max_examples=150, deadline=None)
@given(pairs=action_params(), how=st.sampled_from(["form", "query", "json", "multipart"]), data=st.data())
def test_every_action_with_bad_parameters_answers_json_and_changes_nothing_when_rejected(hostile, pairs, how, data):
    panel, server, _ = hostile
    if how == "form":
        request = build_request(b"POST", b"/api/v2", [(b"Content-Type", b"application/x-www-form-urlencoded")], urlencode(pairs))
    elif how == "query":
        request = build_request(b"GET", b"/api/v2?" + urlencode(pairs), [], None)
    elif how == "multipart":
        request = build_request(b"POST", b"/api/v2", [(b"Content-Type", b"multipart/form-data; boundary=hOsTiLe")], multipart(pairs))
    else:  # JSON: any field may carry the wrong type (number, list, object, null, bool)
        obj: dict[str, Any] = {k: v if k in ("key", "action") else data.draw(st.one_of(st.just(v), json_values)) for k, v in pairs}
        request = build_request(b"POST", b"/api/v2/", [(b"Content-Type", b"application/json")], json.dumps(obj).encode())
    answer = check(panel, server.port, request, api=True, head=False, malformed=False)
    assert answer.status == 200


def _form(port: int, **fields: str) -> Answer:
    body = urlencode(list(fields.items()))
    return exchange(port, build_request(b"POST", b"/api/v2", [(b"Content-Type", b"application/x-www-form-urlencoded")], body))


@pytest.mark.parametrize("action,field", [("status", "orders"), ("refill", "orders"), ("cancel", "orders"), ("refill_status", "refills")])
def test_a_batch_of_101_ids_is_refused_whole(hostile, action, field):
    panel, server, ids = hostile
    before = snapshot(panel)
    many = ",".join([str(ids["pending"])] * 50 + [str(ids["completed"])] * 51)
    answer = _form(server.port, key=KEY, action=action, **{field: many})
    limit_message = load_dialect("standard").message(
        next(c for c in load_dialect("standard").errors if c.value == "too_many_ids"), {"limit": 100}
    )
    assert answer.status == 200 and answer.json() == {"error": limit_message}
    assert snapshot(panel) == before


@pytest.mark.parametrize("quantity", ["-100", "-1", "0", "10001", "99999999999999999999", "1" * 5000, "1.5", "1e3"])
def test_negative_huge_and_odd_quantities_are_refused_without_charge(hostile, quantity):
    panel, server, _ = hostile
    before = snapshot(panel)
    answer = _form(server.port, key=KEY, action="add", service="1", link="https://h.test/q", quantity=quantity)
    assert answer.status == 200 and set(answer.json()) == {"error"}
    assert snapshot(panel) == before


def test_repeated_fields_keep_the_last_value_like_php(hostile):
    panel, server, _ = hostile
    answer = exchange(server.port, build_request(b"GET", b"/api/v2?key=nope&action=add&key=" + KEY.encode() + b"&action=balance", [], None))
    assert set(answer.json()) == {"balance", "currency"}


@pytest.mark.parametrize("size", [10_000, 60_000, 200_000])
def test_a_very_long_query_string_is_served_or_refused_with_a_json_431(hostile, size):
    panel, server, _ = hostile
    before = snapshot(panel)
    target = (b"/api/v2?key=" + KEY.encode() + b"&action=add&service=1&link=https://h.test/long" + str(size).encode()
              + b"&quantity=100&pad=" + b"x" * size)
    answer = exchange(server.port, build_request(b"GET", target, [], None))
    if size > HEADER_LIMIT:
        assert answer.status == 431 and "32768 bytes" in answer.json()["error"]
        assert snapshot(panel) == before
    else:
        assert answer.status == 200 and "order" in answer.json()


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_over_one_mib_gets_a_413_json_and_changes_nothing(hostile, chunked):
    panel, server, _ = hostile
    before = snapshot(panel)
    body = urlencode([("key", KEY), ("action", "add"), ("service", "1"), ("link", "https://h.test/big"), ("quantity", "100")])
    body += b"&pad=" + b"x" * MAX_BODY
    headers = [(b"Content-Type", b"application/x-www-form-urlencoded")]
    if chunked:
        encoded = b"".join(b"%x\r\n%s\r\n" % (len(body[i : i + 65536]), body[i : i + 65536]) for i in range(0, len(body), 65536))
        request = build_request(b"POST", b"/api/v2", headers + [(b"Transfer-Encoding", b"chunked")], None) + encoded + b"0\r\n\r\n"
    else:
        request = build_request(b"POST", b"/api/v2", headers, body)
    answer = exchange(server.port, request)
    assert answer.status == 413
    assert "error" in answer.json()
    assert snapshot(panel) == before
    # The server still answers afterwards.
    assert set(_form(server.port, key=KEY, action="balance").json()) == {"balance", "currency"}


def test_a_body_of_exactly_the_limit_is_read(hostile):
    panel, server, _ = hostile
    body = urlencode([("key", KEY), ("action", "balance")]) + b"&pad="
    body += b"x" * (MAX_BODY - len(body))
    answer = exchange(server.port, build_request(b"POST", b"/api/v2", [(b"Content-Type", b"application/x-www-form-urlencoded")], body))
    assert answer.status == 200 and set(answer.json()) == {"balance", "currency"}


@pytest.mark.parametrize("path", ["/api/v2//", "/api/v2/x", "/API/V2", "/api/v1", "/", "/favicon.ico", "/api/v2/" + "a" * 20000])
@pytest.mark.parametrize("method", [b"GET", b"POST", b"DELETE", b"OPTIONS"])
def test_other_paths_get_a_json_404(hostile, path, method):
    panel, server, _ = hostile
    before = snapshot(panel)
    body = urlencode([("key", KEY), ("action", "add"), ("service", "1"), ("link", "https://h.test/404"), ("quantity", "100")])
    answer = exchange(server.port, build_request(method, path.encode(), [(b"Content-Type", b"application/x-www-form-urlencoded")], body))
    assert answer.status == 404
    assert answer.headers["content-type"].startswith("application/json")
    assert "error" in answer.json()
    assert snapshot(panel) == before


@pytest.mark.parametrize("method", [b"GET", b"POST", b"PUT", b"PATCH", b"DELETE", b"OPTIONS", b"TRACE", b"PURGE"])
def test_every_method_that_reaches_the_app_gets_the_api_answer(hostile, method):
    panel, server, _ = hostile
    answer = exchange(server.port, build_request(method, b"/api/v2?key=" + KEY.encode() + b"&action=balance", [], None))
    assert answer.status == 200 and set(answer.json()) == {"balance", "currency"}


def test_head_gets_headers_and_no_body(hostile):
    panel, server, _ = hostile
    answer = exchange(server.port, build_request(b"HEAD", b"/api/v2?key=" + KEY.encode() + b"&action=balance", [], None))
    assert answer.status == 200 and answer.body == b""
    assert answer.headers["content-type"].startswith("application/json")
    assert int(answer.headers["content-length"]) > 0


def test_methods_the_http_parser_does_not_know_get_its_400_and_change_nothing(hostile):
    """llhttp (uvicorn's httptools) refuses unknown method tokens before the app runs."""
    panel, server, _ = hostile
    before = snapshot(panel)
    body = urlencode([("key", KEY), ("action", "add"), ("service", "1"), ("link", "https://h.test/m"), ("quantity", "100")])
    answer = exchange(server.port, build_request(b"FOO", b"/api/v2", [(b"Content-Type", b"application/x-www-form-urlencoded")], body))
    assert parser_refused(answer)
    assert snapshot(panel) == before


def test_a_client_that_stops_mid_body_changes_nothing(hostile):
    panel, server, _ = hostile
    before = snapshot(panel)
    body = urlencode([("key", KEY), ("action", "add"), ("service", "1"), ("link", "https://h.test/cut"), ("quantity", "100")])
    request = build_request(b"POST", b"/api/v2", [(b"Content-Type", b"application/x-www-form-urlencoded")], body + b"&more=1")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(request[:-7])  # Content-Length promises 7 bytes more
    # The next request is served; the cut one placed nothing.
    assert set(_form(server.port, key=KEY, action="balance").json()) == {"balance", "currency"}
    assert snapshot(panel) == before
