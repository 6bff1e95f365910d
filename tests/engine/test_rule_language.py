"""The rule language of clinical-v2: scoped clearances, ``require`` with several ids,
``restrict_modalities``, ``drainage_zone``, targets on a given side, and the derived
``spinal``/``headache`` fields of a diagnosis, each on a small knowledge base built in tmp_path."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from medmassage_rules.cases.loading import validate_case
from medmassage_rules.engine.cache import engine_class
from medmassage_rules.errors import RuleDefinitionError
from medmassage_rules.kb import fact_types as F
from medmassage_rules.kb.knowledge_base import KnowledgeBase
from medmassage_rules.kb.loading import load_knowledge_base
from medmassage_rules.lint.linter import lint_knowledge_base
from medmassage_rules.planning.case_facts import case_facts

from ..conftest import ROOT

REFERENCES = """
references:
  T1:
    authors: Tester T
    year: 2024
    title: A fixture source
    venue: Fixture J 1:1
    url: https://example.org/fixture
    kind: expert_opinion
"""
BASE_RULES = """
  - id: neck-targets
    description: Work the neck
    benefits: [improved_flexibility]
    grade: L
    citation: T1
    when: [{diagnosis: {condition: neck_pain}}]
    then: {targets: [{role: primary, ids: [upper_trapezius]}]}
  - id: neck-swedish
    description: Swedish massage for neck pain
    benefits: [improved_flexibility]
    grade: L
    citation: T1
    when: [{diagnosis: {condition: neck_pain}}]
    then: {propose: {modalities: [swedish], line: first}}
"""


def make_kb(tmp_path: Path, rules: str) -> Path:
    """A knowledge-base folder: the shipped vocabulary, a neck-pain stub and the given rules."""
    folder = tmp_path / "kb"
    folder.mkdir()
    shutil.copy(ROOT / "rules" / "vocabulary.yaml", folder / "vocabulary.yaml")
    body = "rules:\n" + textwrap.indent(textwrap.dedent(rules).strip("\n"), "  ") + "\n" + BASE_RULES + REFERENCES
    (folder / "rules.yaml").write_text(body, encoding="utf-8")
    return folder


def derived(kb: KnowledgeBase, case: dict[str, Any], clearances: Sequence[tuple[str, str | None]] = ()) -> list[Any]:
    """The facts the engine concludes for a case, with the clearances given as (id, scope) pairs."""
    data = {"id": "t", "diagnoses": [{"condition": "neck_pain"}], **case}
    facts = [f for f in case_facts(validate_case(data, "t", kb.vocabulary), kb.vocabulary)
             if not isinstance(f, F.Clearance)]
    facts += [F.Clearance(index=i, name=name, scope=scope) for i, (name, scope) in enumerate(clearances)]
    out, _ = engine_class(kb)().infer(facts)
    return [f for f in out if type(f) in F.DERIVED_KINDS.values()]


def of(kind: Any, facts: list[Any], rule: str) -> list[dict[str, Any]]:
    return [{k: v for k, v in f.items() if not k.startswith("__")} for f in facts
            if isinstance(f, kind) and f["rule"] == rule]


BLOCK = """
- id: gate-bare
  description: A fixture gate lifted by a bare surgeon clearance
  benefits: []
  grade: L
  citation: T1
  when: [{history: {item: recent_surgery}}]
  unless_clearance: surgeon
  then: {block_all: {status: defer}}
- id: gate-scoped
  description: A fixture gate lifted only by a clearance given for dyspnea
  benefits: []
  grade: L
  citation: T1
  when: [{finding: {finding: dyspnea}}]
  unless_clearance: {id: any, for: dyspnea}
  then: {block_all: {status: defer}}
- id: gate-scoped-named
  description: A fixture gate lifted only by an obstetric clearance given for blood pressure
  benefits: []
  grade: L
  citation: T1
  when: [{vitals: {systolic: {ge: 140}}}]
  unless_clearance: {id: obstetric, for: blood_pressure}
  then: {block_all: {status: defer}}
- id: gate-bare-any-of
  description: A fixture gate on a list of items, lifted by a surgeon clearance given for the matched one
  benefits: []
  grade: L
  citation: T1
  when: [{history: {item: {in: [open_wound, skin_infection]}}}]
  unless_clearance: surgeon
  then: {block_all: {status: defer}}
"""


@pytest.fixture(scope="module")
def gates_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    return load_knowledge_base(make_kb(tmp_path_factory.mktemp("gates"), BLOCK))


@pytest.mark.parametrize(("clearances", "fires"), [
    ([], True),
    ([("surgeon", None)], False),                    # the bare id lifts it (v1 semantics)
    ([("surgeon", "recent_surgery")], False),        # the id given for the rule's subject lifts it
    ([("surgeon", "recent_fracture")], True),        # given for something else: it does not
    ([("physician", None)], True),
])
def test_bare_gate(gates_kb: KnowledgeBase, clearances: list[tuple[str, str | None]], fires: bool) -> None:
    out = derived(gates_kb, {"history": [{"item": "recent_surgery", "area": "knee"}]}, clearances)
    assert bool(of(F.Block, out, "gate-bare")) is fires


@pytest.mark.parametrize(("clearances", "fires"), [
    ([], True),
    ([("physician", None), ("cardiology", None)], True),   # a bare id never satisfies a scoped gate
    ([("physician", "dyspnea")], False),                   # id any: whatever clearance, given for it
    ([("cardiology", "dyspnea")], False),
    ([("physician", "edema")], True),
])
def test_scoped_gate_any_id(gates_kb: KnowledgeBase, clearances: list[tuple[str, str | None]], fires: bool) -> None:
    out = derived(gates_kb, {"findings": [{"finding": "dyspnea"}]}, clearances)
    assert bool(of(F.Block, out, "gate-scoped")) is fires


@pytest.mark.parametrize(("clearances", "fires"), [
    ([("obstetric", None)], True),
    ([("physician", "blood_pressure")], True),        # the named id only
    ([("obstetric", "blood_pressure")], False),
])
def test_scoped_gate_named_id(gates_kb: KnowledgeBase, clearances: list[tuple[str, str | None]], fires: bool) -> None:
    out = derived(gates_kb, {"vitals": {"systolic": 150}}, clearances)
    assert bool(of(F.Block, out, "gate-scoped-named")) is fires


def test_bare_gate_subject_is_the_matched_fact(gates_kb: KnowledgeBase) -> None:
    """With an ``in`` list, the clearance must be given for the item that matched, not another one."""
    wound = {"history": [{"item": "open_wound", "area": "knee"}]}
    assert of(F.Block, derived(gates_kb, wound, [("surgeon", "skin_infection")]), "gate-bare-any-of")
    assert not of(F.Block, derived(gates_kb, wound, [("surgeon", "open_wound")]), "gate-bare-any-of")


ACTIONS = """
- id: needs-either
  description: A fixture requirement met by either clearance
  benefits: []
  grade: L
  citation: T1
  when: [{history: {item: malignancy}}]
  then: {require: [oncology, physician]}
- id: cleared-pattern
  description: A fixture rule on a clearance given for cellulitis
  benefits: []
  grade: L
  citation: T1
  when:
    - {history: {item: cellulitis}}
    - {clearance: {name: physician, scope: cellulitis}}
  then: {advisory: "on antibiotics"}
- id: restrict-site
  description: A fixture restriction of the site's area to drainage
  benefits: []
  grade: L
  citation: T1
  when: [{history: {item: recent_surgery}}]
  then: {restrict_modalities: {site_from: 0, modalities: [manual_lymphatic_drainage]}}
- id: restrict-none
  description: A fixture restriction of the axilla on the removal's side to nothing
  benefits: []
  grade: L
  citation: T1
  when: [{history: {item: lymph_node_removal}}]
  then: {restrict_modalities: {ids: [axilla], modalities: []}}
- id: zone-limb
  description: A fixture drainage zone over the diagnosis' limb
  benefits: []
  grade: L
  citation: T1
  when: [{diagnosis: {condition: lymphedema}}]
  then: {drainage_zone: {site_from: 0, whole_group: true}}
- id: nodes-opposite
  description: Fixture targets on the other side and on a fixed side
  benefits: [improved_circulation]
  grade: L
  citation: T1
  when: [{diagnosis: {condition: lymphedema}}]
  then:
    targets:
      - {role: primary, ids: [axillary_lymph_nodes], side: opposite}
      - {role: primary, ids: [inguinal_lymph_nodes], side: bilateral}
      - {role: primary, ids: [cervical_lymph_nodes]}
- id: spinal-and-headache
  description: A fixture rule on the derived fields of a diagnosis
  benefits: []
  grade: L
  citation: T1
  when:
    - {diagnosis: {spinal: true}}
    - {diagnosis: {headache: true}}
  then: {advisory: "spinal and headache"}
"""


@pytest.fixture(scope="module")
def actions_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    return load_knowledge_base(make_kb(tmp_path_factory.mktemp("actions"), ACTIONS))


def test_require_any_of(actions_kb: KnowledgeBase) -> None:
    case = {"history": [{"item": "malignancy", "active": False}]}
    [req] = of(F.Requirement, derived(actions_kb, case), "needs-either")
    assert req["clearance"] == "oncology" and req["any_of"] == ("oncology", "physician")
    for clearance in [("physician", None), ("oncology", None), ("physician", "malignancy")]:
        assert not of(F.Requirement, derived(actions_kb, case, [clearance]), "needs-either"), clearance
    assert of(F.Requirement, derived(actions_kb, case, [("physician", "dyspnea")]), "needs-either")


def test_pattern_on_clearance_scope(actions_kb: KnowledgeBase) -> None:
    case = {"history": [{"item": "cellulitis", "area": "lower_leg"}]}
    assert not of(F.Advisory, derived(actions_kb, case, [("physician", None)]), "cleared-pattern")
    assert of(F.Advisory, derived(actions_kb, case, [("physician", "cellulitis")]), "cleared-pattern")


def test_restrict_modalities(actions_kb: KnowledgeBase) -> None:
    out = derived(actions_kb, {"history": [{"item": "recent_surgery", "area": "knee", "side": "left"}]})
    assert of(F.Restrict, out, "restrict-site") == [
        {"area": "knee", "side": "left", "modalities": ("manual_lymphatic_drainage",), "rule": "restrict-site"}]
    # no site given: every area is restricted
    out = derived(actions_kb, {"history": [{"item": "recent_surgery"}]})
    assert {f["area"] for f in of(F.Restrict, out, "restrict-site")} == set(actions_kb.vocabulary.areas)
    out = derived(actions_kb, {"history": [{"item": "lymph_node_removal", "area": "axilla", "side": "right"}]})
    assert of(F.Restrict, out, "restrict-none") == [
        {"area": "axilla", "side": "right", "modalities": (), "rule": "restrict-none"}]


def test_drainage_zone_and_sided_targets(actions_kb: KnowledgeBase) -> None:
    case = {"diagnoses": [{"condition": "lymphedema", "area": "forearm", "side": "left"}]}
    out = derived(actions_kb, case)
    zones = of(F.Zone, out, "zone-limb")
    assert {z["area"] for z in zones} == set(actions_kb.vocabulary.areas_in_group("upper_extremity"))
    assert {z["side"] for z in zones} == {"left"}
    sides = {f["target"]: f["side"] for f in of(F.Candidate, out, "nodes-opposite")}
    assert sides == {"axillary_lymph_nodes": "right", "inguinal_lymph_nodes": "bilateral",
                     "cervical_lymph_nodes": "left"}
    # the other side of no side, or of both, is no side
    unsided = {f["target"]: f["side"] for f in of(F.Candidate, derived(
        actions_kb, {"diagnoses": [{"condition": "lymphedema", "area": "forearm"}]}), "nodes-opposite")}
    assert unsided["axillary_lymph_nodes"] is None


def test_spinal_and_headache_fields(actions_kb: KnowledgeBase) -> None:
    both = {"diagnoses": [{"condition": "low_back_pain"}, {"condition": "migraine"}]}
    assert of(F.Advisory, derived(actions_kb, both), "spinal-and-headache")
    neither = {"diagnoses": [{"condition": "carpal_tunnel_syndrome"}, {"condition": "migraine"}]}
    assert not of(F.Advisory, derived(actions_kb, neither), "spinal-and-headache")


@pytest.mark.parametrize(("rule", "message"), [
    ("unless_clearance: {id: dentist, for: dyspnea}", "unknown clearance id 'dentist'"),
    ("unless_clearance: {id: any, for: sneezing}", "unless_clearance.for: unknown id 'sneezing'"),
    ("then: {require: [oncology, dentist]}", "unknown clearance id 'dentist'"),
    ("then: {restrict_modalities: {ids: [knee], modalities: [reiki]}}", "unknown modality id 'reiki'"),
    ("then: {restrict_modalities: {modalities: [swedish]}}", "restrict_modalities: give ids or site_from"),
    ("then: {drainage_zone: {ids: [elbow]}}", "unknown target or area id 'elbow'"),
    ("then: {targets: [{role: primary, ids: [neck], side: opposite, side_from: []}]}", "side opposite needs side_from"),
    ("then: {targets: [{role: primary, ids: [neck], side: up}]}", "targets.0.side"),
])
def test_bad_rules_are_named(tmp_path: Path, rule: str, message: str) -> None:
    then = "" if rule.startswith("then") else "then: {advisory: x}\n"
    text = (f"- id: bad\n  description: A bad rule\n  benefits: []\n  grade: L\n  citation: T1\n"
            f"  when: [{{finding: {{finding: dyspnea}}}}]\n  {rule}\n" + (f"  {then}" if then else ""))
    with pytest.raises(RuleDefinitionError) as err:
        load_knowledge_base(make_kb(tmp_path, text))
    assert any(message in str(p) and p.rule == "bad" and str(p).startswith("rules.yaml: rule bad: ")
               for p in err.value.problems), err.value.problems


def test_unknown_scope_in_a_pattern_is_named(tmp_path: Path) -> None:
    text = """
    - id: bad-scope
      description: A rule on a clearance given for nothing known
      benefits: []
      grade: L
      citation: T1
      when: [{clearance: {scope: sneezing}}]
      then: {advisory: x}
    """
    with pytest.raises(RuleDefinitionError) as err:
        load_knowledge_base(make_kb(tmp_path, text))
    assert any("clearance.scope: unknown id 'sneezing'" in str(p) and p.code == "unknown_id"
               for p in err.value.problems), err.value.problems


def test_lint_knows_the_new_language(tmp_path: Path) -> None:
    """A rule that needs the very scoped clearance that lifts it never fires; the new actions lint clean."""
    text = ACTIONS + textwrap.dedent("""
    - id: self-lifting
      description: A rule that needs the clearance that lifts it
      benefits: []
      grade: L
      citation: T1
      when:
        - {finding: {finding: dyspnea}}
        - {clearance: {name: physician, scope: dyspnea}}
      unless_clearance: {id: any, for: dyspnea}
      then: {block_all: {status: defer}}
    """)
    report = lint_knowledge_base(make_kb(tmp_path, text))
    never = [f for f in report.errors if f.check == "never-fires"]
    assert [f.where.split("rule ")[1] for f in never] == ["self-lifting"]
    assert not [f for f in report.findings if any(r in f.where for r in ("restrict-", "zone-limb", "nodes-opposite",
                                                                           "needs-either", "cleared-pattern"))]


def test_shipped_knowledge_base_lints_clean() -> None:
    report = lint_knowledge_base()
    assert not report.findings, [str(f) for f in report.findings]


def test_lint_finds_a_tissue_no_modality_applies_to(tmp_path: Path) -> None:
    folder = make_kb(tmp_path, """
    - id: work-the-bone
      description: A fixture rule targeting a bone
      benefits: [improved_flexibility]
      grade: L
      citation: T1
      when: [{diagnosis: {condition: neck_pain}}]
      then: {targets: [{role: primary, ids: [masseter]}]}
    """)
    vocab = folder / "vocabulary.yaml"
    text = vocab.read_text(encoding="utf-8")
    text = text.replace("tissues: [muscle, fascia, tendon_ligament, lymph_node, viscus]",
                        "tissues: [muscle, fascia, tendon_ligament, lymph_node, viscus, bone]")
    text = text.replace("target_tissues:              # v2", "target_tissues:\n  masseter: bone  # v2", 1)
    vocab.write_text(text, encoding="utf-8")
    report = lint_knowledge_base(folder)
    gaps = [str(f) for f in report.findings if f.check == "gap"]
    assert any("tissue bone: no modality applies to it" in g for g in gaps), gaps
    assert any("rule work-the-bone: targets the masseter (bone)" in g for g in gaps), gaps


def test_lint_conflict_knows_sides(tmp_path: Path) -> None:
    """A block on one side conflicts with a target on that side, not with one on the other side."""
    folder = make_kb(tmp_path, """
    - id: block-removal-side
      description: A fixture block of the axilla on the side of a node removal
      benefits: []
      grade: L
      citation: T1
      when:
        - {diagnosis: {condition: lymphedema}}
        - {history: {item: lymph_node_removal}}
      then: {block_areas: {ids: [axilla], side_from: [1]}}
    - id: other-axilla
      description: Fixture targets in the other axilla
      benefits: [improved_circulation]
      grade: L
      citation: T1
      when:
        - {diagnosis: {condition: lymphedema}}
        - {history: {item: lymph_node_removal}}
      then: {targets: [{role: primary, ids: [axillary_lymph_nodes], side: opposite}]}
    - id: same-axilla
      description: Fixture targets in the axilla on the removal's side
      benefits: [improved_circulation]
      grade: L
      citation: T1
      when:
        - {diagnosis: {condition: lymphedema}}
        - {history: {item: lymph_node_removal}}
      then: {targets: [{role: primary, ids: [axillary_lymph_nodes], side_from: [1]}]}
    """)
    conflicts = [f.where for f in lint_knowledge_base(folder).findings if f.check == "conflict"]
    assert conflicts == ["rules.yaml: rule same-axilla"]


def test_lint_names_unknown_ids_in_the_v2_vocabulary_sections(tmp_path: Path) -> None:
    folder = make_kb(tmp_path, "")
    vocab = folder / "vocabulary.yaml"
    text = vocab.read_text(encoding="utf-8")
    text = text.replace("axial_areas: [head,", "axial_areas: [elbow, head,", 1)
    text = text.replace("applies_to: [viscus]}", "applies_to: [guts]}", 1)
    text = text.replace("spinal_conditions: [low_back_pain,", "spinal_conditions: [backache, low_back_pain,", 1)
    vocab.write_text(text, encoding="utf-8")
    report = lint_knowledge_base(folder)
    assert report.exit_code == 1
    found = {f.message: f.check for f in report.findings}
    assert found == {"axial_areas: unknown area 'elbow'": "unknown-id",
                     "modalities.abdominal_massage.applies_to: unknown tissue 'guts'": "unknown-id",
                     "spinal_conditions: unknown condition 'backache'": "unknown-id"}, found
