"""Safety invariants of the clinical-v2.1 red-flag rows, over arbitrary generated cases.

A v2.1 red-flag fact is added to a case from tests/strategies.py; whatever else the case holds
(diagnoses, findings, medications, clearances, requests) the row decides the outcome.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medmassage_rules.planning.results import PlanResult

from ..strategies import V, case_dicts, plan

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LEG_AREAS = tuple(a for a, group in V.areas.items() if group == "lower_extremity")
SCOPED = st.lists(st.sampled_from(tuple(V.clearances)).map(lambda c: {"id": c, "for": "dyspnea"}), max_size=3)


def emergency(result: PlanResult) -> bool:
    return result.plan.status == "refer_urgent" and any(
        r.to == "emergency_care" and r.urgency == "urgent" for r in result.plan.referrals)


@SETTINGS
@given(data=case_dicts(), area=st.sampled_from(LEG_AREAS), side=st.sampled_from(["left", "right", None]),
       scoped=SCOPED)
def test_dyspnea_with_one_sided_or_side_less_leg_edema_never_treats(
        data: dict[str, Any], area: str, side: str | None, scoped: list[dict[str, str]]) -> None:
    """§1.2: no clearance lifts it; only a lymphedema of that leg explains the swelling (none here)."""
    data = {**data, "diagnoses": [d for d in data["diagnoses"] if d["condition"] != "lymphedema"]
            or [{"condition": "neck_pain"}]}
    edema = {"finding": "edema", "area": area, **({"side": side} if side else {})}
    data["findings"] = [*data.get("findings", []), {"finding": "dyspnea"}, edema]
    data["clearances"] = [*data.get("clearances", []), *scoped]
    result = plan(data)
    assert not result.plan.treats
    assert emergency(result)


# the area each strain or sprain works when no area is given: its primary targets
INJURY_SITE = {"ankle_sprain": "ankle_foot", "hamstring_strain": "thigh"}


@SETTINGS
@given(data=case_dicts(), condition=st.sampled_from(sorted(INJURY_SITE)), side=st.sampled_from(["left", "right"]))
def test_an_acute_by_default_dated_injury_never_gets_work_at_its_site(
        data: dict[str, Any], condition: str, side: str) -> None:
    """§2.6 with §1.6: no acuity and no onset -> acute -> its site is blocked, requests and focus included."""
    area = INJURY_SITE[condition]
    data = {**data, "diagnoses": [{"condition": condition, "side": side},
                                  *(d for d in data["diagnoses"] if d["condition"] not in INJURY_SITE)]}
    prescription = dict(data.get("prescription", {}))
    prescription["focus_areas"] = [*prescription.get("focus_areas", []), area]
    data["prescription"] = prescription
    result = plan(data)
    assert all(not (V.area_of(w.target) == area and w.side in (side, None, "bilateral"))
               for s in result.plan.segments for w in s.work)
    assert any(a.startswith("acuity not recorded: treated as acute") for a in result.plan.advisories) \
        or not result.plan.treats


@SETTINGS
@given(data=case_dicts(), condition=st.sampled_from(sorted(V.spinal_conditions)),
       side=st.sampled_from(["left", "right", "bilateral", None]))
def test_progressive_weakness_with_any_spinal_condition_always_refers_urgently(
        data: dict[str, Any], condition: str, side: str | None) -> None:
    """§1.6: whatever clearances the case carries."""
    data = {**data, "diagnoses": [*data["diagnoses"], {"condition": condition}]}
    data["findings"] = [*data.get("findings", []),
                        {"finding": "progressive_weakness", **({"side": side} if side else {})}]
    data["clearances"] = [*data.get("clearances", []), *V.clearances]
    result = plan(data)
    assert result.plan.status == "refer_urgent" and emergency(result)


@SETTINGS
@given(data=case_dicts(), hours=st.integers(0, 11) | st.none())
def test_chest_pain_within_12_hours_is_an_emergency_without_a_cardiac_clearance(
        data: dict[str, Any], hours: int | None) -> None:
    """§1.3: absent hours_since counts as 0 (pain now)."""
    data = {**data, "diagnoses": [d for d in data["diagnoses"] if d["condition"] != "pseudo_angina"]
            or [{"condition": "neck_pain"}]}
    data["clearances"] = [c for c in data.get("clearances", []) if c != "cardiac"]
    data["findings"] = [*data.get("findings", []),
                        {"finding": "chest_pain", **({"hours_since": hours} if hours is not None else {})}]
    result = plan(data)
    assert result.plan.status == "refer_urgent" and emergency(result)


JOINTS = ("shoulder", "knee", "ankle_foot", "wrist_hand", "hip_gluteal")
EXPLAINING = frozenset({"recent_surgery", "recent_fracture"})
EXPLAINING_CONDITIONS = frozenset({"post_surgical_edema", "lymphedema", *V.soft_tissue_injuries,
                                   "delayed_onset_muscle_soreness", "whiplash_associated_disorder"})


@SETTINGS
@given(data=case_dicts(), joint=st.sampled_from(JOINTS), side=st.sampled_from(["left", "right", "bilateral", None]))
def test_a_hot_swollen_joint_that_nothing_explains_never_treats(
        data: dict[str, Any], joint: str, side: str | None) -> None:
    """§1.4: septic until proven otherwise, unless a physician cleared it for the joint."""
    data = {**data, "diagnoses": [d for d in data["diagnoses"] if d["condition"] not in EXPLAINING_CONDITIONS]
            or [{"condition": "neck_pain"}]}
    data["history"] = [h for h in data.get("history", []) if h["item"] not in EXPLAINING]
    data["clearances"] = [c for c in data.get("clearances", []) if not isinstance(c, dict)]
    where = {"area": joint, **({"side": side} if side else {})}
    data["findings"] = [*data.get("findings", []), {"finding": "local_inflammation", **where},
                        {"finding": "edema", **where}]
    result = plan(data)
    assert result.plan.status == "refer_urgent"
    assert any(r.urgency == "urgent" and r.to in ("physician", "emergency_care") for r in result.plan.referrals)


@SETTINGS
@given(data=case_dicts(), area=st.sampled_from(["neck", "upper_back", "lower_back", "chest", None]))
def test_osteoporosis_with_a_tender_spine_never_gets_work_on_the_back_or_chest(
        data: dict[str, Any], area: str | None) -> None:
    """§1.5: the back and chest blocked, light pressure at most everywhere else."""
    data = {**data, "history": [*data.get("history", []), {"item": "osteoporosis"}]}
    data["findings"] = [*data.get("findings", []),
                        {"finding": "focal_bone_tenderness", **({"area": area} if area else {})}]
    result = plan(data)
    work = [w for s in result.plan.segments for w in s.work]
    assert not {V.area_of(w.target) for w in work} & {"upper_back", "lower_back", "chest", area}
    assert all(w.pressure == "light" for w in work)
    assert not any("stress fracture" in a for a in result.plan.advisories)
