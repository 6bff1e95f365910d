"""Certainty: a proposing rule's factor weighed by its evidence, and how factors combine.

Factors combine as x + y - x*y (MYCIN's rule for two pieces of evidence for one conclusion),
but only across sources: two rules citing one source count once, at the higher factor.

The evidence grade a rule counts at depends on the case (clinical-v2.1 §6.1): a case outside
the population its source studied (a child under an adult guideline, a pregnancy a trial left
out) counts at grade L, "extrapolated from" that population. Only delivered evidence counts
(§6.3): a proposing rule counts toward a modality's certainty, grade and reasons only when the
modality is delivered on at least one target that rule proposed it for. The planner computes
one :class:`ModalityCertainty` per delivered modality; every view shows that number (§6.4).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..cases.models import Case
from ..kb.knowledge_base import KnowledgeBase

GRADE_WEIGHT = {"H": 1.0, "M": 0.85, "L": 0.6}  # certainty follows the evidence (clinical-v2 §5)


@dataclass(frozen=True)
class CaseScope:
    """What a source's population is checked against: the patient's age (when given) and the
    case's condition and history ids."""

    age: int | None = None
    ids: frozenset[str] = frozenset()

    @classmethod
    def of(cls, case: Case) -> CaseScope:
        ids = {d.condition for d in case.diagnoses} | {h.item for h in case.history}
        return cls(case.patient.age if case.patient is not None else None, frozenset(ids))


@dataclass(frozen=True)
class RuleGrade:
    """The grade a rule counts at for a case: its own, or L when the case lies outside the
    population its source studied."""

    rule: str
    cited: str                       # the grade written on the rule
    grade: str                       # the grade it counts at for this case
    extrapolated_from: str | None    # the source's population, when the case lies outside it


def rule_grade(kb: KnowledgeBase, rule_id: str, scope: CaseScope | None = None) -> RuleGrade:
    """The grade a rule counts at for a case (clinical-v2.1 §6.1)."""
    rule = kb.by_id.get(rule_id)
    if rule is None:
        return RuleGrade(rule_id, "L", "L", None)
    ref = kb.reference_meta.get(rule.citation)
    pop = ref.population if ref is not None else None
    if scope is not None and pop is not None and rule.grade in ("H", "M") and pop.outside(scope.age, scope.ids):
        return RuleGrade(rule_id, rule.grade, "L", pop.note)
    return RuleGrade(rule_id, rule.grade, rule.grade, None)


def grade_weight(kb: KnowledgeBase, proposal: Any, scope: CaseScope | None = None) -> float:
    """What the grade of a proposing rule's evidence weighs its factor by (clinical-v2 §5); a
    request is not evidence and is not weighed."""
    if proposal["line"] == "request":
        return 1.0
    return GRADE_WEIGHT.get(rule_grade(kb, proposal["rule"], scope).grade, GRADE_WEIGHT["L"])


def evidence_factor(kb: KnowledgeBase, proposal: Any, scope: CaseScope | None = None) -> float:
    """A proposing rule's certainty (its line's factor times the weakest premise) weighed by the
    grade of its evidence."""
    return float(proposal["certainty"]) * grade_weight(kb, proposal, scope)


@dataclass(frozen=True)
class Counted:
    """One counted proposal: the rule's own factor × its weakest premise × the weight of the grade
    it counts at."""

    rule: str
    rule_factor: float     # the rule's own factor (its line's, or the one it states)
    premise: float         # the weakest premise of its firing
    weight: float          # the weight of the grade it counts at
    grade: RuleGrade
    value: float           # rule_factor × premise × weight, rounded to 6 places


@dataclass(frozen=True)
class ModalityCertainty:
    """The one certainty of a delivered modality (clinical-v2.1 §6.4), with its arithmetic."""

    modality: str
    value: float
    counted: tuple[Counted, ...]                     # in knowledge-base order
    steps: tuple[tuple[float, float, float], ...]    # (x, y, x + y - x*y)
    grade: str | None                                # the best grade counted (None: only requested)
    extrapolated_from: str | None                    # when that grade is L because of a population
    undelivered: tuple[str, ...] = ()                # rules that proposed it only for undelivered targets
    requested: bool = False


def combine(kb: KnowledgeBase, proposals: Iterable[Any],
            scope: CaseScope | None = None) -> tuple[tuple[tuple[str, float], ...], float]:
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
        factor = round(evidence_factor(kb, p, scope), 6)
        if source not in best or (factor, -_order(kb, p["rule"])) > (best[source][0], -_order(kb, best[source][1])):
            best[source] = (factor, p["rule"])
    counted = tuple(sorted(((r, f) for f, r in best.values()), key=lambda rf: _order(kb, rf[0])))
    if not counted:
        return (), max((float(p["certainty"]) for p in props), default=0.0)
    return counted, combined(f for _, f in counted)[0]


def modality_certainty(kb: KnowledgeBase, modality: str, proposals: Iterable[Any], delivering: set[str],
                       scope: CaseScope | None = None) -> ModalityCertainty:
    """The certainty of a delivered modality from the proposals of the rules that deliver it
    (``delivering``: the rules whose proposal reached a scheduled target it is given on).

    A proposal of a rule outside ``delivering`` counts toward nothing (clinical-v2.1 §6.3).
    """
    props = [p for p in proposals if p["modality"] == modality]
    live = [p for p in props if p["rule"] in delivering]
    undelivered = tuple(dict.fromkeys(sorted((p["rule"] for p in props if p["rule"] not in delivering
                                              and p["line"] != "request"), key=lambda r: _order(kb, r))))
    requested = any(p["line"] == "request" for p in live)
    pairs, value = combine(kb, live, scope)
    by_rule = {p["rule"]: p for p in live}
    counted = []
    for rid, factor in pairs:
        rule = kb.by_id.get(rid)
        own = (rule.certainty if rule is not None else None) or float(by_rule[rid]["certainty"])
        g = rule_grade(kb, rid, scope)
        counted.append(Counted(rid, own, round(float(by_rule[rid]["certainty"]) / own, 6),
                               GRADE_WEIGHT.get(g.grade, GRADE_WEIGHT["L"]), g, factor))
    steps = combined(f for _, f in pairs)[1] if pairs else ()
    rank = {g: i for i, g in enumerate(GRADE_WEIGHT)}
    best = min((c.grade for c in counted), key=lambda g: rank[g.grade], default=None)
    extrapolated = None
    if best is not None and best.grade == "L":
        populations = [c.grade.extrapolated_from for c in counted if c.grade.extrapolated_from]
        extrapolated = "; ".join(dict.fromkeys(populations)) or None
    return ModalityCertainty(modality, value, tuple(counted), steps, best.grade if best else None,
                             extrapolated, undelivered, requested)


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
