"""The experta facts a validated case asserts."""

from __future__ import annotations

from typing import Any

from ..cases.models import Case
from ..kb import fact_types as F
from ..kb.vocabulary import Vocabulary


def case_facts(case: Case, vocab: Vocabulary) -> list[Any]:
    """The experta facts a case asserts; every field present (None when absent)."""
    out: list[Any] = []
    for i, d in enumerate(case.diagnoses):
        out.append(F.Diagnosis(index=i, condition=d.condition, side=d.side, acuity=d.effective_acuity,
                               severity=d.severity, area=d.area,
                               group=vocab.areas[d.area] if d.area else None, onset_days=d.onset_days,
                               spinal=d.condition in vocab.spinal_conditions,
                               headache=d.condition in vocab.headache_conditions,
                               injury=d.condition in vocab.soft_tissue_injuries,
                               acuity_recorded=d.acuity_recorded))
    for i, f in enumerate(case.findings):
        site = f.site
        out.append(F.Finding(index=i, finding=f.finding, area=f.site_area(vocab), target=f.target,
                             site=site, group=vocab.group_of(site) if site else None, side=f.side,
                             hours_since=f.hours_since))
    for i, h in enumerate(case.history):
        out.append(F.History(index=i, item=h.item, area=h.area, side=h.side,
                             group=vocab.areas[h.area] if h.area else None,
                             fragility_fracture=h.fragility_fracture, active=h.active,
                             days_since=h.days_since, weeks=h.weeks, high_risk=h.high_risk,
                             decompensated=h.decompensated))
    for i, (name, cls) in enumerate(case.medication_pairs(vocab)):
        out.append(F.Medication(index=i, name=name, **{"class": cls}))
    out.append(F.Patient(index=0, age=case.patient.age, frail=bool(case.patient.frail)))
    out.append(F.Labs(index=0, platelets_k=case.labs.platelets_k))
    out.append(F.Vitals(index=0, temperature_c=case.vitals.temperature_c,
                        systolic=case.vitals.systolic, diastolic=case.vitals.diastolic))
    for i, (name, scope) in enumerate(case.clearance_pairs()):
        out.append(F.Clearance(index=i, name=name, scope=scope))
    rx = case.prescription
    for i, mod in enumerate(dict.fromkeys(rx.modalities)):
        out.append(F.Request(index=i, modality=mod))
    for i, mod in enumerate(dict.fromkeys(rx.exclude_modalities)):
        out.append(F.Exclusion(index=i, modality=mod))
    for i, area in enumerate(dict.fromkeys(rx.focus_areas)):
        out.append(F.Focus(index=i, area=area))
    return out
