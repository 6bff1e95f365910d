"""The optimised engine (hashed alpha memories, incremental reset, light facts) against stock experta.

The oracle is experta itself: its own Rete matcher, fed facts built by experta's own ``Fact``
constructor (with its deep freeze), with the project's deterministic strategy (experta's
default one orders ties by hash, so its order is not reproducible). On generated cases both
must fire the same rules on the same facts in the same order and conclude the same facts.
"""

from __future__ import annotations

import logging
from typing import Any

from experta import Fact as ExpertaFact
from experta import KnowledgeEngine
from experta.matchers import ReteMatcher
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medmassage_rules.engine.alpha import HashedAlphaNode, condition_predicate
from medmassage_rules.engine.cache import engine_class, engine_for
from medmassage_rules.kb import fact_types as F
from medmassage_rules.kb.light_fact import Fact
from medmassage_rules.planning.case_facts import case_facts

from ..strategies import KB, V, build, case_dicts

STOCK = type("StockEngine", (engine_class(KB),),
             {"__matcher__": ReteMatcher, "get_deffacts": KnowledgeEngine.get_deffacts})()


def stock_fact(fact: Any) -> Any:
    """The same fact built by experta's own constructor (every value through freeze)."""
    cls: Any = type(fact)
    out = cls.__new__(cls)
    ExpertaFact.__init__(out, **{k: v for k, v in fact.items() if not ExpertaFact.is_special(k)})
    return out


def firings(engine: Any, facts: list[Any]) -> tuple[list[Any], list[Any]]:
    declared, trace = engine.infer(facts)
    return ([(f["__factid__"], type(f).__name__, dict(f)) for f in declared],
            [(t.rule_id, [i["__factid__"] for i in t.inputs], [o["__factid__"] for o in t.outputs]) for t in trace])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(case_dicts(), min_size=1, max_size=3))
def test_the_optimised_engine_fires_what_stock_experta_fires(cases: list[dict[str, Any]]) -> None:
    engine = engine_for(KB)
    for data in cases:  # several cases on the same engine: the incremental reset must leave nothing behind
        facts = case_facts(build(data), V)
        assert firings(engine, facts) == firings(STOCK, [stock_fact(f) for f in facts])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case_dicts())
def test_with_experta_logging_on_the_engine_fires_the_same(data: dict[str, Any]) -> None:
    """When experta's MATCH logger wants detail, the nodes test through experta's own checks."""
    facts = case_facts(build(data), V)
    quiet = firings(engine_for(KB), facts)
    logger = logging.getLogger("experta.watchers.MATCH")
    level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        loud = firings(engine_for(KB), facts)
        assert HashedAlphaNode.verbose
    finally:
        logger.setLevel(level)
    assert loud == quiet


plain = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=5))
values = st.one_of(plain, st.tuples(plain, plain), st.lists(plain, max_size=3),
                   st.dictionaries(st.text(max_size=3), plain, max_size=2), st.frozensets(st.integers(), max_size=3))


@given(st.dictionaries(st.sampled_from(["a", "b", "condition", "index"]), values, max_size=4))
def test_a_light_fact_is_the_fact_experta_builds(fields: dict[str, Any]) -> None:
    light = F.Diagnosis(**fields)
    stock = stock_fact(light)
    assert isinstance(light, Fact)
    assert light == stock and hash(light) == hash(stock)
    assert [(k, type(v)) for k, v in light.items()] == [(k, type(v)) for k, v in stock.items()]
    assert light.copy() == stock.copy()


def test_a_fact_with_a_list_goes_through_experta_s_freeze() -> None:
    fact = F.Finding(finding="paresthesia", sites=["a", "b"])
    cls: Any = type(fact)
    stock = cls.__new__(cls)
    ExpertaFact.__init__(stock, finding="paresthesia", sites=["a", "b"])
    assert type(fact["sites"]) is type(stock["sites"]) is not list
    assert fact == stock and hash(fact) == hash(stock)


def test_rules_testing_the_same_condition_share_one_predicate_and_membership_is_hashed() -> None:
    assert condition_predicate({"in": ["a", "b"]}) is condition_predicate({"in": ["a", "b"]})
    assert condition_predicate({"in": ["a", "b"]}).members == frozenset({"a", "b"})
    assert not hasattr(condition_predicate({"in": ["a"], "if_absent": True}), "members")
    assert condition_predicate({"lt": 3}) is not condition_predicate({"lt": 3.5})


def test_a_fact_meets_only_the_literal_tests_its_values_pass() -> None:
    """The type node of diagnoses finds the children testing ``condition`` by value."""
    matcher = engine_for(KB).matcher
    (node,) = matcher.by_type[F.Diagnosis]
    table = node.index["condition"]
    indexed = sum(len(children) for children in table.values())
    assert len(table) > 30 and indexed >= len(table)
    assert all(child.matcher.what == "condition" for children in table.values() for child in children)
