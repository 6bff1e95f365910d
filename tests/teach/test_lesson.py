"""A quiz worth a lesson, on the public cases: several cases (files or a folder) in a seeded order,
questions of four kinds each explained with its rule and the case fact, a score per kind;
`?` and `why` at a `trace --step` pause."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from click.testing import CliRunner

from medmassage_rules.cases.loading import load_case
from medmassage_rules.cli import main
from medmassage_rules.planning.pipeline import plan_case
from medmassage_rules.teach.quiz import plan_questions, quiz_questions
from medmassage_rules.teach.trace_session import Lesson

from ..conftest import FACTS

P01 = FACTS / "p01-cts-mild-right.yaml"
P05 = FACTS / "p05-fibromyalgia-warfarin.yaml"
P11 = FACTS / "p11-pregnancy-low-back.yaml"


def run(args: list[str], stdin: str = ""):
    return CliRunner().invoke(main, args, input=stdin)


def _order(out: str) -> list[str]:
    return re.findall(r"^Case (\S+): \d+ rule firings", out, flags=re.M)


def test_a_lesson_over_several_cases_in_a_seeded_order(tmp_path: Path) -> None:
    folder = tmp_path / "lesson"
    folder.mkdir()
    for path in (P01, P05, P11):
        shutil.copy(path, folder / path.name)
    plain = run(["trace", "--quiz", str(folder)], "skip\n" * 60)
    assert plain.exit_code == 0, plain.output
    assert _order(plain.output) == [p.stem for p in (P01, P05, P11)]       # a folder: sorted order
    assert "== Case 3 of 3 ==" in plain.output
    seeded = [_order(run(["trace", "--quiz", str(P01), str(P05), str(P11), "--seed", "4"], "skip\n" * 60).output)
              for _ in range(2)]
    assert seeded[0] == seeded[1] and sorted(seeded[0]) == sorted(p.stem for p in (P01, P05, P11))
    others = {tuple(_order(run(["trace", "--quiz", str(P01), str(P05), str(P11), "--seed", str(s)],
                               "skip\n" * 60).output)) for s in range(6)}
    assert len(others) > 1                                                  # the seed decides the order


def test_every_kind_is_asked_and_scored_per_kind(kb) -> None:
    results = [plan_case(load_case(p, kb.vocabulary), kb) for p in (P01, P05)]
    answers: list[str] = []
    for result in results:
        blocked, cap, status = plan_questions(result, kb)
        answers += [",".join(sorted(blocked.answer)) or "none", next(iter(cap.answer)), next(iter(status.answer))]
        answers += ["skip"] * sum(1 for q in quiz_questions(result, kb) for line in ("first", "second")
                                  if q.modalities(line))
    said: list[str] = []
    feed = iter(answers)
    score = Lesson(results, kb, ask=lambda _: next(feed), say=said.append, quiz=True).run()
    assert score is not None
    kinds = {kind: (right, asked) for kind, right, asked, _ in score.by_kind}
    assert kinds["blocked"] == kinds["pressure"] == kinds["status"] == (2, 2)
    text = "\n".join(said)
    assert "Score by kind:" in text and "blocked and by what: 2 of 2" in text and "status: 2 of 2" in text
    assert said[-1] == "Score: 6 of 6 (" + said[-1].split("(")[1]          # the skipped proposals counted apart


def test_each_answer_is_explained_with_its_rule_and_the_case_fact(kb) -> None:
    result = plan_case(load_case(P05, kb.vocabulary), kb)
    blocked, cap, status = plan_questions(result, kb)
    assert "deep_tissue" in blocked.answer
    assert any(line.startswith("Deep tissue massage: blocked by fibro-light-pressure") and
               "because a diagnosis of fibromyalgia" in line for line in blocked.explanation)
    assert cap.answer == {"light"}
    assert cap.explanation[0].startswith("light at most, set by fibro-light-pressure")
    assert "because a diagnosis of fibromyalgia" in cap.explanation[0]
    assert status.answer == {result.plan.status} and status.explanation


def test_a_wrong_deep_tissue_for_fibromyalgia_says_fibromyalgia_blocks_it() -> None:
    out = run(["trace", "--quiz", str(P05)], "skip\nskip\nskip\ndeep_tissue\n").output
    line = next(ln for ln in out.splitlines() if "Deep tissue massage: not proposed by these facts" in ln)
    assert "blocked by fibro-light-pressure" in line and "because a diagnosis of fibromyalgia" in line


def test_step_treats_question_mark_and_why_as_help() -> None:
    out = run(["trace", "--step", str(P05)], "?\nwhy\n\nq\n").output
    assert "Enter: the next firing; why: why this rule fired" in out
    assert re.search(r"\S+ fires when: ", out) and "    Here: " in out
    assert " 2. " in out and " 3. " not in out and "Stopped." in out      # ? and why did not advance


def test_a_bad_case_in_a_lesson_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\ndiagnoses: [{condition: nonsense}]\n")
    result = run(["trace", "--quiz", str(P01), str(bad)])
    assert result.exit_code == 2 and "diagnoses[0].condition" in result.stderr


def test_a_plan_that_treats_nothing_asks_only_its_status(kb) -> None:
    result = plan_case(load_case(FACTS / "p09-low-back-fever.yaml", kb.vocabulary), kb)
    assert not result.plan.treats
    (status,) = plan_questions(result, kb)
    assert status.kind == "status" and status.answer == {result.plan.status}
    assert any("red-fever-with-spinal-pain" in line and "temperature" in line for line in status.explanation)
