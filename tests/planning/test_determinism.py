"""The same case gives the same plan, byte for byte: whatever the order of its lists, and
whatever the hash seed of the process (experta's own agenda order depends on it)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medmassage_rules.render.json import render_json

from ..conftest import FACTS, ROOT
from ..helpers import SINGLE_CASE_FILES, run_checkout_cli
from ..strategies import case_dicts, plan

SHUFFLED = ("diagnoses", "findings", "history", "medications", "clearances")
HASH_SEEDS = ("0", "1", "2", "3")
SEED_CASES = ("p05-fibromyalgia-warfarin.yaml", "p13-runner-competing.yaml", "p14-lymphedema-arm-cleared.yaml")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case_dicts(), st.data())
def test_shuffled_lists_give_the_same_plan(data: dict[str, Any], draw: st.DataObject) -> None:
    shuffled = dict(data)
    for key in SHUFFLED:
        if key in data:
            shuffled[key] = draw.draw(st.permutations(data[key]), label=key)
    prescription = data.get("prescription", {})
    shuffled["prescription"] = {key: draw.draw(st.permutations(value), label=f"prescription.{key}")
                                if isinstance(value, list) else value for key, value in prescription.items()}
    assert render_json(plan(shuffled)) == render_json(plan(data))


@pytest.mark.parametrize("name", SEED_CASES)
def test_recommend_is_the_same_under_every_hash_seed(name: str) -> None:
    outputs = set()
    for seed in HASH_SEEDS:
        proc = run_checkout_cli(["recommend", FACTS / name, "--format", "json"], env={"PYTHONHASHSEED": seed})
        assert proc.returncode == 0, proc.stderr
        outputs.add(proc.stdout)
    assert len(outputs) == 1


PLAN_EVERY_FACT = """
import sys
from medmassage_rules.cases.loading import load_case
from medmassage_rules.kb.loading import load_knowledge_base
from medmassage_rules.planning.pipeline import plan_case
from medmassage_rules.render.json import render_json
kb = load_knowledge_base()
for path in sys.argv[1:]:
    print(render_json(plan_case(load_case(path, kb.vocabulary), kb)))
"""


def test_every_fact_plans_the_same_under_every_hash_seed() -> None:
    """Every case in facts/, planned in one process per seed (engine reused across cases)."""
    outputs = set()
    for seed in HASH_SEEDS:
        proc = subprocess.run([sys.executable, "-c", PLAN_EVERY_FACT, *map(str, SINGLE_CASE_FILES)], cwd=ROOT,
                              env={**os.environ, "PYTHONHASHSEED": seed}, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        outputs.add(proc.stdout)
    assert len(outputs) == 1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case_dicts())
def test_an_engine_of_the_rules_a_case_can_fire_fires_as_the_whole_one(data: dict[str, Any]) -> None:
    """`recommend` plans its one case with only the rules the case can fire: the same firings, in
    the same order, with the same conclusions, as the engine of every rule."""
    from medmassage_rules.engine.cache import engine_for, rules_for
    from medmassage_rules.engine.compiler import compile_engine
    from medmassage_rules.planning.case_facts import case_facts

    from ..strategies import KB, build

    facts = case_facts(build(data), KB.vocabulary)
    subset = rules_for(KB, facts)
    assert len(subset) < len(KB.rules)
    whole_facts, whole_trace = engine_for(KB).infer(facts)
    some_facts, some_trace = compile_engine(KB, subset)().infer(facts)
    assert [f.rule_id for f in some_trace] == [f.rule_id for f in whole_trace]
    assert [dict(f) for f in some_facts] == [dict(f) for f in whole_facts]


def test_the_first_plan_of_a_process_is_the_plan_of_the_whole_engine() -> None:
    """In a fresh process the first case is planned by the narrowed engine, the second by the
    whole one: the two JSON plans of one case are identical."""
    case = FACTS / "p13-runner-competing.yaml"
    code = ("import sys; from medmassage_rules.cases.loading import load_case; "
            "from medmassage_rules.kb.loading import load_knowledge_base; "
            "from medmassage_rules.planning.pipeline import plan_case; "
            "from medmassage_rules.render.json import render_json; "
            "kb = load_knowledge_base(); c = load_case(sys.argv[1], kb.vocabulary); "
            "a = render_json(plan_case(c, kb)); b = render_json(plan_case(c, kb)); "
            "print(a == b)")
    out = subprocess.run([sys.executable, "-c", code, str(case)], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.strip() == "True", out.stderr
