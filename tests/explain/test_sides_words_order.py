"""Sides, words and order, checked on the public cases: a one-sided finding's target keeps its side,
facts are worded as what they are, a handout has no seed header, an area group's segments are adjacent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from medmassage_rules.cases.loading import validate_case
from medmassage_rules.kb.wording import Words
from medmassage_rules.planning.pipeline import plan_case
from medmassage_rules.render.markdown import render_markdown

from ..conftest import FACTS

PUBLIC = sorted(FACTS.glob("p*.yaml"))


def _plan(data: dict[str, Any], kb):
    return plan_case(validate_case(data, "test", kb.vocabulary), kb)


def _public(name: str) -> dict[str, Any]:
    data = yaml.safe_load((FACTS / name).read_text())
    data.pop("expect", None)
    return data


def test_a_one_sided_trigger_point_keeps_its_side_beside_a_diagnosis_without_one(kb) -> None:
    data = _public("p11-pregnancy-low-back.yaml")   # low back pain, no side
    plain = _plan(data, kb).plan
    assert {t.side for t in plain.targets if t.id == "quadratus_lumborum"} == {None}
    data["findings"] = [*data.get("findings", []),
                        {"finding": "trigger_point", "target": "quadratus_lumborum", "side": "right"}]
    plan = _plan(data, kb).plan
    ql = [t for t in plan.targets if t.id == "quadratus_lumborum"]
    assert [t.side for t in ql] == ["right"]
    assert all(w.side == "right" for s in plan.segments for w in s.work if w.target == "quadratus_lumborum")


def test_an_axial_block_still_covers_a_one_sided_target(kb) -> None:
    data = _public("p11-pregnancy-low-back.yaml")
    data["findings"] = [{"finding": "trigger_point", "target": "quadratus_lumborum", "side": "right"}]
    data["history"] = [*data.get("history", []), {"item": "recent_surgery", "area": "lower_back", "side": "left",
                                                  "days_since": 3}]
    plan = _plan(data, kb).plan
    assert "lower_back" in kb.vocabulary.axial_areas
    assert "quadratus_lumborum" not in {t.id for t in plan.targets}


def test_a_side_given_by_a_diagnosis_is_not_widened_by_a_finding_without_one(kb) -> None:
    p38 = _plan(_public("p38-tmd-pterygoid-scm.yaml"), kb).plan   # a right TMD beside a headache of both sides
    sides = {t.id: t.side for t in p38.targets}
    assert sides["masseter"] == "right" and sides["suboccipitals"] == "bilateral"


@pytest.mark.parametrize("path", PUBLIC, ids=lambda p: p.stem)
def test_an_area_groups_segments_are_adjacent(path: Path, kb) -> None:
    plan = _plan(_public(path.name), kb).plan
    groups = [s.group for s in plan.segments]
    runs = [g for i, g in enumerate(groups) if i == 0 or groups[i - 1] != g]
    assert len(runs) == len(set(runs)), groups


def test_history_items_are_worded_as_what_they_are(kb) -> None:
    w = Words(kb.vocabulary)
    every_flag = {"active": True, "decompensated": False, "high_risk": False, "fragility_fracture": False}
    assert w.describe_fact("history", {"item": "pregnancy", "weeks": 30, **every_flag}) == "pregnant, 30 weeks"
    assert w.describe_fact("history", {"item": "malignancy", "area": "abdomen", **every_flag}) == \
        "an active malignancy at the abdomen"
    assert w.describe_fact("history", {"item": "heart_failure", **every_flag}) == "heart failure, compensated"
    assert "compensated" not in w.describe_fact("history", {"item": "osteoporosis", **every_flag})


@pytest.mark.parametrize("name", ["p11-pregnancy-low-back.yaml", "p26-malignancy-no-site-cleared.yaml"])
def test_the_handout_words_the_public_cases_history_plainly(name: str, kb) -> None:
    result = _plan(_public(name), kb)
    text = render_markdown(result, kb)
    assert "seed wording" not in text
    assert "history of pregnancy" not in text
    if "pregnan" in name:
        assert "pregnant" in text
    assert ", active, compensated" not in text


def test_common_vitamins_and_supplements_are_known_and_change_nothing(kb) -> None:
    data = _public("p01-cts-mild-right.yaml")
    bare = _plan(data, kb).plan
    data["medications"] = ["vitamin B12", "vitamin D3", "vitamin C", "magnesium", "fish oil", "multivitamin",
                           "calcium", "folic acid", "vitamin E", "zinc"]
    plan = _plan(data, kb).plan
    assert plan.unrecognised_medications == ()
    assert not any("not checked" in a or "confirm its class" in a for a in plan.advisories)
    assert (plan.status, [m.id for m in plan.modalities]) == (bare.status, [m.id for m in bare.modalities])
