"""Every case in facts/ with an expect block is a test (expected-result files drive tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from medmassage_rules.batch.expectations import check_expectations
from medmassage_rules.cases.loading import load_case
from medmassage_rules.kb.knowledge_base import PLANNER_RULES
from medmassage_rules.kb.loading import load_knowledge_base
from medmassage_rules.planning.pipeline import plan_case

from .conftest import FACTS

_KB = load_knowledge_base()
CASES = sorted(p for p in FACTS.glob("*.y*ml") if load_case(p, _KB.vocabulary).expect is not None)


@pytest.mark.parametrize("path", CASES, ids=lambda p: Path(p).stem)
def test_case_meets_its_expectations(path: Path, kb) -> None:
    case = load_case(path, kb.vocabulary)
    plan = plan_case(case, kb).plan
    assert check_expectations(case.expect, plan, kb.vocabulary) == []


def test_every_because_names_a_rule_that_fired(kb) -> None:
    for path in CASES:
        result = plan_case(load_case(path, kb.vocabulary), kb)
        fired = {f.rule_id for f in result.trace}
        d = result.plan.to_dict()
        named = [r for m in d["modalities"] for r in m["because"]]
        named += [r for t in d["targets"] for r in t["because"]]
        named += [r for b in d["blocked"]["modalities"] + d["blocked"]["areas"] for r in b["because"]]
        named += [r for ref in d["referrals"] for r in ref["because"]]
        named += [r for c in d["caps"] for r in c["because"]]
        assert set(named) - {rule.id for rule in PLANNER_RULES} <= fired, path.name
        assert set(named) <= set(kb.by_id)  # the planner's own rules are in by_id too
