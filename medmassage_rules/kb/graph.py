"""The knowledge graph of a knowledge base, built once from its rule specs (``kb.graph``).

A networkx ``MultiDiGraph`` whose node ids are vocabulary ids with a kind prefix
(``condition:carpal_tunnel_syndrome``, ``modality:swedish``, ``rule:cts-first-line-mfr``), each
with ``kind`` and ``label`` (plain words; benefits in the seed's wording). Edges are keyed by
their ``type``:

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
strings, numbers or booleans only, so every networkx writer accepts them. The graph is not
built on the plain ``recommend`` path: only explanations, ``kb graph`` and ``kb lint`` use it.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx

from .fact_types import SUBJECT_FIELD
from .pattern_matching import field_matches
from .rule_specs import DEFAULT_CERTAINTY, Caveat, RuleSpec, SiteRef, contradicted_benefits
from .vocabulary import Vocabulary
from .wording import Words, or_list

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
        if t.block_targets is not None:  # single targets, their area staying free
            for target in t.block_targets.ids:
                self.edge(r, self.add("target", target), "blocks", side=self.side_words(rule, t.block_targets), **meta)
        if t.cap is not None:
            c = t.cap
            if c.targets:  # a target cap (clinical-v2.1 §4.2): on those targets only
                scope = or_list([f"the {w.label(x)}" + (" targets" if x in self.v.areas else "") for x in c.targets],
                                "and")
            else:
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


