"""A client that reads the order id as an integer, as typed clients in other languages decode it: right
for the standard dialect, wrong for a family whose ids are strings (a 24-hex ObjectId read as a number
is another id, or no number at all)."""

import json
import os
import sys
import urllib.parse
import urllib.request

URL, KEY = os.environ["MOCKPANEL_URL"], os.environ["MOCKPANEL_KEY"]


def call(**fields):
    body = urllib.parse.urlencode({"key": KEY, **fields}).encode()
    with urllib.request.urlopen(URL, body, timeout=5) as answer:
        return json.loads(answer.read())


order = int(call(action="add", service=1, link="https://instagram.com/p/ids", quantity=1000)["order"])
state = call(action="status", order=order)
if not isinstance(state, dict) or "status" not in state:
    sys.exit(f"order {order} as this client read it is unknown to the panel: {state}")
print(order, state["status"])
