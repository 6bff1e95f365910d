"""kb lint: one deliberately broken knowledge base per defect class, and the shipped one clean.

The broken knowledge bases are small: the shipped vocabulary, references, caveats, prescription
rules and lint list, the shipped rules these tests name (copied as written), and for every other
condition one rule that leads it to a modality, so that the fixture itself lints without an error.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from medmassage_rules.cli import main
from medmassage_rules.kb.loading import load_knowledge_base
from medmassage_rules.lint.linter import LintReport, lint_knowledge_base, lint_lines

from ..conftest import ROOT
from ..helpers import RULE

RULES = ROOT / "rules"


def _rule(rule_id: str, when: str, then: str, benefits: str = "", grade: str = "L", citation: str = "R11",
          description: str = "A rule written for a lint test", **extra: str) -> str:
    text = RULE.format(id=rule_id, description=description, benefits=benefits, grade=grade, citation=citation,
                       when=when, then=then)
    return text + "".join(f"    {k}: {v}\n" for k, v in extra.items())


WHOLE_FILES = ("vocabulary.yaml", "references.yaml", "caveats.yaml", "prescription.yaml", "lint.yaml")
NAMED_RULES = {  # the shipped rules the tests name or edit, by file
    "conditions.yaml": ("cts-mechanisms", "neck-primary-targets", "neck-first-line-nmt", "neck-first-line-tpt",
                        "constipation-first-line-abdominal"),
    "contraindications.yaml": ("contra-pregnancy", "contra-osteoporosis", "contra-frail"),
}
LED_BY_NAMED_RULES = ("neck_pain", "constipation")  # conditions the named rules lead to a modality
_RULE_START = re.compile(r"^  - id: (\S+)", re.MULTILINE)


def _rule_texts(path: Path) -> dict[str, str]:
    """Each rule of a shipped rule file as written, by id."""
    text = path.read_text(encoding="utf-8")
    starts = list(_RULE_START.finditer(text))
    out = {}
    for here, after in zip(starts, [*starts[1:], None], strict=True):
        block = text[here.start():after.start() if after is not None else len(text)]
        out[here[1]] = re.split(r"\n(?=\S)", block)[0].rstrip() + "\n"  # up to the next top-level key
    return out


def write_small_kb(target: Path) -> Path:
    """A small knowledge base that lints without an error (see the module docstring)."""
    target.mkdir()
    for name in WHOLE_FILES:
        shutil.copy(RULES / name, target / name)
    for name, ids in NAMED_RULES.items():
        texts = _rule_texts(RULES / name)
        (target / name).write_text("rules:\n" + "".join(texts[i] for i in ids), encoding="utf-8")
    conditions = yaml.safe_load((RULES / "vocabulary.yaml").read_text(encoding="utf-8"))["conditions"]
    paths = [_rule(f"path-{c.replace('_', '-')}", f"[{{diagnosis: {{condition: {c}}}}}]",
                   "{propose: {modalities: [swedish], line: second}}", benefits="decreased_pain_and_inflammation",
                   description=f"A modality for {c}, so that it has a path to one")
             for c in conditions if c not in LED_BY_NAMED_RULES]
    (target / "paths.yaml").write_text("rules:" + "".join(paths), encoding="utf-8")
    return target


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    return write_small_kb(tmp_path / "rules")


def _add(rules_dir: Path, *rules: str) -> None:
    (rules_dir / "zz-extra.yaml").write_text("rules:\n" + "".join(rules), encoding="utf-8")


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _lint(rules_dir: Path) -> tuple[int, list[str]]:
    out = CliRunner().invoke(main, ["kb", "lint", "--rules", str(rules_dir)])
    return out.exit_code, out.output.splitlines()


def _found(lines: list[str], *parts: str) -> list[str]:
    return [line for line in lines if all(p in line for p in parts)]


def test_the_shipped_knowledge_base_lints_clean(shipped_lint: LintReport) -> None:
    assert shipped_lint.errors == ()
    assert shipped_lint.warnings == ()
    assert shipped_lint.exit_code == 0
    assert list(lint_lines(shipped_lint)) == [f"{shipped_lint.root}: {shipped_lint.rules} rules, 0 error(s), "
                                              "0 warning(s)"]


def test_the_small_fixture_lints_without_an_error(rules_copy: Path) -> None:
    """The broken knowledge bases below differ from it by their one defect."""
    code, lines = _lint(rules_copy)
    assert code == 0 and not _found(lines, "error:"), lines
    assert re.fullmatch(rf"{re.escape(str(rules_copy))}: \d+ rules, 0 error\(s\), \d+ warning\(s\)", lines[-1])
    # the fixture's only warnings are the vocabulary terms its few rules leave unused
    assert lines[:-1] and all(line.endswith("[unused-term]") for line in lines[:-1]), lines


def test_unknown_id_names_file_rule_and_id(rules_copy: Path) -> None:
    _edit(rules_copy / "conditions.yaml", "when: [{diagnosis: {condition: carpal_tunnel_syndrome}}]\n"
          "    then: {mechanisms: [nerve_compression, trigger_points]}",
          "when: [{diagnosis: {condition: carpal_tunel_syndrome}}]\n"
          "    then: {mechanisms: [nerve_compression, trigger_points]}")
    code, lines = _lint(rules_copy)
    assert code == 1
    assert _found(lines, "error: conditions.yaml: rule cts-mechanisms:", "unknown id 'carpal_tunel_syndrome'",
                  "[unknown-id]")


def test_duplicate_rule_id(rules_copy: Path) -> None:
    _add(rules_copy, _rule("cts-mechanisms", "[{diagnosis: {condition: neck_pain}}]", "{mechanisms: [posture]}"))
    code, lines = _lint(rules_copy)
    assert code == 1
    assert _found(lines, "error: zz-extra.yaml: rule cts-mechanisms:", "duplicate rule id (first in conditions.yaml)",
                  "[duplicate-id]")


@pytest.mark.parametrize("field, message", [("grade", "grade: Field required"),
                                            ("citation", "citation: Field required")])
def test_a_rule_without_grade_or_citation(rules_copy: Path, field: str, message: str) -> None:
    rule = _rule("no-evidence", "[{diagnosis: {condition: neck_pain}}]", "{mechanisms: [posture]}")
    _add(rules_copy, "\n".join(line for line in rule.splitlines() if not line.strip().startswith(field + ":")) + "\n")
    code, lines = _lint(rules_copy)
    assert code == 1
    assert _found(lines, "zz-extra.yaml: rule no-evidence:", message, "[evidence]")


def test_an_unknown_citation_key(rules_copy: Path) -> None:
    _add(rules_copy, _rule("odd-citation", "[{diagnosis: {condition: neck_pain}}]", "{mechanisms: [posture]}",
                           citation="R99"))
    code, lines = _lint(rules_copy)
    assert code == 1
    assert _found(lines, "zz-extra.yaml: rule odd-citation:", "unknown citation key 'R99'", "[evidence]")


@pytest.mark.parametrize("when, extra, message", [
    ("[{diagnosis: {condition: {in: [tennis_elbow, golfers_elbow]}}}]", {},
     "none of which is in the vocabulary"),
    ("[{labs: {platelets_k: {ge: 50, lt: 20}}}]", {},
     "no labs can satisfy 'platelets 50 or more and under 20 thousand per microlitre'"),
    ("[{labs: {platelets_k: {lt: 20}}}, {labs: {platelets_k: {ge: 50}}}]", {},
     "its patterns on the one labs record contradict each other on platelets_k"),
    ("[{finding: {finding: edema}}, {not: {finding: {finding: edema}}}]", {},
     "'the finding edema' and its negation 'not the finding edema' match the same facts"),
    ("[{diagnosis: {condition: neck_pain}}, {clearance: {name: cardiac}}]", {"unless_clearance": "cardiac"},
     "it needs the cardiac clearance that also lifts it"),
])
def test_rules_that_can_never_fire(rules_copy: Path, when: str, extra: dict, message: str) -> None:
    _add(rules_copy, _rule("dead-rule", when, "{cap: {pressure: moderate}}", **extra))
    code, lines = _lint(rules_copy)
    assert code == 1
    assert _found(lines, "error: zz-extra.yaml: rule dead-rule: can never fire:", message, "[never-fires]"), lines


def test_a_subsumed_rule_is_a_warning(rules_copy: Path) -> None:
    _add(rules_copy, _rule("contra-osteoporosis-again", "[{history: {item: osteoporosis, fragility_fracture: true}}]",
                           "{cap: {pressure: moderate}, block_modalities: {modalities: [deep_tissue]}}"))
    code, lines = _lint(rules_copy)
    assert code == 0
    assert _found(lines, "warning: zz-extra.yaml: rule contra-osteoporosis-again:", "subsumed by contra-osteoporosis",
                  "[redundant]")


def test_an_identical_rule_is_a_warning(rules_copy: Path) -> None:
    _add(rules_copy, _rule("contra-frail-twice", "[{patient: {frail: true}}]",
                           "{cap: {pressure: moderate}, limit_minutes: 30}"))
    code, lines = _lint(rules_copy)
    assert code == 0
    assert _found(lines, "rule contra-frail-twice:", "same conditions and conclusions as contra-frail")


@pytest.mark.parametrize("then, rule_id, message", [
    ("{block_modalities: {modalities: [trigger_point_therapy]}}", "neck-first-line-tpt",
     "proposes Manual trigger point therapy, but neck-no-tpt blocks it whenever this rule fires"),
    ("{cap: {pressure: light}}", "neck-first-line-nmt",
     "proposes Neuromuscular therapy (NMT), but neck-no-tpt caps pressure at light whenever this rule fires"),
    ("{block_areas: {ids: [neck]}}", "neck-primary-targets",
     "targets the upper trapezius, the levator scapulae and the cervical paraspinals, but neck-no-tpt blocks "
     "the neck whenever this rule fires"),
])
def test_a_proposal_an_unconditional_block_always_removes_is_a_conflict(rules_copy: Path, then: str,
                                                                        rule_id: str, message: str) -> None:
    _add(rules_copy, _rule("neck-no-tpt", "[{diagnosis: {condition: neck_pain}}]", then))
    code, lines = _lint(rules_copy)
    assert code == 1
    assert _found(lines, f"error: conditions.yaml: rule {rule_id}:", message, "[conflict]"), lines


def test_a_condition_without_a_path_to_a_modality_is_a_gap(rules_copy: Path) -> None:
    _edit(rules_copy / "conditions.yaml", "    then: {propose: {modalities: [abdominal_massage], line: first}}",
          "    then: {advisory: abdominal massage eases constipation}")
    code, lines = _lint(rules_copy)
    assert code == 1
    assert _found(lines, "error: knowledge base: condition constipation: no rule that can fire leads it to a modality",
                  "[gap]")


def test_unused_terms_warn_unless_listed_with_a_reason(rules_copy: Path) -> None:
    (rules_copy / "lint.yaml").unlink()
    code, lines = _lint(rules_copy)
    assert code == 0
    assert _found(lines, "warning: knowledge base: medication class muscle_relaxant: no rule uses it", "[unused-term]")
    assert _found(lines, "medication class analgesic: no rule uses it")


def test_a_stale_allow_list_entry_warns(rules_copy: Path) -> None:
    _edit(rules_copy / "lint.yaml", "  unused_ok:\n", "  unused_ok:\n    pregnancy: no rule needs it\n")
    code, lines = _lint(rules_copy)
    assert code == 0
    assert _found(lines, "lint.unused_ok lists history pregnancy, but contra-pregnancy", "[unused-term]")


def test_the_allow_list_itself_is_checked(rules_copy: Path) -> None:
    _edit(rules_copy / "lint.yaml", "  unused_ok:\n", "  unused_ok:\n    tylenol: a typo\n")
    code, lines = _lint(rules_copy)
    assert code == 1
    assert _found(lines, "error: lint.yaml: lint: unused_ok: unknown id 'tylenol'", "[unknown-id]")
    with pytest.raises(Exception, match="unknown id 'tylenol'"):
        load_knowledge_base(rules_copy)


def test_not_a_knowledge_base_folder(tmp_path: Path) -> None:
    code, lines = _lint(tmp_path)
    assert code == 1
    assert _found(lines, "no vocabulary.yaml (not a knowledge-base folder)")


@pytest.mark.parametrize(("file", "old", "new", "message"), [
    ("prescription.yaml", "\nrules:", "\nrules: 5\nunused:", "rules: a list of rules, not int"),
    ("vocabulary.yaml", "\nmodalities:", "\nmodalities: [a, b]\nold_modalities:", "modalities: a mapping, not list"),
    ("vocabulary.yaml", "\nareas:", "\nareas: {head: neck}\nold_areas:", "areas.head: a mapping with group"),
])
def test_a_malformed_knowledge_base_is_named_not_a_traceback(tmp_path: Path, file: str, old: str, new: str,
                                                             message: str) -> None:
    """A structural mistake in a rule file or the vocabulary is one line naming it, exit 2."""
    rules = write_small_kb(tmp_path / "rules")
    text = (rules / file).read_text()
    assert old in text
    (rules / file).write_text(text.replace(old, new, 1))
    for args in (["kb", "lint", "--rules", str(rules)],
                 ["recommend", str(ROOT / "facts" / "p01-cts-mild-right.yaml"), "--rules", str(rules)]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code in (1, 2), (args, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        assert message in result.output


def test_lint_catches_what_recommend_would_trip_on_and_joins_that_grow(tmp_path: Path) -> None:
    """modality_from pointing at a diagnosis is an error; same-kind patterns with no condition, or
    with the same conditions (swapped bindings), are warnings."""
    rules = write_small_kb(tmp_path / "rules")
    extra = rules / "zz-joins.yaml"
    extra.write_text("rules:" + _rule("zz-modality-from-diagnosis", "[{diagnosis: {condition: neck_pain}}]",
                                      "{propose: {modality_from: 0, line: request}}")
                     + _rule("zz-loose", "[{finding: {}}, {finding: {}}, {finding: {finding: pain}}]",
                             "{advisory: loose}")
                     + _rule("zz-twins", "[{finding: {finding: pain}}, {finding: {finding: pain}}]",
                             "{advisory: twins}"))
    report = lint_knowledge_base(rules)
    by_check = {(f.check, f.where.rsplit(" ", 1)[-1]) for f in report.findings}
    assert any(f.severity == "error" and "names no modality" in f.message for f in report.findings)
    assert ("unconstrained-join", "zz-loose") in by_check
    assert ("symmetric-join", "zz-twins") in by_check


def test_a_load_problem_belongs_to_the_check_of_its_code_whatever_its_words() -> None:
    """Rewording a message never moves it to another check: the check comes from the code."""
    from medmassage_rules.errors import Problem
    from medmassage_rules.lint.findings import LOAD_CHECKS, LintFinding

    reworded = LintFinding("error", Problem("a.yaml", "", "unknown_field", "duplicate rule id, unknown id, citation",
                                            rule="r"))
    assert reworded.check == "invalid-rule"
    assert str(reworded) == "error: a.yaml: rule r: duplicate rule id, unknown id, citation [invalid-rule]"
    for code, check in LOAD_CHECKS.items():
        assert LintFinding("error", Problem("a.yaml", "", code, "any words")).check == check


def test_every_finding_of_a_broken_knowledge_base_carries_a_code(rules_copy: Path) -> None:
    _add(rules_copy, _rule("cts-mechanisms", "[{diagnosis: {condition: neck_pian}}]", "{mechanisms: [posture]}",
                           citation="R99"))
    report = lint_knowledge_base(rules_copy)
    found = {(f.code, f.check, f.problem.rule) for f in report.errors}
    assert ("duplicate_rule_id", "duplicate-id", "cts-mechanisms") in found
    assert all(f.code and f.where and f.message for f in report.findings)
