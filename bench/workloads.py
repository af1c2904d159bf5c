"""The request bodies of each benchmark config, and the check that a server answers them right.

``add`` and the status of running orders are encoded as clients encode them: PHP's
``http_build_query``, requests and httpx percent-encode every byte but letters, digits and
``-._~`` (and ``*`` in PHP), so a link arrives as ``https%3A%2F%2F...`` and a list of ids as
``1%2C2%2C3``; ``urllib.parse.urlencode`` writes the same bytes.
"""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote_plus, urlencode

from .apps import BENCH_QUANTITY, BENCH_SERVICE, CONSTANT
from .load import UNIQUE, Workload

ROTATE = 256  # distinct bodies per config (as the baseline's multi-status script)
BATCH = 100  # ids per multi-status request (the standard dialect's limit)


def balance(key: str) -> Workload:
    return Workload((f"key={key}&action=balance",))


def services(key: str) -> Workload:
    return Workload((f"key={key}&action=services",))


def add(key: str) -> Workload:
    """An order as a client places it: its link percent-encoded, and distinct on every request."""
    fields = {"key": key, "action": "add", "service": BENCH_SERVICE,
              "link": f"https://www.instagram.com/p/bench{UNIQUE}/", "quantity": BENCH_QUANTITY}
    return Workload((urlencode(fields).replace(quote_plus(UNIQUE), UNIQUE),))


def status(key: str, first: int, last: int, rng: random.Random) -> Workload:
    return Workload(tuple(f"key={key}&action=status&order={rng.randint(first, last)}" for _ in range(ROTATE)))


def multi_status(key: str, first: int, last: int, rng: random.Random) -> Workload:
    count = min(BATCH, last - first + 1)
    bodies = []
    for _ in range(ROTATE):
        ids = rng.sample(range(first, last + 1), count)
        bodies.append(f"key={key}&action=status&orders=" + "%2C".join(map(str, ids)))
    return Workload(tuple(bodies))


def running_status(key: str, running: Sequence[int], rng: random.Random) -> Workload:
    """Statuses of 100 orders still running, as a client polls the orders it placed (ids joined by
    commas, sent as ``%2C``)."""
    if len(running) < BATCH:
        raise RuntimeError(f"the running store lists {len(running)} orders still running; a status of {BATCH} needs more")
    return Workload(tuple(
        urlencode({"key": key, "action": "status", "orders": ",".join(map(str, rng.sample(list(running), BATCH)))})
        for _ in range(ROTATE)
    ))


# --- probes: one request per config before timing, so a wrong answer fails the run -------


def _check_bare(data: Any) -> str | None:
    return None if data == json.loads(CONSTANT) else f"expected the constant JSON, got {data!r}"


def _check_balance(data: Any) -> str | None:
    return None if isinstance(data, dict) and set(data) == {"balance", "currency"} else f"not a balance: {data!r}"


def _check_add(data: Any) -> str | None:
    return None if isinstance(data, dict) and isinstance(data.get("order"), int) else f"not an order id: {data!r}"


def _check_status(data: Any) -> str | None:
    ok = isinstance(data, dict) and "status" in data and "error" not in data
    return None if ok else f"not an order status: {str(data)[:200]}"


def _check_services(data: Any) -> str | None:
    ok = isinstance(data, list) and data and all(isinstance(s, dict) and "service" in s for s in data)
    return None if ok else f"not a list of services: {str(data)[:200]}"


def _check_multi(data: Any) -> str | None:
    if not isinstance(data, dict) or not data:
        return f"not a multi-status object: {str(data)[:200]}"
    bad = [k for k, v in data.items() if not isinstance(v, dict) or "status" not in v]
    return f"{len(bad)} of {len(data)} entries are not statuses, e.g. {data[bad[0]]!r}" if bad else None


def _check_running(data: Any) -> str | None:
    problem = _check_multi(data)
    if problem:
        return problem
    final = [k for k, v in data.items() if v["status"] not in ("Pending", "In progress")]
    return f"{len(final)} of {len(data)} orders are no longer running, e.g. {data[final[0]]!r}" if final else None


CHECKS: dict[str, Callable[[Any], str | None]] = {
    "bare": _check_bare,
    "peer": _check_bare,  # the stub answers bare's constant
    "services": _check_services,
    "bare-services": _check_services,
    "balance": _check_balance,
    "add": _check_add,
    "status": _check_status,
    "multi": _check_multi,
    "running": _check_running,
}


def probe(url: str, workload: Workload, kind: str) -> None:
    """Send the workload's first body once; raise if the answer is not what the config measures."""
    body = workload.bodies[0].replace(UNIQUE, "probe")
    request = urllib.request.Request(
        url + workload.path, data=body.encode(), method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    for attempt in range(3):  # a server that has just started may still drop the first connection
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                data = json.loads(response.read())
            break
        except (ConnectionError, urllib.error.URLError) as exc:
            if attempt == 2:
                raise RuntimeError(f"the {kind} probe against {url} failed: {exc!r}") from None
            time.sleep(1.0)
    problem = CHECKS[kind](data)
    if problem:
        raise RuntimeError(f"the {kind} probe against {url} got a wrong answer: {problem}")
