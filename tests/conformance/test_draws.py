"""What hypothesis draws never depends on what a panel answered.

Hypothesis replays a choice sequence expecting the same draws; a strategy, precondition or
filter built from a panel's answers would make the same choices lead elsewhere, and
hypothesis would call its own run flaky. The orders tier draws plain numbers only
(``_strategies.picks``); the read-only tier's strategies are built from the dialect and
the configuration. (That a real run against a panel whose answers change never ends in
hypothesis's words: tests/conformance/test_conformance_broken.py.)
"""

from __future__ import annotations

import ast
import inspect
import random
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test
from hypothesis.strategies import SearchStrategy

import conformance
from conformance import _strategies as S
from conformance._machine import act, machine_for
from conformance.expect import ServiceInfo
from conformance.profile import load_dialect
from conformance.rules import TYPE_RULES

PACKAGE = Path(conformance.__file__).parent
# The orders tier's modules: none of them builds a strategy, filters a draw or guards a rule.
ORDERS_TIER = ("_machine.py", "_order_steps.py", "_orders.py", "_order_checks.py", "_order_model.py")
FORBIDDEN = {"precondition", "Bundle", "consumes", "multiple", "invariant", "initialize", "assume", "data"}


def _tree(name: str) -> ast.Module:
    return ast.parse((PACKAGE / name).read_text(encoding="utf-8"))


def _is_strategy(value: Any) -> bool:
    """A strategy, or a function of _strategies that builds one."""
    if isinstance(value, SearchStrategy):
        return True
    return callable(value) and "SearchStrategy" in str(inspect.signature(value).return_annotation)


def test_the_check_knows_a_strategy_from_the_rest() -> None:
    assert _is_strategy(S.UNKNOWN_IDS) and _is_strategy(S.picks)
    assert not _is_strategy(S.order_spec) and not _is_strategy(S.type_fields) and not _is_strategy(S.Picks)


@pytest.mark.parametrize("name", ORDERS_TIER)
def test_the_orders_tier_builds_no_strategy_and_filters_no_draw(name: str) -> None:
    found = []
    for node in ast.walk(_tree(name)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("hypothesis"):
            found += [f"imports {a.name} from {node.module}" for a in node.names
                      if node.module == "hypothesis.strategies" or a.name in FORBIDDEN or a.name == "strategies"]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "st":
            found.append(f"st.{node.attr} (line {node.lineno})")
        elif isinstance(node, ast.Attribute) and node.attr in ("draw", "filter"):
            found.append(f".{node.attr} (line {node.lineno})")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "S" \
                and node.attr != "picks" and _is_strategy(getattr(S, node.attr)):
            found.append(f"S.{node.attr} (line {node.lineno})")  # a strategy of _strategies, not the picks
    assert found == [], f"{name}: {found}"


def test_the_read_only_strategies_are_built_from_the_dialect_and_the_configuration_only() -> None:
    # Every property's strategy is an expression of _strategies and hypothesis over ``real`` (the configured
    # keys) and ``limit`` (the dialect's batch limit): nothing the panel answered.
    run = next(n for n in ast.walk(_tree("_readonly.py")) if isinstance(n, ast.FunctionDef) and n.name == "run")
    calls = [n for n in ast.walk(run) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
             and n.func.attr == "run" and ast.unparse(n.func.value) == "ctx.props"]
    assert len(calls) >= 8
    for call in calls:
        names = {n.id for n in ast.walk(call.args[1]) if isinstance(n, ast.Name)}
        assert names <= {"S", "st", "real", "limit"}, ast.unparse(call.args[1])
    sources = {ast.unparse(n.targets[0]): ast.unparse(n.value) for n in ast.walk(run)
               if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name)}
    assert sources["real"] == "tuple((k for k in (cfg.key, cfg.second_key) if k))"
    assert sources["limit"] == "d.batch_limit"


class _Stub:
    """Just what the machine reads of a phase, with a state that changes at random between steps."""

    def __init__(self) -> None:
        self.ctx = SimpleNamespace(config=SimpleNamespace(second_key="k2"))
        self.programs = 0
        self.orders: dict[str, Any] = {}
        self.drawn: list[tuple[int, ...]] = []
        self.dice = random.Random()  # not seeded: the "panel" differs every run

    def step(self, text: str) -> None:
        pass

    def guarded(self, fn: Any, *args: Any) -> None:
        if fn is act:
            self.drawn.append(args[1].numbers)
            self.orders = {str(i): None for i in range(self.dice.randrange(4))}  # what "the panel" answered
        else:
            fn(*args)

    def settle_and_record(self) -> None:
        self.orders = {}


def test_the_orders_machine_has_one_rule_with_no_precondition_drawing_plain_picks() -> None:
    stub = _Stub()
    machine = machine_for(stub)()  # type: ignore[arg-type]
    assert len(machine.rules) == 1 and not machine.invariants
    (only,) = machine.rules
    assert only.preconditions == () and only.bundles == ()
    assert list(only.arguments_strategies) == ["picks"]
    assert repr(only.arguments_strategies["picks"]) == repr(S.picks())
    # Many programs of it, while "the panel" changes at random under them: hypothesis sees nothing amiss.
    run_state_machine_as_test(machine_for(stub), settings=settings(  # type: ignore[arg-type]
        max_examples=30, stateful_step_count=20, database=None, deadline=None, phases=(Phase.generate,),
        suppress_health_check=list(HealthCheck)))
    assert len(stub.drawn) > 30 and all(len(n) == S.PICK_COUNT for n in stub.drawn)


def _service(type_name: str) -> ServiceInfo:
    return ServiceInfo(id="7", name="x", type=type_name, rate=Decimal("1.2"), min=10, max=1000, refill=True,
                       cancel=True, dripfeed=type_name == "Default")


@pytest.mark.parametrize("type_name", sorted(TYPE_RULES))
def test_an_orders_fields_are_a_function_of_its_picks(type_name: str) -> None:
    dialect = load_dialect("standard")
    link = "https://instagram.com/example_user"
    rng = random.Random(3)
    for dripfeed in (False, True) if type_name == "Default" else (False,):
        one, other = S.Picks.seeded(rng), S.Picks.seeded(rng)
        spec = S.order_spec(_service(type_name), link, dialect, one, dripfeed=dripfeed)
        assert spec == S.order_spec(_service(type_name), link, dialect, one, dripfeed=dripfeed)  # the same picks
        changed = S.order_spec(_service(type_name), link, dialect, other, dripfeed=dripfeed)
        required, _ = S.type_fields(dialect, type_name)
        for made in (spec, changed):  # other picks: other values, every documented field still there
            assert set(required) <= set(made.params), (type_name, sorted(made.params))


def test_a_pick_among_nothing_says_so() -> None:
    picks = S.Picks((5,) * S.PICK_COUNT)
    assert picks.choose(S.WHICH, ["a", "b"]) == "b" and picks.index(S.PICK_COUNT + 3, 4) == 1
    with pytest.raises(ValueError, match="nothing to choose among"):
        picks.choose(S.WHICH, [])
