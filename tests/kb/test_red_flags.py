"""Safety properties of the red-flag layer and the patient groups (clinical-v2 §2-3).

A red-flag fact is added to an otherwise arbitrary generated case (tests/strategies.py) and
the plan must take the status it sets, whatever else the case holds; and the clearances §2-3
say cannot lift a block never do, whatever clearances (bare ids or objects given for
anything) the case carries.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from medmassage_rules.cases.models import Case
from medmassage_rules.planning.pipeline import plan_case
from medmassage_rules.planning.results import PlanResult

from ..strategies import KB, V, build, case_dicts

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BOTH = frozenset({"left", "right"})
SCOPES = ("dyspnea", "blood_pressure", "cellulitis", "bowel_obstruction", "recent_surgery", "recent_fracture",
          "known_dvt", "malignancy", "heart_failure", "pregnancy")


Pairs = list[tuple[str, str | None]]


class ScopedCase:
    """A validated case whose clearances are given as (id, scope) pairs, the v2 clearance objects."""

    def __init__(self, case: Case, pairs: Pairs):
        self._case = case
        self._pairs = tuple(dict.fromkeys(pairs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._case, name)

    def clearance_pairs(self) -> tuple[tuple[str, str | None], ...]:
        return self._pairs


clearance_pairs = st.lists(st.tuples(st.sampled_from(tuple(V.clearances)), st.none() | st.sampled_from(SCOPES)),
                           max_size=4)


def plan_with(data: dict[str, Any], pairs: Pairs) -> PlanResult:
    return plan_case(ScopedCase(build(data), pairs), KB)  # type: ignore[arg-type]


def add(data: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The case with the extra findings/history/medications appended and vitals or patient merged."""
    out = dict(data)
    for key in ("findings", "history", "medications", "diagnoses"):
        if key in extra:
            out[key] = [*data.get(key, []), *extra[key]]
    for key in ("vitals", "patient", "labs"):
        if key in extra:
            out[key] = {**data.get(key, {}), **extra[key]}
    pregnant = any(h.get("item") in ("pregnancy", "postpartum") for h in out.get("history", []))
    if pregnant and str(out.get("patient", {}).get("sex", "")).strip().lower() in ("male", "m"):
        out["patient"] = {**out["patient"], "sex": "female"}  # a male pregnancy is refused (clinical-v2.1 §2.8)
    return out


def urgent_to(result: PlanResult, *recipients: str) -> bool:
    return any(r.urgency == "urgent" and r.to in recipients for r in result.plan.referrals)


# -- a red-flag fact always yields its status ---------------------------------------------------------------
# (extra facts, the recipients of which one must get an urgent referral); no clearance lifts any of them.
UNLIFTABLE = {
    "dyspnea with chest pain": (dict(findings=[{"finding": "dyspnea"}, {"finding": "chest_pain"}]),
                                ("emergency_care",)),
    "dyspnea with calf swelling": (dict(findings=[{"finding": "dyspnea"}, {"finding": "unilateral_calf_swelling"}]),
                                   ("emergency_care",)),
    "dyspnea with known dvt": (dict(findings=[{"finding": "dyspnea"}], history=[{"item": "known_dvt"}]),
                               ("emergency_care",)),
    "dyspnea with recent MI": (dict(findings=[{"finding": "dyspnea"}],
                                    history=[{"item": "recent_myocardial_infarction", "days_since": 10}]),
                               ("emergency_care",)),
    "dyspnea with decompensated HF": (dict(findings=[{"finding": "dyspnea"}],
                                           history=[{"item": "heart_failure", "decompensated": True}]),
                                      ("emergency_care",)),
    "dyspnea with post-surgical edema": (dict(findings=[{"finding": "dyspnea"}],
                                              diagnoses=[{"condition": "post_surgical_edema", "area": "knee"}]),
                                         ("emergency_care",)),
    "dyspnea after surgery": (dict(findings=[{"finding": "dyspnea"}],
                                   history=[{"item": "recent_surgery", "area": "knee", "days_since": 9}]),
                              ("emergency_care",)),
    "fever with neck stiffness": (dict(findings=[{"finding": "neck_stiffness"}], vitals={"temperature_c": 38.5}),
                                  ("emergency_care",)),
    "fever with a headache diagnosis": (dict(diagnoses=[{"condition": "migraine"}], vitals={"temperature_c": 38.0}),
                                        ("physician", "emergency_care")),
    "fever with spinal pain": (dict(diagnoses=[{"condition": "low_back_pain"}], vitals={"temperature_c": 39.0}),
                               ("physician", "emergency_care")),
    "severe blood pressure in pregnancy": (dict(history=[{"item": "pregnancy", "weeks": 30}],
                                                vitals={"systolic": 165}), ("emergency_care",)),
    "pre-eclampsia signs": (dict(history=[{"item": "pregnancy", "weeks": 34}], vitals={"diastolic": 95},
                                 findings=[{"finding": "visual_disturbance"}]), ("obstetric", "emergency_care")),
    "cancer history, spinal pain, night pain": (dict(history=[{"item": "malignancy", "active": False}],
                                                     diagnoses=[{"condition": "neck_pain"}],
                                                     findings=[{"finding": "night_pain"}]),
                                                ("oncology", "emergency_care")),
    "bilateral progressive weakness": (dict(findings=[{"finding": "progressive_weakness", "side": "bilateral"}]),
                                       ("emergency_care",)),
}


@SETTINGS
@given(data=case_dicts(), row=st.sampled_from(sorted(UNLIFTABLE)), pairs=clearance_pairs)
def test_red_flag_always_yields_its_status(data: dict[str, Any], row: str, pairs: Pairs) -> None:
    extra, recipients = UNLIFTABLE[row]
    result = plan_with(add(data, **extra), pairs)
    assert result.plan.status == "refer_urgent", (row, result.plan.status_because)
    assert urgent_to(result, *recipients), (row, result.plan.referrals)
    assert result.plan.total_minutes == 0


@SETTINGS
@given(data=case_dicts(), pairs=clearance_pairs)
def test_cellulitis_needs_a_clearance_given_for_it(data: dict[str, Any], pairs: Pairs) -> None:
    """A bare physician clearance does not lift cellulitis' urgent referral; one given for cellulitis
    turns it into a deferral, never a treatment."""
    case = add(data, history=[{"item": "cellulitis", "area": "lower_leg"}])
    bare = [(c, s) for c, s in pairs if not (c == "physician" and s == "cellulitis")]
    assert plan_with(case, bare).plan.status == "refer_urgent"
    cleared = plan_with(case, [*bare, ("physician", "cellulitis")]).plan
    assert cleared.status in ("refer_urgent", "refer", "defer"), cleared.status
    assert cleared.total_minutes == 0


@SETTINGS
@given(data=case_dicts(), pairs=clearance_pairs, kind=st.sampled_from(["chest_pain", "bowel_obstruction"]))
def test_urgent_unless_the_named_clearance(data: dict[str, Any], pairs: Pairs, kind: str) -> None:
    """Chest pain at rest (no pseudo-angina) needs the cardiac clearance; a bowel obstruction an oncology
    clearance given for it. Without them: emergency care."""
    if kind == "chest_pain":
        case = add(data, findings=[{"finding": "chest_pain"}])
        case["diagnoses"] = [d for d in case["diagnoses"] if d["condition"] != "pseudo_angina"] or \
            [{"condition": "neck_pain"}]
        pairs = [(c, s) for c, s in pairs if c != "cardiac"]
    else:
        case = add(data, history=[{"item": "bowel_obstruction"}])
        pairs = [(c, s) for c, s in pairs if (c, s) != ("oncology", "bowel_obstruction")]
    result = plan_with(case, pairs)
    assert result.plan.status == "refer_urgent"
    assert urgent_to(result, "emergency_care")


# -- a clearance never lifts what §3 says it cannot ------------------------------------------------------------
def covered(area: str, side: str | None) -> frozenset[str]:
    return BOTH if side in (None, "bilateral") or area in V.axial_areas else frozenset({side})


def work_on(result: PlanResult, area: str, side: str | None) -> list[dict[str, Any]]:
    """The work pairs delivered on an area, on the sides a fact at (area, side) covers."""
    sides = covered(area, side)
    out = []
    for segment in result.plan.to_dict()["session"]["segments"]:
        for w in segment.get("work", []):
            if V.area_of(w["target"]) == area and covered(area, w["side"]) & sides:
                out.append(w)
    return out


# an area, and a diagnosis whose primary targets lie in it (so that there is work to restrict)
SITE_CONDITION = {"lower_back": "low_back_pain", "neck": "neck_pain", "forearm": "carpal_tunnel_syndrome",
                  "lower_leg": "delayed_onset_muscle_soreness", "thigh": "delayed_onset_muscle_soreness",
                  "hip_gluteal": "piriformis_syndrome", "ankle_foot": "plantar_fasciitis"}
sites = st.sampled_from(sorted(SITE_CONDITION))


def with_site(data: dict[str, Any], area: str, side: str | None, item: dict[str, Any]) -> dict[str, Any]:
    diagnosis = {"condition": SITE_CONDITION[area], **({"side": side} if side else {})}
    out = add(data, history=[item], diagnoses=[diagnosis])
    rx = dict(out.get("prescription", {}))  # requests reach every target they apply to: a request is no lever
    rx["modalities"] = list(dict.fromkeys([*rx.get("modalities", []), "manual_lymphatic_drainage", "deep_tissue"]))
    out["prescription"] = rx
    return out


@SETTINGS
@given(data=case_dicts(), pairs=clearance_pairs, area=sites, side=st.none() | st.sampled_from(["left", "right"]),
       days=st.none() | st.integers(0, 13))
def test_surgeon_clearance_before_day_14_keeps_the_site_to_light_drainage(
        data: dict[str, Any], pairs: Pairs, area: str, side: str | None, days: int | None) -> None:
    item = {"item": "recent_surgery", "area": area, **({"side": side} if side else {}),
            **({"days_since": days} if days is not None else {})}
    result = plan_with(with_site(data, area, side, item), [*pairs, ("surgeon", None)])
    work = work_on(result, area, side)
    event(f"work on the site: {bool(work)}")
    for w in work:
        assert w["modality"] == "manual_lymphatic_drainage" and w["pressure"] == "light", (item, w)


@SETTINGS
@given(data=case_dicts(), pairs=clearance_pairs, area=sites, side=st.none() | st.sampled_from(["left", "right"]),
       days=st.none() | st.integers(0, 13))
def test_no_clearance_opens_a_fracture_site_before_day_14(
        data: dict[str, Any], pairs: Pairs, area: str, side: str | None, days: int | None) -> None:
    item = {"item": "recent_fracture", "area": area, **({"side": side} if side else {}),
            **({"days_since": days} if days is not None else {})}
    result = plan_with(with_site(data, area, side, item),
                       [*pairs, ("surgeon", None), ("surgeon", "recent_fracture")])
    assert work_on(result, area, side) == []


@SETTINGS
@given(data=case_dicts(), pairs=clearance_pairs, days=st.none() | st.integers(0, 41),
       item=st.sampled_from(["recent_surgery", "recent_abdominal_surgery", "recent_fracture"]))
def test_dyspnea_within_42_days_of_surgery_stays_urgent(
        data: dict[str, Any], pairs: Pairs, days: int | None, item: str) -> None:
    history = {"item": item, **({"days_since": days} if days is not None else {})}
    everything = [*pairs, *((c, "dyspnea") for c in V.clearances), *((c, None) for c in V.clearances)]
    result = plan_with(add(data, findings=[{"finding": "dyspnea"}], history=[history]), everything)
    assert result.plan.status == "refer_urgent"
    assert urgent_to(result, "emergency_care")


@SETTINGS
@given(data=case_dicts(), pairs=clearance_pairs, systolic=st.integers(160, 230), diastolic=st.integers(110, 150),
       which=st.sampled_from(["systolic", "diastolic"]))
def test_severe_blood_pressure_in_pregnancy_stays_urgent(
        data: dict[str, Any], pairs: Pairs, systolic: int, diastolic: int, which: str) -> None:
    vitals = {"systolic": systolic} if which == "systolic" else {"diastolic": diastolic}
    everything = [*pairs, ("obstetric", None), ("obstetric", "blood_pressure"), ("physician", "blood_pressure")]
    result = plan_with(add(data, history=[{"item": "pregnancy", "weeks": 30}], vitals=vitals), everything)
    assert result.plan.status == "refer_urgent"
    assert urgent_to(result, "emergency_care")


@SETTINGS
@given(data=case_dicts(), pairs=clearance_pairs)
def test_infant_is_never_treated(data: dict[str, Any], pairs: Pairs) -> None:
    result = plan_with(add(data, patient={"age": 2}), pairs)
    assert result.plan.total_minutes == 0
    assert result.plan.status in ("refer_urgent", "refer", "defer")


@SETTINGS
@given(data=case_dicts(), pairs=clearance_pairs, age=st.integers(3, 17))
def test_children_get_moderate_pressure_at_most(data: dict[str, Any], pairs: Pairs,
                                                age: int) -> None:
    result = plan_with(add(data, patient={"age": age}), pairs)
    ranks = {p: i for i, p in enumerate(V.pressures)}
    for segment in result.plan.to_dict()["session"]["segments"]:
        for w in segment.get("work", []):
            assert ranks[w["pressure"]] <= ranks["moderate"], w
            if age < 12:
                assert w["modality"] not in ("deep_tissue", "trigger_point_therapy", "neuromuscular_therapy"), w


LIFTED_ONLY_FOR_DYSPNEA = {
    "compensated heart failure": dict(history=[{"item": "heart_failure", "decompensated": False}]),
    "edema": dict(findings=[{"finding": "edema", "area": "ankle_foot"}]),
    "lymphedema": dict(diagnoses=[{"condition": "lymphedema", "area": "forearm"}]),
    "active malignancy": dict(history=[{"item": "malignancy", "active": True}]),
    "pregnancy": dict(history=[{"item": "pregnancy", "weeks": 25}]),
}


@SETTINGS
@given(data=case_dicts(), pairs=clearance_pairs, row=st.sampled_from(sorted(LIFTED_ONLY_FOR_DYSPNEA)))
def test_dyspnea_rows_need_a_clearance_given_for_the_dyspnea(data: dict[str, Any], pairs: Pairs, row: str) -> None:
    """Only a clearance given for the breathlessness lifts these rows; bare ids, or clearances for
    anything else, never do."""
    extra = LIFTED_ONLY_FOR_DYSPNEA[row]
    case = add(data, findings=[{"finding": "dyspnea"}, *extra.get("findings", [])],
               **{k: v for k, v in extra.items() if k != "findings"})
    others = [(c, s) for c, s in pairs if s != "dyspnea"] + [(c, None) for c in V.clearances]
    result = plan_with(case, others)
    assert result.plan.status == "refer_urgent", (row, result.plan.status_because)
    assert urgent_to(result, "emergency_care")


@SETTINGS
@given(data=case_dicts(), pairs=clearance_pairs)
def test_dyspnea_alone_is_never_treated_without_a_clearance_for_it(data: dict[str, Any], pairs: Pairs) -> None:
    others = [(c, s) for c, s in pairs if s != "dyspnea"]
    result = plan_with(add(data, findings=[{"finding": "dyspnea"}]), others)
    assert result.plan.status in ("refer_urgent", "refer"), result.plan.status
    assert result.plan.total_minutes == 0
