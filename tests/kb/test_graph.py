"""The knowledge graph (static, from the rule specs) and the derivation graph (per case)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner

from medmassage_rules.cases.loading import load_case, validate_case
from medmassage_rules.cli import main
from medmassage_rules.explain.derivation import derivation_graph, plan_node
from medmassage_rules.kb.graph import chain_modalities, edges_of, treatment_modalities
from medmassage_rules.kb.knowledge_base import PLANNER_RULES
from medmassage_rules.planning.pipeline import plan_case
from medmassage_rules.render.graph_formats import to_dot

from ..conftest import FACTS, ROOT

CASES = sorted(FACTS.glob("*.y*ml"))


def _plan(path: Path, kb):
    return plan_case(load_case(path, kb.vocabulary), kb)


# -- knowledge graph ----------------------------------------------------------------------------------
def test_the_knowledge_graph_is_built_once_per_knowledge_base(kb) -> None:
    assert kb.graph is kb.graph
    assert isinstance(kb.graph, nx.MultiDiGraph)


def test_nodes_are_vocabulary_ids_with_a_kind_prefix_label_and_kind(kb) -> None:
    g, v = kb.graph, kb.vocabulary
    for kind, ids in (("condition", v.conditions), ("finding", v.findings), ("history", v.history),
                      ("medication_class", v.medication_classes), ("modality", v.modalities),
                      ("mechanism", v.mechanisms), ("benefit", v.benefits), ("area", v.areas),
                      ("target", v.targets), ("clearance", v.clearances), ("status", v.statuses)):
        for ident in ids:
            data = g.nodes[f"{kind}:{ident}"]
            assert data["kind"] == kind
            assert data["label"] and "_" not in data["label"] or kind == "clearance"
    for rule in kb.rules:
        assert g.nodes[f"rule:{rule.id}"]["label"] == rule.description


def test_benefits_carry_the_seed_wording(kb) -> None:
    for benefit, words in kb.vocabulary.benefits.items():
        assert kb.graph.nodes[f"benefit:{benefit}"]["label"] == words


def test_every_condition_has_a_path_to_a_modality(kb) -> None:
    g = kb.graph
    for condition in kb.vocabulary.conditions:
        node = f"condition:{condition}"
        assert treatment_modalities(g, node), f"{condition}: no rule proposes a modality for it"
        assert chain_modalities(g, node), f"{condition}: no mechanism → benefit → modality chain"
        reachable = nx.descendants(g, node)
        assert any(n.startswith("modality:") for n in reachable)


def test_the_seed_chain_is_explicit_for_carpal_tunnel(kb) -> None:
    g = kb.graph
    assert nx.has_path(g, "condition:carpal_tunnel_syndrome", "mechanism:nerve_compression")
    path = ["condition:carpal_tunnel_syndrome", "mechanism:nerve_compression", "benefit:nerve_compression_relief",
            "modality:myofascial_release"]
    for a, b in nx.utils.pairwise(path):
        assert g.has_edge(a, b), (a, b)
    served = [d for _, d in edges_of(g, "benefit:nerve_compression_relief", ("served_by",))
              if d["rule"] == "cts-first-line-mfr"]
    # a practice text (R11): the trial of massage with trigger point work (R22) did not test myofascial release
    assert served and served[0]["grade"] == "L" and served[0]["citation"] == "R11"


def test_rule_edges_carry_rule_grade_citation_and_certainty(kb) -> None:
    g = kb.graph
    for rule in kb.rules:
        for _, _, data in g.out_edges(f"rule:{rule.id}", data=True):
            assert (data["rule"], data["grade"], data["citation"]) == (rule.id, rule.grade, rule.citation)
            if data["type"] == "proposes":
                assert data["certainty"] == rule.certainty
    blocks = {m for m, _ in edges_of(g, "rule:contra-anticoagulant", ("blocks",))}
    assert blocks == {"modality:deep_tissue", "modality:trigger_point_therapy", "modality:neuromuscular_therapy"}
    assert "medication_class:anticoagulant" in {s for s, _ in edges_of(g, "rule:contra-anticoagulant",
                                                                      ("triggers",), out=False)}
    lifts = {s for s, _ in edges_of(g, "rule:contra-suspected-dvt", ("lifts",), out=False)}
    assert lifts == {"clearance:vascular"}
    assert {c for c, _ in edges_of(g, "rule:pseudo-angina-cardiac-clearance", ("requires",))} == {"clearance:cardiac"}


def test_premise_edges_say_the_condition_in_clinical_words(kb) -> None:
    g = kb.graph
    words = {d["condition"] for _, d in edges_of(g, "rule:contra-platelets-low", ("triggers",), out=False)}
    assert words == {"platelets 20 or more and under 50 thousand per microlitre"}
    words = {d["condition"] for _, d in edges_of(g, "rule:sprain-acute-protect", ("triggers",), out=False)}
    assert words == {"a diagnosis of ankle sprain, with acuity acute"}


# -- derivation graph -------------------------------------------------------------------------------
@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_each_because_rule_fired_and_leads_to_its_plan_item(path: Path, kb) -> None:
    result = _plan(path, kb)
    g = derivation_graph(result, kb)
    fired = {d["rule"] for _, d in g.nodes(data=True) if d["kind"] == "firing"}
    assert fired == {f.rule_id for f in result.trace}
    plan = result.plan
    items = [(plan_node("modality", m.id), m.because) for m in plan.modalities]
    items += [(plan_node("target", t.id), t.because) for t in plan.targets]
    items += [(plan_node("blocked_modality", b.id), b.because) for b in plan.blocked_modalities]
    items += [(plan_node("blocked_area", a.id, a.side), a.because) for a in plan.blocked_areas]
    items += [(plan_node("referral", r.to), r.because) for r in plan.referrals]
    items += [(plan_node("status"), plan.status_because), (plan_node("pressure_cap"), plan.pressure_cap_because)]
    planner_rules = {rule.id for rule in PLANNER_RULES}  # applied by the planner, not fired
    for item, because in items:
        assert item in g, item
        ancestors = nx.ancestors(g, item)
        leading = {g.nodes[n]["rule"] for n in ancestors if g.nodes[n]["kind"] == "firing"}
        assert set(because) - planner_rules <= fired
        assert set(because) - planner_rules <= leading, (item, set(because) - leading)


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_every_recommended_modality_has_a_path_from_a_case_fact(path: Path, kb) -> None:
    result = _plan(path, kb)
    g = derivation_graph(result, kb)
    case_facts = [n for n, d in g.nodes(data=True) if d["kind"] == "case_fact"]
    for m in result.plan.modalities:
        assert any(nx.has_path(g, f, plan_node("modality", m.id)) for f in case_facts), m.id
    for n, d in g.nodes(data=True):
        assert d["label"] and "{" not in d["label"] and "None" not in d["label"], (n, d["label"])


def test_a_conclusion_two_firings_share_is_linked_to_both(kb) -> None:
    """Warfarin and aspirin both block deep tissue: the trace keeps both reasons."""
    case = validate_case({"id": "two-blood-thinners", "diagnoses": [{"condition": "low_back_pain"}],
                          "medications": ["warfarin", "aspirin"]}, "inline", kb.vocabulary)
    result = plan_case(case, kb)
    g = derivation_graph(result, kb)
    blocked = plan_node("blocked_modality", "deep_tissue")
    meds = {g.nodes[n]["label"] for n in nx.ancestors(g, blocked) if g.nodes[n]["kind"] == "case_fact"}
    assert meds >= {"medications include warfarin (anticoagulant)", "medications include aspirin (antiplatelet)"}


def test_recommend_builds_no_graph_and_imports_no_networkx(tmp_path: Path) -> None:
    code = ("import sys; from click.testing import CliRunner; from medmassage_rules.cli import main; "
            f"r = CliRunner().invoke(main, ['recommend', r'{FACTS / 'p05-fibromyalgia-warfarin.yaml'}']); "
            "assert r.exit_code == 0, r.output; "
            "print(sorted(m for m in sys.modules if m.startswith('networkx') or m.endswith(('.graph', '.explain'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- kb graph: export ----------------------------------------------------------------------------------
def _export(fmt: str, tmp_path: Path) -> Path:
    target = tmp_path / f"kb.{fmt}"
    out = CliRunner().invoke(main, ["kb", "graph", "--format", fmt, "--output", str(target)])
    assert out.exit_code == 0, out.output
    return target


@pytest.mark.parametrize("fmt, read", [
    ("graphml", nx.read_graphml),
    ("gexf", nx.read_gexf),
    ("json", lambda p: nx.node_link_graph(json.loads(p.read_text(encoding="utf-8")), edges="edges")),
])
def test_each_format_writes_and_reads_back_with_vocabulary_ids(fmt, read, tmp_path: Path, kb) -> None:
    back = read(_export(fmt, tmp_path))
    assert set(back.nodes) == set(kb.graph.nodes)
    assert back.number_of_edges() == kb.graph.number_of_edges()
    assert back.nodes["modality:swedish"]["label"] == "Swedish massage"
    assert back.nodes["modality:swedish"]["kind"] == "modality"
    assert back.nodes["benefit:digestion_aid"]["label"] == "Aid in digestion"
    relation = "relation" if fmt == "gexf" else "type"
    proposes = [d for _, _, d in back.in_edges("modality:abdominal_massage", data=True) if d[relation] == "proposes"]
    assert {d["rule"] for d in proposes} == {"constipation-first-line-abdominal"}
    assert proposes[0]["grade"] == "M" and proposes[0]["citation"] == "R34"
    assert float(proposes[0]["certainty"]) == 0.8


def test_dot_is_plain_quoted_graphviz(tmp_path: Path, kb) -> None:
    text = _export("dot", tmp_path).read_text(encoding="utf-8")
    quoted = r'"(?:[^"\\]|\\.)*"'
    node = re.compile(rf"^  {quoted} \[{quoted}={quoted}(, {quoted}={quoted})*\];$")
    edge = re.compile(rf"^  {quoted} -> {quoted} \[{quoted}={quoted}(, {quoted}={quoted})*\];$")
    lines = text.splitlines()
    assert lines[0] == 'digraph "medmassage knowledge graph" {' and lines[-1] == "}"
    assert sum(bool(node.match(line)) for line in lines) == kb.graph.number_of_nodes()
    assert sum(bool(edge.match(line)) for line in lines) == kb.graph.number_of_edges()
    assert '"modality:swedish" ["kind"="modality", "label"="Swedish massage"' in text


def test_dot_escapes_quotes_and_backslashes() -> None:
    g = nx.MultiDiGraph(name="t")
    g.add_node('rule:a"b', label='say "no" \\ then\nstop', kind="rule")
    assert '"rule:a\\"b" ["label"="say \\"no\\" \\\\ then\\nstop", "kind"="rule"];' in to_dot(g)
