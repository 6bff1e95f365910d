"""The conditions added in v2 (rules/conditions-v2.yaml): coverage, evidence and safety.

Every condition of the vocabulary can reach a modality, has a public case and an ICD-10-CM
code; each v2 condition has the full shape of clinical-knowledge.md section 3 (mechanisms,
primary and secondary targets, first- and second-line modalities that its own targets can take)
and cites traceable sources; the safety rows of clinical-v2.md reach the new conditions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medmassage_rules.cases.loading import load_case, validate_case
from medmassage_rules.files.reading import parse_yaml
from medmassage_rules.intake import codes
from medmassage_rules.kb.knowledge_base import KnowledgeBase
from medmassage_rules.kb.rule_specs import Reference, RuleSpec
from medmassage_rules.planning.pipeline import plan_case

from ..conftest import FACTS, ROOT

RULE_FILE = ROOT / "rules" / "conditions-v2.yaml"
CODE_MAP = ROOT / "rules" / "intake" / "icd10-map.yaml"
V2_DATA = parse_yaml(RULE_FILE.read_text(encoding="utf-8"))

V2_CONDITIONS = ("sciatica", "adhesive_capsulitis", "rotator_cuff_tendinopathy", "lateral_epicondylitis",
                 "medial_epicondylitis", "de_quervain_tenosynovitis", "temporomandibular_disorder",
                 "whiplash_associated_disorder", "cervicogenic_headache", "thoracic_pain",
                 "iliotibial_band_syndrome", "patellofemoral_pain", "achilles_tendinopathy", "hamstring_strain",
                 "knee_osteoarthritis", "hip_osteoarthritis", "pelvic_girdle_pain", "generalised_anxiety",
                 "post_mastectomy_pain", "scoliosis_back_pain")
V2_SPINAL = ("sciatica", "whiplash_associated_disorder", "thoracic_pain", "scoliosis_back_pain",
             "cervicogenic_headache")


# -- reading rules ----------------------------------------------------------------------------
def _named(value: Any) -> set[str]:
    """The conditions a pattern's condition field names: a literal, or an ``in`` list."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict) and isinstance(value.get("in"), list):
        return set(value["in"])
    return set()


def _diagnosis_patterns(rule: RuleSpec) -> Iterable[dict[str, Any]]:
    return (fields for kind, fields in rule.positive if kind == "diagnosis")


def rules_for(kb: KnowledgeBase, condition: str) -> list[RuleSpec]:
    """The rules with a positive diagnosis pattern naming the condition."""
    return [r for r in kb.rules if any(condition in _named(p.get("condition")) for p in _diagnosis_patterns(r))]


def v2_rules(kb: KnowledgeBase, condition: str) -> list[RuleSpec]:
    return [r for r in rules_for(kb, condition) if r.source.endswith("conditions-v2.yaml")]


def plan(kb: KnowledgeBase, data: dict[str, Any]):
    case = validate_case({"id": "t", **data}, "test", kb.vocabulary)
    return plan_case(case, kb).plan.to_dict()


def work_pairs(plan_dict: dict[str, Any]) -> list[dict[str, Any]]:
    return [w for seg in plan_dict["session"]["segments"] for w in seg["work"]]


# -- coverage ------------------------------------------------------------------------------------
def test_the_knowledge_base_has_at_least_forty_conditions(vocab) -> None:
    assert len(vocab.conditions) >= 40
    assert set(V2_CONDITIONS) <= set(vocab.conditions)


def test_every_condition_has_a_rule_that_proposes_a_modality(kb) -> None:
    missing = [c for c in kb.vocabulary.conditions if not any(r.then.propose for r in rules_for(kb, c))]
    assert missing == []


def test_every_condition_has_a_public_case(kb) -> None:
    seen: set[str] = set()
    for path in sorted(FACTS.glob("*.y*ml")):
        seen |= {d.condition for d in load_case(path, kb.vocabulary).diagnoses}
    assert sorted(set(kb.vocabulary.conditions) - seen) == []


def test_every_v2_condition_has_a_case_with_expectations(kb) -> None:
    expected: set[str] = set()
    for path in sorted(FACTS.glob("c*.y*ml")):
        case = load_case(path, kb.vocabulary)
        if case.expect is not None:
            expected |= {d.condition for d in case.diagnoses}
    assert sorted(set(V2_CONDITIONS) - expected) == []


def test_every_condition_has_an_icd10cm_code_in_the_map(vocab) -> None:
    mapped = parse_yaml(CODE_MAP.read_text(encoding="utf-8"))["conditions"]
    reached = {v if isinstance(v, str) else v["condition"] for v in mapped.values()}
    assert sorted(set(vocab.conditions) - reached) == []


def test_the_v2_codes_are_valid_icd10cm_codes() -> None:
    import simple_icd_10_cm as icd  # the test extra installs it; imported here, it takes 1.6 s
    mapped = parse_yaml(CODE_MAP.read_text(encoding="utf-8"))["conditions"]
    ours = [code for code, v in mapped.items() if (v if isinstance(v, str) else v["condition"]) in V2_CONDITIONS]
    assert len(ours) >= len(V2_CONDITIONS)
    assert [c for c in ours if not icd.is_valid_item(c)] == []


@pytest.mark.parametrize(("code", "condition", "side"), [
    ("M54.32", "sciatica", "left"), ("M75.01", "adhesive_capsulitis", "right"),
    ("M77.12", "lateral_epicondylitis", "left"), ("M76.61", "achilles_tendinopathy", "right"),
    ("S76.312A", "hamstring_strain", "left"), ("M17.0", "knee_osteoarthritis", "bilateral"),
    ("Z90.12", "post_mastectomy_pain", "left"), ("G44.86", "cervicogenic_headache", None),
])
def test_a_code_reaches_its_condition_and_side(code: str, condition: str, side: str | None) -> None:
    found = codes.load_index().get(code)
    assert found is not None
    mapped = codes.load_code_map().condition(found)
    assert mapped is not None and mapped.term == condition
    assert found.side == side


def test_a_complete_cuff_tear_is_not_mapped_to_tendinopathy() -> None:
    found = codes.load_index().get("M75.122")
    assert found is not None and codes.load_code_map().condition(found) is None


# -- the shape of each new condition -------------------------------------------------------------
@pytest.mark.parametrize("condition", V2_CONDITIONS)
def test_each_v2_condition_has_mechanisms_targets_and_both_lines(kb, condition: str) -> None:
    rules = v2_rules(kb, condition)
    assert any(r.then.mechanisms for r in rules)
    roles = {t.role for r in rules for t in r.then.targets}
    assert {"primary", "secondary"} <= roles
    lines = {r.then.propose.line for r in rules if r.then.propose}
    assert {"first", "second"} <= lines


@pytest.mark.parametrize("condition", V2_CONDITIONS)
def test_each_first_line_modality_can_reach_a_primary_target(kb, condition: str) -> None:
    """Site-aware delivery: trigger point therapy and NMT only reach muscle, so a first-line
    proposal needs a primary target of a tissue it applies to."""
    vocab = kb.vocabulary
    rules = v2_rules(kb, condition)
    primary = {i for r in rules for t in r.then.targets if t.role == "primary" for i in t.ids}
    for rule in rules:
        if rule.then.propose and rule.then.propose.line == "first":
            for modality in rule.then.propose.modalities:
                assert any(vocab.applies(modality, t) for t in primary), (rule.id, modality)


def _structured_references() -> dict[str, Reference]:
    refs: dict[str, Reference] = {}
    for path in sorted((ROOT / "rules").glob("*.yaml")):
        data = parse_yaml(path.read_text(encoding="utf-8")) or {}
        for key, value in (data.get("references") or {}).items() if isinstance(data, dict) else ():
            if isinstance(value, dict):
                refs[str(key)] = Reference.model_validate(value)
    return refs


@pytest.mark.parametrize("condition", V2_CONDITIONS)
def test_every_proposed_modality_can_reach_one_of_the_condition_targets(kb, condition: str) -> None:
    vocab = kb.vocabulary
    rules = v2_rules(kb, condition)
    targets = {i for r in rules for t in r.then.targets for i in t.ids}
    for rule in rules:
        for modality in rule.then.propose.modalities if rule.then.propose else ():
            assert any(vocab.applies(modality, t) for t in targets), (rule.id, modality)


def test_every_v2_rule_cites_a_traceable_graded_source(kb) -> None:
    ours = V2_DATA.get("references") or {}
    assert ours, "the v2 conditions bring their own structured references"
    refs = _structured_references()
    for key in ours:
        assert refs[key].identifier or refs[key].no_identifier, key
    for rule in (r for r in kb.rules if r.source.endswith("conditions-v2.yaml")):
        assert rule.citation in kb.references, rule.id
        if rule.grade == "H":
            assert rule.citation in refs and refs[rule.citation].kind in ("guideline", "systematic_review"), rule.id


def test_the_new_spinal_and_headache_conditions_are_listed(vocab) -> None:
    assert set(V2_SPINAL) <= vocab.spinal_conditions
    assert "cervicogenic_headache" in vocab.headache_conditions


# -- safety ------------------------------------------------------------------------------------
@pytest.mark.parametrize("condition", V2_SPINAL)
def test_a_spinal_condition_with_fever_is_an_urgent_referral(kb, condition: str) -> None:
    d = plan(kb, {"patient": {"age": 50}, "diagnoses": [{"condition": condition}],
                  "vitals": {"temperature_c": 38.5}})
    assert d["status"] == "refer_urgent"
    assert work_pairs(d) == []


@pytest.mark.parametrize("condition", V2_SPINAL)
def test_a_spinal_condition_with_progressive_weakness_is_an_urgent_referral(kb, condition: str) -> None:
    d = plan(kb, {"patient": {"age": 50}, "diagnoses": [{"condition": condition, "side": "left"}],
                  "findings": [{"finding": "progressive_weakness", "side": "left"}]})
    assert d["status"] == "refer_urgent"
    assert any(r["urgency"] == "urgent" for r in d["referrals"])


@pytest.mark.parametrize("condition", V2_CONDITIONS)
def test_saddle_anesthesia_stops_every_new_condition(kb, condition: str) -> None:
    d = plan(kb, {"patient": {"age": 40}, "diagnoses": [{"condition": condition}],
                  "findings": [{"finding": "saddle_anesthesia"}]})
    assert d["status"] == "refer_urgent" and work_pairs(d) == []


def test_a_suspected_tendon_rupture_is_referred_the_same_day(kb) -> None:
    d = plan(kb, {"diagnoses": [{"condition": "achilles_tendinopathy", "side": "right", "acuity": "chronic"}],
                  "findings": [{"finding": "suspected_tendon_rupture", "area": "ankle_foot", "side": "right"}]})
    assert d["status"] == "refer_urgent"
    # clinical-v2.1 §1.6: same-day or next-day orthopaedic assessment (AAOS 2009)
    assert ("surgeon", "urgent") in {(r["to"], r["urgency"]) for r in d["referrals"]}


SIDES = st.sampled_from(["left", "right"])
OTHER = st.sampled_from([None, "low_back_pain", "neck_pain", "plantar_fasciitis"])
PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _opposite(side: str) -> str:
    return "right" if side == "left" else "left"


@PROPERTY
@given(side=SIDES, onset=st.integers(min_value=0, max_value=3), other=OTHER)
def test_no_work_at_an_acute_hamstring_strain(kb, side: str, onset: int, other: str | None) -> None:
    diagnoses = [{"condition": "hamstring_strain", "side": side, "onset_days": onset}]
    if other:
        diagnoses.append({"condition": other, "acuity": "chronic"})
    d = plan(kb, {"patient": {"age": 30}, "diagnoses": diagnoses})
    vocab = kb.vocabulary
    on_thigh = [w for w in work_pairs(d) if vocab.area_of(w["target"]) == "thigh" and w["side"] != _opposite(side)]
    assert on_thigh == []


@PROPERTY
@given(side=SIDES, onset=st.integers(min_value=0, max_value=3))
def test_no_work_at_the_tendon_in_acute_achilles_pain(kb, side: str, onset: int) -> None:
    d = plan(kb, {"patient": {"age": 40},
                  "diagnoses": [{"condition": "achilles_tendinopathy", "side": side, "onset_days": onset}]})
    vocab = kb.vocabulary
    assert [w for w in work_pairs(d) if vocab.area_of(w["target"]) == "ankle_foot"
            and w["side"] != _opposite(side)] == []


@PROPERTY
@given(side=SIDES, arm=st.sampled_from(["rotator_cuff_tendinopathy", "lateral_epicondylitis",
                                        "adhesive_capsulitis", "de_quervain_tenosynovitis"]))
def test_the_arm_after_mastectomy_takes_light_pressure_only(kb, side: str, arm: str) -> None:
    d = plan(kb, {"patient": {"age": 55},
                  "diagnoses": [{"condition": "post_mastectomy_pain", "side": side, "acuity": "chronic"},
                                {"condition": arm, "side": side, "acuity": "chronic"}]})
    vocab = kb.vocabulary
    arm_work = [w for w in work_pairs(d) if vocab.group_of(w["target"]) == "upper_extremity"]
    assert arm_work, "the arm condition is still treated"
    assert {w["pressure"] for w in arm_work} == {"light"}


@pytest.mark.parametrize("joint, condition", [("knee", "knee_osteoarthritis"), ("hip_gluteal", "hip_osteoarthritis")])
def test_a_swollen_arthritic_joint_takes_light_pressure(kb, joint: str, condition: str) -> None:
    d = plan(kb, {"patient": {"age": 66}, "diagnoses": [{"condition": condition, "side": "right"}],
                  "findings": [{"finding": "edema", "area": joint, "side": "right"}]})
    vocab = kb.vocabulary
    assert all(w["pressure"] == "light" for w in work_pairs(d)
               if vocab.area_of(w["target"]) == joint and w["side"] == "right")
    assert any(c["area"] == joint and c["pressure"] == "light" for c in d["caps"])


def test_the_knee_itself_never_takes_deep_work_in_osteoarthritis(kb) -> None:
    d = plan(kb, {"diagnoses": [{"condition": "knee_osteoarthritis", "side": "left"}],
                  "prescription": {"modalities": ["deep_tissue"]}})
    vocab = kb.vocabulary
    assert all(w["pressure"] != "deep" for w in work_pairs(d) if vocab.area_of(w["target"]) == "knee")


def test_pelvic_girdle_pain_takes_the_pregnancy_precautions_without_a_pregnancy_item(kb) -> None:
    d = plan(kb, {"patient": {"age": 30, "sex": "female"}, "diagnoses": [{"condition": "pelvic_girdle_pain"}],
                  "prescription": {"modalities": ["abdominal_massage", "deep_tissue"]}})
    vocab = kb.vocabulary
    assert d["pressure_cap"] in ("light", "moderate")
    assert not [w for w in work_pairs(d) if vocab.area_of(w["target"]) == "abdomen" or w["target"] == "iliopsoas"]
    assert all(w["modality"] not in ("abdominal_massage", "deep_tissue") for w in work_pairs(d))


def test_sciatica_keeps_deep_pressure_off_the_sciatic_nerve(kb) -> None:
    d = plan(kb, {"diagnoses": [{"condition": "sciatica", "side": "left", "acuity": "chronic"}],
                  "prescription": {"modalities": ["deep_tissue"], "max_minutes": 60}})
    vocab = kb.vocabulary
    assert all(w["pressure"] != "deep" for w in work_pairs(d)
               if vocab.area_of(w["target"]) in ("hip_gluteal", "thigh") and w["side"] in ("left", "bilateral"))


def test_anxiety_is_treated_with_swedish_massage(kb) -> None:
    d = plan(kb, {"diagnoses": [{"condition": "generalised_anxiety"}]})
    assert "swedish" in {m["id"] for m in d["modalities"]}
    assert {m["id"] for m in d["modalities"]} <= {"swedish", "myofascial_release"}
    assert all(w["pressure"] in ("light", "moderate") for w in work_pairs(d))


@pytest.mark.parametrize(("vitals", "to"), [
    ({"systolic": 165, "diastolic": 85}, "emergency_care"), ({"systolic": 130, "diastolic": 112}, "emergency_care"),
    ({"systolic": 145, "diastolic": 85}, "obstetric"), ({"systolic": 130, "diastolic": 95}, "obstetric"),
])
@pytest.mark.parametrize("pregnancy_listed", [False, True])
def test_raised_blood_pressure_with_pelvic_girdle_pain_is_an_urgent_referral(kb, vitals: dict[str, int], to: str,
                                                                             pregnancy_listed: bool) -> None:
    """The pregnancy blood-pressure rows reach pelvic girdle pain whether or not the case lists the pregnancy."""
    history = [{"item": "pregnancy", "weeks": 30}] if pregnancy_listed else []
    d = plan(kb, {"patient": {"age": 32}, "diagnoses": [{"condition": "pelvic_girdle_pain"}], "vitals": vitals,
                  "history": history})
    assert d["status"] == "refer_urgent" and work_pairs(d) == []
    assert (to, "urgent") in {(r["to"], r["urgency"]) for r in d["referrals"]}


@pytest.mark.parametrize(("code", "condition", "side"), [
    ("M54.32", "sciatica", "left"), ("M77.11", "lateral_epicondylitis", "right"),
    ("S76.312A", "hamstring_strain", "left"), ("Z90.11", "post_mastectomy_pain", "right"),
])
def test_a_diagnosis_given_only_by_its_code_is_planned_as_that_condition(kb, code: str, condition: str,
                                                                          side: str) -> None:
    case = validate_case({"id": "t", "diagnoses": [{"icd10": code, "acuity": "chronic"}]}, "test", kb.vocabulary)
    assert [(d.condition, d.side) for d in case.diagnoses] == [(condition, side)]
    assert plan_case(case, kb).plan.status != "defer"


@PROPERTY
@given(condition=st.sampled_from(V2_CONDITIONS), side=st.sampled_from(["left", "right", "bilateral"]),
       acuity=st.sampled_from(["acute", "subacute", "chronic"]), age=st.integers(min_value=18, max_value=74))
def test_each_condition_alone_is_treated_with_its_first_line(kb, condition: str, side: str, acuity: str,
                                                              age: int) -> None:
    """With nothing else in the case, each new condition gives a plan that treats, with its first line -
    except the acute tendon and muscle injuries, which PEACE protects (nothing at the site, so nothing to do)."""
    d = plan(kb, {"patient": {"age": age}, "diagnoses": [{"condition": condition, "side": side, "acuity": acuity}]})
    if acuity == "acute" and condition in ("hamstring_strain", "achilles_tendinopathy"):
        assert work_pairs(d) == [] and d["status"] == "defer"
        return
    assert d["status"] in ("treat", "treat_with_precautions"), d["status"]
    assert work_pairs(d)
    first = {m for r in v2_rules(kb, condition) if r.then.propose and r.then.propose.line == "first"
             for m in r.then.propose.modalities}
    assert first & {m["id"] for m in d["modalities"]}
