"""Hostile knowledge bases: every one ends in problems naming file, path and value, never a traceback.

Each test builds a small knowledge base in tmp_path (the shipped vocabulary and one rule file),
breaks it one way, and runs both ``kb lint --rules DIR`` (exit 1: errors found) and
``recommend CASE --rules DIR`` (exit 2: invalid knowledge base).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from medmassage_rules.errors import RuleDefinitionError
from medmassage_rules.kb.loading import iter_problems, load_knowledge_base, read_knowledge_base
from medmassage_rules.lint.linter import lint_knowledge_base

from ..conftest import FACTS, ROOT
from ..helpers import EXIT_INVALID, invoke

CASE = FACTS / "p01-cts-mild-right.yaml"
HUGE = "0x" + "f" * 5000          # about 6,021 decimal digits: Python refuses to format it
HUGE_SHOWN = "an integer of about 6021 digits"
GOOD_RULE = {"id": "cts-swedish", "description": "Swedish massage eases carpal tunnel syndrome",
             "benefits": ["nerve_compression_relief"], "grade": "L", "citation": "T1",
             "when": [{"diagnosis": {"condition": "carpal_tunnel_syndrome"}}],
             "then": {"propose": {"modalities": ["swedish"], "line": "first"}}}


def _write_kb(folder: Path, rules: list[Any] | Any = None, vocabulary: dict[str, Any] | None = None,
              **sections: Any) -> Path:
    """A knowledge base of the shipped vocabulary (or the one given) and one rule file."""
    folder.mkdir(exist_ok=True)
    if vocabulary is None:
        shutil.copy(ROOT / "rules" / "vocabulary.yaml", folder / "vocabulary.yaml")
    else:
        (folder / "vocabulary.yaml").write_text(_dump(vocabulary), encoding="utf-8")
    data = {"references": {"T1": "A textbook, for the tests"}, "rules": [GOOD_RULE] if rules is None else rules,
            **sections}
    (folder / "rules.yaml").write_text(_dump(data), encoding="utf-8")
    return folder


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:  # a knowledge-base file may hold no alias
        return True


def _dump(data: Any) -> str:
    """YAML text; the string HUGE becomes a hexadecimal integer of 5,000 digits (a key: HUGE_KEY)."""
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True)
    text = re.sub(r"(?m)^( *)HUGE_KEY: ", lambda m: f"{m[1]}? HUGE\n{m[1]}: ", text)  # too long for a plain key
    return text.replace("HUGE", HUGE)


def _vocabulary(**changes: Any) -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "rules" / "vocabulary.yaml").read_text(encoding="utf-8"))
    for key, value in changes.items():
        data[key] = value
    return data


def _rule(**changes: Any) -> dict[str, Any]:
    return {**GOOD_RULE, "id": "bad", **changes}


def assert_named(kb: Path, *fragments: str) -> None:
    """kb lint exits 1 and recommend exits 2, each with a line holding every fragment; no traceback."""
    lint = invoke("kb", "lint", "--rules", kb)
    assert lint.exit_code == 1, lint.output
    assert lint.exception is None or isinstance(lint.exception, SystemExit), lint.exception
    assert "Traceback" not in lint.output
    assert [line for line in lint.stdout.splitlines() if all(f in line for f in fragments)], lint.stdout
    recommend = invoke("recommend", CASE, "--rules", kb)
    assert recommend.exit_code == EXIT_INVALID, (recommend.stdout, recommend.stderr)
    assert recommend.exception is None or isinstance(recommend.exception, SystemExit), recommend.exception
    assert recommend.stdout == ""
    lines = recommend.stderr.splitlines()
    assert lines and all(line.startswith("error: knowledge base: ") for line in lines), lines
    assert [line for line in lines if all(f in line for f in fragments)], lines


def test_the_small_knowledge_base_itself_loads_and_plans(tmp_path: Path) -> None:
    kb = _write_kb(tmp_path / "kb")
    assert [r.id for r in load_knowledge_base(kb).rules] == ["cts-swedish"]
    result = invoke("recommend", CASE, "--rules", kb)
    assert result.exit_code == 0, result.stderr


# -- rule files ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("rule", "fragments"), [
    (_rule(when=[{}]), ("rules.yaml: rule bad: when[0]: a pattern is one mapping", "(got {})")),
    (_rule(when=[{"diagnosis": {"condition": "neck_pain"}, "finding": {}}]),
     ("rule bad: when[0]: a pattern is one mapping",)),
    (_rule(when=[{"not": {}}]), ("rule bad: when[0]: not: takes one pattern", "(got {'not': {}})")),
    (_rule(when=[{"not": None}]), ("rule bad: when[0]: not: takes one pattern", "(got {'not': None})")),
    (_rule(when=[{"diagnosis": ["neck_pain"]}]), ("rule bad: when[0]: diagnosis: fields must be a mapping",
                                                  "(got ['neck_pain'])")),
    (_rule(when=[{"diagnosis": {"condition": {"in": [["a", "b"]]}}}]),
     ("rule bad: when[0]: diagnosis.condition:", "(got ['a', 'b'])")),
    (_rule(when=[{"diagnosis": {"condition": {"in": [{"x": 1}]}}}]),
     ("rule bad: when[0]: diagnosis.condition:", "(got {'x': 1})")),
    (_rule(when=[{"finding": {"finding": {"eq": ["pain"]}}}]),
     ("rule bad: when[0]: finding.finding:", "(got ['pain'])")),
    (_rule(when=[["diagnosis"]]), ("rule bad: when.0:",)),
    (_rule(when=[5]), ("rule bad: when.0:",)),
    (_rule(then=["advisory"]), ("rule bad: then:",)),
    (_rule(then=5), ("rule bad: then:",)),
    (_rule(then={"targets": [{"role": "finding", "site_from": 7}]}),
     ("rule bad: targets[0].site_from: pattern index 7",)),
    (["a", "b"], ("rules.yaml: rule #1: a rule is a mapping", "(got ['a', 'b'])")),
    (5, ("rules.yaml: rule #1: a rule is a mapping", "(got 5)")),
    (_rule(salience="HUGE"), ("rules.yaml: rule bad: salience: a number too large", HUGE_SHOWN)),
    (_rule(when=[{"labs": {"platelets_k": {"lt": "HUGE"}}}]),
     ("rule bad: when[0].labs.platelets_k.lt: a number too large", HUGE_SHOWN)),
    (_rule(id="HUGE"), (f"rules.yaml: rule {HUGE_SHOWN}: id: a number too large",)),
    (_rule(then={"propose": {"modality_from": "HUGE", "line": "request"}}),
     ("rule bad: then.propose.modality_from: a number too large",)),
], ids=["empty pattern", "two kinds in a pattern", "empty not", "not without a pattern", "fields a list",
        "in a list of lists", "in a list of mappings", "eq a list", "pattern a list", "pattern an int", "then a list",
        "then an int",
        "site_from out of range", "rule a list", "rule an int", "huge salience", "huge threshold", "huge id",
        "huge index"])
def test_a_hostile_rule_is_named(tmp_path: Path, rule: Any, fragments: tuple[str, ...]) -> None:
    assert_named(_write_kb(tmp_path / "kb", [GOOD_RULE, rule]), *fragments)


@pytest.mark.parametrize(("sections", "fragments"), [
    ({"references": ["T1"]}, ("rules.yaml: references: a mapping of citation keys",)),
    ({"references": {"T1": ["a", "b"]}}, ("rules.yaml: reference T1: the full text of a source", "(got ['a', 'b'])")),
    ({"references": {"T1": 5}}, ("rules.yaml: reference T1:", "(got 5)")),
    ({"references": {"T1": "A text", "T2": {"year": "HUGE"}}}, ("rules.yaml: references.T2.year: a number too large",
                                                              HUGE_SHOWN)),
    ({"caveats": [["a"]]}, ("rules.yaml: caveat 0:",)),
    ({"caveats": 5}, ("rules.yaml: caveats: a list of caveats, not int",)),
    ({"rules": {"id": "x"}}, ("rules.yaml: rules: a list of rules, not dict",)),
    ({"lint": ["a"]}, ("rules.yaml: lint: a mapping with unused_ok",)),
    ({"lint": 5}, ("rules.yaml: lint: a mapping with unused_ok",)),
    ({"lint": {"unused_ok": ["neck_pain"]}}, ("rules.yaml: lint: a mapping with unused_ok",)),
    ({"lint": {"unused_ok": {"neck_pain": ["x"]}}}, ("rules.yaml: lint: unused_ok: neck_pain: give the reason",)),
    ({"HUGE_KEY": 1}, ("rules.yaml: a number too large", HUGE_SHOWN)),
], ids=["references a list", "a reference a list", "a reference an int", "huge year", "caveat a list",
        "caveats an int", "rules a mapping", "lint a list", "lint an int", "unused_ok a list", "reason a list",
        "huge section name"])
def test_a_hostile_section_is_named(tmp_path: Path, sections: dict[str, Any], fragments: tuple[str, ...]) -> None:
    data = {"references": {"T1": "A textbook, for the tests"}, "rules": [GOOD_RULE], **sections}
    kb = tmp_path / "kb"
    kb.mkdir()
    shutil.copy(ROOT / "rules" / "vocabulary.yaml", kb / "vocabulary.yaml")
    (kb / "rules.yaml").write_text(_dump(data), encoding="utf-8")
    assert_named(kb, *fragments)


def test_a_pattern_without_conditions_matches_any_fact_of_its_kind(tmp_path: Path) -> None:
    kb = _write_kb(tmp_path / "kb", [_rule(id="any-diagnosis", when=[{"diagnosis": None}, {"not": {"finding": None}}])])
    rule = load_knowledge_base(kb).by_id["any-diagnosis"]
    assert rule.positive == (("diagnosis", None),) and rule.negative == (("finding", None),)
    assert invoke("recommend", CASE, "--rules", kb).exit_code == 0


def test_a_rule_file_that_is_a_list_is_named(tmp_path: Path) -> None:
    kb = _write_kb(tmp_path / "kb")
    (kb / "more.yaml").write_text("- a\n- b\n", encoding="utf-8")
    assert_named(kb, "more.yaml: a rule file is a mapping")


# -- the vocabulary -------------------------------------------------------------------------------------
CONDITIONS = _vocabulary()["conditions"]


@pytest.mark.parametrize(("changes", "fragments"), [
    ({"conditions": [*CONDITIONS, ["a", "b"]]}, (f"conditions[{len(CONDITIONS)}]: an id is text", "(got ['a', 'b'])")),
    ({"conditions": [*CONDITIONS, {"x": 1}]}, (f"conditions[{len(CONDITIONS)}]: an id is text", "(got {'x': 1})")),
    ({"sides": ["left", "right", 3]}, ("sides[2]: an id is text", "(got 3)")),
    ({"benefits": ["a"]}, ("benefits: a mapping, not list",)),
    ({"benefits": {"relief": ["a"]}}, ("benefits.relief: words, not a structure", "(got ['a'])")),
    ({"benefits": {1: "one"}}, ("benefits: an id is text", "(got 1)")),
    ({"targets": {"upper_trapezius": ["neck"]}}, ("targets.upper_trapezius: an id is text", "(got ['neck'])")),
    ({"mechanisms": {"posture": ["a"]}}, ("mechanisms.posture: a mapping with label",)),
    ({"areas": {"head": ["a"]}}, ("areas.head: a mapping with group",)),
    ({"areas": {"head": {"group": ["head_neck"]}}}, ("areas.head.group: an id is text", "(got ['head_neck'])")),
    ({"modalities": {"swedish": {"label": "Swedish", "pressure": [["light"], "deep"]}}},
     ("modalities.swedish: label is words and pressure two pressure ids",)),
    ({"modalities": {"swedish": {"label": "Swedish", "pressure": ["light", "deep"], "applies_to": 5}}},
     ("modalities.swedish.applies_to: a list of tissue ids", "(got 5)")),
    ({"labels": ["a"]}, ("labels: a mapping, not list",)),
    ({"labels": 5}, ("labels: a mapping, not int",)),
    ({"tissues": 5}, ("tissues: a list, not int",)),
    ({"axial_areas": {"neck": 1}}, ("axial_areas: a list, not dict",)),
    ({"approach_areas": ["a"]}, ("approach_areas: a mapping, not list",)),
    ({"medications": {"warfarin": 5}}, ("medications.warfarin: an id is text", "(got 5)")),
    ({"pressures": ["light", "moderate", "HUGE"]}, ("pressures[2]: a number too large", HUGE_SHOWN)),
    ({"benefits": {"HUGE_KEY": "a huge id"}}, ("benefits: a number too large", HUGE_SHOWN)),
], ids=["a list as an id", "a mapping as an id", "a number as an id", "a list for a mapping", "words a list",
        "a number as a key", "an area a list", "a mechanism a list", "an area spec a list", "a group a list",
        "a pressure a list", "applies_to an int", "labels a list", "labels an int", "tissues an int",
        "axial areas a mapping", "approach areas a list", "a class an int", "a huge pressure", "a huge key"])
def test_a_hostile_vocabulary_is_named(tmp_path: Path, changes: dict[str, Any], fragments: tuple[str, ...]) -> None:
    kb = _write_kb(tmp_path / "kb", vocabulary=_vocabulary(**changes))
    assert_named(kb, "vocabulary.yaml: ", *fragments)


def test_a_vocabulary_that_is_a_list_is_named(tmp_path: Path) -> None:
    kb = _write_kb(tmp_path / "kb")
    (kb / "vocabulary.yaml").write_text("- a\n", encoding="utf-8")
    assert_named(kb, "vocabulary.yaml: the vocabulary must be a mapping")


# -- intake tables (kb lint reads a knowledge base's intake/) ---------------------------------------------
@pytest.mark.parametrize(("file", "text", "fragments"), [
    ("medications.yaml", "atc_classes: [B01]\ndrugs: {}\n", ("medications.yaml: atc_classes: a mapping, not list",)),
    ("medications.yaml", "atc_classes: {B01: [[a]]}\ndrugs: {}\n", ("atc_classes.B01: a medication class",)),
    ("medications.yaml", "atc_classes: {}\ndrugs: {apixaban: {atc: [[B01AF02]]}}\n",
     ("drugs.apixaban: a mapping with atc",)),
    ("medications.yaml", f"atc_classes: {{}}\ndrugs: {{x: {{atc: {HUGE}}}}}\n",
     ("drugs.x.atc: a number too large", HUGE_SHOWN)),
    ("icd10-map.yaml", "conditions: [G56.0]\n", ("icd10-map.yaml: conditions: a mapping, not list",)),
    ("icd10-map.yaml", "conditions: {G56.0: {condition: carpal_tunnel_syndrome, area: [a]}}\n",
     ("conditions.G56.0.area: an id is text", "(got ['a'])")),
], ids=["classes a list", "a class a list", "an atc code a list", "a huge atc code", "codes a list", "an area a list"])
def test_a_hostile_intake_table_is_a_lint_error(tmp_path: Path, file: str, text: str,
                                                fragments: tuple[str, ...]) -> None:
    kb = _write_kb(tmp_path / "kb")
    (kb / "intake").mkdir()
    (kb / "intake" / file).write_text(text, encoding="utf-8")
    lint = invoke("kb", "lint", "--rules", kb)
    assert lint.exit_code == 1, lint.output
    assert lint.exception is None or isinstance(lint.exception, SystemExit), lint.exception
    assert [line for line in lint.stdout.splitlines() if all(f in line for f in fragments) and "[intake]" in line], \
        lint.stdout


# -- problems are data: codes, rules and paths ------------------------------------------------------------
def test_problems_carry_a_code_the_rule_and_the_value(tmp_path: Path) -> None:
    kb = _write_kb(tmp_path / "kb", [GOOD_RULE, _rule(when=[{"diagnosis": {"condition": {"in": [["a"]]}}}]),
                                     _rule(id="again", when=[{}]), dict(GOOD_RULE)])
    with pytest.raises(RuleDefinitionError) as caught:
        load_knowledge_base(kb)
    found = {(p.code, p.rule, p.path) for p in caught.value.problems}
    assert ("not_a_scalar", "bad", "when[0]: diagnosis.condition") in found
    assert ("not_a_pattern", "again", "when[0]") in found
    assert ("duplicate_rule_id", "cts-swedish", "") in found
    assert [p.value for p in caught.value.problems if p.code == "not_a_scalar"] == [["a"]]
    assert str(caught.value).splitlines() == [str(p) for p in caught.value.problems]
    assert list(iter_problems(kb)) == list(caught.value.problems)
    assert [p.code for p in iter_problems(tmp_path / "nothing")] == ["no_vocabulary"]


def test_a_rule_whose_patterns_cannot_be_read_is_left_out_of_the_analysis(tmp_path: Path) -> None:
    kb = _write_kb(tmp_path / "kb", [GOOD_RULE, _rule(when=[{}])])
    files = read_knowledge_base(kb)
    assert [r.id for r in files.rules] == ["cts-swedish"]
    report = lint_knowledge_base(kb)
    assert [f.check for f in report.findings if f.problem.rule == "bad"] == ["invalid-rule"]
