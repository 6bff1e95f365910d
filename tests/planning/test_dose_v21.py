"""clinical-v2.1 §5 and §7: the session ceiling from the evidence dose, exercise first, and advisories
by kind (delivery advisories only on a plan that treats)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from medmassage_rules.cases.loading import validate_case
from medmassage_rules.kb.knowledge_base import KnowledgeBase
from medmassage_rules.kb.loading import iter_problems
from medmassage_rules.planning.pipeline import plan_case
from medmassage_rules.planning.plan import Plan
from medmassage_rules.planning.session_time import evidence_dose, session_ceiling

from ..conftest import ROOT

UNDER_DOSE = "may under-dose"
ADJUNCT = "massage is an adjunct to exercise for this condition"
EXERCISE_FIRST = ("knee_osteoarthritis", "hip_osteoarthritis", "patellofemoral_pain", "lateral_epicondylitis",
                  "achilles_tendinopathy", "rotator_cuff_tendinopathy", "sciatica")


def plan_of(kb: KnowledgeBase, *diagnoses: dict[str, Any], **more: Any) -> Plan:
    data = {"id": "t", "diagnoses": list(diagnoses), **more}
    return plan_case(validate_case(data, "t", kb.vocabulary), kb).plan


def chronic(condition: str, **more: Any) -> dict[str, Any]:
    return {"condition": condition, "acuity": "chronic", **more}


# -- §5.1 the evidence dose ----------------------------------------------------------------------------
@pytest.mark.parametrize(("diagnoses", "expected"), [
    ([], 30),
    ([("neck_pain", "chronic")], 60),
    ([("neck_pain", "acute")], 30),
    ([("neck_pain", "subacute")], 30),
    ([("carpal_tunnel_syndrome", "chronic")], 30),
    ([("generalised_anxiety", "chronic")], 45),
    ([("generalised_anxiety", "chronic"), ("carpal_tunnel_syndrome", "chronic")], 45),
    ([("neck_pain", "subacute"), ("generalised_anxiety", "chronic")], 45),
    ([("generalised_anxiety", "chronic"), ("knee_osteoarthritis", "chronic")], 60),
    ([("low_back_pain", "chronic")], 90),   # a dose over 60 is held at 60
])
def test_the_evidence_dose_is_the_largest_among_chronic_diagnoses(diagnoses: list[tuple[str, str]],
                                                                   expected: int) -> None:
    doses = {"neck_pain": 60, "generalised_anxiety": 45, "knee_osteoarthritis": 60, "low_back_pain": 90}
    assert evidence_dose(diagnoses, doses) == min(expected, 60)


def test_the_prescription_and_every_limit_set_the_ceiling() -> None:
    assert session_ceiling(None, 60, []) == 60
    assert session_ceiling(45, 60, []) == 45
    assert session_ceiling(90, 30, []) == 90          # the physician's order, not the dose
    assert session_ceiling(None, 60, [30]) == 30      # reduced tolerance
    assert session_ceiling(None, 60, [30, 15]) == 15  # a migraine attack


def test_the_shipped_doses_cite_the_trials(kb: KnowledgeBase) -> None:
    expected = {"neck_pain": (60, 2014), "low_back_pain": (60, 2011), "knee_osteoarthritis": (60, 2012),
                "generalised_anxiety": (45, 2016)}
    got = {c: (d.dose_minutes, kb.reference_meta[d.citation].year) for c, d in kb.doses.items()}
    assert got == expected
    assert all(kb.reference_meta[d.citation].kind == "rct" for d in kb.doses.values())


@pytest.mark.parametrize(("diagnosis", "minutes"), [
    (chronic("neck_pain"), 60),
    (chronic("low_back_pain"), 60),
    (chronic("knee_osteoarthritis", side="left"), 60),
    (chronic("generalised_anxiety"), 45),
    ({"condition": "neck_pain", "onset_days": 400}, 60),   # chronic by onset
    ({"condition": "neck_pain"}, 60),                      # chronic by the v1 default
    ({"condition": "neck_pain", "acuity": "subacute"}, 30),
    (chronic("carpal_tunnel_syndrome", side="right"), 30),
])
def test_without_prescribed_minutes_the_session_follows_the_dose(kb: KnowledgeBase, diagnosis: dict[str, Any],
                                                                 minutes: int) -> None:
    plan = plan_of(kb, diagnosis)
    assert plan.minutes_ceiling == minutes and plan.total_minutes == minutes


def test_a_chronic_dose_stands_beside_an_acute_diagnosis_only_when_tolerance_allows(kb: KnowledgeBase) -> None:
    assert plan_of(kb, chronic("neck_pain"), {"condition": "carpal_tunnel_syndrome", "acuity": "subacute"}
                   ).minutes_ceiling == 60
    assert plan_of(kb, chronic("neck_pain"), {"condition": "carpal_tunnel_syndrome", "acuity": "acute"}
                   ).minutes_ceiling == 30  # an acute condition lowers tolerance (v2 §4)


@pytest.mark.parametrize(("more", "ceiling"), [
    ({"patient": {"age": 80}}, 30),
    ({"patient": {"age": 40, "frail": True}}, 30),
    ({"medications": ["chemotherapy"], "clearances": ["oncology"]}, 30),
    ({"findings": [{"finding": "migraine_attack_in_progress"}]}, 15),
    ({"prescription": {"max_minutes": 45}}, 45),
    ({"prescription": {"max_minutes": 90}}, 90),
])
def test_reduced_tolerance_and_the_prescription_still_rule(kb: KnowledgeBase, more: dict[str, Any],
                                                           ceiling: int) -> None:
    plan = plan_of(kb, chronic("neck_pain"), **more)
    assert plan.minutes_ceiling == ceiling and plan.total_minutes <= ceiling


def test_the_under_dose_note_only_below_the_dose(kb: KnowledgeBase) -> None:
    full = plan_of(kb, chronic("neck_pain"))
    assert full.total_minutes == 60 and not any(UNDER_DOSE in a for a in full.advisories)
    for more in ({"prescription": {"max_minutes": 30}}, {"patient": {"age": 80}}):
        short = plan_of(kb, chronic("neck_pain"), **more)
        assert short.total_minutes < 60 and any(UNDER_DOSE in a for a in short.advisories), short.advisories
    knee = plan_of(kb, chronic("knee_osteoarthritis"), prescription={"max_minutes": 30})
    assert any("knee osteoarthritis trial" in a and UNDER_DOSE in a for a in knee.advisories)
    assert not any(UNDER_DOSE in a for a in plan_of(kb, chronic("knee_osteoarthritis")).advisories)


def test_a_dose_file_with_an_unknown_condition_or_citation_is_refused(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    (rules / "doses-extra.yaml").write_text(
        "doses:\n"
        "  - {condition: neck_pian, dose_minutes: 60, citation: R20}\n"
        "  - {condition: migraine, dose_minutes: 60, citation: NOSUCH}\n"
        "  - {condition: neck_pain, dose_minutes: 60, citation: R20}\n"
        "  - {condition: fibromyalgia, dose_minutes: 90, citation: R20}\n", encoding="utf-8")
    got = {(p.code, p.path) for p in iter_problems(rules)}
    assert ("unknown_id", "dose neck_pian") in got
    assert ("unknown_citation", "") in got
    assert ("duplicate_dose", "dose neck_pain") in got
    assert ("invalid_value", "dose 3: dose_minutes") in got  # 30..60


# -- §5.2 exercise first -------------------------------------------------------------------------------
def referrals(plan: Plan) -> set[tuple[str, str]]:
    return {(r.to, r.urgency) for r in plan.referrals}


@pytest.mark.parametrize("condition", EXERCISE_FIRST)
def test_without_an_exercise_programme_a_physical_therapy_referral_goes_beside_the_treatment(
        kb: KnowledgeBase, condition: str) -> None:
    without = plan_of(kb, chronic(condition), patient={"age": 50})
    with_programme = plan_of(kb, chronic(condition), patient={"age": 50}, history=[{"item": "exercise_program"}])
    assert without.treats and ("physical_therapy", "routine") in referrals(without)
    assert ADJUNCT in without.advisories
    assert ("physical_therapy", "routine") not in referrals(with_programme)
    assert ADJUNCT not in with_programme.advisories
    assert without.status == with_programme.status  # the referral never changes the status


@pytest.mark.parametrize(("diagnosis", "referred"), [
    (chronic("low_back_pain"), True),
    (chronic("neck_pain"), True),
    ({"condition": "low_back_pain"}, True),            # chronic by default
    ({"condition": "low_back_pain", "acuity": "acute"}, False),
    ({"condition": "neck_pain", "acuity": "subacute"}, False),
    ({"condition": "sciatica", "acuity": "subacute"}, True),
    (chronic("carpal_tunnel_syndrome"), False),
])
def test_chronic_governs_back_and_neck_pain(kb: KnowledgeBase, diagnosis: dict[str, Any], referred: bool) -> None:
    plan = plan_of(kb, diagnosis, patient={"age": 40})
    assert (("physical_therapy", "routine") in referrals(plan)) is referred


@pytest.mark.parametrize(("age", "referred"), [(15, False), (16, True), (None, True)])
def test_exercise_first_from_age_16(kb: KnowledgeBase, age: int | None, referred: bool) -> None:
    plan = plan_of(kb, chronic("patellofemoral_pain"), **({"patient": {"age": age}} if age is not None else {}))
    assert (("physical_therapy", "routine") in referrals(plan)) is referred


def test_no_exercise_referral_on_a_plan_that_does_not_treat(kb: KnowledgeBase) -> None:
    plan = plan_of(kb, chronic("knee_osteoarthritis"), patient={"age": 60}, vitals={"temperature_c": 39.0})
    assert not plan.treats
    assert ("physical_therapy", "routine") not in referrals(plan) and ADJUNCT not in plan.advisories


def test_every_treatment_claim_of_the_exercise_first_conditions_says_alongside_exercise(kb: KnowledgeBase) -> None:
    named = set(EXERCISE_FIRST) | {"low_back_pain", "neck_pain"}
    for rule in kb.rules:
        conditions: set[str] = set()
        for kind, fields in rule.positive:
            tested = (fields or {}).get("condition") if kind == "diagnosis" else None
            conditions |= {tested} if isinstance(tested, str) else set((tested or {}).get("in", ()))
        if rule.then.propose is None or not conditions or not conditions <= named:
            continue
        if any(f.get("acuity") in ("acute", {"in": ["acute", "subacute"]}) for _, f in rule.positive if f):
            continue  # a claim about acute pain only (massage as a first treatment for acute low back pain)
        assert "alongside exercise" in rule.description, rule.id


# -- §7 advisories by kind -----------------------------------------------------------------------------
def test_delivery_advisories_only_on_a_plan_that_treats(kb: KnowledgeBase) -> None:
    pregnant = {"history": [{"item": "pregnancy", "weeks": 24}], "patient": {"age": 30, "sex": "female"},
                "clearances": ["obstetric"]}
    treated = plan_of(kb, chronic("neck_pain"), **pregnant)
    assert treated.treats and "pregnancy from 20 weeks: side-lying positioning" in treated.advisories
    deferred = plan_of(kb, chronic("neck_pain"), **{**pregnant, "history": [
        *pregnant["history"], {"item": "contagious_skin_condition"}]})
    assert deferred.status == "defer"
    assert "pregnancy from 20 weeks: side-lying positioning" not in deferred.advisories
    assert any(a.startswith("contagious skin condition: defer") for a in deferred.advisories)  # status stays


def test_action_advisories_stay_on_a_plan_that_does_not_treat(kb: KnowledgeBase) -> None:
    plan = plan_of(kb, chronic("neck_pain"), vitals={"temperature_c": 39.0},
                   history=[{"item": "malignancy", "active": True}], clearances=["oncology"])
    assert not plan.treats
    assert any("record the tumour site" in a for a in plan.advisories), plan.advisories


def test_every_rule_advisory_has_a_kind(kb: KnowledgeBase) -> None:
    kinds = {rule.advisory_kind for rule in kb.rules if rule.then.advisory}
    assert kinds <= {"delivery", "status", "action"} and {"delivery", "status", "action"} <= kinds


def test_the_plan_gives_each_advisory_its_kind(kb: KnowledgeBase) -> None:
    plan = plan_of(kb, chronic("knee_osteoarthritis"), {"icd10": "E11.42"}, patient={"age": 66}, as_of="2025-06-01",
                   medications=[{"name": "warfarin", "ordered": "2023-02-01"}, "zorblax"])
    kinds = dict(zip(plan.advisories, plan.advisory_kinds, strict=True))
    assert kinds[ADJUNCT] == "delivery"
    assert next(k for a, k in kinds.items() if a.startswith("E11.42")) == "status"
    assert next(k for a, k in kinds.items() if "confirm it is current" in a) == "action"
    assert next(k for a, k in kinds.items() if a.startswith("medication not checked: zorblax")) == "action"
    assert next(k for a, k in kinds.items() if a.startswith("evidence caveat")) == "delivery"
    assert plan.to_dict()["advisory_kinds"] == list(plan.advisory_kinds)


def test_why_minutes_names_the_evidence_dose(tmp_path: Path) -> None:
    from ..helpers import invoke

    path = tmp_path / "c.yaml"
    path.write_text("id: x\ndiagnoses: [{condition: knee_osteoarthritis, acuity: chronic}]\n", encoding="utf-8")
    result = invoke("explain", path, "--why", "minutes")
    assert result.exit_code == 0, result.stderr
    assert "ceiling 60 minutes: the evidence dose of chronic knee osteoarthritis, 60 (PERLMAN2012" in result.stdout
    path.write_text("id: x\ndiagnoses: [{condition: carpal_tunnel_syndrome, acuity: chronic}]\n", encoding="utf-8")
    assert "no chronic diagnosis has an evidence dose" in invoke("explain", path, "--why", "minutes").stdout
