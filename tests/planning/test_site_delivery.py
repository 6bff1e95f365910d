"""Site-aware delivery (clinical-v2 §1): tissues, axial and approach areas, per-target pressure."""

from __future__ import annotations

from typing import Any

from medmassage_rules.planning.pipeline import plan_case
from medmassage_rules.planning.plan import AreaCap, Plan

from ..strategies import KB, V, build


def _plan(data: dict[str, Any]) -> Plan:
    return plan_case(build({"id": "site", **data}), KB).plan


def _work(plan: Plan) -> list[tuple[str, str | None, str, str]]:
    return [(w.target, w.side, w.modality, w.pressure) for s in plan.segments for w in s.work]


def test_every_modality_lists_the_tissues_it_applies_to() -> None:
    assert set(V.tissues) == {"muscle", "fascia", "tendon_ligament", "lymph_node", "viscus"}
    for mod in V.modalities.values():
        assert mod.applies_to and set(mod.applies_to) <= set(V.tissues), mod
    assert V.tissue_of("flexor_retinaculum") == "tendon_ligament"
    assert V.tissue_of("abdomen") == "viscus" and V.tissue_of("knee") == "tendon_ligament"
    assert V.tissue_of("upper_trapezius") == "muscle"  # every target not listed is muscle


def test_trigger_point_work_never_reaches_a_ligament() -> None:
    """Carpal tunnel: trigger point therapy and NMT work the forearm muscles, not the retinaculum."""
    plan = _plan({"diagnoses": [{"condition": "carpal_tunnel_syndrome", "side": "right", "acuity": "chronic"}]})
    work = _work(plan)
    on_retinaculum = {m for t, _, m, _ in work if t == "flexor_retinaculum"}
    assert on_retinaculum and not on_retinaculum & {"trigger_point_therapy", "neuromuscular_therapy"}
    assert {m for t, _, m, _ in work if t == "forearm_flexors"} & {"trigger_point_therapy", "neuromuscular_therapy"}


def test_a_requested_technique_reaches_only_tissue_it_applies_to() -> None:
    """A deep request on a constipation case is blocked for want of a target, and says so."""
    plan = _plan({"diagnoses": [{"condition": "constipation", "acuity": "chronic"}],
                  "prescription": {"modalities": ["deep_tissue", "trigger_point_therapy"]}})
    assert plan.status == "treat_with_precautions"
    assert {m.id for m in plan.modalities} == {"abdominal_massage"}
    blocked = {b.id: b for b in plan.blocked_modalities}
    for mod in ("deep_tissue", "trigger_point_therapy"):
        assert blocked[mod].reason == "no target it applies to"
        assert "site-applicability" in blocked[mod].because and "rx-requested-modality" in blocked[mod].because
    assert any("no target it applies to" in a and "colon is an organ" in a for a in plan.advisories)
    assert all(t == "colon" and side is None for t, side, _, _ in _work(plan))  # the abdomen carries no side


def test_a_request_still_reaches_every_target_whose_tissue_it_fits() -> None:
    plan = _plan({"diagnoses": [{"condition": "neck_pain", "acuity": "chronic"}],
                  "prescription": {"modalities": ["deep_tissue"]}})
    assert "deep_tissue" in {m.id for m in plan.modalities}
    assert next(m for m in plan.modalities if m.id == "deep_tissue").requested


def test_an_axial_block_holds_on_both_sides() -> None:
    """A left-sided lumbar surgery on day 5 leaves no work on the right paraspinals."""
    plan = _plan({"diagnoses": [{"condition": "low_back_pain", "acuity": "chronic"},
                                {"condition": "neck_pain", "acuity": "chronic"}],
                  "history": [{"item": "recent_surgery", "area": "lower_back", "side": "left", "days_since": 5}]})
    assert plan.treats
    assert not [t for t in plan.targets if t.area == "lower_back"]
    assert any(b.id == "lower_back" and b.side is None for b in plan.blocked_areas)


def test_an_axial_cap_holds_on_both_sides() -> None:
    plan = _plan({"diagnoses": [{"condition": "neck_pain", "acuity": "chronic"}],
                  "history": [{"item": "peripheral_neuropathy", "area": "neck", "side": "left"}]})
    assert all(pressure == "light" for t, _, _, pressure in _work(plan) if V.area_of(t) == "neck")
    assert [(c.area, c.side, c.pressure) for c in plan.caps if isinstance(c, AreaCap)] == [("neck", None, "light")]


def test_iliopsoas_is_blocked_with_the_abdomen() -> None:
    """Iliopsoas is worked through the abdomen: an aneurysm that blocks the abdomen blocks it too."""
    base = {"diagnoses": [{"condition": "low_back_pain", "acuity": "chronic"}],
            "prescription": {"max_minutes": 60}}
    free = _plan(base)
    assert "iliopsoas" in {t.id for t in free.targets}
    blocked = _plan({**base, "history": [{"item": "abdominal_aortic_aneurysm"}]})
    assert "iliopsoas" not in {t.id for t in blocked.targets}


def test_each_target_has_its_own_pressure() -> None:
    """Varicose veins on the left lower leg: light there, moderate on the other targets."""
    plan = _plan({"diagnoses": [{"condition": "plantar_fasciitis", "side": "left", "acuity": "chronic"}],
                  "history": [{"item": "varicose_veins", "area": "lower_leg", "side": "left"}]})
    work = _work(plan)
    assert {p for t, _, _, p in work if V.area_of(t) == "lower_leg"} == {"light"}
    assert "moderate" in {p for t, _, _, p in work if V.area_of(t) == "ankle_foot"}
    for s in plan.segments:
        assert s.targets == tuple(dict.fromkeys(w.target for w in s.work))
        assert set(s.modalities) == {w.modality for w in s.work}
