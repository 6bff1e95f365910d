"""One plan's derivation graph read for explaining: the rules, case facts and steps behind a plan item.

:class:`DerivationWalk` holds what every question shares: the rule as evidence, the firings
that concluded a derived fact and the case facts that activated them (in clinical words,
saying of a measure only what the rule tested), one step per firing with its conclusions
merged, the certainty of a proposal, the mechanisms a case fact indicated, and where a
modality is delivered. The answers themselves are in ``why.py`` and ``why_not.py``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from ..kb import fact_types as F
from ..kb.graph import edges_of
from ..kb.knowledge_base import KnowledgeBase
from ..kb.pattern_matching import pattern_matches
from ..kb.rule_specs import RuleSpec
from ..kb.wording import STATUS_PHRASES, Words, describe_conclusion, or_list, side_note
from ..planning.certainty import GRADE_WEIGHT, CaseScope, rule_grade
from ..planning.plan import PlannedModality, PlannedTarget
from ..planning.results import PlanResult
from .derivation import derivation_graph, plan_node
from .explanation import GRADE_WORDS, Certainty, Evidence, Step


class DerivationWalk:
    """The building blocks of an explanation, read off one plan's derivation graph."""

    def __init__(self, result: PlanResult, kb: KnowledgeBase):
        self.result = result
        self.plan = result.plan
        self.kb = kb
        self.v = kb.vocabulary
        self.w = Words(kb.vocabulary)
        self.g = derivation_graph(result, kb)
        self.case_facts = [f for f in result.facts if F.KIND_OF.get(type(f)) in F.INPUT_KINDS]
        self.scope = CaseScope.of(result.case)

    def evidence(self, rule: RuleSpec) -> Evidence:
        """A rule as evidence, at the grade it counts at for this case (clinical-v2.1 §6.1)."""
        g = rule_grade(self.kb, rule.id, self.scope)
        return Evidence(rule.id, rule.description, g.grade, GRADE_WORDS[g.grade], rule.citation,
                        self.kb.citation_text(rule.citation), g.extrapolated_from,
                        g.cited if g.extrapolated_from else None)

    def fact(self, node: str) -> Any:
        return self.g.nodes[node]["fact"]

    def firings_of(self, derived: str) -> list[str]:
        return sorted((a for a, _ in edges_of(self.g, derived, ("concludes",), out=False)),
                      key=lambda n: self.g.nodes[n]["order"])

    def inputs_of(self, firing: str) -> list[str]:
        return [a for a, _ in edges_of(self.g, firing, ("activates",), out=False)]

    def premises(self, firing: str) -> tuple[str, ...]:
        """The case facts of a firing in clinical words, saying of a measure only what the rule tested."""
        rule = self.kb.by_id[self.g.nodes[firing]["rule"]]
        out = []
        for node in self.inputs_of(firing):
            fact = self.fact(node)
            kind = F.KIND_OF[type(fact)]
            tested = [name for k, fields in rule.positive if k == kind for name in (fields or {})]
            out.append(self.w.describe_fact(kind, fact, tested))
        return tuple(out)

    def step(self, firing: str, concludes: str, certainty: Certainty | None = None) -> Step:
        rule = self.kb.by_id[self.g.nodes[firing]["rule"]]
        return Step(self.evidence(rule), self.premises(firing), concludes, certainty)

    def derived_of_item(self, item: str, fact_kind: str | None = None) -> list[str]:
        return [a for a, _ in edges_of(self.g, item, ("yields",), out=False)
                if self.g.nodes[a]["kind"] == "derived" and fact_kind in (None, self.g.nodes[a]["fact_kind"])]

    def steps_for(self, derived: Iterable[str], concludes: Any) -> tuple[Step, ...]:
        """One step per firing behind the derived facts, in firing order, its conclusions merged."""
        said: dict[str, list[str]] = {}
        for node in derived:
            for firing in self.firings_of(node):
                said.setdefault(firing, []).append(concludes(self.fact(node)))
        return tuple(self.step(f, _merge(said[f])) for f in sorted(said, key=lambda n: self.g.nodes[n]["order"]))

    def derived_facts(self, fact_kind: str, **match: Any) -> list[str]:
        return [n for n in self._derived_by_kind.get(fact_kind, ())
                if all(self.fact(n)[k] == x for k, x in match.items())]

    @functools.cached_property
    def _derived_by_kind(self) -> dict[str, list[str]]:
        """The derived-fact nodes of each fact kind, in graph order (scanning every node per
        question made explaining a large case quadratic: minutes for 50 diagnoses)."""
        index: dict[str, list[str]] = {}
        for n, d in self.g.nodes(data=True):
            if d["kind"] == "derived":
                index.setdefault(d["fact_kind"], []).append(n)
        return index

    @functools.cached_property
    def _candidates_by_source(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = {}
        for n in self.derived_facts("candidate"):
            index.setdefault(self.source_node(self.fact(n)), []).append(self.fact(n)["target"])
        return index

    def conclusion_words(self, f: Any) -> str:
        return describe_conclusion(f, self.w)

    def certainty(self, firing: str, proposal: Any) -> Certainty:
        """A proposal's share: the rule's own factor × the weakest premise × its grade's weight (the
        planner's arithmetic, clinical-v2.1 §6.4)."""
        rule = self.kb.by_id[proposal["rule"]]
        premise = min((self.fact(n).get("cf", 1.0) for n in self.inputs_of(firing)), default=1.0)
        if proposal["line"] == "request":
            return Certainty(rule.certainty or 1.0, premise, float(proposal["certainty"]))
        grade = rule_grade(self.kb, rule.id, self.scope).grade
        weight = GRADE_WEIGHT[grade]
        return Certainty(rule.certainty or 1.0, premise, round(float(proposal["certainty"]) * weight, 6), weight, grade)

    def segment_of(self, target: str) -> Any:
        return next((s for s in self.plan.segments if target in s.targets), None)

    def delivered_on(self, modality: str) -> list[str]:
        """The planned targets a modality reaches: its segment offers it, the target's cap and area allow it."""
        mod = self.v.modalities[modality]
        out = []
        for t in self.plan.targets:
            seg = self.segment_of(t.id)
            cap = t.pressure_cap or self.plan.pressure_cap
            if seg is None or modality not in seg.modalities or self.v.rank(mod.lowest) > self.v.rank(cap):
                continue
            if not self.v.applies(modality, t.id):
                continue
            out.append(t.id)
        return out

    def source_node(self, f: Any) -> str:
        return f"case:{f['source_kind']}:{f['source_index']}"

    def mechanism_steps(self, source: str, benefits: Iterable[str]) -> tuple[Step, ...]:
        """The firings on a case fact that indicated a mechanism serving one of the benefits."""
        wanted = set(benefits)
        steps = []
        for firing, _ in edges_of(self.g, source, ("activates",)):
            mechs = [self.fact(n) for n, _ in edges_of(self.g, firing, ("concludes",))
                     if self.g.nodes[n]["fact_kind"] == "mechanism"]
            mechs = [m for m in mechs if self.v.mechanisms[m["name"]]["benefit"] in wanted]
            if mechs:
                names = or_list([self.w.label(m["name"]).lower() for m in mechs], "and")
                steps.append((self.g.nodes[firing]["order"], self.step(firing, f"indicates {names}")))
        return tuple(s for _, s in sorted(steps, key=lambda x: x[0]))

    def candidates_from(self, source: str) -> list[str]:
        return list(self._candidates_by_source.get(source, ()))

    def status_steps(self) -> tuple[Step, ...]:
        return self.steps_for(self.derived_of_item(plan_node("status")), self.conclusion_words)

    def target_words(self, target: str) -> str:
        """A target with its side; a target delivered per side (clinical-v2.1 §4.2) with each side."""
        entries = [t for t in self.plan.targets if t.id == target]
        if len(entries) > 1:
            return f"{self.w.plain(target)} ({' and '.join(str(t.side) for t in entries)}, each at its own pressure)"
        return self.w.plain(target) + side_note(entries[0].side if entries else None)

    def has(self, kind: str, fields: Any) -> bool:
        return any(F.KIND_OF[type(f)] == kind and pattern_matches(fields, f) for f in self.case_facts)

    def planned_modality(self, modality: str) -> PlannedModality | None:
        return next((m for m in self.plan.modalities if m.id == modality), None)

    def planned_sites(self, kind: str, ident: str) -> list[PlannedTarget]:
        """The planned targets a target or an area question is about."""
        return [t for t in self.plan.targets if t.id == ident or (kind == "area" and t.area == ident)]


def status_words(status: str) -> str:
    """'refer urgently', 'treat with precautions'."""
    return STATUS_PHRASES.get(status, status.replace("_", " "))

def _merge(conclusions: Iterable[str]) -> str:
    """'blocks A', 'blocks B', 'caps ...' -> 'blocks A and B; caps ...'."""
    by_verb: dict[str, list[str]] = {}
    for text in dict.fromkeys(conclusions):
        verb, _, rest = text.partition(" ")
        by_verb.setdefault(verb, []).append(rest)
    return "; ".join(f"{verb} {or_list(rests, 'and')}" if verb in ("blocks", "proposes") else
                     "; ".join(f"{verb} {r}" for r in rests) for verb, rests in by_verb.items())

def by_rules(steps: Iterable[Step]) -> str:
    """'by contra-anticoagulant because medications include warfarin (anticoagulant); and by ...'."""
    return "; and ".join(f"by {s.rule.rule_id} because {or_list(s.because, 'and')}" for s in steps)
