"""The questions asked of one plan: why and why not, for a modality, a target, an area, the
status (``status``) or the minutes (``minutes``).

Both return an :class:`~medmassage_rules.explain.explanation.Explanation`, plain frozen data;
nothing here prints. Asking why of an item the plan does not hold answers why not, and
asking why not of the status or the minutes answers why.
"""

from __future__ import annotations

from dataclasses import replace

from ..kb.knowledge_base import KnowledgeBase
from ..planning.results import PlanResult
from .explanation import Explanation
from .lookup import resolve_item
from .why import WhyAnswers
from .why_not import WhyNotAnswers


class Explainer(WhyAnswers, WhyNotAnswers):
    """Answers why and why not about one plan, its derivation graph built once."""

    def why(self, kind: str, ident: str) -> Explanation:
        if kind == "modality":
            planned = self.planned_modality(ident)
            if planned is None:
                return self.why_not_modality(ident, asked="why")
            return self.why_modality(planned)
        if kind in ("target", "area"):
            targets = self.planned_sites(kind, ident)
            if not targets:
                return self.why_not_site(kind, ident, asked="why")
            return self.why_site(kind, ident, targets)
        if kind == "minutes":
            return self.why_minutes()
        return self.why_status(self.plan.status if ident == "status" else ident)

    def why_not(self, kind: str, ident: str) -> Explanation:
        if kind == "modality":
            return self.why_not_modality(ident)
        if kind in ("target", "area"):
            return self.why_not_site(kind, ident)
        return replace(self.why(kind, ident), question="why_not")


def why(result: PlanResult, kb: KnowledgeBase, item_id: str) -> Explanation:
    """Why the plan holds an item: the chains of rules and case facts that put it there."""
    kind, ident = resolve_item(kb, item_id)
    return Explainer(result, kb).why(kind, ident)


def why_not(result: PlanResult, kb: KnowledgeBase, item_id: str) -> Explanation:
    """Why the plan does not hold an item: what blocked, capped or left it out, or what is missing."""
    kind, ident = resolve_item(kb, item_id)
    return Explainer(result, kb).why_not(kind, ident)


def explain_recommended(result: PlanResult, kb: KnowledgeBase) -> tuple[Explanation, ...]:
    """The why of every recommended modality, most certain first (``recommend --explain``)."""
    explainer = Explainer(result, kb)
    return tuple(explainer.why("modality", m.id) for m in result.plan.modalities)


def explain_blocked(result: PlanResult, kb: KnowledgeBase) -> tuple[Explanation, ...]:
    """The why-not of every blocked or priced-out modality, every blocked area, and every target
    a rule proposed that the plan lacks."""
    explainer = Explainer(result, kb)
    out = [explainer.why_not("modality", b.id) for b in result.plan.blocked_modalities]
    out += [explainer.why_not("area", a) for a in dict.fromkeys(b.id for b in result.plan.blocked_areas)]
    out += [explainer.why_not("area" if t in kb.vocabulary.areas else "target", t)
            for t in explainer.missing_targets()]
    return tuple(out)
