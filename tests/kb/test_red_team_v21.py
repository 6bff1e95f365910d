"""An independent clinical red team's cases for clinical-v2.1 (facts/e18-red-team-independent.jsonl).

Every case there states what the spec says its plan must be (status, referral recipient and
urgency, areas and targets kept free of work, pressure caps, minutes); facts/e18-red-team-independent.md
names the spec row and the trap of each. Each case is a test, and the osteoporosis cases also
check that no advisory calls a possible vertebral fragility fracture a stress fracture (§1.5).
"""

from __future__ import annotations

import re

import pytest

from medmassage_rules.batch.expectations import check_expectations
from medmassage_rules.cases.loading import LoadedCase, iter_cases
from medmassage_rules.cases.models import Case
from medmassage_rules.kb.loading import load_knowledge_base
from medmassage_rules.planning.pipeline import plan_case

from ..conftest import FACTS

RED_TEAM = FACTS / "e18-red-team-independent.jsonl"
_KB = load_knowledge_base()
LOADED: list[LoadedCase] = list(iter_cases(RED_TEAM, _KB.vocabulary))


def _case(loaded: LoadedCase) -> Case:
    assert loaded.error is None, f"{loaded.source}: {loaded.error}"
    assert loaded.case is not None
    return loaded.case


def test_the_set_is_whole_and_described() -> None:
    ids = [_case(c).id for c in LOADED]
    assert len(ids) >= 80 and len(set(ids)) == len(ids)
    described = (FACTS / "e18-red-team-independent.md").read_text(encoding="utf-8")
    assert [i for i in ids if f"`{i}`" not in described] == []


@pytest.mark.parametrize("loaded", LOADED, ids=lambda c: c.source.rsplit(":", 1)[-1])
def test_red_team_case_meets_the_spec(loaded: LoadedCase, kb) -> None:
    case = _case(loaded)
    assert case.expect is not None
    plan = plan_case(case, kb).plan
    assert check_expectations(case.expect, plan, kb.vocabulary) == [], case.id


@pytest.mark.parametrize("loaded", [c for c in LOADED if "osteoporosis" in _case(c).id],
                         ids=lambda c: _case(c).id)
def test_a_tender_osteoporotic_spine_is_never_called_a_stress_fracture(loaded: LoadedCase, kb) -> None:
    plan = plan_case(_case(loaded), kb).plan.to_dict()
    text = " ".join(str(a) for a in plan["advisories"]).lower()
    assert "stress fracture" not in text
    if any(r["urgency"] == "routine" and r["to"] == "physician" for r in plan["referrals"]):
        assert "fragility fracture" in text


@pytest.mark.parametrize("loaded", LOADED, ids=lambda c: c.source.rsplit(":", 1)[-1])
def test_a_dose_note_never_misstates_the_session_length(loaded: LoadedCase, kb) -> None:
    """§5.1: a "may under-dose" note that names a session length names the plan's own."""
    plan = plan_case(_case(loaded), kb).plan.to_dict()
    minutes = plan["session"]["total_minutes"]
    for advisory in plan["advisories"]:
        for named in re.findall(r"a (\d+)-minute session may under-dose", str(advisory)):
            assert int(named) == minutes, (minutes, advisory)


def test_a_fifteen_minute_knee_plan_is_not_called_a_thirty_minute_session(kb) -> None:
    """Both thighs blocked by an acute hamstring strain leave chronic knee osteoarthritis 15 minutes;
    the knee dose note compares that with the trial's 60 minutes."""
    case = next(_case(c) for c in LOADED if _case(c).id.endswith("hamstring-bilateral-acute"))
    plan = plan_case(case, kb).plan.to_dict()
    assert plan["session"]["total_minutes"] == 15
    notes = [str(a) for a in plan["advisories"] if "may under-dose" in str(a)]
    assert notes and all("30-minute session" not in n for n in notes)
    assert any("shorter than 60 minutes" in n for n in notes)
