"""A careful API v2 client: before it sends `add` again it asks the panel whether the first one was
placed (the balance tells: API v2 has no idempotency key and no order list), honours Retry-After, and
reads the order id as the panel spells it.

Run by the gauntlet's tests: it places one order, follows it to its end, and exits 0."""

import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from decimal import Decimal

URL, KEY = os.environ["MOCKPANEL_URL"], os.environ["MOCKPANEL_KEY"]


class NoAnswer(Exception):
    """No answer to read: ``unknown`` when the request may still reach the panel (a timeout, a drop)."""

    def __init__(self, why, unknown):
        super().__init__(why)
        self.unknown = unknown


def call(**fields):
    body = urllib.parse.urlencode({"key": KEY, **fields}).encode()
    try:
        with urllib.request.urlopen(URL, body, timeout=5) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 429:
            time.sleep(float(exc.headers.get("Retry-After") or 1))
        raise NoAnswer(f"HTTP {exc.code}", unknown=False) from None
    except ValueError as exc:  # an answer, but not JSON
        raise NoAnswer(str(exc), unknown=False) from None
    except OSError as exc:  # timed out or dropped: the panel may act on it still
        raise NoAnswer(str(exc), unknown=True) from None


def patiently(**fields):
    """A read: safe to send again."""
    for _ in range(10):
        try:
            return call(**fields)
        except NoAnswer:
            time.sleep(0.3)
    sys.exit(f"no answer to {fields['action']} after 10 tries")


def balance():
    answer = patiently(action="balance")
    return Decimal(str(answer.get("balance", "0"))) if isinstance(answer, dict) else Decimal(0)


def place(**fields):
    """An add sent again only when the balance shows the first one was not placed."""
    for _ in range(5):
        before = balance()
        try:
            answer = call(action="add", **fields)
        except NoAnswer as exc:
            # Placed or not? The balance tells; a request that timed out may still be on its way, so watch a while.
            watch = time.monotonic() + (10 if exc.unknown else 0.5)
            while True:
                time.sleep(0.5)
                if balance() < before:
                    return None  # placed, its id unknown: never order twice
                if time.monotonic() > watch:
                    break
            continue
        if isinstance(answer, dict) and "order" in answer:
            return answer["order"]  # kept as the panel spells it: a number or a string
        sys.exit(f"the panel refused the add: {answer}")
    sys.exit("the add was never placed")


services = patiently(action="services")
listed = services if isinstance(services, list) else services.get("data", []) if isinstance(services, dict) else []
default = next(s for s in listed if "default" in str(s.get("type", "default")).lower())
order = place(service=default["service"], link="https://instagram.com/p/gauntlet-careful",
              quantity=max(int(default["min"]), 100) if int(default["max"]) >= 100 else int(default["min"]))
if order is None:
    print("placed; the answer was lost, so its id is unknown")
    sys.exit(0)
for _ in range(100):
    state = patiently(action="status", order=order)
    if isinstance(state, dict) and set(state) == {str(order)}:  # a single status keyed by its id
        state = state[str(order)]
    if isinstance(state, dict) and str(state.get("status", "")).lower() in ("completed", "partial", "canceled",
                                                                               "cancelled"):
        break
    time.sleep(0.2)
print(order, state)
