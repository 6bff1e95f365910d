"""Irritable adhesive capsulitis (clinical-v2.1 §2.7, Kelley 2013): dose follows irritability, and
no deep work reaches the painful shoulder from the latissimus dorsi either, whatever is requested."""

from __future__ import annotations

import pytest

from medmassage_rules.kb import KnowledgeBase

from .test_conditions_v2 import plan, work_pairs

DEEP = ["deep_tissue", "trigger_point_therapy", "neuromuscular_therapy"]


@pytest.mark.parametrize("diagnosis", [{"acuity": "acute"}, {"acuity": "subacute"},
                                       {"acuity": "chronic", "severity": "severe"}])
def test_the_latissimus_of_an_irritable_shoulder_gets_light_work_only(kb: KnowledgeBase, diagnosis: dict) -> None:
    result = plan(kb, {"id": "c", "diagnoses": [{"condition": "adhesive_capsulitis", "side": "left", **diagnosis}],
                       "prescription": {"modalities": DEEP}})
    work = [w for w in work_pairs(result) if w["target"] == "latissimus_dorsi"]
    assert work and all(w["pressure"] == "light" and w["side"] == "left" for w in work)


def test_a_chronic_mild_capsulitis_keeps_its_latissimus_uncapped(kb: KnowledgeBase) -> None:
    result = plan(kb, {"id": "c", "diagnoses": [{"condition": "adhesive_capsulitis", "side": "left",
                                                 "acuity": "chronic"}]})
    assert not [c for c in result["caps"] if c.get("target") == "latissimus_dorsi"]
    assert {w["pressure"] for w in work_pairs(result) if w["target"] == "latissimus_dorsi"} >= {"moderate"}
