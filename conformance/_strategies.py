"""Hypothesis strategies for API v2 requests, valid and invalid, for every action.

Read-only strategies produce only what the read-only tier may send (the session refuses
anything else): the action table's read actions, no action, or the suite's own unknown-action
probes (``actions.PROBE_PREFIX``). The orders tier draws only plain numbers (``picks``), never a
strategy built from what the panel answered; ``order_spec`` builds from them the fields a listed
service's type documents (the "Add order" tables), and the probes break them one way at a time
(below min, above max, a required field missing, a malformed quantity).
"""

from __future__ import annotations

import math
import random
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlparse

from hypothesis import strategies as st

from . import actions
from .expect import ServiceInfo
from .profile import Dialect
from .rules import COUNTED_BY_FIELD, COUNTED_BY_LINES, SUBSCRIPTION, TYPE_RULES, cost
from .session import is_action_field, normalize_action

# Ids this large are never a real order or refill: "unknown" without guessing.
UNKNOWN_IDS = st.integers(min_value=10**12, max_value=10**15 - 1).map(str)
# Words that are harmless if a live panel posts them as comments.
WORDS = ("Great post", "Nice", "Love this", "Awesome", "Cool", "Well done", "Amazing", "Beautiful", "Wow", "Superb")
NAMES = ("example_user", "sample_account", "demo_profile", "test_handle", "placeholder_name")

_PRINTABLE = string.ascii_letters + string.digits + "-_.:/?=&%+ #@!~*'()[]{}|;,<>\"$^`\\"


# --- read-only ----------------------------------------------------------------------------


@dataclass(frozen=True)
class WrongKey:
    kind: str  # "missing", "empty", "wrong", "case"
    value: str | None


def wrong_keys(real: tuple[str, ...]) -> st.SearchStrategy[WrongKey]:
    """Keys that are not an account's key: missing, empty, random, a real key mutated."""
    main = real[0]
    stripped = {k.strip() for k in real}

    def not_real(value: str) -> bool:
        return value.strip() not in stripped

    mutations = [main[:-1], main + "0", main[1:], "x" + main]
    options = [
        st.just(WrongKey("missing", None)),
        st.just(WrongKey("empty", "")),
        st.text(alphabet=_PRINTABLE, min_size=1, max_size=64).filter(not_real).map(lambda v: WrongKey("wrong", v)),
        st.sampled_from([m for m in mutations if m and not_real(m)]).map(lambda v: WrongKey("wrong", v)),
        st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=32)
        .filter(not_real).map(lambda v: WrongKey("wrong", v)),
    ]
    swapped = main.swapcase()
    if swapped != main and not_real(swapped):
        options.append(st.just(WrongKey("case", swapped)))
    return st.one_of(options)


def near_keys(key: str) -> list[tuple[str, str]]:
    """(what, value): the real key in other letter case, or with spaces around it. A panel that
    compares keys exactly refuses each; every one is tried, on actions every panel has."""
    out = [("in other letter case", key.swapcase()), ("with a trailing space", key + " "),
           ("with a leading space", " " + key), ("with a trailing tab", key + "\t")]
    return [(what, value) for what, value in out if value != key]


def key_probe_actions() -> tuple[str, ...]:
    """Read actions every panel has that need no field: an answer to them is about the key, not the action."""
    return tuple(a.name for a in actions.ACTIONS.values() if a.reads and not a.optional and not a.fields)


def read_request() -> st.SearchStrategy[dict[str, str]]:
    """A read action of the table with plausible fields (ids unknown): what a wrong key is tried on."""
    options: list[st.SearchStrategy[dict[str, str]]] = []
    for a in actions.ACTIONS.values():
        if not a.reads:
            continue
        if not any(kind in ("id", "ids") for kind in a.fields.values()):
            options.append(st.just({"action": a.name}))
        for name, kind in a.fields.items():
            if kind in ("id", "ids"):
                options.append(_unknown_ids(a.name, name, batch=kind == "ids"))
    return st.one_of(options)


def _unknown_ids(action: str, name: str, batch: bool) -> st.SearchStrategy[dict[str, str]]:
    """``action`` with its field ``name`` holding an unknown id, or a batch of them."""
    ids = st.lists(UNKNOWN_IDS, min_size=1, max_size=5, unique=True) if batch else UNKNOWN_IDS.map(lambda i: [i])
    return ids.map(lambda chosen: {"action": action, name: ",".join(chosen)})


# Words a client might send by mistake, each behind the probes' prefix: no panel has such an action.
_MISTAKES = ("order", "orders", "add-order", "add_order", "statuses", "get_balance", "list", "delete", "refills",
             "service", "status_multi", "ping")


def unknown_actions() -> st.SearchStrategy[str | None]:
    """A missing, empty or unknown action. An unknown one is one of the suite's own probes
    (``actions.PROBE_PREFIX``): a word the table does not know may be a write to some panel."""
    probe = actions.PROBE_PREFIX
    return st.one_of(
        st.none(),
        st.sampled_from(["", " ", "\t"]),
        st.sampled_from([probe + word for word in _MISTAKES] + [probe.upper() + "BALANCE"]),
        st.text(alphabet=_PRINTABLE, min_size=1, max_size=40).map(lambda s: probe + s),
        st.text(min_size=1, max_size=20).map(lambda s: probe + s),
    )


# Every malformed kind of id, each sent once (not drawn): empty, blank, zero, negative, a fraction, an exponent, a
# word, JSON words, hexadecimal, digits of another script.
MALFORMED_IDS = ("", " ", "0", "-1", "1.5", "1e3", "abc", "null", "[]", "{}", "0x10", "１２")


def malformed_ids() -> st.SearchStrategy[str]:
    """Order or refill ids that cannot be an id: empty, zero, negative, words, decimals."""
    return st.one_of(
        st.sampled_from(MALFORMED_IDS),
        st.integers(max_value=-1).map(str),
        st.text(alphabet=string.ascii_letters + "-_.,;: ", min_size=1, max_size=20).filter(lambda s: not s.strip().isdigit()),
    )


def _run_of_ids(low: int, high: int) -> st.SearchStrategy[list[str]]:
    """``n`` (low..high) distinct unknown ids, spaced by a drawn step: cheap at any size."""
    return st.tuples(st.integers(10**12, 10**14), st.integers(low, high), st.integers(1, 997)).map(
        lambda t: [str(t[0] + i * t[2]) for i in range(t[1])])


def id_batches(limit: int) -> st.SearchStrategy[list[str]]:
    """Batches of unknown ids, from one to exactly the limit."""
    return st.one_of(
        st.lists(UNKNOWN_IDS, min_size=1, max_size=min(10, limit), unique=True),
        _run_of_ids(max(1, limit - 5), limit),
    )


def over_limit_batches(limit: int) -> st.SearchStrategy[list[str]]:
    return _run_of_ids(limit + 1, limit + 20)


def fuzz_requests() -> st.SearchStrategy[dict[str, str]]:
    """Hostile request fields: odd names, values and actions (only those the read-only tier may send)."""
    names = st.sampled_from(["order", "orders", "refill", "refills", "service", "quantity", "link", "runs",
                             "interval", "comments", "username", "extra", "key[]", "action[]", "", " "])
    values = st.one_of(
        st.text(max_size=60),
        st.sampled_from(["", "0", "-1", "99999999999999999999999999", "1,2,,3", ",", "[1,2]", '{"a":1}',
                         "null", "NaN", "\u00a0", "\ufeff1", "1\x002", "%00", "../../etc/passwd", "<script>"]),
    )
    action = st.one_of(st.sampled_from(actions.read_actions()), unknown_actions())

    def build(fields: dict[str, str], act: str | None) -> dict[str, str]:
        # PHP reads action[]=x as the action: its value is one of the suite's probe names, never a word a panel may have.
        fields = {k: (actions.PROBE_PREFIX + v if is_action_field(k) else v) for k, v in fields.items()}
        return {**fields, **({"action": act} if act is not None else {})}

    return st.builds(build, st.dictionaries(names, values, max_size=5), action).filter(
        lambda p: actions.read_only_may_send(normalize_action(p.get("action"))))


# --- plain picks: all the orders tier draws -------------------------------------------------

PICK_MAX = 2**32 - 1
PICK_COUNT = 8  # the numbers one step draws
MOVE, WHICH, FIELDS = 0, 1, 2  # the slots: which kind of step, which one of its kind, then the request's fields

T = TypeVar("T")


@dataclass(frozen=True)
class Picks:
    """The plain numbers hypothesis draws for one step of the orders tier (``picks()``).

    What a step chooses among (the plan's orders, the open orders, a service's fields) depends on what the
    panel answered; the draws must not: hypothesis replays a choice sequence expecting the same draws, and
    would see the same choices lead elsewhere (``FlakyStrategyDefinition``). So every step draws the same
    fixed count of plain numbers, whatever the panel says, and each choice is one of them taken modulo the
    length of what it chooses among."""

    numbers: tuple[int, ...]

    def index(self, slot: int, n: int) -> int:
        """A number in [0, n), from the pick in ``slot`` (slots past the last wrap around)."""
        if n <= 0:
            raise ValueError(f"nothing to choose among (slot {slot}); choose only from a non-empty list")
        return self.numbers[slot % len(self.numbers)] % n

    def choose(self, slot: int, options: Sequence[T]) -> T:
        return options[self.index(slot, len(options))]

    @classmethod
    def seeded(cls, rng: random.Random) -> Picks:
        """Picks from a seeded generator, for what runs outside hypothesis (the sweep)."""
        return cls(tuple(rng.randint(0, PICK_MAX) for _ in range(PICK_COUNT)))


def picks() -> st.SearchStrategy[Picks]:
    """The one strategy the orders tier draws from: ``PICK_COUNT`` plain numbers, the same shape every step."""
    return st.tuples(*[st.integers(0, PICK_MAX)] * PICK_COUNT).map(Picks)


# --- orders -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderSpec:
    """An add request and what it should cost if accepted."""

    service: ServiceInfo
    params: dict[str, str]
    units: int  # what is charged for: quantity, lines, quantity x runs; 1 for packages
    quantity: int  # what status reports as the order's quantity
    flat: bool  # packages: the rate is the price
    dripfeed: bool = False
    missing: str | None = None  # the required field left out, for invalid specs
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def type(self) -> str:
        return self.service.type or "Default"


def price(service: ServiceInfo, units: int, flat: bool) -> Decimal:
    """What an order costs: the rate per 1000 units, or the rate itself for packages."""
    return cost(service.rate or Decimal(0), units, flat)


def username_from(link: str) -> str | None:
    """The last path segment of the link (subscriptions take a username, not a link)."""
    path = [p for p in urlparse(link).path.split("/") if p]
    name = path[-1] if path else ""
    return name.lstrip("@") or None


def _lines(n: int, pool: tuple[str, ...], picks: Picks, slot: int) -> str:
    return "\n".join(f"{picks.choose(slot + i, pool)} {i + 1}" for i in range(n))


def order_spec(service: ServiceInfo, link: str, dialect: Dialect, picks: Picks, *, dripfeed: bool = False,
               units: int | None = None) -> OrderSpec:
    """The documented fields of an add for the service's type, at ``units`` (default: the minimum), each
    choice (words, names, a delay, an interval) made by ``picks`` from ``FIELDS`` on."""
    stype = TYPE_RULES[service.type or "Default"]
    low = service.min or 1
    n = units if units is not None else low
    sid = service.id
    base = {"action": "add", "service": sid}

    def spec(params: dict[str, str], charged: int, quantity: int, **kw: Any) -> OrderSpec:
        return OrderSpec(service, {**base, **params}, charged, quantity, stype.flat, **kw)

    name = stype.name
    if name == "Subscriptions":
        user = username_from(link) or "example_user"
        delay = picks.choose(FIELDS, (dialect.subscription_delays or (0,))[:4])
        return spec({"username": user, "min": str(n), "max": str(n), "posts": "1", "delay": str(delay)}, n, 1)
    # A dialect that asks a quantity of a type that takes none (the SmartPanel script's packages): sent, as the count.
    asked = {"quantity": str(n)} if "quantity" in type_fields(dialect, name)[0] else {}
    if name == "Package":
        return spec({"link": link, **asked}, 1, 1)
    if stype.counted == COUNTED_BY_LINES and stype.lines_field:
        pool = WORDS if stype.lines_field == "comments" else NAMES
        fields = {stype.lines_field: _lines(n, pool, picks, FIELDS + 1)}
        if name == "Comment Replies":
            fields["username"] = picks.choose(FIELDS, NAMES)
        return spec({"link": link, **fields, **asked}, 1 if stype.flat else n, n)
    extras: dict[str, str] = {}
    if name == "SEO":
        extras["keywords"] = _lines(2, ("smm panel", "buy followers", "social growth"), picks, FIELDS)
    elif name == "Mentions":
        extras["usernames"] = _lines(2, NAMES, picks, FIELDS)
    elif name == "Mentions with Hashtags":
        extras["usernames"] = _lines(2, NAMES, picks, FIELDS)
        extras["hashtags"] = _lines(2, ("#goodphoto", "#nice", "#travel"), picks, FIELDS + 2)
    elif name == "Mentions Hashtag":
        extras["hashtag"] = picks.choose(FIELDS, ("#goodphoto", "#travel"))
    elif name in ("Mentions User Followers", "Comment Likes"):
        extras["username"] = picks.choose(FIELDS, NAMES)
    elif name == "Mentions Media Likers":
        extras["media"] = link
    elif name == "Poll":
        extras["answer_number"] = str(1 + picks.index(FIELDS, 5))
    elif name == "Invites from Groups":
        extras["groups"] = _lines(2, ("group_one", "group_two", "group_three"), picks, FIELDS)
    if name == "Web Traffic":
        kind, more = picks.choose(FIELDS + 2, (("1", {"google_keyword": "smm panel"}), ("2", {"referring_url": link}),
                                               ("3", {})))
        return spec({"link": link, "quantity": str(n), "country": picks.choose(FIELDS, ("US", "United States", "GB", "DE")),
                     "device": str(1 + picks.index(FIELDS + 1, 5)), "type_of_traffic": kind, **more}, n, n)
    if dripfeed:
        intervals = [i for i in (dialect.dripfeed_intervals or (5, 10, 15, 30, 60)) if i > 0] or [5]
        return _dripfeed(service, link, 2 + picks.index(FIELDS, 2), picks.choose(FIELDS + 1, intervals[:4]))
    return spec({"link": link, "quantity": str(n), **extras}, n, n)


def _dripfeed(service: ServiceInfo, link: str, runs: int, interval: int) -> OrderSpec:
    """A drip-feed add of ``runs`` runs, ``interval`` minutes apart, that together make the service's minimum
    (each run at least one)."""
    per_run = max(1, math.ceil((service.min or 1) / runs))
    params = {"action": "add", "service": service.id, "link": link, "quantity": str(per_run), "runs": str(runs),
              "interval": str(interval)}
    return OrderSpec(service, params, per_run * runs, per_run * runs, TYPE_RULES[service.type or "Default"].flat,
                     dripfeed=True)


def type_fields(dialect: Dialect | None, type_name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(required, optional) fields of a service type, as the dialect documents them."""
    stype = TYPE_RULES[type_name]
    override = (getattr(dialect, "type_fields", None) or {}).get(type_name) if dialect is not None else None
    if override:
        return tuple(override.get("required", ())), tuple(override.get("optional", ()))
    return stype.required, stype.optional


def without_field(spec: OrderSpec, dialect: Dialect | None = None) -> list[OrderSpec]:
    """The same order with one required field left out, for each required field."""
    required, _ = type_fields(dialect, spec.type)
    out = []
    for name in required:
        if name in spec.params:
            params = {k: v for k, v in spec.params.items() if k != name}
            out.append(OrderSpec(spec.service, params, spec.units, spec.quantity, spec.flat, spec.dripfeed, missing=name))
    return out


def quantity_field(spec: OrderSpec) -> str | None:
    """Where the quantity lives for this type: 'quantity', or the list field that counts."""
    stype = TYPE_RULES[spec.type]
    if stype.counted == COUNTED_BY_FIELD and "quantity" in spec.params:
        return "quantity"
    if stype.counted == COUNTED_BY_LINES:
        return stype.lines_field
    if stype.counted == SUBSCRIPTION:
        return "min"
    return None


def quantity_fields(type_name: str) -> frozenset[str]:
    """The fields of an add of the type that set what it is charged for: the quantity, the lines that count it,
    a subscription's min and max, a drip-feed's runs. An add without one of them leaves the count to the panel."""
    stype = TYPE_RULES[type_name]
    lines = {stype.lines_field} if stype.lines_field else set()
    bounds = {"min", "max"} if stype.counted == SUBSCRIPTION else set()
    return frozenset({"quantity", "runs", *lines, *bounds})


def with_units(spec: OrderSpec, units: int, note: str) -> OrderSpec:
    """The same order asking for ``units`` (below min or above max)."""
    where = quantity_field(spec)
    params = dict(spec.params)
    if where in ("quantity", None):
        params["quantity"] = str(units)
    elif where == "min":
        params["min"] = params["max"] = str(units)
    else:
        pool = WORDS if where == "comments" else NAMES
        params[where] = "\n".join(f"{pool[i % len(pool)]} {i + 1}" for i in range(units))
    charged = 1 if spec.flat else units
    return OrderSpec(spec.service, params, charged, units, spec.flat, note=note)


def malformed_numbers(valid: int) -> list[tuple[str, str]]:
    """(what, value): every malformed way of writing the whole number ``valid``, each tried (none drawn).

    Each is otherwise in range, so a refusal can only be of the writing: a panel that reads ``12.5`` as 12
    but refuses it below the minimum must not pass. Whatever a lenient panel makes of them (``valid``,
    ``valid + 1``, 0), it is at most ``valid + 1`` units."""
    return [("a word", "abc"), ("a fraction", f"{valid}.5"), ("an exponent", f"{valid}e0"),
            ("a negative number", f"-{valid}")]


def malformed_service_ids(service_id: str, dialect: Dialect) -> list[tuple[str, str]]:
    """(what, value): every malformed way of writing the service id ``service_id`` (a whole number), each tried.

    A dialect whose panel looks the id up as MySQL casts a string for an integer column (``add.service:
    "mysql"``) documents ``1abc`` and ``1e0`` as the service 1: those two are not probed there."""
    out = [("trailing letters", f"{service_id}abc"), ("a fraction", f"{service_id}.5"),
           ("an exponent", f"{service_id}e0"), ("a negative number", f"-{service_id}"), ("a word", "abc")]
    if dialect.service_cast == "mysql":
        out = [(what, value) for what, value in out if what not in ("trailing letters", "an exponent")]
    return out


def invalid_dripfeed(dialect: Dialect) -> list[tuple[str, str, str, str]]:
    """(kind, field, what, value): every invalid runs and interval of a drip-feed order, one at a time: each
    malformed writing ("malformed"), and a value the documents rule out ("invalid": no runs; an interval the
    dialect does not list, or none)."""
    runs, interval = dripfeed_defaults(dialect)
    out = [("malformed", "runs", what, value) for what, value in malformed_numbers(runs)]
    out.append(("invalid", "runs", "zero runs", "0"))
    out += [("malformed", "interval", what, value) for what, value in malformed_numbers(interval)]
    listed = dialect.dripfeed_intervals
    if listed:
        unlisted = next(v for v in range(max(listed) + 1, max(listed) + 100) if v not in listed)
        out.append(("invalid", "interval", "an interval the dialect does not list", str(unlisted)))
    else:
        out.append(("invalid", "interval", "an interval of zero minutes", "0"))
    return out


def invalid_subscription(dialect: Dialect) -> list[tuple[str, str, str, str]]:
    """(kind, field, what, value): a subscription's documented values ruled out, one at a time: a delay the
    dialect does not list, and an expiry that is no date (d/m/Y) where the type takes one."""
    required, optional = type_fields(dialect, "Subscriptions")
    out = []
    delays = dialect.subscription_delays
    if "delay" in required + optional and delays:
        unlisted = next(v for v in range(1, max(delays) + 100) if v not in delays)
        out.append(("invalid", "delay", "a delay the dialect does not list", str(unlisted)))
    if "expiry" in required + optional:
        out.append(("invalid", "expiry", "no date", "31/02/2030"))
    return out


def dripfeed_defaults(dialect: Dialect) -> tuple[int, int]:
    """The runs and interval of the drip-feed probes' valid base (two runs; the dialect's first interval)."""
    intervals = [i for i in (dialect.dripfeed_intervals or (5,)) if i > 0] or [5]
    return 2, intervals[0]


def dripfeed_spec(service: ServiceInfo, link: str, dialect: Dialect) -> OrderSpec:
    """The drip-feed probes' valid base: two runs of half the minimum, the dialect's first interval."""
    return _dripfeed(service, link, *dripfeed_defaults(dialect))
