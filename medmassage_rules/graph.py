"""The reasoning graphs: the knowledge graph of a knowledge base, the derivation graph of a case.

**Knowledge graph** (static, built once per knowledge base from its rule specs; use
``kb.graph``): a networkx ``MultiDiGraph`` whose node ids are vocabulary ids with a kind
prefix (``condition:carpal_tunnel_syndrome``, ``modality:swedish``, ``rule:cts-first-line-mfr``),
each with ``kind`` and ``label`` (plain words; benefits in the seed's wording). Edges are
keyed by their ``type``:

- premises: ``triggers`` (a fact the rule needs: condition, finding, history item, medication
  class, measure ...) and ``absent`` (a negated pattern) into a rule; ``lifts`` from a clearance
  into the rule it gates;
- conclusions out of a rule: ``indicates`` (mechanism), ``targets``, ``proposes`` (modality, with
  its line and certainty factor), ``blocks`` (modality or area), ``sets_status`` (no treatment),
  ``caps`` (pressure), ``requires`` (clearance), ``refers`` (referral), ``limits`` (minutes);
- the seed's chain, as shortcuts: condition/finding ``indicates`` mechanism ``serves`` benefit
  ``served_by`` modality;
- the vocabulary's own structure: ``in_area``, ``in_group``, ``is_a`` (medication to class).

Rule-made edges carry the rule id, evidence grade and citation key. Attribute values are
strings, numbers or booleans only, so every networkx writer accepts them.

**Derivation graph** (per case, from ``PlanResult.trace``): case facts ``activates`` rule
firings, which ``concludes`` derived facts, which ``yields`` plan items (modalities, targets,
blocked modalities and areas, the pressure cap, the status, the minutes, referrals, clearances).

Neither graph is built on the plain ``recommend`` path: only explanations, ``kb graph`` and
``kb lint`` import this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx

from . import facts as F
from .factwords import SUBJECT_FIELD, Words, or_list, side_note
from .knowledge import DEFAULT_CERTAINTY, Caveat, KnowledgeBase, RuleSpec, SiteRef, contradicted_benefits
from .patterns import field_matches
from .planner import PlanResult
from .trace import describe_conclusion
from .vocabulary import Vocabulary

# Which node kind the subject field of a pattern points at.
SUBJECT_KIND = {"diagnosis": "condition", "finding": "finding", "history": "history",
                "medication": "medication_class", "clearance": "clearance", "request": "modality",
                "exclusion": "modality", "focus": "area"}
CHAIN_TYPES = frozenset({"indicates", "serves", "served_by"})
TREATMENT_TYPES = frozenset({"triggers", "proposes"})


def node_id(kind: str, ident: str) -> str:
    return f"{kind}:{ident}"


# -- the knowledge graph ----------------------------------------------------------------------------
class _KnowledgeGraphBuilder:
    def __init__(self, vocab: Vocabulary, references: Mapping[str, str], caveats: Iterable[Caveat] = ()):
        self.v = vocab
        self.words = Words(vocab)
        self.references = references
        self.caveats = list(caveats)
        self.g = nx.MultiDiGraph(name="medmassage knowledge graph")

    def add(self, kind: str, ident: str, label: str | None = None, **attrs: Any) -> str:
        nid = node_id(kind, ident)
        if nid not in self.g:
            self.g.add_node(nid, kind=kind, label=label or self.words.label(ident), **attrs)
        return nid

    def edge(self, source: str, target: str, kind: str, key: str | None = None, **attrs: Any) -> None:
        key = key or kind
        if not self.g.has_edge(source, target, key=key):
            self.g.add_edge(source, target, key=key, type=kind, **attrs)

    def vocabulary(self) -> None:
        v = self.v
        for benefit, words in v.benefits.items():
            self.add("benefit", benefit, words)
        for mech, spec in v.mechanisms.items():
            self.edge(self.add("mechanism", mech, spec["label"]), node_id("benefit", spec["benefit"]), "serves")
        for mod in v.modalities.values():
            self.add("modality", mod.id, mod.label, lowest_pressure=mod.lowest, highest_pressure=mod.highest)
        for group in v.area_groups:
            self.add("area_group", group)
        for area, group in v.areas.items():
            self.edge(self.add("area", area), node_id("area_group", group), "in_group")
        for target, area in v.targets.items():
            self.edge(self.add("target", target), node_id("area", area), "in_area")
        for condition in v.conditions:
            self.add("condition", condition)
        for finding in v.findings:
            self.add("finding", finding, indicator=finding in v.indicator_findings)
        for item in v.history:
            self.add("history", item)
        for cls in v.medication_classes:
            self.add("medication_class", cls)
        for name, cls in v.medications.items():
            self.edge(self.add("medication", name), node_id("medication_class", cls), "is_a")
        for clearance, meaning in v.clearances.items():
            self.add("clearance", clearance, f"{clearance} clearance: {meaning}")
        for status in v.statuses:
            self.add("status", status)
        for referral, meaning in v.referrals.items():
            self.add("referral", referral, meaning)
        for pressure in v.pressures:
            self.add("pressure", pressure, f"{pressure} pressure")

    def subjects(self, kind: str, fields: Mapping[str, Any] | None) -> list[str]:
        """The nodes a pattern is about: its condition(s), finding(s), measure(s)..."""
        fields = fields or {}
        key = SUBJECT_FIELD.get(kind)
        if kind == "medication" and "class" not in fields and "name" in fields:
            return self._admitted("medication", list(self.v.medications) + list(self.v.medication_classes),
                                  fields["name"])
        if key is not None and key in fields:
            domain = {"condition": self.v.conditions, "finding": self.v.findings, "history": self.v.history,
                      "medication_class": self.v.medication_classes, "clearance": self.v.clearances,
                      "modality": self.v.modalities, "area": self.v.areas}[SUBJECT_KIND[kind]]
            return self._admitted(SUBJECT_KIND[kind], list(domain), fields[key])
        if kind in ("patient", "labs", "vitals") and fields:
            return [self.add("measure", name, self.words.condition(name, {}).strip() or name) for name in fields]
        if kind == "diagnosis" and "acuity" in fields:
            return self._admitted("acuity", list(self.v.acuities), fields["acuity"])
        return [self.add("fact", kind, self.words.describe_pattern(kind, {}))]

    def _admitted(self, kind: str, domain: list[str], cond: Any) -> list[str]:
        values = [x for x in domain if field_matches(cond, x)]
        if not isinstance(cond, dict) and cond not in domain:
            values = [cond]  # an unknown id still shows where the rule points (lint reports it)
        return [self.add(kind, x) for x in values]

    def rule(self, rule: RuleSpec) -> None:
        w = self.words
        meta = dict(rule=rule.id, grade=rule.grade, citation=rule.citation)
        r = self.add("rule", rule.id, rule.description, grade=rule.grade, citation=rule.citation,
                     reference=self.references.get(rule.citation, ""), salience=rule.salience,
                     source=rule.source, benefits=", ".join(rule.benefits))
        attrs = self.g.nodes[r]
        for i, (kind, fields) in enumerate(rule.positive):
            for s in self.subjects(kind, fields):
                self.edge(s, r, "triggers", condition=w.describe_pattern(kind, fields), pattern=i)
        for kind, fields in rule.negative:
            for s in self.subjects(kind, fields):
                self.edge(s, r, "absent", condition=w.describe_pattern(kind, fields))
        for gate in rule.clearance_gates:
            self.edge(self.add("clearance", gate), r, "lifts", **meta)
        t = rule.then
        for mech in t.mechanisms:
            m = self.add("mechanism", mech)
            self.edge(r, m, "indicates", **meta)
            if rule.positive and rule.positive[0][0] in ("diagnosis", "finding"):
                for s in self.subjects(*rule.positive[0]):
                    self.edge(s, m, "indicates", key=f"indicates:{rule.id}", **meta)
        for action in t.targets:
            for site in action.ids:
                self.edge(r, self.add("target" if site in self.v.targets else "area", site), "targets",
                          role=action.role, **meta)
            if action.site_from is not None:
                attrs["targets_site_of"] = self.site_words(rule, action)
        if t.propose is not None:
            p = t.propose
            factor = p.certainty if p.certainty is not None else DEFAULT_CERTAINTY[p.line]
            for mod in p.modalities:
                m = self.add("modality", mod)
                self.edge(r, m, "proposes", line=p.line, certainty=factor, **meta)
                x_claims = contradicted_benefits(self.caveats, mod, rule.benefits)  # never a reason
                for benefit in (b for b in rule.benefits if b not in x_claims):
                    self.edge(self.add("benefit", benefit), m, "served_by", key=f"served_by:{rule.id}",
                              certainty=factor, **meta)
            if p.modality_from is not None:
                attrs["proposes_requested"] = True
        if t.block_all is not None:
            self.edge(r, self.add("status", t.block_all.status), "sets_status", **meta)
        if t.block_modalities is not None:
            for mod in t.block_modalities.modalities:
                self.edge(r, self.add("modality", mod), "blocks", **meta)
            if t.block_modalities.modality_from is not None:
                attrs["blocks_excluded"] = True
        if t.block_areas is not None:
            for area in self.areas(t.block_areas):
                self.edge(r, self.add("area", area), "blocks", side=self.side_words(rule, t.block_areas), **meta)
            if t.block_areas.site_from is not None:
                attrs["blocks_site_of"] = self.site_words(rule, t.block_areas)
        if t.cap is not None:
            c = t.cap
            scope = ("the whole body" if c.everywhere or (not c.ids and c.site_from is None)
                     else or_list([f"the {w.label(a)}" for a in self.areas(c)]
                                  + ([self.site_words(rule, c)] if c.site_from is not None else []), "and"))
            self.edge(r, self.add("pressure", c.pressure), "caps", scope=scope, **meta)
        for clearance in rule.required:
            self.edge(r, self.add("clearance", clearance), "requires", **meta)
        if t.referral is not None:
            self.edge(r, self.add("referral", t.referral.to), "refers", urgency=t.referral.urgency, **meta)
        if t.limit_minutes is not None:
            self.edge(r, self.add("session", "minutes", "session minutes"), "limits", minutes=t.limit_minutes, **meta)
        if t.advisory is not None:
            attrs["advisory"] = t.advisory

    def areas(self, ref: SiteRef) -> list[str]:
        areas = [self.v.area_of(s) for s in ref.ids]
        if ref.whole_group:
            areas = [a for x in areas for a in self.v.areas_in_group(self.v.areas.get(x, ""))]
        return list(dict.fromkeys(areas))

    def site_words(self, rule: RuleSpec, ref: SiteRef) -> str:
        index = ref.site_from if ref.site_from is not None else 0
        kind = rule.positive[index][0] if index < len(rule.positive) else "fact"
        text = f"the site of the {kind}" if kind != "diagnosis" else "the area of the diagnosis"
        return text + (" and the rest of its area group" if ref.whole_group else "")

    def side_words(self, rule: RuleSpec, ref: SiteRef) -> str:
        kinds = [rule.positive[i][0] for i in ref.side_from if i < len(rule.positive)]
        return f"the side of the {kinds[0]}" if kinds else ""


def build_knowledge_graph(vocab: Vocabulary, rules: Iterable[RuleSpec], references: Mapping[str, str],
                          caveats: Iterable[Caveat] = ()) -> nx.MultiDiGraph:
    """The knowledge graph of a vocabulary and rules (they need not have passed validation).

    No ``served_by`` edge links a benefit to a modality that a caveat grades X for it."""
    builder = _KnowledgeGraphBuilder(vocab, references, caveats)
    builder.vocabulary()
    for rule in rules:
        builder.rule(rule)
    return builder.g


def knowledge_graph(kb: KnowledgeBase) -> nx.MultiDiGraph:
    """The knowledge graph of a knowledge base, built once and cached on it (``kb.graph``)."""
    return kb.graph


def edges_of(graph: nx.MultiDiGraph, node: str, types: Iterable[str], out: bool = True) -> list[tuple[str, dict]]:
    """(other node, edge data) of the edges of the given types out of (or into) a node."""
    wanted = set(types)
    if node not in graph:
        return []
    edges = graph.out_edges(node, data=True) if out else graph.in_edges(node, data=True)
    return [(b if out else a, d) for a, b, d in edges if d["type"] in wanted]


def treatment_modalities(graph: nx.MultiDiGraph, node: str) -> set[str]:
    """The modalities a fact leads to: it triggers a rule that proposes them."""
    return {m for rule, _ in edges_of(graph, node, ("triggers",))
            for m, _ in edges_of(graph, rule, ("proposes",))}


def chain_modalities(graph: nx.MultiDiGraph, node: str) -> set[str]:
    """The modalities reached along the seed's chain: indicates → mechanism → serves → benefit → served_by."""
    return {m for mech, _ in edges_of(graph, node, ("indicates",)) if mech.startswith("mechanism:")
            for benefit, _ in edges_of(graph, mech, ("serves",))
            for m, _ in edges_of(graph, benefit, ("served_by",))}


# -- the derivation graph -----------------------------------------------------------------------------
def case_fact_id(fact: Mapping[str, Any]) -> str:
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
            if t.pressure_cap is not None:
                sources += self.facts("cap", area=t.area)
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
