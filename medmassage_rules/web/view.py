"""What the plan page shows, gathered from the library: the brief, the timeline, the chart, every
why and why-not, the advisories grouped, the SOAP draft and the versions.

Nothing clinical is decided here: the explanations are the explainer's, the words the
renderers'. Advisories are grouped by what they are about and said once each; several that
end alike ("...: avoid deep pressure at the site itself") are joined into one line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..explain.explainer import Explainer
from ..explain.explanation import Explanation
from ..kb.knowledge_base import KnowledgeBase
from ..kb.wording import STATUS_HEADLINES, side_note
from ..planning.results import PlanResult
from ..render.brief import DISCLAIMER, brief_lines, versions
from ..render.soap import render_soap
from .bodychart import BodyChart, body_chart

URGENCY = {"refer_urgent": "urgent", "refer": "stop", "defer": "stop", "needs_clearance": "warn",
           "treat_with_precautions": "caution", "treat": "ok"}
KIND_TITLES = {"action": "Act now", "status": "Why the plan is what it is", "delivery": "How to give the session"}
ADVISORY_GROUPS = ("Act now", "Why the plan is what it is", "How to give the session", "Endangerment sites",
                   "Evidence caveats")
Groups = tuple[tuple[str, tuple[str, ...]], ...]   # (title, advisories)
_DOI = re.compile(r"doi:\s*(10\.\d{4,9}/\S+?)[.,;)]?(\s|$)", re.IGNORECASE)
_URL = re.compile(r"https?://[^\s<>\"']+")


@dataclass(frozen=True)
class Segment:
    start: int
    end: int
    group: str
    rows: tuple[tuple[str, str], ...]      # (target with side, its work)


@dataclass(frozen=True)
class PlanView:
    result: PlanResult
    headline: str
    urgency: str
    status_reasons: tuple[str, ...]        # the descriptions of the rules that set the status
    brief: tuple[str, ...]
    segments: tuple[Segment, ...]
    chart: BodyChart
    modalities: tuple[Explanation, ...]
    blocked: tuple[Explanation, ...]
    targets: tuple[Explanation, ...]
    status: Explanation
    advisories: Groups
    soap: str
    disclaimer: str
    versions: str


def source_link(reference: str) -> str | None:
    """The address a reference names: its DOI (as https://doi.org/...) or its first web address."""
    doi = _DOI.search(reference)
    if doi:
        return f"https://doi.org/{doi.group(1)}"
    url = _URL.search(reference)
    return url.group(0).rstrip(".,;)") if url else None


def group_advisories(advisories: tuple[str, ...], kinds: tuple[str, ...] = ()) -> Groups:
    """The advisories by their kind (clinical-v2.1 §7: act now, why the plan is what it is, how to give
    the session), none repeated; endangerment sites ("...: avoid deep pressure at the site itself")
    joined into one line, evidence caveats apart. Without kinds, every advisory is one to act on."""
    groups: dict[str, list[str]] = {title: [] for title in ADVISORY_GROUPS}
    endings: dict[str, list[str]] = {}
    padded = (*kinds, *["action"] * (len(advisories) - len(kinds)))[:len(advisories)]
    for text, kind in dict.fromkeys(zip(advisories, padded, strict=True)):
        head, sep, tail = text.partition(": ")
        if sep and tail.startswith("avoid") and kind == "delivery":
            endings.setdefault(tail, []).append(head)
        elif text.startswith("evidence caveat: "):
            groups["Evidence caveats"].append(tail)
        else:
            groups[KIND_TITLES.get(kind, "Act now")].append(text)
    groups["Endangerment sites"] = [f"{', '.join(heads)}: {tail}" for tail, heads in endings.items()]
    return tuple((g, tuple(dict.fromkeys(items))) for g, items in groups.items() if items)


def _segments(result: PlanResult, kb: KnowledgeBase) -> tuple[Segment, ...]:
    v, out, start = kb.vocabulary, [], 0
    for s in result.plan.segments:
        per_target: dict[str, list[str]] = {}
        for w in s.work:
            per_target.setdefault(f"{v.label(w.target)}{side_note(w.side)}", []).append(
                f"{v.label(w.modality)} {w.pressure}")
        out.append(Segment(start, start + s.minutes, v.label(s.group),
                           tuple((t, ", ".join(work)) for t, work in per_target.items())))
        start += s.minutes
    return tuple(out)


def plan_view(result: PlanResult, kb: KnowledgeBase) -> PlanView:
    """Everything the plan page shows (call it under the planner's lock: the explainer walks the result)."""
    plan = result.plan
    explainer = Explainer(result, kb)
    modalities = tuple(explainer.why("modality", m.id) for m in plan.modalities)
    blocked = tuple(explainer.why_not("modality", b.id) for b in plan.blocked_modalities)
    blocked += tuple(explainer.why_not("area", a) for a in dict.fromkeys(b.id for b in plan.blocked_areas))
    blocked += tuple(explainer.why_not("target", t) for t in dict.fromkeys(
        b.id for b in getattr(plan, "blocked_targets", ())))  # a single target blocked (iliopsoas after hip surgery)
    targets = tuple(explainer.why("target", t) for t in dict.fromkeys(t.id for t in plan.targets))
    reasons = tuple(dict.fromkeys(kb.by_id[r].description for r in plan.status_because))
    return PlanView(result, STATUS_HEADLINES[plan.status], URGENCY.get(plan.status, "stop"), reasons,
                    tuple(brief_lines(result, kb)), _segments(result, kb), body_chart(result, kb),
                    modalities, blocked, targets, explainer.why("status", "status"),
                    group_advisories(plan.advisories, tuple(getattr(plan, "advisory_kinds", ()))),
                    render_soap(result, kb), DISCLAIMER, versions(kb))


def evidence_of(e: Explanation) -> list[Any]:
    """Every rule an explanation cites, once each, in order (for its sources list)."""
    steps = [*e.steps, *(c.conclusion for c in e.chains), *(m for c in e.chains for m in c.mechanisms)]
    seen: dict[str, Any] = {}
    for s in steps:
        seen.setdefault(s.rule.rule_id, s.rule)
    for c in e.counterfactuals:
        seen.setdefault(c.rule.rule_id, c.rule)
    return list(seen.values())
