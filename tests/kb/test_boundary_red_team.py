"""The gaps a boundary-value red team found (facts/e20-boundary-*.jsonl): the same clinical fact entered
another legal way must raise the same flag - atrophy as a diagnosis or a code, pelvic girdle pain as
the pregnancy it means, a headache or an upper-abdominal pain recorded as a finding - and a fever
with a hot joint goes to emergency care whatever the joint's clearance."""

from __future__ import annotations

from typing import Any

import pytest

from medmassage_rules.cases.loading import validate_case
from medmassage_rules.planning.pipeline import plan_case

CTS = {"condition": "carpal_tunnel_syndrome", "side": "right", "acuity": "chronic"}


def plan(kb, **case: Any) -> dict[str, Any]:
    return plan_case(validate_case({"id": "b", **case}, "b.yaml", kb.vocabulary), kb).plan.to_dict()


def referrals(p: dict[str, Any]) -> set[tuple[str, str]]:
    return {(r["to"], r["urgency"]) for r in p["referrals"]}


# -- the carpal tunnel gate (clinical-v2 §2) --------------------------------------------------------

@pytest.mark.parametrize("atrophy", [
    {"condition": "muscle_atrophy", "area": "wrist_hand", "side": "right"},
    {"condition": "muscle_atrophy"},                    # site not recorded: it may be the thenar eminence
    {"icd10": "M62.541"},                               # muscle wasting, right hand
])
def test_hand_atrophy_beside_carpal_tunnel_goes_to_the_surgeon_however_it_is_entered(kb, atrophy) -> None:
    p = plan(kb, diagnoses=[CTS, atrophy])
    assert p["status"] == "refer" and referrals(p) == {("surgeon", "routine")}
    assert not p["modalities"]


@pytest.mark.parametrize("atrophy", [{"condition": "muscle_atrophy", "area": "thigh"}, {"icd10": "M62.551"}])
def test_atrophy_elsewhere_leaves_the_gate_closed(kb, atrophy) -> None:
    p = plan(kb, diagnoses=[CTS, atrophy])
    assert p["status"] in ("treat", "treat_with_precautions")


@pytest.mark.parametrize(("code", "area"), [("M62.511", "shoulder"), ("M62.532", "forearm"), ("M62.549", "wrist_hand"),
                                            ("M62.562", "lower_leg"), ("M62.579", "ankle_foot"), ("M62.50", None)])
def test_a_muscle_wasting_code_gives_its_site(kb, code: str, area: str | None) -> None:
    case = validate_case({"id": "b", "diagnoses": [{"icd10": code}]}, "b.yaml", kb.vocabulary)
    assert (case.diagnoses[0].condition, case.diagnoses[0].area) == ("muscle_atrophy", area)


# -- pelvic girdle pain means pregnancy or the weeks after birth ------------------------------------

PGP = {"condition": "pelvic_girdle_pain", "acuity": "chronic"}


def test_breathlessness_with_pelvic_girdle_pain_is_an_emergency_without_a_clearance(kb) -> None:
    p = plan(kb, diagnoses=[PGP], findings=[{"finding": "dyspnea"}], clearances=["physician", "obstetric"])
    assert p["status"] == "refer_urgent" and referrals(p) == {("emergency_care", "urgent")}


def test_a_clearance_for_the_breathlessness_treats_it_semi_reclined(kb) -> None:
    p = plan(kb, diagnoses=[PGP], findings=[{"finding": "dyspnea"}],
             clearances=[{"id": "physician", "for": "dyspnea"}])
    assert p["status"] in ("treat", "treat_with_precautions") and not p["referrals"]
    assert any("semi-reclined or side-lying" in a for a in p["advisories"])


def test_pelvic_girdle_pain_with_an_anticoagulant_needs_the_obstetric_team(kb) -> None:
    p = plan(kb, diagnoses=[PGP], medications=["enoxaparin"])
    assert p["status"] == "needs_clearance" and "obstetric" in p["clearances_required"]
    cleared = plan(kb, diagnoses=[PGP], medications=["enoxaparin"], clearances=["obstetric"],
                   prescription={"focus_areas": ["thigh"], "max_minutes": 60})
    legs = {(c["area"], c["pressure"]) for c in cleared["caps"] if c.get("target") is None}
    assert {("thigh", "light"), ("lower_leg", "light")} <= legs


@pytest.mark.parametrize("risk", [{"history": [{"item": "varicose_veins", "area": "lower_leg", "side": "left"}]},
                                  {"findings": [{"finding": "edema", "area": "ankle_foot", "side": "left"}]},
                                  {"history": [{"item": "recent_surgery", "area": "abdomen", "days_since": 20}]}])
def test_pelvic_girdle_pain_with_a_clot_risk_keeps_the_legs_light(kb, risk) -> None:
    p = plan(kb, diagnoses=[PGP], **risk)
    legs = {(c["area"], c["pressure"]) for c in p["caps"] if c.get("target") is None}
    assert {("thigh", "light"), ("lower_leg", "light")} <= legs, p["caps"]


# -- pre-eclampsia: headache and pain below the ribs, however recorded (NICE NG133) -----------------

@pytest.mark.parametrize("who", [
    {"history": [{"item": "pregnancy", "weeks": 30}]},
    {"history": [{"item": "postpartum", "days_since": 5}]},
    {"diagnoses": [PGP]},
])
@pytest.mark.parametrize("sign", [{"finding": "migraine_attack_in_progress"}, {"finding": "headache_red_flags"},
                                  {"finding": "pain", "area": "head"}, {"finding": "pain", "area": "abdomen"}])
@pytest.mark.parametrize("vitals", [{"systolic": 145, "diastolic": 85}, {"systolic": 130, "diastolic": 92}])
def test_raised_pressure_with_a_headache_or_abdominal_pain_finding_goes_to_obstetrics(kb, who, sign, vitals) -> None:
    diagnoses = who.get("diagnoses") or [{"condition": "low_back_pain", "acuity": "chronic"}]
    p = plan(kb, diagnoses=diagnoses, history=who.get("history", []), findings=[sign], vitals=vitals,
             clearances=[{"id": "obstetric", "for": "blood_pressure"}])
    assert p["status"] == "refer_urgent" and ("obstetric", "urgent") in referrals(p)


def test_abdominal_pain_that_constipation_explains_is_no_sign(kb) -> None:
    p = plan(kb, diagnoses=[{"condition": "low_back_pain", "acuity": "chronic"}, {"condition": "constipation"}],
             history=[{"item": "pregnancy", "weeks": 30}], findings=[{"finding": "pain", "area": "abdomen"}],
             vitals={"systolic": 145, "diastolic": 85}, clearances=[{"id": "obstetric", "for": "blood_pressure"}])
    assert p["status"] != "refer_urgent"


def test_the_signs_need_the_raised_pressure(kb) -> None:
    p = plan(kb, diagnoses=[{"condition": "low_back_pain", "acuity": "chronic"}],
             history=[{"item": "pregnancy", "weeks": 30}], findings=[{"finding": "pain", "area": "abdomen"}],
             vitals={"systolic": 128, "diastolic": 82})
    assert p["status"] != "refer_urgent"


# -- a febrile hot joint (clinical-v2.1 §1.4; Coakley 2006) ----------------------------------------

HOT_KNEE = [{"finding": "local_inflammation", "area": "knee", "side": "right"},
            {"finding": "edema", "area": "knee", "side": "right"}]


def test_a_joint_clearance_does_not_lift_a_febrile_hot_joint(kb) -> None:
    p = plan(kb, diagnoses=[{"condition": "knee_osteoarthritis", "side": "right", "acuity": "chronic"}],
             findings=HOT_KNEE, vitals={"temperature_c": 38.5}, clearances=[{"id": "physician", "for": "joint"}])
    assert p["status"] == "refer_urgent" and ("emergency_care", "urgent") in referrals(p)


def test_a_joint_clearance_still_lifts_an_afebrile_known_flare(kb) -> None:
    p = plan(kb, diagnoses=[{"condition": "knee_osteoarthritis", "side": "right", "acuity": "chronic"}],
             findings=HOT_KNEE, vitals={"temperature_c": 37.2}, clearances=[{"id": "physician", "for": "joint"}])
    assert p["status"] not in ("refer_urgent", "refer")
    assert ("knee", "right") in {(b["id"], b["side"]) for b in p["blocked"]["areas"]}


# -- multimorbid patients: sedatives and immunosuppressants (AGS Beers 2023; Finucane 2020) ----------

LBP = {"condition": "low_back_pain", "acuity": "chronic"}
FALLS = "sedating medication (a benzodiazepine or sleeping tablet)"
COMBINATION = "an opioid with a sedative or a gabapentinoid"


@pytest.mark.parametrize("drug", ["lorazepam", "Ativan 1 mg PRN", "zolpidem (AMBIEN) 5 MG tablet", "Restoril",
                                  {"name": "study sedative", "atc": "N05CD08"}, "clonazepam"])
def test_a_sedative_brings_the_falls_advice(kb, drug) -> None:
    p = plan(kb, patient={"age": 82}, diagnoses=[LBP], medications=[drug])
    assert any(a.startswith(FALLS) for a in p["advisories"]) and not p["unrecognised_medications"]
    assert not any(a.startswith(COMBINATION) for a in p["advisories"])


@pytest.mark.parametrize("pair", [["oxycodone", "lorazepam"], ["Norco 5-325", "gabapentin tid"],
                                  ["morphine", "Restoril 15 mg qhs"]])
def test_an_opioid_with_a_sedative_or_gabapentinoid_brings_the_breathing_advice(kb, pair) -> None:
    p = plan(kb, patient={"age": 70}, diagnoses=[LBP], medications=pair)
    assert any(a.startswith(COMBINATION) for a in p["advisories"]), p["advisories"]
    assert p["pressure_cap"] == "moderate"


@pytest.mark.parametrize("drug", ["methotrexate", "Humira", "azathioprine", "tacrolimus",
                                  {"name": "x", "atc": "L04AC07"}])
def test_fever_with_spinal_pain_on_an_immunosuppressant_is_an_emergency(kb, drug) -> None:
    p = plan(kb, diagnoses=[LBP], medications=[drug], vitals={"temperature_c": 38.3})
    assert p["status"] == "refer_urgent" and referrals(p) == {("emergency_care", "urgent")}
    assert "red-fever-spinal-pain-immunosuppressed" in p["status_because"]


def test_pelvic_girdle_pain_after_the_puerperium_takes_the_ordinary_rows(kb) -> None:
    """100 days after birth the postpartum rows no longer apply (v2.1 §1.1-§1.2), and pelvic girdle
    pain does not bring them back: breathlessness is the routine row, 145/92 alone is no emergency."""
    after = [{"item": "postpartum", "days_since": 100}]
    breathless = plan(kb, diagnoses=[PGP], history=after, findings=[{"finding": "dyspnea"}])
    assert breathless["status"] == "refer" and referrals(breathless) == {("physician", "routine")}
    raised = plan(kb, diagnoses=[PGP], history=after, vitals={"systolic": 145, "diastolic": 92})
    assert raised["status"] not in ("refer_urgent", "refer")


def test_pelvic_girdle_pain_soon_after_birth_takes_the_postpartum_clearance(kb) -> None:
    """Within 42 days of birth a physician's clearance lifts the raised-pressure rows (v2.1 §1.1)."""
    p = plan(kb, diagnoses=[PGP], history=[{"item": "postpartum", "days_since": 15}],
             vitals={"systolic": 145, "diastolic": 85}, clearances=[{"id": "physician", "for": "blood_pressure"}])
    assert p["status"] not in ("refer_urgent", "refer")


@pytest.mark.parametrize("explained", [
    {"history": [{"item": "recent_surgery", "area": "knee", "side": "right", "days_since": 14}]},
    {"diagnoses": [{"condition": "lymphedema", "area": "lower_leg", "side": "right", "acuity": "chronic"}]},
    {"diagnoses": [{"condition": "post_surgical_edema", "area": "knee", "side": "right", "acuity": "subacute"}]},
])
def test_a_febrile_hot_joint_is_an_emergency_whatever_explains_the_swelling(kb, explained) -> None:
    diagnoses = explained.get("diagnoses", [{"condition": "low_back_pain", "acuity": "chronic"}])
    p = plan(kb, diagnoses=diagnoses, history=explained.get("history", []), findings=HOT_KNEE,
             vitals={"temperature_c": 38.4}, clearances=["physician", "surgeon"])
    assert p["status"] == "refer_urgent" and ("emergency_care", "urgent") in referrals(p)
