"""Explanations agree with themselves, on every public case: a why-not's headline and its reasons
name the same cause; every target a rule proposed and the plan lacks has a why-not; a counterfactual
asks only for what a therapist can observe or change, never a diagnosis the patient does not have."""

from __future__ import annotations

from pathlib import Path

import pytest

from medmassage_rules.cases.loading import load_case
from medmassage_rules.explain import explain_blocked
from medmassage_rules.explain.explainer import Explainer
from medmassage_rules.kb import fact_types as F
from medmassage_rules.planning.pipeline import plan_case

from ..conftest import FACTS

PUBLIC = sorted(FACTS.glob("p*.yaml"))
# the words of each verdict: a headline and a reason that use another verdict's words disagree
VERDICT_WORDS = {"blocked": "blocked", "dropped_for_time": "left out", "no_treatment": "nothing is treated today",
                 "subsumed": "covered by the more specific targets"}


def _result(path: Path, kb):
    return plan_case(load_case(path, kb.vocabulary), kb)


@pytest.mark.parametrize("path", PUBLIC, ids=lambda p: p.stem)
def test_every_proposed_target_the_plan_lacks_has_a_why_not_that_agrees(path: Path, kb) -> None:
    result = _result(path, kb)
    explainer = Explainer(result, kb)
    planned = {t.id for t in result.plan.targets}
    planned_areas = {t.area for t in result.plan.targets}
    proposed = {f["target"] for f in result.facts if F.KIND_OF.get(type(f)) == "candidate"}
    lacking = {t for t in proposed - planned if not (t in kb.vocabulary.areas and t in planned_areas)}
    assert set(explainer.missing_targets()) == lacking
    listed = {e.item for e in explain_blocked(result, kb) if e.item_kind in ("target", "area")}
    assert lacking <= listed
    for target in lacking:
        kind = "area" if target in kb.vocabulary.areas else "target"
        answer = explainer.why_not(kind, target)
        assert answer.verdict not in ("never_proposed", "recommended"), (target, answer.summary)
        own = [d for d in answer.details if d.startswith(explainer.w.plain(target) + ":")]
        assert own, answer
        if answer.verdict in VERDICT_WORDS:
            assert VERDICT_WORDS[answer.verdict] in answer.summary
            assert VERDICT_WORDS[answer.verdict] in own[0], (answer.summary, own)
        for verdict, words in VERDICT_WORDS.items():  # no reason of its own speaks of another cause
            if verdict != answer.verdict:
                assert words not in own[0], (answer.summary, own)


@pytest.mark.parametrize("path", PUBLIC, ids=lambda p: p.stem)
def test_counterfactuals_name_only_what_a_therapist_can_observe_or_change(path: Path, kb) -> None:
    result = _result(path, kb)
    explainer = Explainer(result, kb)
    for modality in kb.vocabulary.modalities:
        answer = explainer.why_not("modality", modality)
        for c in answer.counterfactuals:
            for missing in c.missing:
                assert not missing.startswith(("a diagnosis", "any diagnosis", "a history of")), (modality, missing)


def test_the_iliopsoas_after_hip_surgery_is_blocked_in_headline_and_reason(kb) -> None:
    result = _result(FACTS / "p35-hip-surgery-day20-iliopsoas.yaml", kb)
    answer = Explainer(result, kb).why_not("target", "iliopsoas")
    assert answer.verdict == "blocked"
    assert answer.summary.startswith("iliopsoas: blocked, set by pop-hip-surgery-iliopsoas")
    assert answer.details[0].startswith("iliopsoas: blocked (pop-hip-surgery-iliopsoas")
    assert "covered by" not in answer.summary + " ".join(answer.details)


def test_deep_tissue_for_knee_osteoarthritis_suggests_no_other_diagnosis(kb) -> None:
    result = _result(FACTS / "p39-neck-knee-oa-exercise-dose.yaml", kb)
    answer = Explainer(result, kb).why_not("modality", "deep_tissue")
    text = " ".join([answer.summary, *answer.details,
                     *(m for c in answer.counterfactuals for m in c.missing)])
    assert "a diagnosis of" not in text
    assert "thoracic pain" not in text


@pytest.mark.parametrize("path", PUBLIC, ids=lambda p: p.stem)
def test_the_page_and_the_handout_explain_every_missing_target(path: Path, kb) -> None:
    from medmassage_rules.render.html import render_html
    from medmassage_rules.render.markdown import render_markdown

    result = _result(path, kb)
    missing = Explainer(result, kb).missing_targets()
    html, handout = render_html(result, kb), render_markdown(result, kb)
    blocked_areas = {a.id for a in result.plan.blocked_areas}
    for target in missing:
        if target not in blocked_areas:            # a blocked area has its own line under "Not to be done"
            assert f'id="why-not-{target}"' in html, target
        assert f"Why not {kb.vocabulary.label(target)}" in handout or \
            f"Why not {Explainer(result, kb).w.plain(target)}" in handout, target
