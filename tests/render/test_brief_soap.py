"""The short forms of a plan: ``recommend --brief`` ("today" in at most ten lines), the SOAP-note draft
(``--format soap``), and the text plan wrapped to the terminal with each sentence said once."""

from __future__ import annotations

import io
import re

import pytest
from hypothesis import given, settings

from medmassage_rules.cases.loading import load_case
from medmassage_rules.cli import run
from medmassage_rules.kb.wording import STATUS_HEADLINES
from medmassage_rules.planning.pipeline import plan_case
from medmassage_rules.render.brief import DISCLAIMER, MAX_BRIEF_LINES, render_brief, versions
from medmassage_rules.render.soap import render_soap
from medmassage_rules.render.text import render_text, wrap_text

from ..conftest import FACTS
from ..strategies import KB, case_dicts, plan

P05 = FACTS / "p05-fibromyalgia-warfarin.yaml"


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(args), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_the_brief_says_today_in_ten_lines_or_fewer(kb) -> None:
    code, out, _ = cli("recommend", str(P05), "--brief")
    assert code == 0
    lines = out.rstrip("\n").split("\n")
    assert lines == ["Case p05-fibromyalgia-warfarin", "TREAT WITH PRECAUTIONS",
                     "Do: Myofascial release (light), Manual lymphatic drainage (light), Swedish massage (light)",
                     "Areas: neck, upper back, lower back", "Minutes: 45 of 45 (head and neck 30, trunk 15)",
                     "Pressure: light at most",
                     "Not: Deep tissue massage, Neuromuscular therapy (NMT), Manual trigger point therapy",
                     DISCLAIMER]


def test_an_urgent_referral_brief_says_no_massage_and_where_to(kb) -> None:
    code, out, _ = cli("recommend", str(FACTS / "e11-sciatica-red-flag.yaml"), "--brief")
    assert code == 0
    assert out.split("\n")[1:3] == [STATUS_HEADLINES["refer_urgent"], "Do: no massage today"]
    assert "Refer: same-day emergency assessment (urgent)" in out


@settings(max_examples=40, deadline=None)
@given(data=case_dicts())
def test_any_brief_fits_ten_lines_and_names_every_modality(data) -> None:
    result = plan(data)
    brief = render_brief(result, KB).split("\n")
    assert len(brief) <= MAX_BRIEF_LINES
    assert brief[1] == STATUS_HEADLINES[result.plan.status]
    for m in result.plan.modalities:
        assert f"{KB.vocabulary.label(m.id)} ({m.pressure})" in brief[2]


def test_brief_and_soap_refuse_other_formats_and_explain() -> None:
    assert cli("recommend", str(P05), "--brief", "--format", "json")[0] == 2
    assert cli("recommend", str(P05), "--brief", "--explain")[0] == 2
    assert cli("recommend", str(P05), "--format", "soap", "--explain")[0] == 2


def test_the_soap_draft_has_its_four_parts_from_case_and_plan(kb) -> None:
    code, out, _ = cli("recommend", str(P05), "--format", "soap")
    assert code == 0
    result = plan_case(load_case(P05, kb.vocabulary), kb)
    assert out.rstrip("\n") == render_soap(result, kb)
    parts = [line for line in out.split("\n") if re.match(r"^[SOAP] - ", line)]
    assert parts == ["S - Subjective", "O - Objective", "A - Assessment", "P - Plan"]
    subjective = out.split("O - Objective")[0]
    assert "Diagnosis: fibromyalgia (chronic)" in subjective and "Medications (as reported): warfarin" in subjective
    assert "Patient: age 66, female" in out
    assert "Not to be done: Deep tissue massage" in out and "[contra-anticoagulant" in out
    assert "Today: Myofascial release (light)" in out and "Minutes: 45" in out
    assert out.rstrip("\n").endswith(f"{DISCLAIMER}\n{versions(kb)}")


def test_the_soap_draft_of_a_red_flag_case_refers_and_gives_no_massage(kb) -> None:
    result = plan_case(load_case(FACTS / "e11-sciatica-red-flag.yaml", kb.vocabulary), kb)
    note = render_soap(result, kb)
    assert "Red flag: same-day emergency assessment" in note and "Today: no massage" in note
    assert "Finding: progressive weakness at the lower leg (left)" in note


def test_the_versions_change_with_the_knowledge_base(kb) -> None:
    import dataclasses
    changed = dataclasses.replace(kb, rules=kb.rules[:-1])
    assert versions(changed) != versions(kb) and f"{len(kb.rules)} rules" in versions(kb)


def test_text_is_wrapped_to_100_columns_off_a_terminal_and_says_each_rule_once(kb) -> None:
    code, out, _ = cli("recommend", str(P05))
    assert code == 0
    assert max(len(line) for line in out.split("\n")) <= 100
    joined = " ".join(line.strip() for line in out.split("\n"))
    for rule in kb.rules:
        assert joined.count(rule.description) <= 1, rule.id
    assert "as above [fibro-light-pressure, contra-anticoagulant]" in joined
    code, explained, _ = cli("recommend", str(P05), "--explain")
    assert max(len(line) for line in explained.split("\n")) <= 100


@pytest.mark.parametrize("width", [40, 72, 100])
def test_wrapping_keeps_every_word_and_indents_continuations(kb, width) -> None:
    text = render_text(plan_case(load_case(P05, kb.vocabulary), kb), kb)
    wrapped = wrap_text(text, width)
    assert wrapped.split() == text.split()
    for line in wrapped.split("\n"):
        assert len(line) <= width or " " not in line.strip()


def test_advisories_are_said_once() -> None:
    from medmassage_rules.render.text import said_once

    assert said_once(["a: avoid deep pressure here", "b: avoid deep pressure here", "c; see a doctor",
                      "d; see a doctor", "e", "e"]) == ["a, b: avoid deep pressure here", "c", "d", "see a doctor", "e"]


@pytest.mark.parametrize("name", ["p05-fibromyalgia-warfarin", "e04-known-dvt-cleared", "p13-runner-competing"])
def test_no_sentence_of_the_text_plan_is_printed_twice(name) -> None:
    code, out, _ = cli("recommend", str(FACTS / f"{name}.yaml"))
    assert code == 0
    joined = " ".join(line.strip() for line in out.split("\n"))
    sentences = [s.strip() for s in re.split(r"[;.]\s|\s-\s", joined) if len(s.strip()) > 40]
    repeated = {s for s in sentences if sentences.count(s) > 1}
    assert not repeated
