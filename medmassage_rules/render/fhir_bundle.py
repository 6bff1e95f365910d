"""The plan as a FHIR R4 Bundle (type collection): ``recommend --format fhir`` (case-format §6).

- one ServiceRequest (status draft, intent proposal) per delivered modality: the modality as its
  code, the targets it is delivered on as ``bodySite`` (each with its side), the pressure and
  minutes in a ``note``, and the case's diagnoses as ``reasonCode`` (the ICD-10-CM code, else the
  condition's name);
- one ServiceRequest per referral (category "Patient referral", the destination as
  ``performerType``, ``priority`` urgent or routine);
- one DetectedIssue per red flag (an urgent referral), status that stops treatment, missing
  clearance, blocked modality or area, and cap - severity high for refer_urgent and the statuses
  that block everything, moderate for blocks and clearances, low for caps - with its detail and
  what it implicates;
- a Provenance over all of them: the program and the knowledge base (its version and rule
  fingerprint) as agent, every rule the plan names as an entity, and ``recorded`` the case's
  ``as_of`` (the day its facts describe), so the same case gives the same bundle.

Ids are name-based UUIDs of the case id and the entry, so the output is deterministic.
"""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

from ..kb.knowledge_base import KnowledgeBase
from ..kb.vocabulary import REFERRING
from ..planning.plan import Plan
from ..planning.results import PlanResult
from .brief import versions

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
SYSTEM = "urn:medmassage-rules"  # the code system of the knowledge base's own ids: urn:medmassage-rules:modality
REFERRAL_CATEGORY = {"coding": [{"system": SNOMED, "code": "3457005", "display": "Patient referral"}],
                     "text": "referral"}
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:medmassage-rules:fhir-bundle")


class _Bundle:
    def __init__(self, result: PlanResult, kb: KnowledgeBase):
        self.result, self.kb, self.v = result, kb, kb.vocabulary
        self.plan: Plan = result.plan
        self.entries: list[dict[str, Any]] = []
        self.rules: list[str] = []

    def url(self, key: str) -> str:
        return f"urn:uuid:{uuid.uuid5(_NAMESPACE, self.plan.case_id + '/' + key)}"

    def add(self, key: str, resource: dict[str, Any], because: tuple[str, ...] = ()) -> str:
        full = self.url(key)
        resource = {"resourceType": resource.pop("resourceType"), "id": full.rsplit(":", 1)[1], **resource}
        self.entries.append({"fullUrl": full, "resource": resource})
        self.rules += [r for r in because if r not in self.rules]
        return full

    @property
    def subject(self) -> dict[str, Any]:
        case_id = self.plan.case_id
        if case_id.startswith("fhir-") and len(case_id) > 5:  # a case imported from FHIR names its Patient
            return {"reference": f"Patient/{case_id[5:]}"}
        return {"identifier": {"system": f"{SYSTEM}:case", "value": case_id}, "display": case_id}

    def concept(self, kind: str, ident: str, text: str | None = None) -> dict[str, Any]:
        label = self.v.label(ident)
        return {"coding": [{"system": f"{SYSTEM}:{kind}", "code": ident, "display": label}], "text": text or label}

    def reasons(self) -> list[dict[str, Any]]:
        from ..intake.codes import load_index

        out = []
        for d in self.result.case.diagnoses:
            if d.icd10:
                found = load_index().get(d.icd10)
                coding = {"system": ICD10CM, "code": d.icd10, **({"display": found.description} if found else {})}
                out.append({"coding": [coding], "text": self.v.label(d.condition)})
            else:
                out.append({"text": self.v.label(d.condition)})
        return out

    def issue(self, key: str, severity: str, code: str, detail: str, because: tuple[str, ...],
              implicated: list[dict[str, Any]]) -> None:
        resource: dict[str, Any] = {"resourceType": "DetectedIssue", "status": "preliminary",
                                    "code": {"text": code}, "severity": severity, "patient": self.subject,
                                    "detail": detail}
        if implicated:
            resource["implicated"] = implicated
        self.add(key, resource, because)

    def why(self, because: tuple[str, ...]) -> str:
        return "; ".join(f"{self.kb.by_id[r].description} ({r})" if r in self.kb.by_id else r for r in because)


def _sided(label: str, side: str | None) -> str:
    return f"{label} ({side})" if side else label


def render_fhir_bundle(result: PlanResult, kb: KnowledgeBase) -> str:
    """The plan as a FHIR R4 collection Bundle (JSON text)."""
    b = _Bundle(result, kb)
    plan, v = b.plan, b.v
    minutes: dict[str, int] = {}
    sites: dict[str, list[tuple[str, str | None]]] = {}
    for segment in plan.segments:
        for modality in segment.modalities:
            minutes[modality] = minutes.get(modality, 0) + segment.minutes
        for work in segment.work:
            if (work.target, work.side) not in sites.setdefault(work.modality, []):
                sites[work.modality].append((work.target, work.side))
    reasons = b.reasons()
    for m in plan.modalities:
        resource: dict[str, Any] = {
            "resourceType": "ServiceRequest", "status": "draft", "intent": "proposal",
            "code": b.concept("modality", m.id), "subject": b.subject,
            "bodySite": [b.concept("target", t, _sided(v.label(t), side)) for t, side in sites.get(m.id, [])],
            "note": [{"text": f"pressure {m.pressure}; {minutes.get(m.id, 0)} minutes of a "
                              f"{plan.total_minutes}-minute session"}]}
        if reasons:
            resource["reasonCode"] = reasons
        b.add(f"modality/{m.id}", resource, m.because)
    referrals = {}
    for r in plan.referrals:
        referrals[r.to] = b.add(f"referral/{r.to}", {
            "resourceType": "ServiceRequest", "status": "draft", "intent": "proposal",
            "category": [REFERRAL_CATEGORY], "priority": "urgent" if r.urgency == "urgent" else "routine",
            "code": {"text": f"Referral to {v.label(r.to)}"}, "subject": b.subject,
            "performerType": b.concept("referral", r.to), **({"reasonCode": reasons} if reasons else {})},
            r.because)
    for r in plan.referrals:
        if r.urgency == "urgent":
            b.issue(f"red-flag/{r.to}", "high", "red flag", f"refer urgently to {v.label(r.to)}: {b.why(r.because)}",
                    r.because, [{"reference": referrals[r.to]}])
    if plan.status in REFERRING or plan.status == "defer":
        b.issue("status", "high", f"no massage today: {plan.status}", b.why(plan.status_because) or plan.status,
                plan.status_because, [{"reference": u} for u in referrals.values()])
    for clearance in plan.clearances_required:
        b.issue(f"clearance/{clearance}", "moderate", "clearance required",
                f"a {v.label(clearance)} clearance is needed before treatment", plan.status_because, [])
    for bm in plan.blocked_modalities:
        b.issue(f"blocked/modality/{bm.id}", "moderate", f"{v.label(bm.id)} blocked",
                f"{bm.reason}: {b.why(bm.because)}", bm.because, [{"display": f"modality {bm.id}"}])
    for ba in plan.blocked_areas:
        b.issue(f"blocked/area/{ba.id}/{ba.side}", "moderate", f"{_sided(v.label(ba.id), ba.side)} blocked",
                b.why(ba.because), ba.because, [{"display": _sided(f"area {ba.id}", ba.side)}])
    for bt in plan.blocked_targets:  # a single target (iliopsoas after hip surgery)
        b.issue(f"blocked/target/{bt.id}/{bt.side}", "moderate", f"{_sided(v.label(bt.id), bt.side)} blocked",
                b.why(bt.because), bt.because, [{"display": _sided(f"target {bt.id}", bt.side)}])
    if plan.pressure_cap != "deep":
        b.issue("cap/plan", "low", f"pressure at most {plan.pressure_cap}", b.why(plan.pressure_cap_because),
                plan.pressure_cap_because, [])
    for cap in plan.caps:
        where = getattr(cap, "area", None) or getattr(cap, "target", None) or ""
        b.issue(f"cap/{where}/{cap.side}/{cap.pressure}", "low",
                f"{_sided(v.label(where), cap.side)}: pressure at most {cap.pressure}", b.why(cap.because),
                cap.because, [{"display": _sided(where, cap.side)}])
    as_of = getattr(result.case, "as_of", None)
    recorded = (as_of if isinstance(as_of, date) else date.today()).isoformat()
    targets = [{"reference": e["fullUrl"]} for e in b.entries]
    if targets:
        b.add("provenance", {
            "resourceType": "Provenance", "target": targets, "recorded": f"{recorded}T00:00:00Z",
            "agent": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                            "code": "assembler", "display": "Assembler"}]},
                       "who": {"display": versions(kb)}}],
            "entity": [{"role": "source", "what": {"identifier": {"system": f"{SYSTEM}:rule", "value": rule},
                                                   "display": f"rule {rule}"}} for rule in b.rules]})
    bundle = {"resourceType": "Bundle", "id": b.url("bundle").rsplit(":", 1)[1], "type": "collection",
              "entry": b.entries}
    return json.dumps(bundle, indent=2, ensure_ascii=False)
