"""Certainty: a proposing rule's factor weighed by its evidence, and how factors combine.

Factors combine as x + y - x*y (MYCIN's rule for two pieces of evidence for one conclusion),
but only across sources: two rules citing one source count once, at the higher factor.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..kb.knowledge_base import KnowledgeBase

GRADE_WEIGHT = {"H": 1.0, "M": 0.85, "L": 0.6}  # certainty follows the evidence (clinical-v2 §5)


def grade_weight(kb: KnowledgeBase, proposal: Any) -> float:
    """What the grade of a proposing rule's evidence weighs its factor by (clinical-v2 §5); a
    request is not evidence and is not weighed."""
    if proposal["line"] == "request":
        return 1.0
    rule = kb.by_id.get(proposal["rule"])
    return GRADE_WEIGHT.get(rule.grade if rule else "L", GRADE_WEIGHT["L"])


def evidence_factor(kb: KnowledgeBase, proposal: Any) -> float:
    """A proposing rule's certainty (its line's factor times the weakest premise) weighed by the
    grade of its evidence."""
    return float(proposal["certainty"]) * grade_weight(kb, proposal)


def combine(kb: KnowledgeBase, proposals: Iterable[Any]) -> tuple[tuple[tuple[str, float], ...], float]:
    """The certainty of one modality from its proposals: (the counted (rule, factor) pairs in
    knowledge-base order, the combined value).

    Rules combine as x + y - x*y, but only across sources: two rules citing one source count
    once, at the higher factor. A request is not evidence: it never raises the certainty; a
    modality only requested keeps the request's factor.
    """
    props = list(proposals)
    best: dict[str, tuple[float, str]] = {}
    for p in props:
        if p["line"] == "request":
            continue
        rule = kb.by_id.get(p["rule"])
        source = rule.citation if rule is not None else p["rule"]
        factor = round(evidence_factor(kb, p), 6)
        if source not in best or (factor, -_order(kb, p["rule"])) > (best[source][0], -_order(kb, best[source][1])):
            best[source] = (factor, p["rule"])
    counted = tuple(sorted(((r, f) for f, r in best.values()), key=lambda rf: _order(kb, rf[0])))
    if not counted:
        return (), max((float(p["certainty"]) for p in props), default=0.0)
    return counted, combined(f for _, f in counted)[0]


def combined(factors: Iterable[float]) -> tuple[float, tuple[tuple[float, float, float], ...]]:
    """Factors for one conclusion combined in the given order as x + y - x*y: (the total, rounded
    to 4 places; each step (x, y, x + y - x*y)). No factor combines to 0.0."""
    steps: list[tuple[float, float, float]] = []
    total: float | None = None
    for y in factors:
        if total is not None:
            steps.append((total, y, total + y - total * y))
        total = y if total is None else steps[-1][2]
    return round(total or 0.0, 4), tuple(steps)


def _order(kb: KnowledgeBase, rule_id: str) -> int:
    rule = kb.by_id.get(rule_id)
    return rule.order if rule is not None else 1 << 30
