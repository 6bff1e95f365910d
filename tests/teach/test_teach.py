"""The classroom commands: `trace` (all at once, --step, --quiz) and `consult`, driven by scripted input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from medmassage_rules.cases.loading import load_case, validate_case
from medmassage_rules.cli import main
from medmassage_rules.planning.pipeline import plan_case
from medmassage_rules.teach.consult import consult
from medmassage_rules.teach.quiz import quiz_questions
from medmassage_rules.teach.rule_needs import Needs
from medmassage_rules.teach.trace_session import TraceSession

from ..conftest import FACTS

P01 = FACTS / "p01-cts-mild-right.yaml"
P05 = FACTS / "p05-fibromyalgia-warfarin.yaml"


def run(args: list[str], text: str = ""):
    return CliRunner().invoke(main, args, input=text)


# -- trace -------------------------------------------------------------------------------------------
def test_trace_lists_every_firing_in_order_in_plain_words(kb) -> None:
    result = run(["trace", str(P05)])
    assert result.exit_code == 0, result.output
    fired = [f.rule_id for f in plan_case(load_case(P05, kb.vocabulary), kb).trace]
    positions = [result.output.index(f"{i:>2}. {rid} - ") for i, rid in enumerate(fired, 1)]
    assert positions == sorted(positions)
    out = result.output
    assert "because medications include warfarin (anticoagulant)" in out
    assert "because a diagnosis of fibromyalgia (chronic)" in out
    assert "=> blocks Deep tissue massage, Manual trigger point therapy, Neuromuscular therapy (NMT)" in out
    assert "=> caps pressure at light everywhere" in out
    assert "=> proposes Myofascial release (first line, rule factor 0.80)" in out   # the rule's own factor
    assert "=> proposes Deep tissue massage (requested by the prescription, rule factor 0.50)" in out
    limits = [o for f in plan_case(load_case(P05, kb.vocabulary), kb).trace for o in f.outputs
              if type(o).__name__ == "Limit"]
    for limit in limits:
        assert f"=> limits the session to {limit['minutes']} minutes" in out
    assert "Outcome: treat with precautions" in out


def test_trace_words_area_caps_and_area_blocks(kb) -> None:
    out = run(["trace", str(FACTS / "p11-pregnancy-low-back.yaml")]).output
    assert "=> caps pressure at light on the lower leg (bilateral)" in out
    assert "=> blocks work on the abdomen" in out


def test_trace_step_waits_for_enter_and_q_stops(kb) -> None:
    n = len(plan_case(load_case(P01, kb.vocabulary), kb).trace)
    full = run(["trace", str(P01), "--step"], "\n" * (n - 1))
    assert full.exit_code == 0, full.output
    assert full.output.count("next?") == n - 1
    assert "Outcome:" in full.output
    stopped = run(["trace", str(P01), "--step"], "\nq\n")
    assert stopped.exit_code == 0
    assert " 2. " in stopped.output and " 3. " not in stopped.output
    assert "Stopped." in stopped.output and "Outcome:" not in stopped.output


PLAN_ANSWERS_P01 = "none\ndeep\ntreat\n"   # p01: nothing blocked, nothing caps pressure, treat


def test_quiz_accepts_any_modality_the_same_facts_propose_and_tells_the_lines_apart() -> None:
    # p01: one diagnosis proposes trigger point therapy, NMT and myofascial release (first line)
    # and Swedish massage (second line), through four rules: one question, in two parts.
    result = run(["trace", str(P01), "--quiz"], PLAN_ANSWERS_P01 + "myofascial_release\n1\n")
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.count("The case facts:") == 2                      # the whole case, then one stem (not one per rule)
    question = out.index("Question 4 of 4. The case facts:")
    assert out.index(". cts-first-line-trigger-point - ") > question     # the rules are revealed after
    assert "Right. Myofascial release: first line for these facts." in out
    assert "Also first line: Manual trigger point therapy, Neuromuscular therapy (NMT)." in out
    assert "Right. Swedish massage: second line for these facts." in out
    assert "Myofascial release (first line) - Myofascial release of the forearm" in out   # the explanation
    assert "In the plan, Swedish massage: " in out
    assert "modalities proposed: 2 of 2" in out and "status: 1 of 1" in out
    assert out.rstrip().endswith("Score: 5 of 5")


def test_quiz_a_second_line_answer_to_the_first_line_part_is_told_apart() -> None:
    out = run(["trace", str(P01), "--quiz"], PLAN_ANSWERS_P01 + "swedish\nbogus\n2\n").output
    assert "Partly right. Swedish massage: proposed, but as second line." in out
    assert "'bogus' is not one of the numbers 1-8 or a modality id" in out
    assert "Not this time. Deep tissue massage: not proposed by these facts." in out
    assert "modalities proposed: 0 of 2" in out
    assert out.rstrip().endswith("Score: 3 of 5")


def test_quiz_stems_are_distinct_one_per_set_of_facts(kb) -> None:
    path = FACTS / "e12-neck-focus-two-groups.yaml"
    result = plan_case(load_case(path, kb.vocabulary), kb)
    questions = quiz_questions(result, kb)
    assert len(questions) == 2
    assert len({q.facts for q in questions}) == len(questions)
    for q in questions:
        assert q.modalities("first") and not set(q.modalities("first")) & set(q.modalities("second"))
    out = run(["trace", str(path), "--quiz"], "\n".join(["skip"] * 7) + "\n").output
    stems = [line for line in out.splitlines() if line.startswith("    a diagnosis of")]
    assert len(stems) == len(set(stems)) + 2 == 4     # each stem once, after the whole case's facts
    assert out.rstrip().endswith("Score: 0 of 0 (7 skipped)")


def test_quiz_hint_skip_quit_and_end_of_input_give_the_score() -> None:
    hinted = run(["trace", str(P01), "--quiz"], PLAN_ANSWERS_P01 + "hint\nskip\nquit\n")
    assert hinted.exit_code == 0
    assert "Hint: these facts indicate nerve compression / entrapment, myofascial trigger points" in hinted.output
    assert "3 modalities are first line for them" in hinted.output
    assert "Skipped: first line: Manual trigger point therapy, Neuromuscular therapy (NMT), Myofascial release." \
        in hinted.output
    assert "Quit." in hinted.output and hinted.output.rstrip().endswith("Score: 3 of 3 (1 skipped)")
    ended = run(["trace", str(P01), "--quiz"], PLAN_ANSWERS_P01 + "5\n")   # the input ends at the second part
    assert ended.exit_code == 0
    assert "Aborted!" not in ended.output
    assert "End of input.\nScore by kind:" in ended.output and ended.output.rstrip().endswith("Score: 4 of 4")
    stepped = run(["trace", str(P01), "--step"], "\n")              # --step ends cleanly as well
    assert stepped.exit_code == 0 and "Aborted!" not in stepped.output and "End of input." in stepped.output


def test_quiz_score_from_the_library(kb) -> None:
    result = plan_case(load_case(P05, kb.vocabulary), kb)
    questions = quiz_questions(result, kb)
    parts = [",".join(q.modalities(line)) for q in questions for line in ("first", "second") if q.modalities(line)]
    assert parts, "p05 proposes modalities from its diagnosis"
    plan = result.plan
    blocked = ",".join(b.id for b in plan.blocked_modalities if b.reason in ("blocked", "priced_out"))
    answers = iter([blocked, plan.pressure_cap, plan.status, *parts])
    said: list[str] = []
    score = TraceSession(result, kb, ask=lambda _: next(answers), say=said.append, quiz=True).run()
    total = len(parts) + 3
    assert score is not None and (score.right, score.asked) == (total, total)
    assert said[-1] == f"Score: {total} of {total}"
    assert {kind for kind, *_ in score.by_kind} == {"proposed", "blocked", "pressure", "status"}
    # the prescription's requests are not asked: their facts give the answer away
    assert all(p.line != "request" for q in questions for p in q.proposals)


# -- consult ------------------------------------------------------------------------------------------
def scripted(answers: dict[str, list[str]], log: list[str]) -> Callable[[str], str]:
    """An `ask` that answers by the start of the prompt (queues per prompt), Enter otherwise."""
    def ask(prompt: str) -> str:
        log.append(prompt)
        if len(log) > 200:
            raise EOFError(f"the dialogue keeps asking: {log[-3:]}")
        for start, queue in answers.items():
            if prompt.startswith(start) and queue:
                return queue.pop(0)
        return ""
    return ask


def picking(wanted: list[str], answers: dict[str, list[str]], log: list[str], said: list[str]) -> Callable[[str], str]:
    """Like `scripted`; at an "any of these?" list, names those of ``wanted`` the list shows."""
    ask = scripted(answers, log)

    def pick(prompt: str) -> str:
        if "any of these?" not in prompt:
            return ask(prompt)
        log.append(prompt)
        shown = said[-1] if said else ""
        return ", ".join(w for w in wanted if f") {w.replace('_', ' ')}" in shown)
    return pick


def test_consult_cli_with_why_and_back_writes_a_valid_case(kb, tmp_path: Path) -> None:
    out = tmp_path / "case.yaml"
    script = "\n".join([
        "cts-demo",      # case id
        "1",             # carpal tunnel syndrome (its area is not asked: no rule reads it)
        "why",           # side: which rules wait?
        "1",             # side: left ...
        "back",          # ... revised
        "2",             # right
        "3",             # chronic
        "",              # no other diagnosis
        "",              # urgent screening (edema, pain, a clot, ...): none
        "",              # more urgent screening (local inflammation, dyspnea): none
        "saddle_anesthesia",   # red flags: any of these? -> urgent, the screening ends
    ]) + "\n"
    result = run(["consult", "--output", str(out)], script)
    assert result.exit_code == 0, result.output
    text = result.stderr
    assert "cts-primary-targets: Work the forearm flexors" in text
    assert "cts-double-crush-screen" in text
    assert "Red flags (any one means same-day medical assessment) - any of these?" in text
    assert "No further answer can change the outcome" in text
    assert f"Case written to {out}" in text
    assert "Status: REFER URGENTLY" in text
    assert result.stdout == ""                    # the questions and the plan are not the command's output
    data = yaml.safe_load(out.read_text())
    case = validate_case(data, str(out), kb.vocabulary)
    assert case.diagnoses[0].side == "right" and case.diagnoses[0].acuity == "chronic"
    assert [f.finding for f in case.findings] == ["saddle_anesthesia"]
    assert plan_case(case, kb).plan.status == "refer_urgent"


def test_consult_to_stdout_writes_only_the_case_file(kb) -> None:
    result = run(["consult"], "c9\n7\n" + "\n" * 80)           # fibromyalgia, then Enter everywhere
    assert result.exit_code == 0, result.output
    data = yaml.safe_load(result.stdout)                        # `consult > case.yaml` is a valid case file
    case = validate_case(data, "stdout", kb.vocabulary)
    assert case.id == "c9" and case.diagnoses[0].condition == "fibromyalgia"
    assert "What is the diagnosis? (a number" in result.stderr and "Status:" in result.stderr
    assert "Diagnosis" not in result.stdout and "Status:" not in result.stdout


def test_consult_output_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    out = tmp_path / "case.yaml"
    out.write_text("precious: true\n")
    refused = run(["consult", "--output", str(out)], "c1\n7\n" + "\n" * 80)
    assert refused.exit_code == 2 and "exists; give --force" in refused.stderr
    assert "What is the case id" not in refused.output                     # refused before a single question
    assert out.read_text() == "precious: true\n"
    forced = run(["consult", "--output", str(out), "--force"], "c1\n7\n" + "\n" * 80)
    assert forced.exit_code == 0, forced.output
    assert yaml.safe_load(out.read_text())["id"] == "c1"


def test_consult_end_of_input_exits_cleanly_and_keeps_the_answers_apart(tmp_path: Path) -> None:
    out = tmp_path / "case.yaml"
    result = run(["consult", "--output", str(out)], "c1\n1\n")
    assert result.exit_code == 2
    assert "Aborted!" not in result.output and "Traceback" not in result.output
    assert "the input ended before the consultation was complete; the answers so far are in" in result.stderr
    assert not out.exists()                                   # no case file: only the partial one
    assert yaml.safe_load((tmp_path / "case.yaml.partial.yaml").read_text())["consultation"]["answers"] == ["c1", "1"]


def test_consult_refuses_a_diagnosis_given_twice(kb) -> None:
    said: list[str] = []
    done = consult(kb, scripted({"What is the diagnosis": ["carpal_tunnel_syndrome"],
                                 "Is there another diagnosis": ["1", "carpal_tunnel_syndrome",
                                 "neck_pain"]}, []), said.append)
    assert "carpal tunnel syndrome is a diagnosis of this case already" in "\n".join(said)
    assert [d.condition for d in done.case.diagnoses] == ["carpal_tunnel_syndrome", "neck_pain"]


def test_consult_back_at_the_first_question_and_bad_answers_are_reasked() -> None:
    script = "back\nx1\nnot-a-condition\n7\n" + "\n" * 80
    result = run(["consult"], script)
    assert result.exit_code == 0, result.output
    assert "Nothing to revise yet." in result.stderr
    assert "unknown condition id" in result.stderr
    assert "- condition: fibromyalgia" in result.stdout      # the case printed as YAML


def test_consult_groups_the_screening_into_lists(kb) -> None:
    log: list[str] = []
    said: list[str] = []
    consult(kb, scripted({"What is the case id": ["c1"], "What is the diagnosis": ["carpal_tunnel_syndrome"],
                          "Which side is the carpal tunnel syndrome on": ["right"]}, log), said.append)
    assert len(log) <= 25, log                               # not one yes/no prompt per item
    assert len(log) == len(set(log)), "no question is asked twice"
    lists = [q for q in log if "any of these?" in q]
    assert any(q.startswith("Red flags") for q in lists) and any(q.startswith("History") for q in lists)
    shown = "\n".join(said)
    assert "saddle anesthesia" in shown and "osteoporosis" in shown   # on the lists


def test_consult_list_answers_are_checked(kb) -> None:
    said: list[str] = []
    answers = {"What is the diagnosis": ["neck_pain"], "History - any of these?": ["bogus", "99", "none"]}
    consult(kb, scripted(answers, []), said.append)
    shown = "\n".join(said)
    assert "'bogus' is not on this list: answer its numbers or ids, or none" in shown
    assert "99 is not on the list" in shown


def test_consult_asks_only_what_rules_read(kb) -> None:
    log: list[str] = []
    said: list[str] = []
    done = consult(kb, scripted({"What is the case id": ["c1"], "What is the diagnosis": ["carpal_tunnel_syndrome"],
                                 "Which side is the carpal tunnel syndrome on": ["right"]}, log), said.append)
    asked = " | ".join(log) + "\n" + "\n".join(said)
    assert "severity" not in asked                       # no rule reads a diagnosis' severity
    assert "abdominal aortic aneurysm" not in asked      # only blocks the abdomen, which CTS never reaches
    assert "saddle anesthesia" in asked
    assert done.case.diagnoses[0].side == "right"
    constipation: list[str] = []
    shown: list[str] = []
    consult(kb, scripted({"What is the diagnosis": ["constipation"]}, constipation), shown.append)
    assert "abdominal aortic aneurysm" in "\n".join(constipation + shown)


def test_consult_asks_the_palpation_findings_and_the_prescription(kb) -> None:
    log: list[str] = []
    said: list[str] = []
    answers = {
        "What is the case id": ["cts-palpated"], "What is the diagnosis": ["carpal_tunnel_syndrome"],
        "Which side is the carpal tunnel syndrome on": ["right"],
        "How acute is the carpal tunnel syndrome": ["chronic"],
        "Findings on examination and palpation": ["trigger_point, paresthesia, muscle_spasm"],
        "In which muscle is the trigger point": ["forearm_flexors pronator_teres"],
        "Which side is the trigger point on": ["right"],
        "Where is the paresthesia": ["wrist_hand"], "Which side is the paresthesia on": ["right"],
        "Where is the muscle spasm": ["forearm"], "Which side is the muscle spasm on": ["right"],
        "Prescription: modalities the physician requests": ["swedish"],
        "Prescription: modalities the physician rules out": ["deep_tissue"],
        "Prescription: areas to focus on": ["forearm"],
        "Prescription: longest session": ["45"],
    }
    done = consult(kb, scripted(answers, log), said.append)
    assert sum(q.startswith("Findings on examination and palpation") for q in log) == 1
    for finding in ("trigger point", "paresthesia", "muscle spasm", "hypertonicity"):
        assert finding in "\n".join(said)
    muscles = next(m for m in said if "forearm flexors" in m and "pronator teres" in m)   # the muscle menu
    assert "axillary lymph nodes" not in muscles and "colon" not in muscles    # trigger points are in muscles
    case = done.case
    found = {(f.finding, f.target or f.area, f.side) for f in case.findings}
    assert found == {("trigger_point", "forearm_flexors", "right"), ("trigger_point", "pronator_teres", "right"),
                     ("paresthesia", "wrist_hand", "right"), ("muscle_spasm", "forearm", "right")}
    rx = case.prescription
    assert (rx.modalities, rx.exclude_modalities, rx.focus_areas, rx.max_minutes) == (
        ["swedish"], ["deep_tissue"], ["forearm"], 45)
    plan = done.result.plan
    assert "deep_tissue" not in {m.id for m in plan.modalities}
    assert "swedish" in {m.id for m in plan.modalities}


def test_consult_accepts_any_medication_name(kb) -> None:
    done = consult(kb, scripted({"What is the diagnosis": ["neck_pain"], "Medications": ["Warfarin, Zolpidem XR"]}, []),
                   lambda _: None)
    names = [str(m if isinstance(m, str) else getattr(m, "name", m)).lower() for m in done.case.medications]
    assert names == ["warfarin", "zolpidem xr"]


def test_consult_accepts_an_icd10_code_for_a_diagnosis(kb) -> None:
    probe = validate_case({"id": "x", "diagnoses": [{"icd10": "G56.01"}]}, "probe", kb.vocabulary)
    assert probe.diagnoses[0].condition == "carpal_tunnel_syndrome"
    log: list[str] = []
    done = consult(kb, scripted({"What is the diagnosis": ["g56.01"]}, log), lambda _: None)
    assert done.case.diagnoses[0].condition == "carpal_tunnel_syndrome"
    assert done.case.diagnoses[0].side == "right"                       # from the code's laterality
    assert not any(q.startswith("Which side is the carpal tunnel syndrome on") for q in log)
    said: list[str] = []
    lymph = consult(kb, scripted({"What is the diagnosis": ["I89.0"],
                                  "Which area does the lymphedema affect": ["lower_leg"]}, []), said.append)
    assert (lymph.case.diagnoses[0].condition, lymph.case.diagnoses[0].area) == ("lymphedema", "lower_leg")
    unmapped = consult(kb, scripted({"What is the diagnosis": ["L40.0"], "Is there another diagnosis": ["neck_pain"]},
                                    []), said.append)
    assert "L40.0 names no condition of the knowledge base: it is kept in the case" in "\n".join(said)
    assert unmapped.data["diagnoses"][0] == {"icd10": "L40.0"}               # kept as given, like a YAML case
    assert [code for code, _ in unmapped.result.plan.not_covered] == ["L40.0"]
    assert [d.condition for d in unmapped.case.diagnoses if d.condition] == ["neck_pain"]


def test_consult_keeps_every_code_and_back_steps_back_exactly_one_answer(kb) -> None:
    log: list[str] = []
    answers = {"What is the diagnosis": ["M79.7"], "Is there another diagnosis": ["E11.9", "back", "I10", ""]}
    done = consult(kb, scripted(answers, log), lambda _: None)
    codes = [d.get("icd10") for d in done.data["diagnoses"]]
    assert codes == ["M79.7", "I10"]                       # back dropped E11.9 only, M79.7 kept
    assert done.case.diagnoses[0].condition == "fibromyalgia"
    again = consult(kb, scripted({"What is the diagnosis": ["M79.7"],
                                  "Is there another diagnosis": ["E11.9", "I10", ""]}, []), lambda _: None)
    assert [d.get("icd10") for d in again.data["diagnoses"]] == ["M79.7", "E11.9", "I10"]
    assert {code for code, _ in again.result.plan.not_covered} >= {"E11.9"}


def test_consult_prompts_read_as_sentences(kb) -> None:
    log: list[str] = []
    consult(kb, scripted({"What is the diagnosis": ["carpal_tunnel_syndrome"]}, log), lambda _: None)
    for prompt in log:
        head = prompt.split(" (")[0].split(" [")[0]
        assert head[:1].isupper(), prompt
        assert ": every area" not in prompt and "Enter if not known:" not in prompt, prompt
    assert any(p.startswith("Which side is the carpal tunnel syndrome on?") for p in log)


def test_consult_follow_ups_clearances_and_measurements(kb) -> None:
    log: list[str] = []
    said: list[str] = []
    answers = {
        "What is the case id": ["angina-1"], "What is the diagnosis": ["5"],
        "Is there another diagnosis": ["fibromyalgia"],
        "Has the osteoporosis caused a fragility fracture": ["why", "y"],
        "Where is the recent surgery": ["knee"], "Which side is the recent surgery on": ["left"],
        "How many days since the recent surgery": ["-3", "10"],
        "Temperature": ["hot", "36.8"], "Blood pressure": ["150/95"], "Age": ["81"],
        "Medications": ["warfarin, 99", "warfarin, chemotherapy"],
        "Is a cardiac clearance documented": ["y"], "Is a surgeon clearance": ["n"],
        "Prescription: longest session": ["200", "45"],
    }
    done = consult(kb, picking(["osteoporosis", "recent_surgery"], answers, log, said), said.append)
    case = done.case
    assert [d.condition for d in case.diagnoses] == ["pseudo_angina", "fibromyalgia"]
    osteo = next(h for h in case.history if h.item == "osteoporosis")
    assert osteo.fragility_fracture is True
    surgery = next(h for h in case.history if h.item == "recent_surgery")
    assert (surgery.area, surgery.side, surgery.days_since) == ("knee", "left", 10)
    assert case.vitals.temperature_c == 36.8 and case.vitals.systolic == 150 and case.patient.age == 81
    assert case.medications == ["warfarin", "chemotherapy"]
    assert case.clearances == ["cardiac"]
    assert case.prescription.max_minutes == 45
    shown = "\n".join(said)
    assert "contra-fragility-fracture: Osteoporosis with a fragility fracture" in shown   # `why`
    assert "greater than or equal to 0" in shown          # days since -3 refused by the case validator
    assert "99 is not on the menu" in shown
    assert "less than or equal to 120" in shown           # 200 minutes refused
    assert "type a decimal number" in shown
    assert any(q.startswith("Is an oncology clearance documented") for q in log)   # chemotherapy needs it
    # the written case validates and is the case that was planned
    again = validate_case(yaml.safe_load(done.yaml), "consultation", kb.vocabulary)
    assert again == case
    assert done.result.plan.case_id == "angina-1"


def test_consult_lymphedema_requires_its_area(kb) -> None:
    log: list[str] = []
    said: list[str] = []
    done = consult(kb, scripted({"What is the diagnosis": ["lymphedema"],
                                 "Which area does the lymphedema affect": ["", "forearm"]}, log),
                   said.append)
    assert done.case.diagnoses[0].area == "forearm"
    assert "choose a number from the menu or type an id" in "\n".join(said)


@pytest.mark.parametrize("condition", ["carpal_tunnel_syndrome", "myofascial_pain_syndrome", "ankle_sprain",
                                       "lymphedema", "delayed_onset_muscle_soreness"])
def test_every_needed_diagnosis_field_is_read_by_a_rule_or_the_case_format(kb, condition: str) -> None:
    needs = Needs(kb)
    for name, rules in needs.diagnosis_fields(condition).items():
        assert rules or (name == "area" and condition == "lymphedema"), (condition, name)
        for rid in rules:
            assert rid in kb.by_id


def test_a_rule_about_injuries_does_not_ask_where_a_nerve_entrapment_is(kb) -> None:
    """The acute-injury row reads a diagnosis' area only for strains, sprains and contusions
    (whether a diagnosis is one follows from its condition): carpal tunnel syndrome is not asked for
    an area, a hamstring strain is."""
    needs = Needs(kb)
    assert "area" not in needs.diagnosis_fields("carpal_tunnel_syndrome")
    assert "red-acute-soft-tissue-injury-site" in needs.diagnosis_fields("hamstring_strain")["area"]


# -- wording of explanations -------------------------------------------------------------------------
def test_explain_see_also_names_the_case_file_not_the_case_id(tmp_path: Path) -> None:
    case = tmp_path / "my case.yaml"
    case.write_text(P05.read_text())
    result = run(["explain", str(case), "--why-not", "myofascial_release"])
    assert result.exit_code == 0, result.output
    assert f"See also: medmassage explain '{case}' --why myofascial_release" in result.output
    follow = run(["explain", str(case), "--why", "myofascial_release"])      # the suggested command works
    assert follow.exit_code == 0 and follow.output.startswith("Why Myofascial release?")


NMT = "Neuromuscular therapy (NMT)"


@pytest.mark.parametrize("name, label", [
    ("Swedish massage", "Swedish massage"), ("NMT", NMT), ("nmt", NMT), ("neuromuscular therapy", NMT),
    ("MYOFASCIAL_RELEASE", "Myofascial release"), ("myofascial-release", "Myofascial release"),
    ("Status", "treat with precautions")])
def test_explain_accepts_labels_abbreviations_and_ids_in_any_case(name: str, label: str) -> None:
    result = run(["explain", str(P05), "--why", name])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Why {label}?")


def test_why_not_a_blocked_modality_does_not_give_the_request_as_a_reason(kb) -> None:
    text = run(["explain", str(P05), "--why-not", "deep_tissue"]).output
    reasons, _, overruled = text.partition("Proposed, then overruled")
    assert "[contra-anticoagulant]" in reasons and "[fibro-light-pressure]" in reasons
    assert "rx-requested-modality" not in reasons
    assert "[rx-requested-modality]" in overruled
    handout = run(["recommend", str(P05), "--format", "markdown"]).output
    section = handout[handout.index("### Why not Deep tissue massage"):]
    section = section[:section.index("\n### ", 1)] if "\n### " in section[1:] else section
    reasons, _, overruled = section.partition("Proposed, then overruled")
    assert "`rx-requested-modality`" not in reasons and "`rx-requested-modality`" in overruled


def test_menu_columns_never_run_labels_together() -> None:
    from medmassage_rules.teach.dialogue import menu
    text = menu(["pregnancy-related pelvic girdle pain", "generalised anxiety or stress", "x"])
    assert "pain  " in text and "pain2)" not in text
