"""The red-flag rows of clinical-v2.1 §1.1-§1.6, §2.1 and §2.6, one test per row and boundary.

Each case is the smallest one that makes the row decide; the assertions name the status, the
recipient of the referral and, where the row leaves treatment, the areas it keeps free of work.
"""

from __future__ import annotations

from typing import Any

import pytest

from medmassage_rules.cases.models import ACUTE_BY_DEFAULT
from medmassage_rules.errors import CaseError
from medmassage_rules.planning.results import PlanResult

from ..strategies import KB, V, plan


def case(*diagnoses: dict[str, Any], **rest: Any) -> dict[str, Any]:
    return {"id": "t", "diagnoses": list(diagnoses) or [{"condition": "neck_pain", "acuity": "chronic"}], **rest}


def referral(result: PlanResult) -> set[tuple[str, str]]:
    return {(r.to, r.urgency) for r in result.plan.referrals}


def worked_areas(result: PlanResult) -> set[str]:
    return {V.area_of(w.target) for s in result.plan.segments for w in s.work}


NECK = {"condition": "neck_pain", "acuity": "chronic"}
DYSPNEA = {"finding": "dyspnea"}
CLEARED = [{"id": "physician", "for": "dyspnea"}]


# -- §1.1 blood pressure after birth -----------------------------------------------------------------------
@pytest.mark.parametrize(("days", "urgent"), [(12, True), (41, True), (42, False), (None, True)])
def test_raised_bp_within_six_weeks_of_birth(days: int | None, urgent: bool) -> None:
    item = {"item": "postpartum", **({"days_since": days} if days is not None else {})}
    r = plan(case(NECK, history=[item], vitals={"systolic": 148, "diastolic": 95}))
    assert (r.plan.status == "refer_urgent") is urgent
    assert (("obstetric", "urgent") in referral(r)) is urgent


@pytest.mark.parametrize("who", ["obstetric", "physician"])
def test_after_birth_an_obstetric_or_physician_clearance_lifts_the_raised_bp_row(who: str) -> None:
    r = plan(case(NECK, history=[{"item": "postpartum", "days_since": 10}], vitals={"systolic": 145},
                  clearances=[{"id": who, "for": "blood_pressure"}]))
    assert r.plan.status in ("treat", "treat_with_precautions")


def test_in_pregnancy_a_physician_clearance_does_not_lift_the_raised_bp_row() -> None:
    r = plan(case(NECK, history=[{"item": "pregnancy", "weeks": 30}], vitals={"systolic": 145},
                  clearances=[{"id": "physician", "for": "blood_pressure"}]))
    assert r.plan.status == "refer_urgent" and ("obstetric", "urgent") in referral(r)


def test_severe_bp_after_birth_is_an_emergency_whatever_the_clearance() -> None:
    r = plan(case(NECK, history=[{"item": "postpartum", "days_since": 5}], vitals={"systolic": 165},
                  clearances=[{"id": "physician", "for": "blood_pressure"}, "obstetric"]))
    assert r.plan.status == "refer_urgent" and ("emergency_care", "urgent") in referral(r)


def test_raised_bp_with_headache_after_birth_goes_to_the_obstetric_team_despite_a_clearance() -> None:
    r = plan(case({"condition": "tension_type_headache"}, history=[{"item": "postpartum"}],
                  vitals={"diastolic": 92}, clearances=[{"id": "physician", "for": "blood_pressure"}]))
    assert r.plan.status == "refer_urgent" and ("obstetric", "urgent") in referral(r)


# -- §1.2 breathlessness -------------------------------------------------------------------------------------
FIRST_ROW = [
    ("left leg edema", dict(findings=[DYSPNEA, {"finding": "edema", "area": "lower_leg", "side": "left"}])),
    ("side-less leg edema", dict(findings=[DYSPNEA, {"finding": "edema", "area": "knee"}])),
    ("edema on the right calf muscle", dict(findings=[DYSPNEA, {"finding": "edema", "target": "gastrocnemius",
                                                                 "side": "right"}])),
    ("left edema, right-leg lymphedema", dict(findings=[DYSPNEA, {"finding": "edema", "area": "thigh", "side": "left"}],
                                              extra=[{"condition": "lymphedema", "area": "thigh", "side": "right"}])),
    ("acute thoracic pain", dict(findings=[DYSPNEA], extra=[{"condition": "thoracic_pain", "acuity": "acute"}])),
    ("subacute thoracic pain", dict(findings=[DYSPNEA], extra=[{"condition": "thoracic_pain", "onset_days": 20}])),
    ("upper back pain, no back diagnosis", dict(findings=[DYSPNEA, {"finding": "pain", "area": "upper_back"}])),
    ("ankle fracture day 20", dict(findings=[DYSPNEA], history=[{"item": "recent_fracture", "area": "ankle_foot",
                                                                  "days_since": 20}])),
    ("rib fracture day 41", dict(findings=[DYSPNEA], history=[{"item": "recent_fracture", "area": "chest",
                                                                "days_since": 41}])),
    ("fracture without a site", dict(findings=[DYSPNEA], history=[{"item": "recent_fracture"}])),
]


@pytest.mark.parametrize(("label", "facts"), FIRST_ROW, ids=[f[0] for f in FIRST_ROW])
def test_first_dyspnea_row_whatever_the_clearance(label: str, facts: dict[str, Any]) -> None:
    extra = facts.pop("extra", [])
    r = plan(case(NECK, *extra, clearances=[*CLEARED, "vascular", "cardiac"], **facts))
    assert r.plan.status == "refer_urgent" and ("emergency_care", "urgent") in referral(r), label


def test_side_less_leg_edema_asks_for_the_side() -> None:
    r = plan(case(NECK, findings=[DYSPNEA, {"finding": "edema", "area": "lower_leg"}]))
    assert any("record the side of the leg swelling" in a for a in r.plan.advisories)


SECOND_ROW = [
    ("left edema explained by left-leg lymphedema",
     dict(findings=[DYSPNEA, {"finding": "edema", "area": "lower_leg", "side": "left"}],
          extra=[{"condition": "lymphedema", "area": "lower_leg", "side": "left"}])),
    ("bilateral leg edema", dict(findings=[DYSPNEA, {"finding": "edema", "area": "ankle_foot", "side": "bilateral"}])),
    ("arm edema", dict(findings=[DYSPNEA, {"finding": "edema", "area": "forearm", "side": "left"}])),
    ("wrist fracture day 20", dict(findings=[DYSPNEA], history=[{"item": "recent_fracture", "area": "wrist_hand",
                                                                  "days_since": 20}])),
    ("postpartum day 20", dict(findings=[DYSPNEA], history=[{"item": "postpartum", "days_since": 20}])),
    ("postpartum, days not given", dict(findings=[DYSPNEA], history=[{"item": "postpartum"}])),
    ("upper back pain in chronic scoliosis back pain",
     dict(findings=[DYSPNEA, {"finding": "pain", "area": "upper_back"}],
          extra=[{"condition": "scoliosis_back_pain", "acuity": "chronic"}])),
]


@pytest.mark.parametrize(("label", "facts"), SECOND_ROW, ids=[f[0] for f in SECOND_ROW])
def test_second_dyspnea_row_urgent_unless_cleared(label: str, facts: dict[str, Any]) -> None:
    extra = facts.pop("extra", [])
    assert plan(case(NECK, *extra, **facts)).plan.status == "refer_urgent", label
    cleared = plan(case(NECK, *extra, clearances=CLEARED, **facts))
    assert cleared.plan.status not in ("refer_urgent", "refer"), label


def test_fracture_window_ends_at_42_days() -> None:
    r = plan(case(NECK, findings=[DYSPNEA], history=[{"item": "recent_fracture", "area": "ankle_foot",
                                                        "days_since": 42}]))
    assert r.plan.status == "refer" and ("physician", "routine") in referral(r)   # unexplained dyspnea only


def test_after_birth_window_ends_at_42_days() -> None:
    r = plan(case(NECK, findings=[DYSPNEA], history=[{"item": "postpartum", "days_since": 42}]))
    assert r.plan.status == "refer"


def test_cleared_upper_back_pain_with_a_diagnosis_working_the_upper_back_is_treated() -> None:
    r = plan(case(NECK, {"condition": "fibromyalgia"}, findings=[DYSPNEA, {"finding": "pain", "area": "upper_back"}],
                  clearances=CLEARED))
    assert r.plan.treats


def test_the_upper_back_conditions_listed_are_the_ones_with_targets_there() -> None:
    """red-dyspnea-upper-back-pain-cleared-no-back-diagnosis names the conditions with a fixed target
    in the upper back; a condition that gains one must join the list."""
    with_targets = set()
    for rule in KB.rules:
        if any(V.area_of(i) == "upper_back" for t in rule.then.targets for i in t.ids):
            with_targets |= {str(f.get("condition")) for k, f in rule.positive if k == "diagnosis"}
    rule = next(r for r in KB.rules if r.id == "red-dyspnea-upper-back-pain-cleared-no-back-diagnosis")
    listed = next(set(f["condition"]["in"]) for k, f in rule.negative if k == "diagnosis" and "acuity" not in f)
    assert listed == with_targets


# -- §1.3 chest pain by hours since the last episode -------------------------------------------------------
@pytest.mark.parametrize(("hours", "status", "to"), [
    (None, "refer_urgent", ("emergency_care", "urgent")), (0, "refer_urgent", ("emergency_care", "urgent")),
    (11, "refer_urgent", ("emergency_care", "urgent")), (12, "refer_urgent", ("physician", "urgent")),
    (71, "refer_urgent", ("physician", "urgent")), (72, "refer", ("physician", "routine")),
    (500, "refer", ("physician", "routine"))])
def test_chest_pain_by_hours_since(hours: int | None, status: str, to: tuple[str, str]) -> None:
    finding = {"finding": "chest_pain", **({"hours_since": hours} if hours is not None else {})}
    r = plan(case(NECK, findings=[finding]))
    assert r.plan.status == status and referral(r) >= {to}
    if status == "refer":
        assert any("call emergency services" in a for a in r.plan.advisories)


@pytest.mark.parametrize("hours", [0, 30, 100])
def test_chest_pain_cardiac_clearance_lifts_every_band(hours: int) -> None:
    r = plan(case(NECK, findings=[{"finding": "chest_pain", "hours_since": hours}], clearances=["cardiac"]))
    assert r.plan.treats


@pytest.mark.parametrize("hours", [0, 30, 100])
def test_chest_pain_with_pseudo_angina_takes_the_gate(hours: int) -> None:
    r = plan(case({"condition": "pseudo_angina"}, findings=[{"finding": "chest_pain", "hours_since": hours}]))
    assert r.plan.status == "needs_clearance" and "cardiac" in r.plan.clearances_required


def test_dyspnea_with_old_chest_pain_stays_an_emergency() -> None:
    r = plan(case(NECK, findings=[DYSPNEA, {"finding": "chest_pain", "hours_since": 200}], clearances=["cardiac"]))
    assert r.plan.status == "refer_urgent" and ("emergency_care", "urgent") in referral(r)


def test_hours_since_only_on_chest_pain() -> None:
    with pytest.raises(CaseError, match="hours_since"):
        plan(case(NECK, findings=[{"finding": "pain", "area": "neck", "hours_since": 3}]))


# -- §1.4 a hot swollen joint --------------------------------------------------------------------------------
KNEE_OA = {"condition": "knee_osteoarthritis", "side": "right", "acuity": "chronic"}


def hot_knee(inflamed: str | None = "right", swollen: str | None = "right", **rest: Any) -> dict[str, Any]:
    def at(finding: str, side: str | None) -> dict[str, Any]:
        return {"finding": finding, "area": "knee", **({"side": side} if side else {})}
    return case(KNEE_OA, *rest.pop("extra", []), findings=[at("local_inflammation", inflamed), at("edema", swollen)],
                **rest)


@pytest.mark.parametrize(("inflamed", "swollen"), [("right", "right"), ("right", "bilateral"), (None, "left"),
                                                   ("bilateral", None), (None, None)])
def test_hot_swollen_joint_same_day_physician(inflamed: str | None, swollen: str | None) -> None:
    r = plan(hot_knee(inflamed, swollen))
    assert r.plan.status == "refer_urgent" and ("physician", "urgent") in referral(r)


def test_hot_and_swollen_on_opposite_sides_is_not_one_joint() -> None:
    assert plan(hot_knee("left", "right")).plan.status != "refer_urgent"


def test_hot_swollen_joint_with_fever_is_an_emergency() -> None:
    r = plan(hot_knee(vitals={"temperature_c": 38.4}))
    assert r.plan.status == "refer_urgent" and ("emergency_care", "urgent") in referral(r)


def test_hot_swollen_joint_physician_clearance_for_the_joint() -> None:
    r = plan(hot_knee(clearances=[{"id": "physician", "for": "joint"}]))
    assert r.plan.status != "refer_urgent" and "knee" not in worked_areas(r)
    assert plan(hot_knee(clearances=["physician"])).plan.status == "refer_urgent"   # a bare id does not


@pytest.mark.parametrize("explained", [
    dict(history=[{"item": "recent_surgery", "area": "knee", "side": "right", "days_since": 10}]),
    dict(history=[{"item": "recent_fracture", "area": "knee", "days_since": 30}]),
    dict(extra=[{"condition": "post_surgical_edema", "area": "knee", "side": "right"}]),
])
def test_hot_swollen_joint_explained_by_a_dated_cause(explained: dict[str, Any]) -> None:
    r = plan(hot_knee(**explained))
    assert r.plan.status != "refer_urgent" or ("physician", "urgent") not in referral(r)
    assert "knee" not in worked_areas(r)


def test_ankle_sprain_explains_a_hot_swollen_ankle() -> None:
    r = plan(case({"condition": "ankle_sprain", "side": "left", "acuity": "subacute"},
                  findings=[{"finding": "local_inflammation", "area": "ankle_foot", "side": "left"},
                            {"finding": "edema", "area": "ankle_foot", "side": "left"}]))
    assert ("physician", "urgent") not in referral(r)


# -- §1.5 a spine that may have broken ---------------------------------------------------------------------------
OSTEO = {"item": "osteoporosis"}


def test_osteoporosis_tender_spine_blocks_back_and_chest_light_elsewhere() -> None:
    r = plan(case({"condition": "upper_crossed_syndrome", "acuity": "chronic"}, history=[OSTEO],
                  findings=[{"finding": "focal_bone_tenderness", "area": "upper_back"}]))
    assert r.plan.treats and ("physician", "routine") in referral(r)
    assert not worked_areas(r) & {"upper_back", "lower_back", "chest"}
    assert {w.pressure for s in r.plan.segments for w in s.work} <= {"light"}
    assert any("possible vertebral fragility fracture" in a for a in r.plan.advisories)


@pytest.mark.parametrize(("acuity", "fires"), [({"acuity": "acute"}, True), ({"acuity": "subacute"}, True),
                                               ({"onset_days": 10}, True), ({}, True), ({"acuity": "chronic"}, False),
                                               ({"onset_days": 90}, False)])
def test_osteoporosis_new_spinal_pain(acuity: dict[str, Any], fires: bool) -> None:
    r = plan(case({"condition": "low_back_pain", **acuity}, history=[OSTEO]))
    assert ("physician", "routine") in referral(r) if fires else ("physician", "routine") not in referral(r)
    assert ("lower_back" not in worked_areas(r)) if fires else True


def test_osteoporosis_never_says_stress_fracture() -> None:
    for area in ("upper_back", "lower_leg", None):
        finding = {"finding": "focal_bone_tenderness", **({"area": area} if area else {})}
        r = plan(case({"condition": "low_back_pain", "acuity": "acute"}, history=[OSTEO], findings=[finding]))
        assert not any("stress fracture" in a for a in r.plan.advisories)
        words = " ".join(rule.description for rule in KB.rules if rule.id in {f.rule_id for f in r.trace})
        assert "stress fracture" not in words


# -- §1.6 rows v1 and v2 left narrow ---------------------------------------------------------------------------
@pytest.mark.parametrize("condition", sorted(V.spinal_conditions))
def test_progressive_weakness_with_any_spinal_condition(condition: str) -> None:
    r = plan(case({"condition": condition, "side": "left"},
                  findings=[{"finding": "progressive_weakness", "side": "left"}], clearances=["physician"]))
    assert r.plan.status == "refer_urgent" and ("emergency_care", "urgent") in referral(r)


def test_neck_tenderness_after_a_neck_fracture() -> None:
    r = plan(case(NECK, findings=[{"finding": "focal_bone_tenderness", "area": "neck"}],
                  history=[{"item": "recent_fracture", "area": "neck", "days_since": 30}]))
    assert r.plan.status == "refer_urgent" and ("emergency_care", "urgent") in referral(r)


@pytest.mark.parametrize(("age", "emergency"), [(64, False), (65, True), (90, True)])
def test_neck_tenderness_at_65_with_acute_neck_pain(age: int, emergency: bool) -> None:
    r = plan(case({"condition": "neck_pain", "acuity": "acute"}, patient={"age": age},
                  findings=[{"finding": "focal_bone_tenderness", "area": "neck"}]))
    assert (("emergency_care", "urgent") in referral(r)) is emergency


def test_suspected_tendon_rupture_goes_to_the_surgeon() -> None:
    r = plan(case({"condition": "achilles_tendinopathy"}, findings=[{"finding": "suspected_tendon_rupture"}]))
    assert r.plan.status == "refer_urgent" and referral(r) == {("surgeon", "urgent")}


def test_acute_strain_blocks_its_recorded_site_requests_included() -> None:
    r = plan(case({"condition": "hamstring_strain", "side": "left", "acuity": "acute", "area": "knee"},
                  {"condition": "low_back_pain", "acuity": "chronic"},
                  prescription={"focus_areas": ["knee", "thigh"], "modalities": ["swedish"]}))
    assert not worked_areas(r) & {"knee", "thigh"}
    assert {(b.id, b.side) for b in r.plan.blocked_areas} >= {("knee", "left"), ("thigh", "left")}


def test_every_strain_has_a_rule_blocking_its_primary_target_area_when_acute() -> None:
    for condition in V.soft_tissue_injuries:
        blocks = [rule for rule in KB.rules if rule.then.block_areas is not None and any(
            k == "diagnosis" and f.get("condition") == condition and f.get("acuity") == "acute"
            for k, f in rule.positive)]
        assert blocks, condition


# -- §2.1 children's spines -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("condition", "age", "needs"), [
    ("neck_pain", 9, True), ("neck_pain", 10, False), ("thoracic_pain", 9, True), ("sciatica", 15, True),
    ("sciatica", 16, False), ("low_back_pain", 9, True), ("low_back_pain", 10, False)])
def test_children_spinal_pain_needs_a_physician(condition: str, age: int, needs: bool) -> None:
    r = plan(case({"condition": condition, "acuity": "subacute"}, patient={"age": age}))
    assert ("physician" in r.plan.clearances_required) is needs
    if needs:
        assert r.plan.status == "needs_clearance"
        assert plan(case({"condition": condition, "acuity": "subacute"}, patient={"age": age},
                         clearances=["physician"])).plan.treats


# -- §2.6 dated injuries default to acute -------------------------------------------------------------------------
def test_every_strain_sprain_or_contusion_is_acute_by_default() -> None:
    assert V.soft_tissue_injuries <= set(ACUTE_BY_DEFAULT)


@pytest.mark.parametrize("condition", sorted(ACUTE_BY_DEFAULT))
def test_dated_injury_without_acuity_is_acute_with_the_advisory(condition: str) -> None:
    r = plan(case({"condition": condition}, NECK))
    assert any(a.startswith("acuity not recorded: treated as acute") for a in r.plan.advisories)
    assert r.plan.minutes_ceiling <= 30
    dated = plan(case({"condition": condition, "onset_days": 60}, NECK))
    assert not any(a.startswith("acuity not recorded") for a in dated.plan.advisories)


def test_hamstring_strain_without_acuity_gets_no_work_on_the_thigh() -> None:
    r = plan(case({"condition": "hamstring_strain", "side": "left"}, NECK, prescription={"focus_areas": ["thigh"]}))
    assert "thigh" not in worked_areas(r)
