"""Certainty that knows its evidence (clinical-v2.1 §6.1, §6.3, §6.4): a source's population, only
delivered evidence, and one number per modality in every view."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from medmassage_rules.cases.loading import load_case, validate_case
from medmassage_rules.explain import why
from medmassage_rules.planning.certainty import CaseScope, modality_certainty, rule_grade
from medmassage_rules.planning.pipeline import plan_case
from medmassage_rules.render.explain_text import render_explanation
from medmassage_rules.render.html import render_html
from medmassage_rules.render.text import render_text
from medmassage_rules.teach.trace import outcome_line

from ..conftest import FACTS
from ..strategies import KB, case_dicts, plan

PUBLIC = sorted(FACTS.glob("p*.yaml"))


def _case(kb: Any, age: int, condition: str, **extra: Any) -> Any:
    data = {"id": "v21", "patient": {"age": age}, "diagnoses": [{"condition": condition, **extra}]}
    return plan_case(validate_case(data, "v21", kb.vocabulary), kb)


# -- §6.1 the population a source studied ------------------------------------------------------------
def test_a_childs_plan_shows_no_h_from_an_adult_only_source(kb) -> None:
    adult = _case(kb, 40, "low_back_pain", acuity="acute")
    child = _case(kb, 12, "low_back_pain", acuity="acute")
    # the adult's Swedish massage is H from the ACP guideline (adults); for a 12-year-old it is extrapolated
    swedish = {m.id: m for m in adult.plan.modalities}["swedish"]
    assert swedish.grade == "H" and swedish.extrapolated_from is None
    young = {m.id: m for m in child.plan.modalities}["swedish"]
    assert young.grade == "L" and young.extrapolated_from and "adults" in young.extrapolated_from
    assert young.certainty < swedish.certainty
    row = next(m for m in child.plan.to_dict()["modalities"] if m["id"] == "swedish")
    assert row["grade"] == "L" and row["extrapolated_from"] == young.extrapolated_from
    assert "extrapolated from" in render_text(child, kb)
    assert "extrapolated from" in render_html(child, kb)
    assert "extrapolated from" in render_explanation(why(child, kb, "swedish"))
    for m in child.plan.modalities:  # no H from a source whose population starts above 12
        for c in child.outcome.certainty[m.id].counted:
            pop = kb.reference_meta[kb.by_id[c.rule].citation].population
            if pop is not None and pop.age_min is not None and pop.age_min > 12:
                assert c.grade.grade == "L"
                assert c.grade.extrapolated_from == (pop.note if c.grade.cited != "L" else None)


def test_a_pregnancy_the_source_excluded_counts_at_l(kb) -> None:
    rule = "red-dyspnea-after-surgery"  # NICE NG158: adults, not pregnant women
    assert kb.by_id[rule].grade == "H" and "pregnancy" in kb.reference_meta["NICE-NG158"].population.excludes
    assert rule_grade(kb, rule, CaseScope(30, frozenset())).grade == "H"
    pregnant = rule_grade(kb, rule, CaseScope(30, frozenset({"pregnancy"})))
    assert pregnant.grade == "L" and pregnant.cited == "H"
    assert pregnant.extrapolated_from == kb.reference_meta["NICE-NG158"].population.note


def test_ages_are_inclusive(kb) -> None:
    pop = kb.reference_meta["NICE-NG59"].population  # 16 and over
    assert pop.age_min == 16 and not pop.outside(16, set()) and pop.outside(15, set()) and not pop.outside(None, set())


# -- §6.3 only delivered evidence ------------------------------------------------------------------
def _proposal(rule: str, modality: str = "swedish", certainty: float = 0.8, line: str = "first") -> dict[str, Any]:
    return {"rule": rule, "modality": modality, "certainty": certainty, "line": line, "benefits": ()}


def test_a_rule_whose_targets_were_blocked_does_not_count(kb) -> None:
    delivered, blocked = "lbp-first-line-swedish-acute", "neck-second-line"
    props = [_proposal(delivered), _proposal(blocked, certainty=0.6, line="second")]
    both = modality_certainty(kb, "swedish", props, {delivered, blocked})
    one = modality_certainty(kb, "swedish", props, {delivered})
    assert [c.rule for c in one.counted] == [delivered] and one.undelivered == (blocked,)
    assert one.value < both.value and one.value == pytest.approx(0.8 * 1.0)


def test_explanations_name_the_rule_whose_targets_were_blocked(kb) -> None:
    for path in PUBLIC:
        result = plan_case(load_case(path, kb.vocabulary), kb)
        for m in result.plan.modalities:
            mc = result.outcome.certainty[m.id]
            assert not set(mc.undelivered) & {c.rule for c in mc.counted}
            if mc.undelivered:
                text = render_explanation(why(result, kb, m.id))
                assert "but its targets were blocked" in text


# -- §6.4 one certainty per modality in every view ------------------------------------------------------
@pytest.mark.parametrize("path", PUBLIC, ids=lambda p: p.stem)
def test_every_view_shows_the_plans_certainty(path, kb) -> None:
    result = plan_case(load_case(path, kb.vocabulary), kb)
    plan_json = json.loads(json.dumps(result.plan.to_dict()))
    text, html, trace = render_text(result, kb), render_html(result, kb), outcome_line(result, kb.vocabulary)
    for m, row in zip(result.plan.modalities, plan_json["modalities"], strict=True):
        shown = f"{m.certainty:.2f}"
        assert row["certainty"] == m.certainty == result.outcome.certainty[m.id].value
        label = kb.vocabulary.label(m.id)
        assert re.search(rf"{re.escape(label)}.*certainty {shown}", text)
        assert f"{label} (certainty {shown})" in trace
        assert f"certainty {shown} (rules combined" in html
        answer = why(result, kb, m.id)
        assert answer.combination is not None and answer.combination.result == pytest.approx(m.certainty)
        explained = render_explanation(answer)
        assert f"is recommended, certainty {shown}" in explained
        # a rule's own factor appears only inside the arithmetic, named as such
        assert "rule certainty" not in html and not re.search(r"\(certainty \d", html.replace(
            f"(certainty {shown})", ""))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case_dicts())
def test_a_blocked_modality_never_contributes_and_the_shown_certainty_is_the_plans(data: dict[str, Any]) -> None:
    result = plan(data)
    blocked = {b.id for b in result.plan.blocked_modalities}
    assert not blocked & set(result.outcome.certainty)
    delivered = {w.modality for s in result.plan.segments for w in s.work}
    assert set(result.outcome.certainty) == {m.id for m in result.plan.modalities} <= delivered
    for m in result.plan.modalities:
        mc = result.outcome.certainty[m.id]
        assert m.certainty == mc.value and m.grade == mc.grade
        assert set(mc.undelivered).isdisjoint(c.rule for c in mc.counted)
        assert {c.rule for c in mc.counted} <= set(m.because)
        assert f"certainty {m.certainty:.2f}" in outcome_line(result, KB.vocabulary)
