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

from .conftest import FACTS, ROOT
from .helpers import SINGLE_CASE_FILES, run_checkout_cli
from .strategies import case_dicts, plan

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
from medmassage_rules.cases import load_case
from medmassage_rules.knowledge import load_knowledge_base
from medmassage_rules.planner import plan_case
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
