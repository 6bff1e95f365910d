"""clinical-v2.1 §2.2-§2.5, §2.7 and §4, and the target caps of case-format §6: one test per row,
with its boundaries (days_since 41/42) and sides."""

from __future__ import annotations

from typing import Any

import pytest

from medmassage_rules.cases.loading import validate_case
from medmassage_rules.explain.explainer import why
from medmassage_rules.planning.pipeline import plan_case

HIP_ADVISORY = "hip precautions follow the surgeon's approach"
PORT_ADVISORY = "record the clot's site; the port-side arm, chest and neck are left alone meanwhile"
NECK_ADVISORY = "sternocleidomastoid by pincer grip; no sustained pressure over the carotid pulse"
INTRAORAL_ADVISORY = "intraoral work on the pterygoids needs specific training, gloves and consent; not planned here"
UPPER_EXTREMITY = ("shoulder", "axilla", "upper_arm", "forearm", "wrist_hand")
RANK = {"light": 0, "moderate": 1, "deep": 2}


def plan(kb, **case: Any) -> dict[str, Any]:
    data = {"id": "v21", **case}
    return plan_case(validate_case(data, "v21.yaml", kb.vocabulary), kb).plan.to_dict()


def work(p: dict, target: str | None = None, area: str | None = None, kb=None) -> list[dict]:
    pairs = [w for s in p["session"]["segments"] for w in s["work"]]
    if target is not None:
        pairs = [w for w in pairs if w["target"] == target]
    if area is not None:
        pairs = [w for w in pairs if kb.vocabulary.area_of(w["target"]) == area]
    return pairs


def blocked(p: dict) -> set[tuple[str, str | None]]:
    return {(b["id"], b["side"]) for b in p["blocked"]["areas"]}


def advised(p: dict, text: str) -> bool:
    return any(text in a for a in p["advisories"])


# -- §2.2 a port and a clot of unknown site -----------------------------------------------------------
@pytest.mark.parametrize(("port_side", "blocked_sides"), [("right", {"right"}), ("left", {"left"}),
                                                           (None, {None})])
def test_a_port_with_a_clot_of_unknown_site_blocks_its_arm_chest_and_neck(kb, port_side, blocked_sides) -> None:
    port = {"item": "implanted_port", "area": "chest", **({"side": port_side} if port_side else {})}
    p = plan(kb, diagnoses=[{"condition": "carpal_tunnel_syndrome", "side": "bilateral", "acuity": "chronic"}],
             history=[{"item": "known_dvt"}, port], clearances=["physician"])
    for area in (*UPPER_EXTREMITY, "chest"):
        assert {(area, s) for s in blocked_sides} <= blocked(p), area
    assert ("neck", None) in blocked(p)  # axial: both sides whatever the port's side
    assert advised(p, PORT_ADVISORY)
    arm_work = [w for w in work(p) if kb.vocabulary.area_of(w["target"]) in (*UPPER_EXTREMITY, "chest", "neck")]
    if port_side is None:
        assert not arm_work and p["status"] == "defer"
    else:
        other = "left" if port_side == "right" else "right"
        assert arm_work and all(w["side"] == other for w in arm_work)  # the other arm is still treated
        assert not [w for w in work(p) if kb.vocabulary.area_of(w["target"]) == "neck"]


def test_a_clot_with_a_site_or_no_port_keeps_the_v2_rows(kb) -> None:
    p = plan(kb, diagnoses=[{"condition": "carpal_tunnel_syndrome", "side": "right", "acuity": "chronic"}],
             history=[{"item": "known_dvt", "area": "lower_leg", "side": "left"},
                      {"item": "implanted_port", "area": "chest", "side": "right"}], clearances=["physician"])
    assert not advised(p, PORT_ADVISORY) and ("forearm", "right") not in blocked(p)
    p = plan(kb, diagnoses=[{"condition": "carpal_tunnel_syndrome", "side": "right", "acuity": "chronic"}],
             history=[{"item": "known_dvt"}], clearances=["physician"])
    assert not advised(p, PORT_ADVISORY) and work(p, area="forearm", kb=kb)


# -- §2.3 after hip surgery --------------------------------------------------------------------------
@pytest.mark.parametrize(("days", "within"), [(0, True), (41, True), (42, False), (None, True)])
def test_iliopsoas_is_blocked_on_both_sides_within_42_days_of_hip_surgery(kb, days, within) -> None:
    surgery = {"item": "recent_surgery", "area": "hip_gluteal", "side": "right",
               **({"days_since": days} if days is not None else {})}
    p = plan(kb, diagnoses=[{"condition": "hip_osteoarthritis", "side": "bilateral", "acuity": "chronic"}],
             history=[surgery], clearances=["surgeon"])
    targets = {t["id"] for t in p["targets"]}
    assert ("iliopsoas" not in targets) == within
    assert advised(p, HIP_ADVISORY) == within
    if within:
        assert [b for b in p["blocked"]["targets"] if b["id"] == "iliopsoas" and b["side"] is None]
        assert "piriformis" in targets  # the rest of the hip stays (light, beside a surgeon's clearance)
        assert p["status"] == "treat_with_precautions"


def test_surgery_elsewhere_leaves_iliopsoas(kb) -> None:
    p = plan(kb, diagnoses=[{"condition": "hip_osteoarthritis", "side": "left", "acuity": "chronic"}],
             history=[{"item": "recent_surgery", "area": "knee", "side": "right", "days_since": 10}],
             clearances=["surgeon"])
    assert "iliopsoas" in {t["id"] for t in p["targets"]} and not advised(p, HIP_ADVISORY)


# -- §2.4 the trunk quadrant after axillary node removal -----------------------------------------------
@pytest.mark.parametrize("side", ["left", "right"])
def test_axillary_node_removal_caps_that_sides_upper_back_targets_light(kb, side: str) -> None:
    p = plan(kb, diagnoses=[{"condition": "thoracic_pain", "acuity": "chronic"}],
             history=[{"item": "lymph_node_removal", "area": "axilla", "side": side}])
    other = "left" if side == "right" else "right"
    rhomboids = work(p, "rhomboids")
    assert {w["side"] for w in rhomboids} == {side, other}  # delivered per side
    assert all(w["pressure"] == "light" for w in rhomboids if w["side"] == side)
    assert any(RANK[w["pressure"]] > RANK["light"] for w in rhomboids if w["side"] == other)
    assert {"target": "rhomboids", "side": side, "pressure": "light",
            "because": ["pop-axillary-node-removal-upper-back"]} in p["caps"]
    assert p["status"] == "treat_with_precautions"


def test_axillary_node_removal_without_a_side_caps_both_sides(kb) -> None:
    p = plan(kb, diagnoses=[{"condition": "thoracic_pain", "acuity": "chronic"}],
             history=[{"item": "lymph_node_removal", "area": "axilla"}])
    assert work(p, area="upper_back", kb=kb) and all(w["pressure"] == "light"
                                                     for w in work(p, area="upper_back", kb=kb))


def test_inguinal_node_removal_leaves_the_upper_back(kb) -> None:
    p = plan(kb, diagnoses=[{"condition": "thoracic_pain", "acuity": "chronic"}],
             history=[{"item": "lymph_node_removal", "area": "inguinal", "side": "left"}])
    assert not [c for c in p["caps"] if "target" in c]
    assert any(w["pressure"] == "deep" for w in work(p, area="upper_back", kb=kb))


# -- §2.5 edema takes no other modality while drainage is blocked ------------------------------------
LEG_DIAGNOSIS = {"condition": "plantar_fasciitis", "side": "bilateral", "acuity": "chronic"}


@pytest.mark.parametrize(("edema", "blocked_areas"), [
    ({"finding": "edema", "area": "lower_leg", "side": "bilateral"}, {("lower_leg", "bilateral")}),
    ({"finding": "edema", "area": "lower_leg"}, {("lower_leg", None)}),
    ({"finding": "edema", "area": "ankle_foot", "side": "left"}, {("ankle_foot", "left")}),
    ({"finding": "edema"}, {("lower_leg", None), ("ankle_foot", None)}),
])
def test_heart_failure_blocks_drainage_and_every_edematous_area(kb, edema, blocked_areas) -> None:
    p = plan(kb, diagnoses=[LEG_DIAGNOSIS], findings=[edema], history=[{"item": "heart_failure"}])
    assert blocked_areas <= blocked(p)
    sides = {s for a, s in blocked_areas}
    for w in work(p):
        area = kb.vocabulary.area_of(w["target"])
        for b_area, b_side in blocked_areas:
            assert not (area == b_area and (b_side in (None, "bilateral") or w["side"] in (None, "bilateral", b_side)))
    assert advised(p, "edema recorded without a site") == ("area" not in edema)
    if sides == {"left"}:
        assert [w for w in work(p) if kb.vocabulary.area_of(w["target"]) == "ankle_foot" and w["side"] == "right"]


def test_nothing_to_treat_names_the_blocked_drainage_and_its_rule(kb) -> None:
    """Arm lymphedema with heart failure and a clearance for something else: the nodes had only
    drainage, and the plan says so (not "no recommended modality applies there")."""
    p = plan(kb, diagnoses=[{"condition": "lymphedema", "area": "forearm", "side": "right", "acuity": "chronic"}],
             history=[{"item": "heart_failure"}], clearances=[{"id": "cardiology", "for": "renal_failure"}])
    assert p["status"] == "defer"
    assert any("cervical lymph nodes: Manual lymphatic drainage (contra-compensated-heart-failure), the only "
               "modality proposed there, is blocked" in a for a in p["advisories"]), p["advisories"]


def test_a_cleared_heart_failure_leaves_the_edematous_area_to_drainage_and_care(kb) -> None:
    p = plan(kb, diagnoses=[LEG_DIAGNOSIS], findings=[{"finding": "edema", "area": "ankle_foot"}],
             history=[{"item": "heart_failure"}], clearances=["cardiology"])
    assert ("ankle_foot", None) not in blocked(p)
    assert work(p, area="ankle_foot", kb=kb)


def test_an_edema_finding_without_a_drainage_block_changes_nothing(kb) -> None:
    base = plan(kb, diagnoses=[LEG_DIAGNOSIS])
    swollen = plan(kb, diagnoses=[LEG_DIAGNOSIS], findings=[{"finding": "edema", "area": "ankle_foot"}])
    assert base["blocked"] == swollen["blocked"] and work(swollen, area="ankle_foot", kb=kb)


@pytest.mark.parametrize("blocker", [{"item": "renal_failure"}, {"item": "cellulitis", "area": "upper_arm"},
                                     {"item": "known_dvt", "area": "upper_arm", "side": "left"}])
def test_every_drainage_block_makes_the_edematous_area_a_no_go(kb, blocker) -> None:
    p = plan(kb, diagnoses=[LEG_DIAGNOSIS], findings=[{"finding": "edema", "area": "ankle_foot"}],
             history=[blocker], clearances=["physician"])
    assert ("ankle_foot", None) in blocked(p)
    assert not work(p, area="ankle_foot", kb=kb)


# -- §2.7 irritable adhesive capsulitis ----------------------------------------------------------------
@pytest.mark.parametrize(("diagnosis", "irritable"), [
    ({"acuity": "acute"}, True), ({"acuity": "subacute"}, True), ({"onset_days": 42}, True),
    ({"onset_days": 43}, False), ({"acuity": "chronic", "severity": "severe"}, True),
    ({"acuity": "chronic", "severity": "moderate"}, False), ({}, False),
])
def test_irritable_adhesive_capsulitis_is_light_on_its_side_and_takes_no_deep_tissue(kb, diagnosis, irritable):
    p = plan(kb, diagnoses=[{"condition": "adhesive_capsulitis", "side": "left", **diagnosis}],
             prescription={"modalities": ["deep_tissue"]})
    shoulder = work(p, area="shoulder", kb=kb)
    assert shoulder
    assert all(w["pressure"] == "light" for w in shoulder) == irritable
    assert ("deep_tissue" in {m["id"] for m in p["modalities"]}) == (not irritable)
    if irritable:
        assert {("shoulder", "left"), ("upper_arm", "left"), ("chest", "left")} <= {
            (c["area"], c["side"]) for c in p["caps"] if "area" in c}
        assert "deep_tissue" in {b["id"] for b in p["blocked"]["modalities"]}
        assert advised(p, "requested Deep tissue massage is not given")


# -- §4.1 intraoral targets ----------------------------------------------------------------------------
def test_the_lateral_pterygoid_is_never_planned_and_never_blocked(kb) -> None:
    p = plan(kb, diagnoses=[{"condition": "temporomandibular_disorder", "side": "left", "acuity": "chronic"}])
    assert "lateral_pterygoid" not in {t["id"] for t in p["targets"]}
    assert not [w for w in work(p) if w["target"] == "lateral_pterygoid"]
    assert {"masseter", "temporalis"} <= {t["id"] for t in p["targets"]}
    assert "lateral_pterygoid" not in str(p["blocked"])
    assert advised(p, INTRAORAL_ADVISORY)


def test_a_finding_at_the_pterygoid_alone_adds_no_advisory_and_no_target(kb) -> None:
    p = plan(kb, diagnoses=[{"condition": "neck_pain", "acuity": "chronic"}],
             findings=[{"finding": "trigger_point", "target": "lateral_pterygoid"}])
    assert "lateral_pterygoid" not in {t["id"] for t in p["targets"]}
    assert not advised(p, INTRAORAL_ADVISORY)


# -- §4.2 the anterior neck ------------------------------------------------------------------------------
@pytest.mark.parametrize("request_", [[], ["deep_tissue"], ["trigger_point_therapy"]])
def test_sternocleidomastoid_and_scalenes_never_above_moderate(kb, request_) -> None:
    p = plan(kb, diagnoses=[{"condition": "neck_pain", "side": "right", "acuity": "chronic"}],
             prescription={"modalities": request_})
    for target in ("sternocleidomastoid", "scalenes"):
        pairs = work(p, target)
        assert pairs and all(RANK[w["pressure"]] <= RANK["moderate"] for w in pairs), target
    assert any(w["pressure"] == "deep" for w in work(p, "upper_trapezius"))  # the cap is on those targets only
    assert advised(p, NECK_ADVISORY)
    assert {"target": "sternocleidomastoid", "side": None, "pressure": "moderate",
            "because": ["site-anterior-neck"]} in p["caps"]
    assert p["status"] == "treat_with_precautions"  # the cap lowered a deep pressure


def test_a_target_cap_that_lowers_nothing_is_no_precaution_of_its_own(kb) -> None:
    p = plan(kb, diagnoses=[{"condition": "neck_pain", "acuity": "chronic"}], medications=["oxycodone"])
    scm = [t for t in p["targets"] if t["id"] == "sternocleidomastoid"]
    assert scm and "pressure_cap" not in scm[0]  # the plan's moderate cap already held it there
    assert p["pressure_cap_because"] == ["med-opioid-gabapentinoid-cap"]


def test_the_neck_worked_as_a_whole_takes_the_anterior_neck_cap(kb) -> None:
    p = plan(kb, diagnoses=[{"condition": "low_back_pain", "acuity": "chronic"}],
             findings=[{"finding": "trigger_point", "target": "neck", "side": "left"}])
    neck = work(p, "neck")
    assert neck and all(RANK[w["pressure"]] <= RANK["moderate"] for w in neck)
    assert advised(p, NECK_ADVISORY)
    assert {c["target"] for c in p["caps"] if "target" in c} == {"sternocleidomastoid", "scalenes"}


def test_the_neck_advisory_only_when_those_targets_are_worked(kb) -> None:
    p = plan(kb, diagnoses=[{"condition": "plantar_fasciitis", "side": "left", "acuity": "chronic"}])
    assert not advised(p, NECK_ADVISORY)
    assert not [c for c in p["caps"] if "target" in c]  # target caps are reported for the case's candidates


def test_explain_names_the_target_cap(kb) -> None:
    data = {"id": "v21", "diagnoses": [{"condition": "neck_pain", "side": "right", "acuity": "chronic"}]}
    result = plan_case(validate_case(data, "v21.yaml", kb.vocabulary), kb)
    explanation = why(result, kb, "sternocleidomastoid")
    assert "site-anterior-neck" in explanation.rule_ids
    assert any("moderate" in d for d in explanation.details)


def test_explain_a_target_delivered_per_side_names_both_sides_once(kb) -> None:
    data = {"id": "v21", "diagnoses": [{"condition": "thoracic_pain", "acuity": "chronic"}],
            "history": [{"item": "lymph_node_removal", "area": "axilla", "side": "left"}]}
    result = plan_case(validate_case(data, "v21.yaml", kb.vocabulary), kb)
    explanation = why(result, kb, "rhomboids")
    assert explanation.summary.startswith("rhomboids (left and right, each at its own pressure)")
    assert len(explanation.details) == len(set(explanation.details))
    assert any("at most light pressure on this target (left side)" in d for d in explanation.details)
