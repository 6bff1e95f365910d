"""Honest evidence: grades that match their sources, traceable references, no X claim as a reason.

Fixture knowledge bases are small: the shipped vocabulary, references and caveats, and one file of
rules (and references) with the defect; the shipped knowledge base is checked as loaded once.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from medmassage_rules.cli import main
from medmassage_rules.errors import RuleDefinitionError
from medmassage_rules.kb.graph import build_knowledge_graph, edges_of
from medmassage_rules.kb.loading import load_knowledge_base, read_knowledge_base
from medmassage_rules.kb.rule_specs import contradicted_benefits
from medmassage_rules.lint.evidence import EVIDENCE_KINDS, evidence_problems

from ..conftest import FACTS, ROOT
from ..helpers import RULE

NECK = "[{diagnosis: {condition: neck_pain}}]"
PROPOSE_SWEDISH = "{propose: {modalities: [swedish], line: second}}"


def _rule(rule_id: str, *, grade: str = "L", citation: str = "R11", when: str = NECK,
          then: str = PROPOSE_SWEDISH, benefits: str = "decreased_pain_and_inflammation",
          description: str = "A rule written for an evidence test") -> str:
    return RULE.format(id=rule_id, description=description, benefits=benefits, grade=grade, citation=citation,
                       when=when, then=then)


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    target.mkdir()
    for name in ("vocabulary.yaml", "references.yaml", "caveats.yaml"):
        shutil.copy(ROOT / "rules" / name, target / name)
    return target


def _add(rules_dir: Path, rules: str = "", references: str = "") -> None:
    text = ("rules:\n" + rules if rules else "") + ("references:\n" + references if references else "")
    (rules_dir / "zz-evidence.yaml").write_text(text, encoding="utf-8")


def _lint(rules_dir: Path) -> tuple[int, list[str]]:
    out = CliRunner().invoke(main, ["kb", "lint", "--rules", str(rules_dir)])
    return out.exit_code, out.output.splitlines()


def _found(lines: list[str], *parts: str) -> list[str]:
    return [line for line in lines if all(p in line for p in parts)]


# -- H means a guideline or a systematic review ----------------------------------------------------------------
def test_lint_fails_on_an_h_rule_citing_a_textbook(rules_copy: Path) -> None:
    _add(rules_copy, _rule("zz-h-on-textbook", grade="H", citation="R11"))
    code, lines = _lint(rules_copy)
    assert code == 1
    hits = _found(lines, "error:", "zz-evidence.yaml: rule zz-h-on-textbook", "[grade-source]")
    assert hits and "R11 is a textbook" in hits[0]


TEXTBOOK = """  ZZ2:
    authors: Nobody N
    year: 2001
    title: A practice text
    venue: Nowhere Press
    kind: textbook
"""


def test_evidence_checks_on_one_fixture(rules_copy: Path) -> None:
    """One lint run over a fixture holding every kind of evidence defect, and their fixed twins."""
    bad_h = {"R22": "case series", "R20": "rct", "R1": "exam outline", "R29": "expert opinion"}
    rules = [_rule(f"zz-h-{key.lower()}", grade="H", citation=key) for key in bad_h]
    rules += [_rule(f"zz-h-ok-{key.lower()}", grade="H", citation=key) for key in ("R26", "R28")]
    rules.append(_rule("zz-h-plain", grade="H", citation="ZZ1"))
    rules.append(_rule("zz-says-acute", description="Massage is a first treatment for acute neck pain"))
    rules.append(_rule("zz-tests-acuity", when="[{diagnosis: {condition: neck_pain, acuity: acute}}]",
                       description="Massage for acute neck pain"))
    rules.append(_rule("zz-tests-onset", when="[{diagnosis: {condition: neck_pain, onset_days: {le: 3}}}]",
                       description="Massage for acute neck pain"))
    rules.append(_rule("zz-acute-infection", when="[{history: {item: acute_infection}}]",
                       then="{block_all: {status: defer}}", benefits="",
                       description="An acute infection defers massage"))
    references = ("  ZZ1: Someone, some year\n" + TEXTBOOK
                  + TEXTBOOK.replace("ZZ2", "ZZ4") + "    isbn: \"0443062706\"\n"
                  + TEXTBOOK.replace("ZZ2", "ZZ5") + "    no_identifier: a printed text only\n"
                  + TEXTBOOK.replace("ZZ2", "ZZ6") + "    url: https://example.org/text\n")
    _add(rules_copy, "".join(rules), references)
    code, lines = _lint(rules_copy)
    assert code == 1
    for key, kind in bad_h.items():
        assert _found(lines, "error:", f"zz-h-{key.lower()}:", f"{key} is a {kind}", "[grade-source]"), key
    assert not _found(lines, "zz-h-ok-", "[grade-source]")
    assert _found(lines, "error:", "zz-h-plain", "ZZ1 is not a structured reference", "[grade-source]")
    assert _found(lines, "warning:", "reference ZZ1", "not in the structured form", "[traceable]")
    assert _found(lines, "warning:", "reference ZZ2", "no doi, pmid, url or isbn", "[traceable]")
    assert not _found(lines, "reference ZZ4") and not _found(lines, "reference ZZ5")
    assert not _found(lines, "reference ZZ6")
    hits = _found(lines, "warning:", "zz-says-acute", "[claim-acuity]")
    assert hits and "says acute" in hits[0]
    for fine in ("zz-tests-acuity", "zz-tests-onset", "zz-acute-infection"):
        assert not _found(lines, fine, "[claim-acuity]"), fine


# -- the shipped knowledge base ------------------------------------------------------------------------------------
def test_the_shipped_knowledge_base_has_no_evidence_problem(kb, shipped_lint) -> None:
    assert evidence_problems(list(kb.rules), kb.references, kb.reference_meta) == []
    assert not [f for f in shipped_lint.findings if f.check in ("grade-source", "traceable", "claim-acuity")]


def test_every_shipped_reference_is_structured_and_traceable(kb) -> None:
    data = yaml.safe_load((ROOT / "rules" / "references.yaml").read_text(encoding="utf-8"))["references"]
    for key in data:
        ref = kb.reference_meta[key]
        assert ref.identifier or ref.no_identifier, key
        assert ref.note, f"{key}: say what the source found"


def test_h_rules_of_the_shipped_knowledge_base_cite_guidelines_or_reviews(kb) -> None:
    for rule in kb.rules:
        if rule.grade == "H":
            assert kb.reference_meta[rule.citation].kind in EVIDENCE_KINDS, rule.id


def test_low_back_pain_massage_is_graded_by_acuity(kb) -> None:
    acute, chronic = kb.by_id["lbp-first-line-swedish-acute"], kb.by_id["lbp-first-line-swedish-chronic"]
    assert (acute.grade, acute.citation) == ("H", "R26")
    assert chronic.grade != "H" and chronic.citation == "Furlan2015"
    assert "acute" in acute.positive[0][1]["acuity"]["in"] and chronic.positive[0][1]["acuity"] == "chronic"


def test_contradicted_claims_are_reworded(kb) -> None:
    fibro_first = {m for r in kb.rules if r.then.propose is not None and r.then.propose.line == "first"
                   and r.positive and r.positive[0][1].get("condition") == "fibromyalgia"
                   for m in r.then.propose.modalities}
    assert fibro_first == {"myofascial_release"}
    tth = kb.by_id["tth-first-line-trigger-point"]
    assert tth.grade == "M" and "placebo" in tth.description and "reduces headache frequency" not in tth.description
    assert kb.by_id["neck-first-line-tpt"].grade != "H"


# -- an X claim is never a reason --------------------------------------------------------------------------------
def test_a_rule_giving_a_modality_a_benefit_graded_x_for_it_never_loads(rules_copy: Path) -> None:
    _add(rules_copy, _rule("zz-swedish-circulation", benefits="improved_circulation"))
    with pytest.raises(RuleDefinitionError) as err:
        load_knowledge_base(rules_copy)
    assert any(p.rule == "zz-swedish-circulation" and p.code == "x_claim_as_reason"
               and "caveat-limb-blood-flow grades X" in str(p) for p in err.value.problems)
    code, lines = _lint(rules_copy)
    assert code == 1 and _found(lines, "error:", "zz-swedish-circulation", "never a reason")


def test_lymph_drainage_may_still_serve_circulation(rules_copy: Path) -> None:
    _add(rules_copy, _rule("zz-mld-circulation", benefits="improved_circulation",
                           then="{propose: {modalities: [manual_lymphatic_drainage], line: second}}"))
    load_knowledge_base(rules_copy)


def test_no_graph_edge_makes_an_x_claim_a_reason(kb) -> None:
    graph = kb.graph
    for benefit in kb.vocabulary.benefits:
        for modality, _ in edges_of(graph, f"benefit:{benefit}", ("served_by",)):
            assert not contradicted_benefits(kb.caveats, modality.split(":", 1)[1], [benefit]), (benefit, modality)
    assert "modality:manual_lymphatic_drainage" in {m for m, _ in edges_of(graph, "benefit:improved_circulation",
                                                                           ("served_by",))}


def test_the_graph_drops_an_x_reason_even_from_unvalidated_rules(rules_copy: Path) -> None:
    _add(rules_copy, _rule("zz-swedish-circulation", benefits="improved_circulation, decreased_pain_and_inflammation"))
    files = read_knowledge_base(rules_copy)
    graph = build_knowledge_graph(files.vocabulary, files.rules, files.references, files.caveats)
    served = {m for m, d in edges_of(graph, "benefit:improved_circulation", ("served_by",))
              if d.get("rule") == "zz-swedish-circulation"}
    assert served == set()
    pain = {m for m, d in edges_of(graph, "benefit:decreased_pain_and_inflammation", ("served_by",))
            if d.get("rule") == "zz-swedish-circulation"}
    assert pain == {"modality:swedish"}


def test_no_explanation_or_handout_line_says_a_modality_serves_a_benefit_graded_x_for_it(kb) -> None:
    from medmassage_rules.cases.loading import load_case
    from medmassage_rules.explain import why
    from medmassage_rules.planning.pipeline import plan_case

    checked = 0
    for path in sorted(FACTS.glob("*.yaml")):
        try:
            case = load_case(path, kb.vocabulary)
        except Exception:  # a fact file that is not a single case (or is being edited)
            continue
        result = plan_case(case, kb)
        for m in result.plan.modalities:
            words = {kb.vocabulary.benefits[b]
                     for b in contradicted_benefits(kb.caveats, m.id, list(kb.vocabulary.benefits))}
            assert not contradicted_benefits(kb.caveats, m.id, m.benefits), (path.name, m.id)
            answer = why(result, kb, m.id)
            for chain in answer.chains:
                assert not set(chain.benefits) & words, (path.name, m.id, chain.benefits)
            checked += 1
    assert checked


# -- clinical-v2.1 §6: populations, findings, claims that fit their source -----------------------------------------
POPULATED = """  ZZ7:
    authors: Nobody N
    year: 2020
    title: A trial of massage for neck pain
    venue: Nowhere J 1:1
    url: https://example.org/trial
    kind: rct
    population: {age_min: 18, age_max: 64, excludes: [pregnancy], note: "adults 18 to 64, not pregnant"}
    finding: Swedish massage eased neck pain in adults (one small RCT)
"""


def _lint_evidence(rules_dir: Path) -> tuple[int, list[str]]:
    out = CliRunner().invoke(main, ["kb", "lint", "--evidence", "--rules", str(rules_dir)])
    return out.exit_code, out.output.splitlines()


def test_lint_fails_on_a_low_source_above_l(rules_copy: Path) -> None:
    rules = [_rule("zz-m-textbook", grade="M", citation="R11"), _rule("zz-m-case-series", grade="M", citation="R22"),
             _rule("zz-m-exam", grade="M", citation="R1"), _rule("zz-m-abstract", grade="M", citation="R35"),
             _rule("zz-l-textbook", grade="L", citation="R11"), _rule("zz-m-trial", grade="M", citation="ZZ7")]
    _add(rules_copy, "".join(rules), POPULATED)
    code, lines = _lint(rules_copy)
    assert code == 1
    for rid, words in (("zz-m-textbook", "R11 is a textbook"), ("zz-m-case-series", "R22 is a case series"),
                       ("zz-m-exam", "R1 is an exam outline"), ("zz-m-abstract", "only in its abstract")):
        hits = _found(lines, "error:", f"rule {rid}:", "[low-source]")
        assert hits and words in hits[0], rid
    assert not _found(lines, "zz-l-textbook", "[low-source]") and not _found(lines, "zz-m-trial", "[low-source]")


def test_lint_evidence_shows_the_claim_beside_the_finding_and_flags_misfits(rules_copy: Path) -> None:
    rules = [_rule("zz-fits", grade="M", citation="ZZ7", description="Swedish massage eases neck pain"),
             _rule("zz-other-condition", grade="M", citation="ZZ7",
                   when="[{diagnosis: {condition: fibromyalgia}}]", description="Swedish massage for fibromyalgia"),
             _rule("zz-other-technique", grade="M", citation="ZZ7", description="Myofascial release of the neck",
                   then="{propose: {modalities: [myofascial_release], line: second}}")]
    _add(rules_copy, "".join(rules), POPULATED + TEXTBOOK.replace("ZZ2", "ZZ8") + "    isbn: \"0443062706\"\n")
    code, lines = _lint_evidence(rules_copy)
    i = lines.index("zz-evidence.yaml: rule zz-fits [M] claims: Swedish massage eases neck pain")
    assert lines[i + 1].startswith("  source ZZ7 (rct; adults 18 to 64, not pregnant; ages 18-64; excludes pregnancy)")
    assert lines[i + 1].endswith("found: Swedish massage eased neck pain in adults (one small RCT)")
    assert not lines[i + 2].startswith("  flag:")
    assert _found(lines, "warning:", "zz-other-condition", "the condition fibromyalgia", "[claim-fit]")
    assert _found(lines, "warning:", "zz-other-technique", "the technique Myofascial release", "[claim-fit]")
    assert not _found(lines, "warning:", "zz-fits", "[claim-fit]")
    assert _found(lines, "warning:", "reference ZZ8", "no population and no finding", "[population]")
    assert not _found(lines, "reference ZZ7", "[population]")
    # plain kb lint keeps these to --evidence
    _, plain = _lint(rules_copy)
    assert not _found(plain, "[claim-fit]") and not _found(plain, "[population]")


def test_a_population_must_be_in_order_and_name_known_ids(rules_copy: Path) -> None:
    bad = POPULATED.replace("ZZ7", "ZZ9").replace("age_min: 18, age_max: 64, excludes: [pregnancy]",
                                                  "age_min: 65, age_max: 18, excludes: [pregnancyy]")
    _add(rules_copy, references=bad)
    with pytest.raises(RuleDefinitionError) as err:
        load_knowledge_base(rules_copy)
    codes = {(p.code, p.path) for p in err.value.problems}
    assert ("bad_population", "reference ZZ9: population") in codes
    assert ("unknown_id", "reference ZZ9: population: excludes") in codes


def test_every_shipped_reference_has_a_population_and_a_finding(kb) -> None:
    missing = sorted(k for k, r in kb.reference_meta.items() if r.population is None or not r.finding)
    assert missing == []


def test_no_shipped_rule_above_l_cites_a_low_source(kb) -> None:
    from medmassage_rules.lint.evidence import LOW_KINDS

    for rule in kb.rules:
        ref = kb.reference_meta[rule.citation]
        if rule.grade in ("H", "M"):
            assert ref.kind not in LOW_KINDS and not ref.abstract_only, rule.id


def test_the_misfits_of_the_review_are_re_cited_or_re_graded(kb) -> None:
    by = kb.by_id
    assert by["red-dyspnea-decompensated-heart-failure"].citation == "NICE-CG187"
    assert by["red-dyspnea-with-clot-or-infarction"].grade == "L"          # NG158 does not cover infarction
    assert by["contra-progressive-weakness-back"].grade == "L"             # Chou 2007 is about the low back
    assert by["fibro-second-line-swedish"].citation == "Yuan2015"          # Yuan's finding, Yuan's citation
    assert {by[r].citation for r in ("doms-mechanisms", "doms-first-line-sports")} == {"GUO2017"}
    assert all(by[r].citation != "R7" for r in ("lymph-primary-targets", "lymph-axillary-nodes"))
    assert by["cts-first-line-mfr"].citation != "R22"
    assert by["hip-oa-first-line-mfr"].grade == "L" and by["sciatica-first-line-swedish"].grade != "H"
