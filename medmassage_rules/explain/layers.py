"""The reasoning of one plan as a layered graph, laid out for drawing.

Five layers, left to right, as a teacher explains a plan: case facts → mechanisms →
benefits → modalities → targets. A fact indicates a mechanism, a mechanism is served by a
benefit, a benefit is what a proposed modality aims at, and a modality is delivered on the
targets of its session segments. Vetoes stand out: a blocked or priced-out modality, a
blocked area, a pressure cap, a required clearance, a referral or a no-treatment status is a
node of its own, linked from the fact that caused it by a ``blocks`` or ``caps`` edge.

Built from :class:`~medmassage_rules.planning.pipeline.PlanResult` (its trace and plan) as a networkx
``DiGraph``; :func:`layout` gives every edge that skips a column a bend point in each column
it crosses (so it is drawn between the boxes, never over one), then orders each column by
the barycentre of its neighbours, which keeps edge crossings low. Plain Python: no numpy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import networkx as nx

from ..kb.fact_types import INPUT_KINDS, KIND_OF
from ..kb.knowledge_base import KnowledgeBase
from ..kb.wording import Words, side_note
from ..planning.results import PlanResult

LAYERS = ("fact", "mechanism", "benefit", "modality", "target")
LAYER_TITLES = ("Case facts", "Mechanisms", "Benefits", "Modalities", "Targets")
EMPTY_WORDS = ("no case fact fired a rule", "no mechanism concluded", "no benefit sought",
               "no modality", "no target")
SWEEPS = 4


def node_state(reason: str) -> str:
    """A blocked modality's state as one word: blocked, priced_out, or not_applicable (plan v2's
    "no target it applies to")."""
    return reason if reason in ("blocked", "priced_out") else "not_applicable"


class _Builder:
    def __init__(self, result: PlanResult, kb: KnowledgeBase):
        self.result = result
        self.kb = kb
        self.v = kb.vocabulary
        self.words = Words(kb.vocabulary)
        self.g = nx.DiGraph()
        plan = result.plan
        self.recommended = {m.id: m for m in plan.modalities}
        self.blocked = {b.id: b for b in plan.blocked_modalities}

    def node(self, nid: str, layer: str, label: str, kind: str, state: str = "", title: str = "") -> str:
        if nid not in self.g:
            self.g.add_node(nid, layer=LAYERS.index(layer), label=label, kind=kind, state=state,
                            title=title or label)
        return nid

    def edge(self, source: str, target: str, style: str, rule: str) -> None:
        if self.g.has_edge(source, target):
            self.g.edges[source, target]["rules"].append(rule)
        else:
            self.g.add_edge(source, target, style=style, rules=[rule])

    def fact(self, fact: Any) -> str:
        kind = KIND_OF[type(fact)]
        fields = [k for k, value in fact.items() if value is not None and k != "index" and not str(k).startswith("__")]
        return self.node(f"fact:{kind}:{fact.get('index', 0)}", "fact",
                         self.words.describe_fact(kind, fact, fields), "fact")

    def modality(self, mod: str) -> str | None:
        """The node of a modality the plan recommends or blocks (others are not drawn)."""
        label = self.v.label(mod)
        if mod in self.recommended:
            m = self.recommended[mod]
            return self.node(f"modality:{mod}", "modality", label, "modality", "recommended",
                             f"{label}: {m.pressure} pressure, certainty {m.certainty:.2f}")
        if mod in self.blocked:
            b = self.blocked[mod]
            verb = {"blocked": "blocked", "priced_out": "priced out by the pressure cap"}.get(b.reason, b.reason)
            return self.node(f"modality:{mod}", "modality", f"{label} - {verb}", "modality", node_state(b.reason),
                             f"{label} {verb} ({', '.join(b.because)})")
        return None

    # -- the trace, firing by firing -------------------------------------------------------------
    def firings(self) -> None:
        mechanisms_of: dict[str, set[str]] = {}   # fact node -> mechanism names it indicated
        for firing in self.result.trace:
            facts = [self.fact(f) for f in firing.inputs if KIND_OF[type(f)] in INPUT_KINDS]
            rid = firing.rule_id
            for out in firing.outputs:
                kind = KIND_OF[type(out)]
                if kind == "mechanism":
                    name = out["name"]
                    mech = self.node(f"mechanism:{name}", "mechanism", self.v.label(name), "mechanism")
                    benefit = self.v.mechanisms[name]["benefit"]
                    self.edge(mech, self.node(f"benefit:{benefit}", "benefit", self.v.label(benefit), "benefit"),
                              "supports", rid)
                    for f in facts:
                        self.edge(f, mech, "supports", rid)
                        mechanisms_of.setdefault(f, set()).add(name)
                elif kind == "proposal":
                    self.proposal(out, facts, mechanisms_of, rid)
                elif kind in ("block", "cap", "requirement", "referral", "restrict"):
                    self.veto(kind, out, facts, rid)

    def proposal(self, out: Any, facts: list[str], mechanisms_of: dict[str, set[str]], rid: str) -> None:
        mod = self.modality(out["modality"])
        if mod is None:
            return
        if not out["benefits"]:                 # a prescription's request
            for f in facts:
                self.edge(f, mod, "supports", rid)
            return
        for benefit in out["benefits"]:
            bnode = self.node(f"benefit:{benefit}", "benefit", self.v.label(benefit), "benefit")
            self.edge(bnode, mod, "supports", rid)
            for f in facts:
                served = {self.v.mechanisms[m]["benefit"] for m in mechanisms_of.get(f, ())}
                if benefit not in served:
                    self.edge(f, bnode, "supports", rid)

    def veto(self, kind: str, out: Any, facts: list[str], rid: str) -> None:
        v, plan = self.v, self.result.plan
        if kind == "block" and out["kind"] == "modality":
            target = self.modality(out["modality"])
            if target is None or out["modality"] in self.recommended:
                return
            style = "blocks"
        elif kind == "block" and out["kind"] == "all":
            status = out["status"]
            target = self.node(f"status:{status}", "modality", f"no treatment: {status.replace('_', ' ')}",
                               "status", "blocked")
            style = "blocks"
        elif kind == "block":
            where = f"the {v.label(out['area'])}" if out["area"] else "every area"
            target = self.node(f"blocked-area:{out['area'] or 'all'}:{out['side'] or 'any'}", "target",
                               f"no work on {where}{side_note(out['side'])}", "area", "blocked")
            style = "blocks"
        elif kind == "cap":
            if out["area"] is None:
                target = self.node("cap:everywhere", "modality", f"pressure at most {plan.pressure_cap}",
                                   "cap", "capped")
                for b in self.blocked.values():   # a modality this cap prices out
                    if b.reason == "priced_out" and rid in b.because:
                        for f in facts:
                            self.edge(f, self.modality(b.id) or target, "caps", rid)
            else:
                target = self.node(f"cap:{out['area']}:{out['side'] or 'any'}", "target",
                                   f"{out['pressure']} pressure only on {self.words.site(out['area'], out['side'])}",
                                   "cap", "capped")
                self.stopped_by(rid, "priced_out", facts, "caps")  # priced out where it was to be given
            style = "caps"
        elif kind == "restrict":
            only = ", ".join(v.label(m) for m in out["modalities"]) or "nothing"
            target = self.node(f"restrict:{out['area']}:{out['side'] or 'any'}", "target",
                               f"only {only} on {self.words.site(out['area'], out['side'])}", "area", "capped")
            self.stopped_by(rid, "blocked", facts, "blocks")  # a modality it keeps from its area
            style = "caps"
        elif kind == "requirement":
            if out["clearance"] not in plan.clearances_required:
                return
            target = self.node(f"clearance:{out['clearance']}", "modality",
                               f"needs {out['clearance']} clearance", "clearance", "capped")
            style = "caps"
        else:
            target = self.node(f"referral:{out['to']}", "modality",
                               f"refer: {v.referrals.get(out['to'], out['to'])} ({out['urgency']})",
                               "referral", "blocked" if out["urgency"] == "urgent" else "capped")
            style = "blocks" if out["urgency"] == "urgent" else "caps"
        for f in facts:
            self.edge(f, target, style, rid)

    def stopped_by(self, rid: str, reason: str, facts: list[str], style: str) -> None:
        """Edges from the facts of an area rule to each modality it stopped everywhere it was to go."""
        for b in self.blocked.values():
            node = self.modality(b.id)
            if b.reason == reason and rid in b.because and node is not None:
                for f in facts:
                    self.edge(f, node, style, rid)

    def status(self) -> None:
        """A plan that does not treat shows its status, linked from the facts behind it."""
        plan = self.result.plan
        if plan.treats:
            return
        node = self.node(f"status:{plan.status}", "modality", f"no treatment: {plan.status.replace('_', ' ')}",
                         "status", "blocked")
        for firing in self.result.trace:
            if firing.rule_id in plan.status_because:
                for fact in firing.inputs:
                    self.edge(self.fact(fact), node, "blocks", firing.rule_id)

    # -- the plan's targets ------------------------------------------------------------------------
    def targets(self) -> None:
        plan = self.result.plan
        by_id = {t.id: t for t in plan.targets}
        for segment in plan.segments:
            for tid in segment.targets:
                t = by_id[tid]
                cap = f", {t.pressure_cap} pressure only" if t.pressure_cap else ""
                tnode = self.node(f"target:{tid}", "target", f"{self.v.label(tid)}{side_note(t.side)}{cap}",
                                  "target", "recommended", f"{self.v.label(tid)}{side_note(t.side)} - {t.role} target"
                                  f"{cap}; {segment.minutes} min segment ({self.v.label(segment.group)})")
                for mod in segment.modalities:
                    self.edge(f"modality:{mod}", tnode, "delivers", "plan")

    def fill_empty_layers(self) -> None:
        present = {data["layer"] for _, data in self.g.nodes(data=True)}
        for i, layer in enumerate(LAYERS):
            if i not in present:
                self.node(f"empty:{layer}", layer, EMPTY_WORDS[i], "empty", "empty")


def reasoning_graph(result: PlanResult, kb: KnowledgeBase) -> nx.DiGraph:
    """The layered reasoning of one plan (node attributes: layer, label, kind, state, title)."""
    builder = _Builder(result, kb)
    builder.firings()
    builder.status()
    builder.targets()
    builder.fill_empty_layers()
    return builder.g


# -- layout ----------------------------------------------------------------------------------------
BEND = "bend:"   # the prefix of a bend point: where an edge crosses a column it does not stop in


def _mean(values: Iterable[float]) -> float | None:
    items = list(values)
    return sum(items) / len(items) if items else None


def with_bends(g: nx.DiGraph) -> tuple[nx.DiGraph, dict[tuple[str, str], tuple[str, ...]]]:
    """The graph with a bend point in every column an edge crosses (as a layered drawing does):
    a bend holds its own place in the column, so the edge passes between the boxes, never over one."""
    h = nx.DiGraph()
    h.add_nodes_from(g.nodes(data=True))
    routes: dict[tuple[str, str], tuple[str, ...]] = {}
    for source, target in g.edges:
        low, high = g.nodes[source]["layer"], g.nodes[target]["layer"]
        bends = tuple(f"{BEND}{source}>{target}:{layer}" for layer in range(low + 1, high))
        for layer, bend in zip(range(low + 1, high), bends, strict=True):
            h.add_node(bend, layer=layer, kind="bend")
        chain = (source, *bends, target)
        h.add_edges_from(zip(chain, chain[1:], strict=False))
        routes[(source, target)] = bends
    return h, routes


def ordered_layers(g: nx.DiGraph) -> dict[int, list[str]]:
    """Each layer's nodes in an order that keeps edges short: barycentre sweeps down and up."""
    layers: dict[int, list[str]] = {}
    for node, data in g.nodes(data=True):
        layers.setdefault(data["layer"], []).append(node)
    rank = {n: i for nodes in layers.values() for i, n in enumerate(nodes)}
    keys = sorted(layers)
    for sweep in range(SWEEPS):
        down = sweep % 2 == 0
        def centre(n: str, down: bool = down) -> float:
            value = _mean(rank[m] for m in (g.predecessors(n) if down else g.successors(n)))
            return rank[n] if value is None else value

        for layer in (keys[1:] if down else list(reversed(keys[:-1]))):
            layers[layer] = sorted(layers[layer], key=lambda n: (centre(n), rank[n]))
            rank.update({n: i for i, n in enumerate(layers[layer])})
    return layers


@dataclass(frozen=True)
class Layout:
    """Where everything goes, in abstract units: x is the layer's column, y the place within it.

    ``positions`` holds the nodes and the bend points; ``routes`` gives, for every edge of the
    graph, the bend points it passes through, one per column it crosses."""

    positions: dict[str, tuple[float, float]]
    columns: int
    rows: float   # the tallest column, in places
    routes: dict[tuple[str, str], tuple[str, ...]]


def layout(g: nx.DiGraph) -> Layout:
    """One column per layer, each ordered by the barycentre of its neighbours, bends included."""
    h, routes = with_bends(g)
    layers = ordered_layers(h)
    positions = {n: (float(layer), float(i)) for layer, nodes in layers.items() for i, n in enumerate(nodes)}
    return Layout(positions, max(layers) + 1 if layers else 0, max((len(n) for n in layers.values()), default=0),
                  routes)


def wrapped_layers(g: nx.DiGraph) -> list[tuple[str, list[str]]]:
    """The layers as (title, nodes in drawing order), for a page too narrow for the drawing: each
    layer is a column of its own that wraps under the previous one, so nothing is cut or shrunk."""
    layers = ordered_layers(g)
    return [(LAYER_TITLES[i], layers.get(i, [])) for i in range(len(LAYER_TITLES)) if layers.get(i)]
