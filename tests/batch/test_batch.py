"""`medmassage batch` (contract §3-§4): rows for every case, exit codes, jobs, JUnit, baseline, metrics."""

from __future__ import annotations

import json
import shutil
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medmassage_rules.batch.case_ids import FirstSeen, Sources
from medmassage_rules.batch.metrics import Judgement
from medmassage_rules.batch.runner import run_batch
from medmassage_rules.batch.summary import Tally
from medmassage_rules.cases.loading import iter_cases
from medmassage_rules.errors import Problem
from medmassage_rules.kb.loading import load_knowledge_base
from medmassage_rules.planning.pipeline import plan_case

from ..conftest import FACTS, ROOT
from ..helpers import EXIT_INVALID, assert_plan_shape, invoke
from ..planning.test_properties import assert_invariants
from ..strategies import case_dicts

ROW_KEYS = {"case_id", "source", "passed", "error", "failures", "plan", "rules"}
P01 = FACTS / "p01-cts-mild-right.yaml"

BAD_YAML = """\
id: bad-condition
diagnoses:
  - condition: carpal_tunel
"""


def _case(case_id: str, condition: str = "neck_pain", **extra: object) -> dict:
    return {"id": case_id, "diagnoses": [{"condition": condition}], **extra}


def _write_jsonl(path: Path, lines: list[dict | str]) -> Path:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    """A folder of good and bad inputs: a valid YAML, an invalid YAML, a JSON Lines file with one bad line."""
    folder = tmp_path / "cases"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(P01, folder / "a-valid.yaml")
    (folder / "sub" / "b-invalid.yaml").write_text(BAD_YAML)
    _write_jsonl(folder / "c-lines.jsonl", [
        _case("line-ok", expect={"status": "treat_with_precautions"}),  # neck pain: SCM capped (v2.1 §4.2)
        {"id": "line-bad", "diagnoses": [{"side": "left"}]},       # diagnoses[0].condition is missing
        "",                                                         # blank lines are skipped
        _case("line-no-expect"),
    ])
    (folder / "notes.txt").write_text("not a case: not picked from a folder")
    return folder


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_mixed_inputs_give_a_row_for_every_case_and_exit_1(mixed: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.jsonl"
    result = invoke("batch", mixed, "--report", report)
    assert result.exit_code == 1, result.output
    rows = _rows(report)
    assert [r["source"] for r in rows] == [
        str(mixed / "a-valid.yaml"), f"{mixed / 'c-lines.jsonl'}:1", f"{mixed / 'c-lines.jsonl'}:2",
        f"{mixed / 'c-lines.jsonl'}:4", str(mixed / "sub" / "b-invalid.yaml")]
    by_id = {r["case_id"]: r for r in rows}
    assert by_id["p01-cts-mild-right"]["passed"] is True
    assert by_id["line-ok"]["passed"] is True
    assert by_id["line-no-expect"]["passed"] is None and by_id["line-no-expect"]["plan"] is not None
    for case_id, field in (("line-bad", "diagnoses[0].condition"), ("bad-condition", "diagnoses[0].condition")):
        row = by_id[case_id]
        assert row["plan"] is None and row["passed"] is False and row["failures"] == []
        assert field in row["error"], row["error"]
    assert "'carpal_tunel'" in by_id["bad-condition"]["error"]
    # each invalid case is also reported on stderr, one line per problem, and the summary counts it
    assert "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.startswith("error: ")]) == 2
    assert "errors (invalid)             2" in result.stdout
    assert "without expectations         1" in result.stdout


def test_report_rows_match_the_contract(mixed: Path, tmp_path: Path, vocab) -> None:
    report = tmp_path / "report.jsonl"
    invoke("batch", mixed, FACTS, "--report", report)
    rows = _rows(report)
    assert len(rows) > 20
    for row in rows:
        assert set(row) == ROW_KEYS
        assert isinstance(row["source"], str) and isinstance(row["failures"], list)
        if row["plan"] is None:
            assert isinstance(row["error"], str) and row["passed"] is False
        else:
            assert row["error"] is None and row["passed"] in (True, False, None)
            assert row["plan"]["case_id"] == row["case_id"]
            assert_plan_shape(row["plan"], vocab)
            assert (row["passed"] is False) == bool(row["failures"])


def test_jobs_1_and_jobs_2_write_identical_reports(mixed: Path, tmp_path: Path) -> None:
    reports = []
    for jobs in ("1", "2"):
        report = tmp_path / f"report-{jobs}.jsonl"
        result = invoke("batch", mixed, FACTS, "--jobs", jobs, "--report", report, "--format", "json")
        assert result.exit_code == 1
        summary = json.loads(result.stdout)
        assert summary["jobs"] == int(jobs)
        reports.append(report.read_bytes())
    assert reports[0] == reports[1]


def test_junit_parses_and_its_counts_match_the_rows(mixed: Path, tmp_path: Path) -> None:
    failing = tmp_path / "failing.yaml"
    failing.write_text(P01.read_text().replace("id: p01-cts-mild-right", "id: failing")
                       .replace("status: treat", "status: treat_with_precautions"))
    report, junit = tmp_path / "report.jsonl", tmp_path / "junit.xml"
    invoke("batch", mixed, failing, "--report", report, "--junit", junit)
    rows = _rows(report)
    root = ET.parse(junit).getroot()
    suite = root.find("testsuite")
    assert root.tag == "testsuites" and suite is not None
    cases = suite.findall("testcase")
    assert len(cases) == int(suite.get("tests")) == len(rows)
    errors = [r for r in rows if r["error"] is not None]
    failed = [r for r in rows if r["passed"] is False and r["error"] is None]
    skipped = [r for r in rows if r["passed"] is None]
    assert int(suite.get("errors")) == len(errors) == len(suite.findall("testcase/error")) == 2
    assert int(suite.get("failures")) == len(failed) == len(suite.findall("testcase/failure")) == 1
    assert int(suite.get("skipped")) == len(skipped) == len(suite.findall("testcase/skipped")) == 1
    failure = suite.find("testcase[@name='failing']/failure")
    assert failure is not None and "status: expected treat_with_precautions, plan has treat" in failure.get("message")
    # CI tools split a classname on its last dot into package and class: folders, then the file
    classname = suite.find("testcase[@name='failing']").get("classname")
    assert classname.rpartition(".")[2] == "failing_yaml"
    assert classname.rpartition(".")[0] == ".".join(p for p in failing.parent.parts if p != "/")
    line_case = suite.find("testcase[@name='line-ok']")
    assert line_case.get("classname").rpartition(".")[2] == "c-lines_jsonl"  # the file, not file:line


def test_a_failing_expectation_exits_1_and_is_grouped_by_kind(tmp_path: Path) -> None:
    cases = _write_jsonl(tmp_path / "c.jsonl", [
        _case("wrong-status", expect={"status": "refer", "minutes": {"min": 0, "max": 0}}),
        _case("wrong-modality", "carpal_tunnel_syndrome",
              expect={"modalities": {"include": ["manual_lymphatic_drainage"], "exclude": ["myofascial_release"]}}),
    ])
    result = invoke("batch", cases, "--format", "json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert (summary["passed"], summary["failed"], summary["errors"]) == (0, 2, 0)
    assert summary["failures_by_kind"] == {"minutes": 1, "modalities.exclude": 1, "modalities.include": 1,
                                           "status": 1}
    assert summary["metrics"]["status_agreement"] == {"hits": 0, "total": 1, "value": 0.0}
    assert summary["metrics"]["minutes_within_range"]["value"] == 0.0
    scores = {m["modality"]: m for m in summary["metrics"]["modalities"]}
    assert scores["manual_lymphatic_drainage"]["fn"] == 1 and scores["manual_lymphatic_drainage"]["recall"] == 0.0
    assert scores["myofascial_release"]["fp"] == 1 and scores["myofascial_release"]["precision"] == 0.0
    assert [p["case_id"] for p in summary["problems"]] == ["wrong-status", "wrong-modality"]


def test_precision_and_recall_are_counted_from_include_and_exclude() -> None:
    tally = Tally()
    outcomes = [  # (modality, expected positive, recommended)
        Judgement(status_agrees=True, modalities=(("swedish", True, True), ("deep_tissue", False, False))),
        Judgement(status_agrees=False, modalities=(("swedish", True, False), ("deep_tissue", False, True))),
        Judgement(minutes_within=True, modalities=(("swedish", False, True),)),
    ]
    for judgement in outcomes:
        tally.add(_Outcome(judgement))
    summary = tally.summary(baseline=None, jobs=1, seconds=1.0)
    swedish, deep = (next(m for m in summary.modalities if m.modality == name) for name in ("swedish", "deep_tissue"))
    assert (swedish.tp, swedish.fp, swedish.fn, swedish.tn) == (1, 1, 1, 0)
    assert swedish.precision == 0.5 and swedish.recall == 0.5
    assert (deep.tp, deep.fp, deep.fn, deep.tn) == (0, 1, 0, 1)
    assert deep.precision == 0.0 and deep.recall is None  # never expected: recall has nothing to count
    assert (summary.status_agreement.hits, summary.status_agreement.total) == (1, 2)
    assert summary.minutes_within_range.value == 1.0


class _Outcome:
    """The part of a CaseOutcome that the tally reads, for a valid passing case."""

    def __init__(self, judgement: Judgement):
        self.judgement, self.error, self.passed, self.failures = judgement, None, True, ()
        self.case_id, self.source = "x", "x"


def test_a_repeated_case_id_is_an_error_row_naming_the_first(tmp_path: Path) -> None:
    report = tmp_path / "report.jsonl"
    result = invoke("batch", P01, P01, "--report", report)
    assert result.exit_code == 1
    first, second = _rows(report)
    assert first["passed"] is True
    assert second["plan"] is None and second["case_id"] == "p01-cts-mild-right"
    assert f"duplicate case id within the batch (first at {P01})" in second["error"]


def test_a_repeated_id_in_json_lines_names_the_first_line(tmp_path: Path) -> None:
    cases = _write_jsonl(tmp_path / "c.jsonl", [_case("same"), _case("other"), _case("same")])
    report = tmp_path / "report.jsonl"
    invoke("batch", cases, "--report", report)
    rows = _rows(report)
    assert [r["error"] is None for r in rows] == [True, True, False]
    assert f"(first at {cases}:1)" in rows[2]["error"]


def test_the_id_index_remembers_every_id_and_where_it_was_first(tmp_path: Path) -> None:
    files = [tmp_path / "a.jsonl", tmp_path / "b:2.yaml", tmp_path / "c:3.jsonl"]
    sources = Sources(files)
    seen = FirstSeen(capacity=4)  # grows many times on the way
    where = [f"{files[i % 3]}:{i + 1}" if i % 3 != 1 else str(files[1]) for i in range(3000)]
    assert all(seen.add(f"id-{i}", sources.pack(w)) is None for i, w in enumerate(where))
    assert len(seen) == 3000
    assert [sources.unpack(seen.add(f"id-{i}", 0)) for i in range(3000)] == where
    assert seen.add("\udcff not utf-8", 1) is None  # any str, even a lone surrogate from JSON


def test_rows_are_written_and_flushed_as_each_case_finishes(tmp_path: Path, kb) -> None:
    cases = _write_jsonl(tmp_path / "c.jsonl", [_case(f"c{i}") for i in range(5)])
    report = tmp_path / "report.jsonl"
    seen: list[tuple[str, int]] = []

    def rows_so_far() -> int:  # the report grows under a temporary name beside it until the batch ends
        (partial,) = tmp_path.glob(".report.jsonl.*.tmp")
        return len(partial.read_text().splitlines())

    run_batch([cases], kb, report=report, on_case=lambda o: seen.append((o.case_id, rows_so_far())))
    assert seen == [(f"c{i}", i + 1) for i in range(5)]
    assert len(report.read_text().splitlines()) == 5 and not list(tmp_path.glob("*.tmp"))


def test_every_public_case_in_facts_passes() -> None:
    result = invoke("batch", FACTS)
    assert result.exit_code == 0, result.stdout
    assert result.stderr == ""  # no progress bar when stderr is not a terminal
    summary = json.loads(invoke("batch", FACTS, "--format", "json").stdout)
    assert summary["cases"] == summary["passed"] > 15
    assert summary["failed"] == summary["errors"] == 0


@pytest.mark.parametrize("args", [
    ("batch", "no/such/folder"),
    ("batch", str(FACTS), "--jobs", "0"),
    ("batch", str(FACTS), "--format", "xml"),
    ("batch", str(FACTS), "--rules", "no/such/rules"),
    ("batch",),
])
def test_an_invalid_invocation_exits_2(args: tuple[str, ...]) -> None:
    result = invoke(*args)
    assert result.exit_code == EXIT_INVALID, result.output
    assert "Traceback" not in result.output


def test_outputs_never_overwrite_or_join_the_inputs(tmp_path: Path) -> None:
    cases = _write_jsonl(tmp_path / "c.jsonl", [_case("one")])
    result = invoke("batch", cases, "--report", cases)
    assert result.exit_code == EXIT_INVALID and "is also an input" in result.stderr
    assert "one" in cases.read_text()
    report = tmp_path / "report.jsonl"
    for _ in range(2):  # the second run finds the first one's report in the folder, and leaves it out
        result = invoke("batch", tmp_path, "--report", report, "--format", "json")
        assert result.exit_code == 0 and json.loads(result.stdout)["cases"] == 1


def test_a_baseline_that_is_not_a_report_exits_2(tmp_path: Path) -> None:
    result = invoke("batch", P01, "--baseline", P01)
    assert result.exit_code == EXIT_INVALID
    assert f"error: {P01}:1: " in result.stderr


def test_baseline_lists_what_a_rule_edit_changed(tmp_path: Path) -> None:
    before = tmp_path / "before.jsonl"
    assert invoke("batch", FACTS, "--report", before).exit_code == 0
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    conditions = rules / "conditions.yaml"
    text = conditions.read_text()
    edited = "ids: [forearm_flexors, flexor_retinaculum]"
    conditions.write_text(text.replace("ids: [forearm_flexors, pronator_teres, flexor_retinaculum]", edited, 1))
    assert edited in conditions.read_text()

    result = invoke("batch", FACTS, "--rules", rules, "--baseline", before, "--format", "json")
    diff = json.loads(result.stdout)["baseline"]

    old_kb, new_kb = load_knowledge_base(), load_knowledge_base(rules)
    expected = set()
    for path in sorted([*FACTS.glob("*.yaml"), *FACTS.glob("*.jsonl")]):  # single cases and JSON Lines
        for loaded in iter_cases(path, old_kb.vocabulary):
            assert loaded.case is not None, loaded.error
            targets = [{t.id for t in plan_case(loaded.case, kb).plan.targets} for kb in (old_kb, new_kb)]
            if targets[0] != targets[1]:
                expected.add(loaded.case.id)
    assert "p01-cts-mild-right" in expected
    assert {c["case_id"] for c in diff["changed"]} == expected
    p01 = next(c for c in diff["changed"] if c["case_id"] == "p01-cts-mild-right")
    assert "pronator_teres" in p01["changes"]["targets"]["before"]
    assert "pronator_teres" not in p01["changes"]["targets"]["after"]
    assert diff["added"] == [] and diff["removed"] == []
    assert result.exit_code == 1  # p01 expects pronator_teres among its targets


def test_baseline_lists_added_and_removed_cases(tmp_path: Path) -> None:
    before = tmp_path / "before.jsonl"
    invoke("batch", _write_jsonl(tmp_path / "a.jsonl", [_case("kept"), _case("gone")]), "--report", before)
    result = invoke("batch", _write_jsonl(tmp_path / "b.jsonl", [_case("kept"), _case("new")]),
                    "--baseline", before)
    assert result.exit_code == 0
    assert "1 cases matched, 0 changed, 1 added, 1 removed" in result.stdout
    assert "added    new" in result.stdout and "removed  gone" in result.stdout


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases=st.lists(case_dicts(), min_size=1, max_size=12))
def test_generated_cases_through_batch_satisfy_the_plan_invariants(cases: list[dict], kb) -> None:
    cases = [{**case, "id": f"gen-{i}"} for i, case in enumerate(cases)]
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.jsonl"
        summary = run_batch([_write_jsonl(Path(tmp) / "gen.jsonl", cases)], kb, report=report)
        rows = _rows(report)
    assert summary.errors == 0 and summary.cases == len(cases) == len(rows)
    for case, row in zip(cases, rows, strict=True):
        assert row["error"] is None and row["passed"] is None
        assert row["plan"] == assert_invariants(case)  # the plan batch wrote keeps every invariant of §2


# -- problems in rows: each a Problem with a code, the row's error text their lines joined ---------------------

def test_every_problem_of_an_error_row_carries_a_code(tmp_path: Path, kb) -> None:  # type: ignore[no-untyped-def]
    cases = _write_jsonl(tmp_path / "c.jsonl", [
        _case("ok"), "{not json", _case("ok"), _case("bad-id", condition="neck_pian"),
        _case("impossible", expect={"minutes": {"min": 40, "max": 20}}), "[1, 2]"])
    (tmp_path / "d.yaml").write_bytes(b"\xff\xfe")
    wanted = [(), ("invalid_json",), ("duplicate_id",), ("unknown_id",), ("impossible_expectation",),
              ("not_a_mapping",), ("not_utf8",)]
    rows_by_jobs = []
    for jobs in (1, 2):
        seen: list = []  # type: ignore[type-arg]
        report = tmp_path / f"report-{jobs}.jsonl"
        run_batch([cases, tmp_path / "d.yaml"], kb, jobs=jobs, report=report, on_case=seen.append)
        assert [tuple(p.code for p in o.problems) for o in seen] == wanted, jobs
        rows = _rows(report)
        for outcome, row in zip(seen, rows, strict=True):
            assert all(isinstance(p, Problem) and p.source == outcome.source for p in outcome.problems)
            assert row["error"] == ("; ".join(str(p) for p in outcome.problems) or None)
        assert not seen[1].problems[0].has_value and seen[2].problems[0].value == "ok"
        rows_by_jobs.append(rows)
    assert rows_by_jobs[0] == rows_by_jobs[1]


def test_a_case_the_planner_fails_on_is_an_internal_error_row(tmp_path: Path, kb, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def broken(case: object, kb: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("medmassage_rules.batch.outcomes.plan_case", broken)
    seen: list = []  # type: ignore[type-arg]
    run_batch([_write_jsonl(tmp_path / "c.jsonl", [_case("x")])], kb, on_case=seen.append)
    (problem,) = seen[0].problems
    assert problem.code == "internal_error"
    assert str(problem) == f"{tmp_path / 'c.jsonl'}:1: internal error while planning: RuntimeError: boom"
