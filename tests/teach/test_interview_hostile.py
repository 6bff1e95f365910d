"""Hostile input to the interactive commands: `consult` and `trace --step/--quiz` always end (the
end of the input, a closed terminal, Ctrl-C, the same answer refused three times), a stopped
consultation keeps its answers in a new partial file that `consult --resume` continues, and
no answer - control characters, bytes that are not UTF-8, YAML syntax - makes `consult` write
a case that `recommend` refuses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medmassage_rules.cases.loading import load_case
from medmassage_rules.cli import console, main
from medmassage_rules.planning.pipeline import plan_case
from medmassage_rules.teach.consult import ConsultationDialogue, partial_answers, partial_yaml
from medmassage_rules.teach.dialogue import MAX_ANSWER, REPEATS, AnswerRepeated

from ..conftest import FACTS
from ..helpers import ctrl_c_as_at_a_terminal

P01 = FACTS / "p01-cts-mild-right.yaml"
BOUND = 60_000          # characters of output a stopped dialogue may print at most


def _cli(args: list[str], cwd: Path, feed: str | None = None, yes: str | None = None,
         timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    """Run medmassage in ``cwd``; ``yes`` pipes `yes WORD` (an endless input) into it."""
    command = [sys.executable, "-m", "medmassage_rules", *args]
    if yes is None:
        return subprocess.run(command, cwd=cwd, input=(feed or "").encode(), capture_output=True, timeout=timeout)
    producer = subprocess.Popen(["yes", yes], stdout=subprocess.PIPE)
    try:
        return subprocess.run(command, cwd=cwd, stdin=producer.stdout, capture_output=True, timeout=timeout)
    finally:
        producer.kill()
        producer.wait()


# -- never an endless loop ----------------------------------------------------------------------------
@pytest.mark.parametrize(("args", "word", "stops"), [
    (["consult"], "y", "the consultation stops"),
    (["consult"], "why", "the consultation stops"),
    (["trace", str(P01), "--quiz"], "y", "the quiz stops"),
    (["trace", str(P01), "--quiz"], "hint", "the quiz stops"),
    (["trace", str(P01), "--step"], "?", "the trace stops"),
])
def test_an_endless_input_ends_the_dialogue_at_once(tmp_path: Path, args: list[str], word: str, stops: str) -> None:
    started = time.monotonic()
    done = _cli(args, tmp_path, yes=word)
    assert time.monotonic() - started < 30
    out, err = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 2, err
    assert len(out) + len(err) < BOUND
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"error: the same answer {word!r} {REPEATS} times in a row did not answer")
    assert stops in last and "Traceback" not in err
    if args[0] == "trace" and "--quiz" in args:
        assert "Score: 0 of 0" in out                       # the score so far comes before the error


def test_yes_into_consult_keeps_the_accepted_answer_in_a_partial_file(tmp_path: Path) -> None:
    done = _cli(["consult"], tmp_path, yes="y")
    err = done.stderr.decode()
    assert "the answers so far are in consult.partial.yaml;" in err
    saved = yaml.safe_load((tmp_path / "consult.partial.yaml").read_text())
    assert saved["consultation"]["answers"] == ["y"] and saved["id"] == "y"   # 'y' is a valid case id


def test_the_end_of_the_input_in_a_trace_still_gives_the_score(tmp_path: Path) -> None:
    done = _cli(["trace", str(P01), "--quiz"], tmp_path, feed="none\n")
    assert done.returncode == 0 and "End of input." in done.stdout.decode()
    assert done.stdout.decode().rstrip().endswith("Score: 1 of 1")


def test_a_closed_terminal_is_the_end_of_the_input(monkeypatch: pytest.MonkeyPatch) -> None:
    class Hangup:
        def readline(self, size: int = -1) -> str:
            raise OSError(5, "Input/output error")

    monkeypatch.setattr(sys, "stdin", Hangup())
    with pytest.raises(EOFError):
        console.ask("What is the case id?", err=True)


def test_an_overlong_answer_is_read_in_bounds_and_refused(tmp_path: Path) -> None:
    line = "x" * 1_000_000
    done = _cli(["consult"], tmp_path, feed=f"{line}\nc1\n7\n" + "\n" * 80)
    err = done.stderr.decode()
    assert done.returncode == 0, err[-2000:]
    assert f"an answer is at most {MAX_ANSWER} characters" in err and len(err) < BOUND
    assert yaml.safe_load(done.stdout)["id"] == "c1"


def test_ctrl_c_keeps_the_answers_and_exits_130(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "medmassage_rules", "consult", "-o", "case.yaml"], cwd=tmp_path,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=ctrl_c_as_at_a_terminal)
    assert proc.stdin is not None and proc.stderr is not None
    proc.stdin.write("c7\n")
    proc.stdin.flush()
    seen = ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "What is the diagnosis" not in seen:
        seen += proc.stderr.read(1)
    while time.monotonic() < deadline and not seen.endswith(": "):
        seen += proc.stderr.read(1)       # the second prompt: the first answer is taken
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "consultation stopped: the answers so far are in case.yaml.partial.yaml" in err
    assert "Traceback" not in err
    assert yaml.safe_load((tmp_path / "case.yaml.partial.yaml").read_text())["consultation"]["answers"] == ["c7"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case.yaml.partial.yaml"]   # no temporary file left


# -- the partial file, and --resume -------------------------------------------------------------------
def _run(args: list[str], text: str, cwd: Path) -> Result:
    with pytest.MonkeyPatch.context() as m:
        m.chdir(cwd)
        return CliRunner().invoke(main, args, input=text)


def test_a_stopped_consultation_never_overwrites_a_file_and_resume_finishes_it(tmp_path: Path) -> None:
    taken = tmp_path / "case.yaml.partial.yaml"
    taken.write_text("precious: true\n")
    first = _run(["consult", "-o", "case.yaml"], "c3\n7\n", tmp_path)
    assert first.exit_code == 2
    kept = tmp_path / "case.yaml.partial.yaml.1"
    assert f"the answers so far are in {kept.name}" in first.stderr
    assert taken.read_text() == "precious: true\n" and not (tmp_path / "case.yaml").exists()
    text = kept.read_text()
    assert text.startswith("# A consultation stopped before it was complete")
    resumed = _run(["consult", "--resume", kept.name, "-o", "case.yaml"], "\n" * 80, tmp_path)
    assert resumed.exit_code == 0, resumed.output
    assert "Resumed after 2 answers." in resumed.stderr
    whole = _run(["consult"], "c3\n7\n" + "\n" * 80, tmp_path)
    assert (tmp_path / "case.yaml").read_text() == whole.stdout
    assert kept.read_text() == text                                        # the input is left as it was


def test_resume_asks_again_from_an_answer_that_no_longer_fits(tmp_path: Path) -> None:
    partial = tmp_path / "p.yaml"
    partial.write_text(yaml.safe_dump({"consultation": {"answers": ["c4", "no_such_condition", "7"]}}))
    done = _run(["consult", "--resume", str(partial)], "7\n" + "\n" * 80, tmp_path)
    assert done.exit_code == 0, done.output
    err = done.stderr
    assert "Answer 2 ('no_such_condition') no longer answers" in err and "Resumed after 1 answer." in err
    assert yaml.safe_load(done.stdout)["diagnoses"] == [{"condition": "fibromyalgia"}]


@pytest.mark.parametrize(("content", "message"), [
    ("id: c1\n", "consultation.answers: not a partial consultation"),
    ("consultation: {answers: [c1, 7]}\n", "consultation.answers[1]: an answer is text"),
    ("consultation: {answers: [c1\n", "p.yaml"),
])
def test_resume_refuses_a_file_that_is_no_partial_consultation(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "p.yaml").write_text(content)
    done = _run(["consult", "--resume", "p.yaml"], "", tmp_path)
    assert done.exit_code == 2
    lines = done.stderr.strip().splitlines()
    assert lines and all(line.startswith("error: ") for line in lines) and message in lines[0]
    assert "What is the case id" not in done.stderr


@pytest.mark.parametrize(("output", "message"), [
    ("missing/c.yaml", "cannot write: the folder missing does not exist"),
    ("p.yaml", "is also an input"),
])
def test_consult_checks_its_output_before_the_first_question(tmp_path: Path, output: str, message: str) -> None:
    (tmp_path / "p.yaml").write_text(yaml.safe_dump({"consultation": {"answers": ["c1"]}}))
    done = _run(["consult", "--resume", "p.yaml", "-o", output, "--force"], "c1\n7\n", tmp_path)
    assert done.exit_code == 2 and message in done.stderr
    assert "What is the case id" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.yaml"]


def test_consult_refuses_a_folder_as_its_output(tmp_path: Path) -> None:
    done = _run(["consult", "-o", str(tmp_path)], "c1\n", tmp_path)
    assert done.exit_code == 2 and "is a directory" in done.stderr
    assert "What is the case id" not in done.stderr


# -- consult writes no case that recommend refuses -----------------------------------------------------
ANSWER_CHARACTERS = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())
NASTY = ["\x1b[31m", "\udcff", "a\udcffb", "a\x00b", "\u202eevil", "\x07", "\ufeff", "\u2028", "\x85",
         "#", "- x", "{a: 1}", "&a *a", "!!python/object:os.system", "'", '"', "\\", "null", "~", "yes",
         "1e400", "0x" + "f" * 300, "%YAML 1.1", "--- ", "...", "x" * 500, " c1 ", "G56.01", "Z99.9"]
HOSTILE = st.one_of(st.sampled_from(NASTY), st.text(ANSWER_CHARACTERS, max_size=40),
                    st.lists(st.sampled_from(NASTY), min_size=2, max_size=4).map("".join))


def _asking(answers: dict[str, list[str]], log: list[str]) -> Callable[[str], str]:
    """Answers by the start of the prompt (a queue each); else Enter, then the menu's first item."""
    def ask(prompt: str) -> str:
        again = bool(log) and log[-1] == prompt
        log.append(prompt)
        for start, queue in answers.items():
            if prompt.startswith(start) and queue:
                return queue.pop(0)
        return "1" if again else ""
    return ask


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case_id=HOSTILE, diagnosis=HOSTILE, medication=HOSTILE)
def test_no_answer_makes_consult_write_a_case_that_recommend_refuses(
        kb, tmp_path_factory: pytest.TempPathFactory, case_id: str, diagnosis: str, medication: str) -> None:
    said: list[str] = []
    log: list[str] = []
    lines = [a.replace("\n", " ").replace("\r", " ") for a in (case_id, diagnosis, medication)]  # one line each
    dialogue = ConsultationDialogue(kb, _asking({"What is the case id": [lines[0], "c1"],
                                                 "What is the diagnosis": [lines[1], "fibromyalgia"],
                                                 "Is there another diagnosis": ["", ""],
                                                 "Medications": [lines[2], ""]}, log), said.append)
    try:
        done = dialogue.run()
    except AnswerRepeated:
        pytest.fail(f"the interview gave up: {said[-3:]}")
    assert any(p.startswith("Medications") for p in log)       # the hostile medication was typed somewhere
    path = tmp_path_factory.mktemp("consult") / "case.yaml"
    path.write_text(done.yaml, encoding="utf-8")
    case = load_case(path, kb.vocabulary)                      # what `recommend` reads
    assert case == done.case
    assert plan_case(case, kb).plan.status == done.result.plan.status
    recommended = CliRunner().invoke(main, ["recommend", str(path)])
    assert recommended.exit_code == 0, recommended.output
    for answer in lines:                                       # a refused answer was said to be refused
        if any(c in answer for c in "\x00\x1b\x07\udcff\u202e"):
            assert answer not in done.yaml and answer not in dialogue.partial()["consultation"]["answers"]
    texts = partial_answers(yaml.safe_load(partial_yaml(dialogue.partial())), "p.yaml")
    assert texts == dialogue.cursor.texts                      # the answers as typed survive the partial file


def test_a_case_that_cannot_reach_a_closed_stdout_keeps_the_answers(tmp_path: Path) -> None:
    read, write = os.pipe()
    os.close(read)                                     # `medmassage consult | true`, true gone already
    try:
        done = subprocess.run([sys.executable, "-m", "medmassage_rules", "consult"], cwd=tmp_path, stdout=write,
                              input=("c8\n7\n" + "\n" * 80).encode(), stderr=subprocess.PIPE, timeout=120)
    finally:
        os.close(write)
    err = done.stderr.decode()
    assert done.returncode == 2 and err.count("error: ") == 1
    assert "error: standard output: cannot write: Broken pipe; the answers so far are in consult.partial.yaml;" in err
    answers = yaml.safe_load((tmp_path / "consult.partial.yaml").read_text())["consultation"]["answers"]
    assert answers[:2] == ["c8", "7"]
    resumed = _run(["consult", "--resume", "consult.partial.yaml"], "", tmp_path)   # every answer is there
    assert resumed.exit_code == 0 and yaml.safe_load(resumed.stdout)["id"] == "c8"


def test_ctrl_c_in_a_quiz_exits_130(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "medmassage_rules", "trace", str(P01), "--quiz"], cwd=tmp_path,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=ctrl_c_as_at_a_terminal)
    assert proc.stdout is not None
    seen = ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "your answer" not in seen:
        seen += proc.stdout.read(1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err.strip() == "interrupted"
