"""The derivation graph of one case, built from ``PlanResult.trace``.

Case facts ``activates`` rule firings, which ``concludes`` derived facts, which ``yields`` plan
items (modalities, targets, blocked modalities and areas, the pressure cap, the status, the
minutes, referrals, clearances). Only explanations and the reasoning picture build it.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import networkx as nx

from ..kb import fact_types as F
from ..kb.knowledge_base import KnowledgeBase
from ..kb.wording import Words, describe_conclusion, side_note
from ..planning.results import PlanResult


# -- the derivation graph -----------------------------------------------------------------------------
def case_fact_id(fact: F.Fact) -> str:
    return f"case:{F.KIND_OF[type(fact)]}:{fact.get('index', 0)}"


def plan_node(kind: str, *parts: str | None) -> str:
    return ":".join(["plan", kind, *[p or "any" for p in parts]])


class _DerivationBuilder:
    def __init__(self, result: PlanResult, kb: KnowledgeBase):
        self.result = result
        self.kb = kb
        self.v = kb.vocabulary
        self.words = Words(kb.vocabulary)
        self.g = nx.MultiDiGraph(name=f"derivation of {result.plan.case_id}")
        self.derived: dict[str, list[tuple[str, Any]]] = {}  # kind -> [(node, fact)]

    def fact_node(self, fact: Any) -> str:
        kind = F.KIND_OF[type(fact)]
        if kind in F.INPUT_KINDS:
            nid = case_fact_id(fact)
            if nid not in self.g:
                fields = [k for k, v in fact.items() if v is not None]
                self.g.add_node(nid, kind="case_fact", fact_kind=kind, fact=fact,
                                label=self.words.describe_fact(kind, fact, fields))
            return nid
        nid = f"derived:{fact['__factid__']}"
        if nid not in self.g:
            self.g.add_node(nid, kind="derived", fact_kind=kind, fact=fact, rule=fact["rule"],
                            label=describe_conclusion(fact, self.words))
            self.derived.setdefault(kind, []).append((nid, fact))
        return nid

    def trace(self) -> None:
        for i, firing in enumerate(self.result.trace):
            rule = self.kb.by_id[firing.rule_id]
            fid = f"firing:{i}"
            self.g.add_node(fid, kind="firing", rule=rule.id, label=rule.description, grade=rule.grade,
                            citation=rule.citation, order=i)
            for fact in firing.inputs:
                self.g.add_edge(self.fact_node(fact), fid, key="activates", type="activates")
            for fact in firing.outputs:
                self.g.add_edge(fid, self.fact_node(fact), key="concludes", type="concludes")

    def item(self, nid: str, label: str, item_kind: str, sources: Iterable[str]) -> str:
        self.g.add_node(nid, kind="plan_item", item_kind=item_kind, label=label)
        for s in sources:
            self.g.add_edge(s, nid, key="yields", type="yields")
        return nid

    def facts(self, fact_kind: str, rules: Iterable[str] | None = None, **match: Any) -> list[str]:
        """Derived facts of a kind, from the given rules, whose fields equal ``match``."""
        wanted = set(rules) if rules is not None else None
        return [n for n, f in self.derived.get(fact_kind, [])
                if (wanted is None or f["rule"] in wanted) and all(f[k] == x for k, x in match.items())]

    def plan(self) -> None:
        plan, w = self.result.plan, self.words
        for m in plan.modalities:
            self.item(plan_node("modality", m.id), f"recommended: {w.label(m.id)}", "modality",
                      self.facts("proposal", modality=m.id))
        for t in plan.targets:
            sources = self.facts("candidate", target=t.id) + self.facts("block", t.because, kind="area")
            if t.pressure_cap is not None:  # the caps on its area, and those on the target itself
                sources += self.facts("cap", area=t.area, target=None) + self.facts("cap", target=t.id)
            self.item(plan_node("target", t.id), f"target: {w.label(t.id)}{side_note(t.side)}", "target", sources)
        for b in plan.blocked_modalities:
            if b.reason == "blocked":  # a block of the modality, or a restriction of its area to others
                sources = self.facts("block", b.because, kind="modality", modality=b.id)
                sources += self.facts("restrict", b.because)
            else:  # priced out by the plan's cap, or by the caps on the areas it was to be given
                sources = self.facts("cap", b.because)
            sources += self.facts("proposal", modality=b.id, line="request")
            verb = {"blocked": "blocked", "priced_out": "priced out"}.get(b.reason, b.reason)
            self.item(plan_node("blocked_modality", b.id), f"{verb}: {w.label(b.id)}", "blocked_modality", sources)
        axial = self.v.axial_areas
        for a in plan.blocked_areas:
            sided = {} if a.id in axial else {"side": a.side}  # an axial block holds on both sides
            sources = [n for n in self.facts("block", a.because, kind="area", **sided)
                       if self.g.nodes[n]["fact"]["area"] in (a.id, None)]
            # the edematous limb while drainage is blocked: the zone and the drainage block
            sources += self.facts("zone", a.because, area=a.id, **sided)
            if sources and any(self.g.nodes[n]["fact_kind"] == "zone" for n in sources):
                sources += self.facts("block", a.because, kind="modality", modality="manual_lymphatic_drainage")
            self.item(plan_node("blocked_area", a.id, a.side), f"no work on {w.site(a.id, a.side)}",
                      "blocked_area", sources)
        self.item(plan_node("pressure_cap"), f"pressure cap: {plan.pressure_cap}", "pressure_cap",
                  self.facts("cap", plan.pressure_cap_because, area=None))
        for r in plan.referrals:
            self.item(plan_node("referral", r.to), f"referral to {w.label(r.to)} ({r.urgency})", "referral",
                      self.facts("referral", r.because, to=r.to))
        for c in plan.clearances_required:
            self.item(plan_node("clearance", c), f"needs {c} clearance", "clearance",
                      self.facts("requirement", clearance=c))
        status_sources = self.facts("block", plan.status_because, kind="all")
        status_sources += self.facts("requirement", plan.status_because)
        status_sources += self.facts("block", plan.status_because, kind="area")
        status_sources += self.facts("zone", plan.status_because)  # an edematous limb while drainage is blocked
        status_sources += self.facts("block", plan.status_because, kind="modality")
        if plan.treats:
            status_sources += [n for n in self.g if self.g.nodes[n].get("item_kind") in
                               ("modality", "blocked_modality", "blocked_area")]
            if plan.pressure_cap != "deep":
                status_sources.append(plan_node("pressure_cap"))
        self.item(plan_node("status"), f"status: {plan.status.replace('_', ' ')}", "status", status_sources)
        minutes_sources = [plan_node("target", t.id) for t in plan.targets]
        minutes_sources += self.facts("limit", minutes=plan.minutes_ceiling)
        self.item(plan_node("minutes"), f"{plan.total_minutes} minutes", "minutes", minutes_sources)


def derivation_graph(result: PlanResult, kb: KnowledgeBase) -> nx.MultiDiGraph:
    """Case facts → rule firings → derived facts → plan items, for one planned case."""
    builder = _DerivationBuilder(result, kb)
    builder.trace()
    builder.plan()
    return builder.g
