"""A SOAP-note draft of one visit, from the case and its plan: for the therapist to edit and file.

S: the diagnoses, history and medications as reported; O: the findings, vitals, labs and the
patient's age; A: the status and its reasons, red flags, what is blocked and capped; P: today's
modalities, areas, pressures and minutes, referrals, clearances and what to reassess. The
disclaimer and the program and knowledge-base versions close it, as on the plan page.
``recommend --format soap`` prints it; the web plan page shows it in an editable box.
"""

from __future__ import annotations

from ..cases.models import Case
from ..kb.knowledge_base import KnowledgeBase
from ..kb.wording import MEASURES, STATUS_HEADLINES, Words, or_list, side_note
from ..planning.results import PlanResult
from .brief import DISCLAIMER, areas_by_side, cap_place, versions
from .text import said_once


def _subjective(case: Case, w: Words) -> list[str]:
    lines = []
    for d in case.diagnoses:
        details = [x for x in (d.side, d.effective_acuity, d.severity) if x]
        where = f" of the {w.plain(d.area)}" if d.area else ""
        code = f", ICD-10-CM {d.icd10}" if d.icd10 else ""
        onset = f", onset {d.onset_days} days ago" if d.onset_days is not None else ""
        lines.append(f"Diagnosis: {w.plain(d.condition)}{where} ({', '.join(details)}{onset}{code})")
    lines += [f"Diagnosis not covered by the knowledge base: {code} {text}" for code, text in case.not_covered]
    for h in case.history:
        where = f" at the {w.plain(h.area)}" if h.area else ""
        notes = [n for n, on in (("fragility fracture", h.fragility_fracture), ("not active", not h.active),
                                 ("high risk", h.high_risk), ("decompensated", h.decompensated)) if on]
        notes += [f"{h.days_since} days ago"] if h.days_since is not None else []
        notes += [f"{h.weeks} weeks"] if h.weeks is not None else []
        lines.append(f"History: {w.plain(h.item)}{where}{side_note(h.side)}"
                     + (f" - {', '.join(notes)}" if notes else ""))
    names = [m if isinstance(m, str) else m.name for m in case.medications]
    lines.append(f"Medications (as reported): {', '.join(names) if names else 'none listed'}")
    return lines


def _objective(case: Case, w: Words) -> list[str]:
    lines = []
    patient = [f"age {case.patient.age}"] if case.patient.age is not None else []
    patient += [case.patient.sex] if case.patient.sex else []
    patient += ["frail"] if case.patient.frail else []
    if patient:
        lines.append(f"Patient: {', '.join(patient)}")
    for f in case.findings:
        where = f" at the {w.plain(f.site)}" if f.site else ""
        lines.append(f"Finding: {w.plain(f.finding)}{where}{side_note(f.side)}")
    measured = [(name, value) for name, value in (*case.vitals.model_dump().items(), *case.labs.model_dump().items())
                if value is not None]
    for name, value in measured:
        words, unit = MEASURES[name]
        lines.append(f"{words[0].upper()}{words[1:]}: {value}{unit}")
    return lines or ["No findings or measurements recorded."]


def _assessment(result: PlanResult, kb: KnowledgeBase) -> list[str]:
    plan, v, rule = result.plan, kb.vocabulary, kb.by_id
    lines = [f"Status: {STATUS_HEADLINES[plan.status]}"]
    lines += [f"  because {rule[r].description} [{r}]" for r in plan.status_because]
    said = set(plan.status_because)
    for ref in (x for x in plan.referrals if x.urgency == "urgent"):
        lines.append(f"Red flag: {v.referrals[ref.to]} [{', '.join(ref.because)}]")
        lines += [f"  {rule[b].description} [{b}]" for b in ref.because if b not in said]
        said.update(ref.because)
    for b in plan.blocked_modalities:
        reasons = [r for r in b.because if r not in said]
        lines.append(f"Not to be done: {v.label(b.id)}" + (f" [{', '.join(b.because)}]"))
        for r in reasons:
            lines.append(f"  {rule[r].description} [{r}]")
            said.add(r)
    for a in (*plan.blocked_areas, *getattr(plan, "blocked_targets", ())):
        lines.append(f"No work on the {v.label(a.id)}{side_note(a.side)} [{', '.join(a.because)}]")
    if plan.treats and plan.pressure_cap != "deep":
        lines.append(f"Pressure at most {plan.pressure_cap} [{', '.join(plan.pressure_cap_because)}]")
    lines += [f"Pressure on the {cap_place(c, kb)[1]}{side_note(c.side)}: {c.pressure} at most "
              f"[{', '.join(c.because)}]" for c in plan.caps]
    return lines


def _plan(result: PlanResult, kb: KnowledgeBase) -> list[str]:
    plan, v = result.plan, kb.vocabulary
    lines = []
    if plan.treats and plan.segments:
        lines.append("Today: " + ", ".join(f"{v.label(m.id)} ({m.pressure})" for m in plan.modalities))
        lines.append(f"Areas: {', '.join(areas_by_side(plan, kb))}")
        lines.append(f"Minutes: {plan.total_minutes}")
        start = 0
        for s in plan.segments:
            lines.append(f"  {start}-{start + s.minutes} min, {v.label(s.group)}:")
            per_target: dict[str, list[str]] = {}
            for w in s.work:
                per_target.setdefault(f"{v.label(w.target)}{side_note(w.side)}", []).append(
                    f"{v.label(w.modality)} {w.pressure}")
            lines += [f"    {target}: {', '.join(work)}" for target, work in per_target.items()]
            start += s.minutes
    else:
        lines.append("Today: no massage")
    lines += [f"Referral ({r.urgency}): {v.referrals[r.to]}" for r in plan.referrals]
    lines += [f"Clearance to obtain: {v.clearances[c]}" for c in plan.clearances_required]
    lines += [f"Precaution: {a}" for a in said_once(plan.advisories)]
    if plan.treats:
        conditions = or_list(list(dict.fromkeys(v.label(d.condition) for d in result.case.diagnoses)), "and")
        lines.append(f"Reassess next visit: the symptoms of {conditions}, and the response to today's pressure")
    else:
        lines.append("Reassess when the referral or clearance is answered; re-run the plan then")
    return lines


def render_soap(result: PlanResult, kb: KnowledgeBase) -> str:
    """The SOAP-note draft as plain text."""
    w = Words(kb.vocabulary)
    sections = [("S - Subjective", _subjective(result.case, w)), ("O - Objective", _objective(result.case, w)),
                ("A - Assessment", _assessment(result, kb)), ("P - Plan", _plan(result, kb))]
    out = [f"SOAP note draft - case {result.plan.case_id}"]
    for title, lines in sections:
        out += ["", title, *lines]
    out += ["", DISCLAIMER, versions(kb)]
    return "\n".join(out)
