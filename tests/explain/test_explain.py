"""why / why-not over the reasoning graphs, their text, and the explain command."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medmassage_rules.cases.loading import load_case, validate_case
from medmassage_rules.cli import main
from medmassage_rules.errors import UnknownIdError
from medmassage_rules.explain import NotExplainableError, why, why_not
from medmassage_rules.kb.fact_types import KIND_OF
from medmassage_rules.kb.loading import load_knowledge_base
from medmassage_rules.kb.wording import Words
from medmassage_rules.planning.certainty import GRADE_WEIGHT
from medmassage_rules.planning.pipeline import plan_case
from medmassage_rules.render.explain_text import render_explanation, render_explanation_markdown

from ..conftest import FACTS

CASES = sorted(FACTS.glob("*.y*ml"))
P01 = FACTS / "p01-cts-mild-right.yaml"
P05 = FACTS / "p05-fibromyalgia-warfarin.yaml"


def _plan(path: Path, kb):
    return plan_case(load_case(path, kb.vocabulary), kb)


def _triggering_facts(result, kb, rule_id: str, concluded) -> set[str]:
    """The case facts (in words) of the firings of a rule that concluded a matching fact, read off the trace."""
    words = Words(kb.vocabulary)
    rule = kb.by_id[rule_id]
    out = set()
    for firing in result.trace:
        if firing.rule_id == rule_id and any(concluded(f) for f in firing.outputs):
            for fact in firing.inputs:
                kind = KIND_OF[type(fact)]
                tested = [n for k, fields in rule.positive if k == kind for n in (fields or {})]
                out.add(words.describe_fact(kind, fact, tested))
    return out


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_why_not_a_blocked_item_names_the_blocking_rule_and_case_fact(path: Path, kb) -> None:
    result = _plan(path, kb)
    plan = result.plan
    for b in plan.blocked_modalities:
        answer = why_not(result, kb, b.id)
        assert answer.verdict == b.reason
        if b.reason == "no target it applies to":  # the planner's own rule: tissue, not a case fact
            tissues = " or ".join(kb.vocabulary.label(t) for t in kb.vocabulary.modalities[b.id].applies_to)
            assert f"works on {tissues}" in answer.summary, answer.summary
            continue
        for rule_id in b.because:
            if rule_id == "rx-requested-modality":
                continue
            if b.reason == "blocked":  # a block of the modality, or a restriction of its area to others
                facts = _triggering_facts(result, kb, rule_id, lambda f, m=b.id: (
                    f.get("modality") == m and f.get("kind") == "modality") or KIND_OF[type(f)] == "restrict")
            else:  # the plan's cap, or the caps on the areas it was to be given
                facts = _triggering_facts(result, kb, rule_id, lambda f: KIND_OF[type(f)] == "cap")
            assert facts, (b.id, rule_id)
            assert rule_id in answer.summary
            for fact in facts:
                assert fact in answer.summary, (fact, answer.summary)
    for a in plan.blocked_areas:
        answer = why_not(result, kb, a.id)
        assert answer.verdict == "blocked"
        for rule_id in a.because:
            # an area block, or (while drainage is blocked) the drainage zone of an edematous limb
            facts = _triggering_facts(result, kb, rule_id, lambda f: f.get("kind") == "area"
                                      or KIND_OF[type(f)] == "zone"
                                      or f.get("modality") == "manual_lymphatic_drainage")
            assert facts and all(f in answer.summary for f in facts), (a.id, rule_id, answer.summary)


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_why_a_recommended_modality_gives_its_chains_and_certainty(path: Path, kb) -> None:
    result = _plan(path, kb)
    for m in result.plan.modalities:
        answer = why(result, kb, m.id)
        assert answer.verdict == "recommended"
        assert answer.chains
        assert {c.conclusion.rule.rule_id for c in answer.chains} == set(m.because)
        assert answer.combination is not None and answer.combination.result == pytest.approx(m.certainty, abs=1e-3)
        counted = [r for r, _ in answer.combination.values]
        assert set(counted) <= set(m.because)  # one rule per source; a request is not evidence
        assert len({kb.by_id[r].citation for r in counted}) == len(counted) or not m.grade
        for chain in answer.chains:
            step = chain.conclusion
            assert step.rule.reference == kb.citation_text(step.rule.citation)
            assert step.rule.grade in "HML" and step.because
            assert step.certainty.value == pytest.approx(step.certainty.factor * step.certainty.premise
                                                         * step.certainty.weight)
            assert set(chain.benefits) <= set(kb.vocabulary.benefits.values())
        text = render_explanation(answer, result.plan.case_id)
        assert "None" not in text and "{" not in text and "_" not in text.split("\n", 1)[0]
        assert why_not(result, kb, m.id).verdict == "recommended"


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_why_a_target_names_the_rules_that_made_it(path: Path, kb) -> None:
    result = _plan(path, kb)
    for t in result.plan.targets:
        answer = why(result, kb, t.id)
        named = {c.conclusion.rule.rule_id for c in answer.chains} | {s.rule.rule_id for s in answer.steps}
        assert set(t.because) <= named, (t.id, set(t.because) - named)
        assert {c.conclusion.rule.rule_id for c in answer.chains} <= set(t.because)
        assert answer.verdict == "recommended" and why_not(result, kb, t.id).verdict == "recommended"


def test_mycin_combination_is_shown_as_numbers(kb) -> None:
    result = _plan(FACTS / "e12-neck-focus-two-groups.yaml", kb)
    answer = why(result, kb, "swedish")
    (x, y, z), = answer.combination.steps  # two sources: one combination step
    assert z == pytest.approx(x + y - x * y)
    text = render_explanation(answer)
    assert f"{x:.2f} + {y:.2f} − {x:.2f} × {y:.2f} = {z:.2f}" in text
    # each factor is the rule's line factor weighed by its evidence grade (clinical-v2 §5)
    for rule_id, factor in answer.combination.values:
        rule = kb.by_id[rule_id]
        assert factor == pytest.approx(rule.certainty * GRADE_WEIGHT[rule.grade])
        # the rule's own factor appears only inside the arithmetic, named as such (clinical-v2.1 §6.4)
        assert (f"rule factor {rule.certainty:.2f} × premise 1.00 × grade {rule.grade} "
                f"weight {GRADE_WEIGHT[rule.grade]:.2f} = {factor:.2f}") in text
    assert "Decreased pain and inflammation" in text  # the seed's wording of the benefit


def test_why_gives_the_condition_mechanism_benefit_modality_chain(kb) -> None:
    answer = why(_plan(P01, kb), kb, "myofascial_release")
    chain = answer.chains[0]
    assert chain.source == "a diagnosis of carpal tunnel syndrome (right, chronic, mild)"
    assert chain.mechanisms[0].rule.rule_id == "cts-mechanisms"
    assert "nerve compression / entrapment" in chain.mechanisms[0].concludes
    assert "Nerve compression relief" in chain.benefits
    assert chain.conclusion.rule.rule_id == "cts-first-line-mfr"
    # a practice text: the case series of massage with trigger-point work did not test myofascial release
    assert chain.conclusion.rule.reference.startswith("Donnelly JM, Fernández-de-las-Peñas C")
    assert "forearm flexors (right)" in chain.reaches


def test_why_not_warfarin_deep_tissue_in_clinical_words(kb) -> None:
    answer = why_not(_plan(P05, kb), kb, "deep_tissue")
    assert answer.verdict == "blocked"
    assert answer.summary.startswith("Deep tissue massage: blocked by contra-anticoagulant because medications "
                                     "include warfarin (anticoagulant)")
    assert "a contraindication overrides the prescription" in " ".join(answer.details)


def test_why_not_priced_out_names_the_cap_and_its_fact(kb) -> None:
    answer = why_not(_plan(FACTS / "p11-pregnancy-low-back.yaml", kb), kb, "deep_tissue")
    assert answer.verdict == "priced_out"
    assert "above the moderate pressure cap set by contra-pregnancy because pregnant" in answer.summary


def test_why_not_dropped_for_time(kb) -> None:
    answer = why_not(_plan(P01, kb), kb, "scalenes")
    assert answer.verdict == "dropped_for_time"
    assert "head and neck group was left out: no time" in answer.details[0]


def test_why_not_never_proposed_offers_no_diagnosis_the_patient_lacks(kb) -> None:
    result = _plan(P01, kb)
    answer = why_not(result, kb, "deep_tissue")
    assert answer.verdict == "never_proposed"
    assert all(not m.startswith("a diagnosis") for c in answer.counterfactuals for m in c.missing)
    text = render_explanation(answer)
    assert "if the case had a diagnosis" not in text
    assert "no finding, clearance or prescription change would propose it" in text
    target = why_not(result, kb, "piriformis")
    assert target.verdict == "never_proposed"
    assert all(not m.startswith("a diagnosis") for c in target.counterfactuals for m in c.missing)
    assert any(d.startswith("a finding located at the piriformis would also add it") for d in target.details)


def test_a_counterfactual_says_what_the_case_has_and_what_stands_in_the_way(kb) -> None:
    """Muscle soreness with a located pain finding: the default calf and thigh targets give way to it."""
    case = validate_case({"id": "doms", "diagnoses": [{"condition": "delayed_onset_muscle_soreness"}],
                          "findings": [{"finding": "pain", "area": "thigh"}]}, "inline", kb.vocabulary)
    answer = why_not(plan_case(case, kb), kb, "lower_leg")
    assert answer.verdict == "never_proposed"
    default = next(c for c in answer.counterfactuals if c.rule.rule_id == "doms-default-targets")
    assert default.concludes == "add the lower leg as a primary target"
    assert default.missing == () and default.met == ("a diagnosis of delayed onset muscle soreness",)
    assert default.in_the_way == ("the finding pain at the thigh",)
    assert all(c.rule.rule_id != "pf-primary-targets" for c in answer.counterfactuals)  # no plantar fasciitis here


def test_why_not_a_recommended_item_points_to_why(kb) -> None:
    case = validate_case({"id": "cts", "diagnoses": [{"condition": "carpal_tunnel_syndrome"}]}, "inline",
                         kb.vocabulary)
    answer = why_not(plan_case(case, kb), kb, "trigger_point_therapy")
    assert answer.verdict == "recommended" and answer.see_also == "--why trigger_point_therapy"


def test_why_not_in_a_no_treatment_plan_points_to_the_status(kb) -> None:
    answer = why_not(_plan(FACTS / "p02-cts-thenar-atrophy.yaml", kb), kb, "myofascial_release")
    assert answer.verdict == "no_treatment"
    assert "cts-gate-thenar-atrophy" in answer.summary


def test_why_status_and_minutes(kb) -> None:
    status = why(_plan(FACTS / "p07-ankle-sprain-acute.yaml", kb), kb, "status")
    assert status.summary == "the status is defer"
    assert status.steps[0].because == ("a diagnosis of ankle sprain (left, acute)",)
    cleared = why(_plan(FACTS / "p03-pseudo-angina-cleared.yaml", kb), kb, "status")
    assert any("cardiac clearance lifts pseudo-angina-cardiac-clearance" in d for d in cleared.details)
    minutes = why(_plan(P05, kb), kb, "minutes")
    assert minutes.summary == "45 minutes in 2 segment(s), ceiling 45"  # fibromyalgia no longer lowers it
    assert any("the prescription allows 45" in d for d in minutes.details)
    older = why(_plan(FACTS / "e02-doms-calves.yaml", kb), kb, "minutes")
    assert older.summary.endswith("ceiling 30")


def test_unknown_and_unexplainable_ids(kb) -> None:
    result = _plan(P01, kb)
    with pytest.raises(UnknownIdError) as info:
        why(result, kb, "swedsh")
    assert info.value.suggestions == ["swedish"]
    with pytest.raises(NotExplainableError):
        why_not(result, kb, "carpal_tunnel_syndrome")


# -- the command line ---------------------------------------------------------------------------------
def _run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_explain_command_why_and_why_not() -> None:
    out = _run("explain", str(P05), "--why-not", "deep_tissue")
    assert out.exit_code == 0, out.output
    assert "blocked by contra-anticoagulant because medications include warfarin (anticoagulant)" in out.output
    out = _run("explain", str(P01), "--why", "myofascial_release", "--format", "markdown")
    assert out.exit_code == 0 and out.output.startswith("### Why Myofascial release?")


@pytest.mark.parametrize("args, message", [
    (("--why", "swedsh"), "did you mean swedish?"),
    (("--why-not", "carpal_tunnel_syndrome"), "is a condition, not a plan item"),
    ((), "exactly one of --why ID or --why-not ID"),
    (("--why", "swedish", "--why-not", "swedish"), "exactly one of"),
])
def test_explain_command_refuses_bad_questions_with_exit_2(args, message) -> None:
    out = _run("explain", str(P01), *args)
    assert out.exit_code == 2
    assert message in out.output
    assert "Traceback" not in out.output


def test_recommend_explain_appends_the_why_of_each_modality() -> None:
    out = _run("recommend", str(P05), "--explain")
    assert out.exit_code == 0, out.output
    for label in ("Why Myofascial release?", "Why Swedish massage?", "Why Manual lymphatic drainage?"):
        assert label in out.output
    assert _run("recommend", str(P05), "--explain", "--format", "json").exit_code == 2


def test_recommend_markdown_is_a_handout(tmp_path: Path) -> None:
    target = tmp_path / "plan.md"
    out = _run("recommend", str(P05), "--format", "markdown", "--output", str(target))
    assert out.exit_code == 0, out.output
    text = target.read_text(encoding="utf-8")
    for heading in ("# Massage plan: p05-fibromyalgia-warfarin", "## The case", "### Modalities", "### Session",
                    "### Not to be done", "## Why these modalities", "## Why not", "## References"):
        assert heading in text
    assert "- medications include warfarin (anticoagulant)" in text
    assert "| Myofascial release | light | 0.80 |" in text
    assert "**Yuan2015** Yuan SLK, Matsutani LA, Marques AP (2015)." in text


# -- properties ----------------------------------------------------------------------------------------------
_KB = load_knowledge_base()
_V = _KB.vocabulary
ITEMS = [*_V.modalities, *_V.targets, *_V.areas, "status", "minutes"]

cases = st.fixed_dictionaries({
    "id": st.just("generated"),
    "diagnoses": st.lists(st.sampled_from([c for c in _V.conditions if c not in ("lymphedema", "post_surgical_edema")]),
                          min_size=1, max_size=3, unique=True).map(lambda cs: [{"condition": c} for c in cs]),
    "medications": st.lists(st.sampled_from(sorted(_V.medications)), max_size=2, unique=True),
    "history": st.lists(st.sampled_from(["osteoporosis", "pregnancy", "varicose_veins", "renal_failure"]),
                        max_size=2, unique=True).map(lambda hs: [{"item": h} for h in hs]),
    "findings": st.lists(st.sampled_from(["pain", "hypertonicity", "paresthesia", "edema"]), max_size=2,
                         unique=True).map(lambda fs: [{"finding": f, "area": "neck"} for f in fs]),
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=cases, item=st.sampled_from(ITEMS), question=st.sampled_from([why, why_not]))
def test_explanations_are_deterministic_and_name_only_existing_rules(data, item, question) -> None:
    case = validate_case(data, "generated", _V)
    first = question(plan_case(case, _KB), _KB, item)
    again = question(plan_case(case, _KB), _KB, item)
    assert first == again
    assert set(first.rule_ids) <= set(_KB.by_id)
    text = render_explanation(first)
    assert text == render_explanation(again)
    assert "None" not in text and "{" not in text
    assert render_explanation_markdown(first).startswith("### ")


def test_a_no_treatment_handout_explains_its_status() -> None:
    out = _run("recommend", str(FACTS / "p04-pseudo-angina-exertional.yaml"), "--format", "markdown")
    assert out.exit_code == 0, out.output
    assert "## Why no treatment today" in out.output
    assert "### Why refer urgently?" in out.output
    assert "because the finding exertional chest pain" in out.output
    assert "also raised: needs clearance (pseudo-angina-cardiac-clearance); the most severe status wins" in out.output


def test_why_not_a_proposed_modality_whose_targets_were_left_out(kb) -> None:
    """Neck pain and constipation in 15 minutes: the trunk group, and with it the colon, has no time."""
    case = validate_case({"id": "short", "diagnoses": [{"condition": "neck_pain"}, {"condition": "constipation"}],
                          "prescription": {"max_minutes": 15}}, "inline", kb.vocabulary)
    result = plan_case(case, kb)
    answer = why_not(result, kb, "abdominal_massage")
    assert answer.verdict == "not_delivered"
    assert answer.steps[0].rule.rule_id == "constipation-first-line-abdominal"
    assert answer.details == ("colon: the trunk group was left out for time",)
    assert why_not(result, kb, "colon").verdict == "dropped_for_time"
