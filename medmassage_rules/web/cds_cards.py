"""CDS Hooks 2.0 cards from a plan: what the EHR shows the clinician (docs/ehr.md).

- a red flag or an urgent referral: one ``critical`` card naming where to send the patient;
- what stops or limits the massage - a status that stops it, a missing clearance, blocked
  modalities and areas, pressure caps: ``warning`` cards;
- the plan itself: one ``info`` card (summary at most 140 characters, the plan in brief and its
  reasons in markdown, the source's label and the reference's URL, a link to the plan page when
  the server holds one, and a suggestion that creates a draft ServiceRequest, intent proposal).

Each card carries a fresh ``uuid`` (the EHR's feedback names it) and is returned with the rule
ids it stands for, so that the feedback log can count accepted and overridden cards per rule.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from ..kb.knowledge_base import KnowledgeBase
from ..kb.vocabulary import REFERRING
from ..kb.wording import STATUS_HEADLINES
from ..planning.results import PlanResult
from ..render.brief import DISCLAIMER, brief_lines, cap_place, versions

MAX_SUMMARY = 140  # CDS Hooks: a one-sentence summary of fewer than 140 characters
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"


@dataclass(frozen=True)
class Card:
    """A card as JSON, and the rules it stands for (kept by the service for the feedback log)."""

    data: dict[str, Any]
    rules: tuple[str, ...]

    @property
    def uuid(self) -> str:
        return str(self.data["uuid"])


def summary(text: str) -> str:
    """One line of fewer than 140 characters (cut at a word, with an ellipsis)."""
    text = " ".join(text.split())
    if len(text) < MAX_SUMMARY:
        return text
    return text[: MAX_SUMMARY - 2].rsplit(" ", 1)[0].rstrip(",;:-") + "…"


def reference_url(kb: KnowledgeBase, rules: tuple[str, ...]) -> str | None:
    """The URL of the first of these rules' sources that has one (its DOI or PubMed page, or its URL)."""
    for rule_id in rules:
        rule = kb.by_id.get(rule_id)
        meta = kb.reference_meta.get(rule.citation) if rule is not None else None
        if meta is None:
            continue
        if meta.doi:
            return f"https://doi.org/{meta.doi}"
        if meta.pmid:
            return f"https://pubmed.ncbi.nlm.nih.gov/{meta.pmid}/"
        if meta.url:
            return meta.url
    return None


class CardMaker:
    def __init__(self, result: PlanResult, kb: KnowledgeBase, patient_id: str, plan_url: str | None):
        self.result, self.kb, self.v = result, kb, kb.vocabulary
        self.plan = result.plan
        self.patient_id = patient_id
        self.plan_url = plan_url

    def why(self, rules: tuple[str, ...]) -> list[str]:
        return [f"- {self.kb.by_id[r].description} (`{r}`, grade {self.kb.by_id[r].grade})"
                for r in rules if r in self.kb.by_id]

    def card(self, indicator: str, text: str, detail: list[str], rules: tuple[str, ...], **extra: Any) -> Card:
        source: dict[str, Any] = {"label": versions(self.kb).split(";")[0]}
        url = reference_url(self.kb, rules)
        if url:
            source["url"] = url
        data = {"uuid": str(uuid.uuid4()), "summary": summary(text), "indicator": indicator,
                "detail": "\n".join([*detail, "", f"_{DISCLAIMER}_"]), "source": source, **extra}
        if self.plan_url:
            data.setdefault("links", [{"label": "The plan with every why and why-not", "url": self.plan_url,
                                       "type": "absolute"}])
        return Card(data, tuple(dict.fromkeys(rules)))

    def cards(self) -> list[Card]:
        plan, v = self.plan, self.v
        out: list[Card] = []
        urgent = [r for r in plan.referrals if r.urgency == "urgent"]
        if urgent or plan.status == "refer_urgent":
            names = [v.referrals[r.to] for r in urgent] or ["a physician"]
            rules = tuple(x for r in urgent for x in r.because) or plan.status_because
            out.append(self.card("critical", f"Red flag: no massage; refer urgently to {' and '.join(names)}",
                                 [f"**{STATUS_HEADLINES['refer_urgent']}**", "", *self.why(rules)], rules))
        elif plan.status in REFERRING or plan.status == "defer":
            out.append(self.card("warning", STATUS_HEADLINES[plan.status].capitalize(),
                                 [f"**{STATUS_HEADLINES[plan.status]}**", "", *self.why(plan.status_because)],
                                 plan.status_because))
        for clearance in plan.clearances_required:
            out.append(self.card("warning", f"Massage needs {v.clearances[clearance]} first",
                                 ["**Clearance required**", "", *self.why(plan.status_because)], plan.status_because))
        if plan.blocked_modalities or plan.blocked_areas:
            rules = tuple(r for b in plan.blocked_modalities for r in b.because)
            rules += tuple(r for a in plan.blocked_areas for r in a.because)
            names = [v.label(b.id) for b in plan.blocked_modalities]
            names += [v.label(a.id) + (f" ({a.side})" if a.side else "") for a in plan.blocked_areas]
            out.append(self.card("warning", f"Not to be done: {', '.join(names)}",
                                 ["**Blocked**", "",
                                  *(f"- {v.label(b.id)}: {b.reason}" for b in plan.blocked_modalities),
                                  *(f"- no work on the {v.label(a.id)}" for a in plan.blocked_areas), "",
                                  *self.why(rules)], rules))
        if plan.pressure_cap != "deep" or plan.caps:
            rules = plan.pressure_cap_because + tuple(r for c in plan.caps for r in c.because)
            parts = [f"{plan.pressure_cap} at most"] if plan.pressure_cap != "deep" else []
            parts += [f"{cap_place(c, self.kb)[1]}{f' ({c.side})' if c.side else ''} {c.pressure}" for c in plan.caps]
            out.append(self.card("warning", f"Pressure: {'; '.join(parts)}", ["**Pressure caps**", "",
                                                                                *self.why(rules)], rules))
        out.append(self.info())
        return out

    def info(self) -> Card:
        plan, v = self.plan, self.v
        rules = tuple(r for m in plan.modalities for r in m.because) or plan.status_because
        lines = brief_lines(self.result, self.kb)
        head = "Massage plan: " + lines[0].split(" - ")[0].lower()
        if plan.treats and plan.modalities:
            head += f": {', '.join(v.label(m.id) for m in plan.modalities)}; {plan.total_minutes} min"
        detail = ["**The plan in brief**", "", *(f"- {line}" for line in lines)]
        if plan.treats:
            detail += ["", "**Why**", ""]
            for m in plan.modalities:
                detail += [f"- {v.label(m.id)} ({m.pressure}, certainty {m.certainty:.2f}):",
                           *(f"  {line}" for line in self.why(m.because))]
        extra: dict[str, Any] = {}
        if plan.treats and plan.modalities:
            extra = {"selectionBehavior": "at-most-one", "suggestions": [{
                "label": "Propose this massage plan (draft order)", "uuid": str(uuid.uuid4()), "isRecommended": False,
                "actions": [{"type": "create", "description": "A draft ServiceRequest (intent proposal) for the plan",
                             "resource": self.service_request(lines)}]}]}
        return self.card("info", head, detail, rules, **extra)

    def service_request(self, lines: list[str]) -> dict[str, Any]:
        v = self.v
        sites = list(dict.fromkeys((t.area, t.side) for t in self.plan.targets))
        reasons = [({"coding": [{"system": ICD10CM, "code": d.icd10}], "text": v.label(d.condition)} if d.icd10
                    else {"text": v.label(d.condition)}) for d in self.result.case.diagnoses]
        resource: dict[str, Any] = {
            "resourceType": "ServiceRequest", "status": "draft", "intent": "proposal",
            "code": {"text": "Medical massage"}, "subject": {"reference": f"Patient/{self.patient_id}"},
            "bodySite": [{"text": v.label(a) + (f" ({s})" if s else "")} for a, s in sites],
            "note": [{"text": "; ".join(lines[1:])}]}
        if reasons:
            resource["reasonCode"] = reasons
        return resource


def plan_cards(result: PlanResult, kb: KnowledgeBase, patient_id: str, plan_url: str | None = None) -> list[Card]:
    """The cards of a plan, the most urgent first."""
    return CardMaker(result, kb, patient_id, plan_url).cards()


def notice_card(kb: KnowledgeBase, indicator: str, text: str, detail: list[str]) -> Card:
    """A card that is not a plan: what is missing, or why no plan could be made."""
    data = {"uuid": str(uuid.uuid4()), "summary": summary(text), "indicator": indicator,
            "detail": "\n".join([*detail, "", f"_{DISCLAIMER}_"]), "source": {"label": versions(kb).split(";")[0]}}
    return Card(data, ())
