"""Hostile input: no crash, no lost file, no hang.

Every input here is generated in the test (nothing large lives in the repository). Each
class of attack ends in a clear one-line error and exit 2, or in a batch error row while
the batch goes on; outputs never destroy an input or an earlier result; and the planner
stays linear in the size of a case.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from medmassage_rules.batch.baseline import Comparison, Signature
from medmassage_rules.cases.loading import validate_case
from medmassage_rules.errors import CaseError, printable, shown
from medmassage_rules.files import reading as loaders
from medmassage_rules.planning.pipeline import plan_case
from medmassage_rules.render.markdown import inline

from ..conftest import FACTS, ROOT
from ..helpers import EXIT_INVALID, ctrl_c_as_at_a_terminal, invoke

P01 = FACTS / "p01-cts-mild-right.yaml"
NECK = {"diagnoses": [{"condition": "neck_pain"}]}


def _case(case_id: str, **extra: object) -> dict:
    return {"id": case_id, **NECK, **extra}


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _one_error_line(result) -> str:  # type: ignore[no-untyped-def]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == EXIT_INVALID, (result.exit_code, result.output)
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert "Traceback" not in result.output
    return lines[0]


def _cli(*args: str | Path, timeout: float = 60, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "medmassage_rules", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, **kwargs)  # type: ignore[call-overload]


# -- reading: special files, sizes, numbers, YAML --------------------------------------------------

@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_or_a_device_is_refused_without_reading(tmp_path: Path) -> None:
    fifo = tmp_path / "case.yaml"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.yaml"
    zero.symlink_to("/dev/zero")
    for path, kind in ((fifo, "pipe"), (zero, "device")):
        proc = _cli("recommend", path, timeout=30)  # blocked forever / read without end before
        assert proc.returncode == EXIT_INVALID and kind in proc.stderr and "Traceback" not in proc.stderr
    proc = _cli("batch", fifo, zero, P01, "--format", "json", timeout=60)  # a batch: error rows, and it goes on
    assert proc.returncode == 1 and json.loads(proc.stdout)["errors"] == 2, proc.stderr
    assert "no cases found" in _cli("batch", tmp_path, timeout=60).stderr  # a folder scan takes regular files only


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:
        handle.truncate(64 * 1024 * 1024)  # sparse: a read would allocate it all
    assert "larger than 1024 KiB" in _one_error_line(invoke("recommend", big))


def test_a_huge_integer_is_named_not_formatted(tmp_path: Path) -> None:
    case = tmp_path / "c.yaml"
    case.write_text("id: x\ndiagnoses: [{condition: neck_pain, onset_days: 0x" + "f" * 5000 + "}]\n")
    for fmt in ("text", "markdown"):
        line = _one_error_line(invoke("recommend", case, "--format", fmt))
        assert "onset_days" in line and "integer of about 6021 digits" in line
    assert shown(-(10 ** 5000)).startswith("an integer of about")
    decimal = tmp_path / "d.yaml"
    decimal.write_text("id: x\ndiagnoses: [{condition: neck_pain, onset_days: " + "9" * 5000 + "}]\n")
    assert "invalid YAML" in _one_error_line(invoke("recommend", decimal))


def test_libyaml_and_the_pure_loader_read_every_shipped_file_alike() -> None:
    files = sorted((ROOT / "rules").glob("*.yaml")) + sorted(FACTS.glob("*.yaml"))
    for path in files:
        text = path.read_text(encoding="utf-8")
        strict = loaders._StrictSafeLoader(text)
        try:
            assert loaders.parse_yaml(text) == strict.get_single_data(), path
        finally:
            strict.dispose()


@pytest.mark.parametrize("text, fragment", [
    ("id: &a x\ndiagnoses: *a\n", "anchors and aliases"),
    ("a: &a [1, 2]\nb: *a\n", "anchors and aliases"),
    ("id: x\nid: y\n", "duplicate key 'id'"),
    ("id: !!python/object/apply:os.system [ls]\n", "could not determine a constructor"),
    ("[" * 100_000, "nested too deeply"),
])
def test_yaml_hardening_holds(text: str, fragment: str) -> None:
    with pytest.raises(CaseError) as caught:
        loaders.parse_document(text, "c.yaml", ".yaml")
    assert fragment in str(caught.value)


@pytest.mark.skipif(getattr(loaders, "_CSafeLoader", None) is None, reason="PyYAML without libyaml")
def test_libyaml_refuses_a_shared_node() -> None:
    loader = loaders._StrictCSafeLoader("a: &x [1]\nb: *x\n")
    try:
        with pytest.raises(Exception, match="anchors and aliases"):
            loader.get_single_data()
    finally:
        loader.dispose()


def test_every_list_field_is_bounded_and_reported_once(vocab) -> None:  # type: ignore[no-untyped-def]
    floods = {"clearances": ["no_such_clearance"] * 200_000, "medications": ["x"] * 5000,
              "findings": [{"finding": "spasm"}] * 5000, "history": [{"item": "x"}] * 5000,
              "diagnoses": [{"condition": "x"}] * 5000,
              "prescription": {"modalities": ["x"] * 5000, "focus_areas": ["x"] * 5000,
                               "exclude_modalities": ["x"] * 5000}}
    for field, value in floods.items():
        with pytest.raises(CaseError) as caught:
            validate_case({**_case("flood"), field: value}, "c.json", vocab)
        problems = caught.value.problems
        assert len(problems) <= 3 and all(len(str(p)) < 400 for p in problems), (field, len(problems))


@pytest.mark.parametrize("expect, fragment", [
    ({"minutes": {"min": 30, "max": 15}}, "min 30 is more than max 15"),
    ({"status": []}, "at least 1 item"),
    ({"modalities": {"include_any": [[]]}}, "at least 1 item"),
])
def test_an_impossible_expectation_is_invalid_input(tmp_path: Path, expect: dict, fragment: str) -> None:
    case = tmp_path / "c.json"
    case.write_text(json.dumps(_case("x", expect=expect)))
    assert fragment in _one_error_line(invoke("recommend", case))


# -- printing: ids and names safe for the terminal, markdown and reports -------------------------------

def test_printable_escapes_what_would_drive_a_terminal() -> None:
    hostile = "a\x1b]0;owned\x07b\x9b2J\u202ec\udc80\nd"
    safe = printable(hostile, one_line=True)
    assert not any(ord(ch) < 0x20 or 0x7f <= ord(ch) <= 0x9f or 0xd800 <= ord(ch) <= 0xdfff for ch in safe)
    assert "\u202e" not in safe and safe.startswith("a\\x1b]0;owned\\x07b")


def test_the_markdown_handout_escapes_the_case_id(tmp_path: Path) -> None:
    case = tmp_path / "c.json"
    case.write_text(json.dumps(_case("<img src=x onerror=alert(1)>\n# injected [link](http://x)\x1b[2J")))
    result = invoke("recommend", case, "--format", "markdown")
    assert result.exit_code == 0, result.output
    first, *rest = result.stdout.splitlines()
    assert first.startswith("# Massage plan: &lt;img") and "\\# injected \\[link\\]" in first
    assert "<img" not in result.stdout and "\x1b" not in result.stdout
    assert not any(line.startswith("# injected") for line in rest)
    assert inline("a|b*c_d`e") == "a\\|b\\*c\\_d\\`e"


def test_text_output_carries_no_escape_sequence(tmp_path: Path) -> None:
    case = tmp_path / "c.json"
    case.write_text(json.dumps(_case("red\x1b[31m\x9b2J")))
    result = invoke("recommend", case)
    assert result.exit_code == 0 and "\x1b" not in result.stdout and "\x9b" not in result.stdout
    assert "red\\x1b[31m" in result.stdout


def _hostile_folder(folder: Path) -> Path:
    """Cases whose ids and names attack the report writer, the terminal and the JUnit file."""
    folder.mkdir()
    (folder / "ids.jsonl").write_text(
        '{"id": "lone\\ud800", "diagnoses": [{"condition": "neck_pain"}]}\n'
        '{"id": "esc\\u001b[31mred\\u009b", "diagnoses": [{"condition": "neck_pain"}]}\n'
        '{"id": "nul\\u0000byte", "diagnoses": [{"condition": "neck_pain"}]}\n'
        'not json at all\n', encoding="utf-8")
    with open(os.fsencode(folder) + b"/not-utf8-\xff.yaml", "wb") as handle:  # a name that is not UTF-8
        handle.write(P01.read_bytes().replace(b"id: p01-cts-mild-right", b"id: not-utf8-name"))
    (folder / "p01.yaml").write_bytes(P01.read_bytes())
    return folder


def test_a_hostile_batch_finishes_every_row_and_keeps_earlier_reports(tmp_path: Path) -> None:
    folder = _hostile_folder(tmp_path / "cases")
    out = tmp_path / "out"
    out.mkdir()
    report, junit = out / "report.jsonl", out / "junit.xml"
    report.write_text("earlier report\n")
    junit.write_text("earlier junit\n")
    # a bad --junit is found before anything is written: the earlier report is untouched
    assert invoke("batch", folder, "--report", report, "--junit", tmp_path / "missing" / "j.xml").exit_code == 2
    assert report.read_text() == "earlier report\n"
    result = invoke("batch", folder, "--report", report, "--junit", junit, "--format", "json")
    assert result.exit_code == 1, result.output
    assert "\x1b" not in result.stderr and "\x1b" not in result.stdout
    rows = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 6 == json.loads(result.stdout)["cases"]
    by_id = {r["case_id"]: r for r in rows}
    assert by_id["esc\x1b[31mred\x9b"]["plan"] is not None  # written as JSON escapes, read back exactly
    assert by_id["not-utf8-name"]["passed"] is True and "\udcff" in by_id["not-utf8-name"]["source"]
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and int(suite.get("tests", "0")) == 6
    assert not list(out.glob(".*.tmp"))


# -- outputs never destroy inputs ------------------------------------------------------------------

def test_an_output_is_never_an_input(tmp_path: Path) -> None:
    folder = tmp_path / "cases"
    folder.mkdir()
    case = folder / "p01.yaml"
    case.write_bytes(P01.read_bytes())
    lines = _jsonl(folder / "more.jsonl", [_case("one")])
    os.link(case, tmp_path / "hard-link.jsonl")
    before = {p: p.read_bytes() for p in (case, lines)}
    attempts = [
        ("batch", folder, "--report", folder / "more.jsonl"),       # a case file in a scanned folder
        ("batch", folder, "--junit", case),
        ("batch", folder, "--report", tmp_path / "hard-link.jsonl"),  # the same inode by another name
        ("batch", folder, "--report", tmp_path / "x.jsonl", "--junit", tmp_path / "." / "x.jsonl"),
        ("recommend", case, "-o", case),
        ("recommend", case, "-o", tmp_path / "hard-link.jsonl"),
    ]
    for args in attempts:
        line = _one_error_line(invoke(*args))
        assert "is also an input" in line or "is the same file as" in line, line
    assert {p: p.read_bytes() for p in before} == before
    assert not (tmp_path / "x.jsonl").exists()


def test_an_earlier_report_in_the_scanned_folder_is_replaced_not_read(tmp_path: Path) -> None:
    _jsonl(tmp_path / "c.jsonl", [_case("one")])
    report = tmp_path / "report.jsonl"
    for _ in range(2):
        result = invoke("batch", tmp_path, "--report", report, "--format", "json")
        assert result.exit_code == 0 and json.loads(result.stdout)["cases"] == 1


def test_a_full_disk_is_a_clean_error_and_the_earlier_output_survives(tmp_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    line = _one_error_line(invoke("batch", P01, "--report", "/dev/full"))
    assert "/dev/full: cannot write" in line
    out = tmp_path / "plan.txt"
    out.write_text("earlier plan\n")
    assert invoke("recommend", P01, "-o", out, "--format", "json").exit_code == 0
    assert json.loads(out.read_text())["case_id"] == "p01-cts-mild-right"
    assert "cannot write" in _one_error_line(invoke("recommend", P01, "-o", "/dev/full"))


def test_a_symlinked_output_replaces_its_target_not_the_link(tmp_path: Path) -> None:
    target = tmp_path / "target.jsonl"
    target.write_text("earlier\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(target.name)
    assert invoke("batch", P01, "--report", link).exit_code == 0
    assert link.is_symlink() and json.loads(target.read_text())["case_id"] == "p01-cts-mild-right"
    case = tmp_path / "case.yaml"
    case.write_bytes(P01.read_bytes())
    (tmp_path / "to-case.txt").symlink_to(case.name)
    assert "is also an input" in _one_error_line(invoke("recommend", case, "-o", tmp_path / "to-case.txt"))
    assert case.read_bytes() == P01.read_bytes()


# -- no hang ---------------------------------------------------------------------------------------

def _workers(pid: int) -> list[int]:
    """The worker processes of a batch: its children running the same command line."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                same = (entry / "cmdline").read_bytes() == Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid and same:
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to find the workers")
def test_a_killed_worker_does_not_hang_the_batch(tmp_path: Path) -> None:
    n = 3000  # enough work that a worker is still busy when the test finds it, however fast a case is
    cases = _jsonl(tmp_path / "c.jsonl", [_case(f"c{i}", expect={"status": "treat"}) for i in range(n)])
    report = tmp_path / "r.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "medmassage_rules", "batch", str(cases), "--jobs", "2",
                             "--report", str(report), "--format", "json"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    killed = False
    while time.monotonic() < deadline and proc.poll() is None and not killed:
        partial = list(tmp_path.glob(".r.jsonl.*.tmp"))
        workers = _workers(proc.pid)
        if len(workers) >= 2 and partial and partial[0].stat().st_size > 0:
            os.kill(workers[0], signal.SIGKILL)
            killed = True
        time.sleep(0.05)
    out, err = proc.communicate(timeout=240)
    assert killed, "the batch ended before a worker could be killed"
    assert proc.returncode in (0, 1), err
    summary = json.loads(out)
    rows = report.read_text().splitlines()
    assert summary["cases"] == len(rows) == n  # every row, in order
    assert [json.loads(r)["case_id"] for r in rows] == [f"c{i}" for i in range(n)]


def test_an_interrupted_batch_exits_130_and_keeps_the_earlier_outputs(tmp_path: Path) -> None:
    cases = _jsonl(tmp_path / "c.jsonl", [_case(f"c{i}") for i in range(3000)])
    report, junit = tmp_path / "r.jsonl", tmp_path / "j.xml"
    report.write_text("earlier\n")
    junit.write_text("earlier\n")
    proc = subprocess.Popen([sys.executable, "-m", "medmassage_rules", "batch", str(cases), "--report", str(report),
                             "--junit", str(junit), "--format", "json"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=ctrl_c_as_at_a_terminal)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(p.stat().st_size for p in tmp_path.glob(".r.jsonl.*.tmp")):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole process group
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted after" in err and "Traceback" not in err
    assert report.read_text() == "earlier\n" and junit.read_text() == "earlier\n"
    partial = (tmp_path / "r.jsonl.partial").read_text().splitlines()
    assert 0 < len(partial) == json.loads(out)["cases"] < 3000
    assert ET.parse(tmp_path / "j.xml.partial").getroot().tag == "testsuites"
    assert not list(tmp_path.glob(".*.tmp"))


def test_jobs_is_capped(tmp_path: Path) -> None:
    result = invoke("batch", P01, "--jobs", "100000", "--format", "json")
    assert result.exit_code == 0 and "note: --jobs 100000" in result.stderr
    assert json.loads(result.stdout)["jobs"] == 1  # and never more workers than case files


def _worst_case(diagnoses: int, trigger_points: int, vocab) -> dict:  # type: ignore[no-untyped-def]
    conditions = [c for c in ("neck_pain", "low_back_pain", "myofascial_pain_syndrome", "tension_type_headache",
                              "fibromyalgia") if c in vocab.conditions]
    targets = list(vocab.targets)
    return {"id": f"worst-{diagnoses}",
            "diagnoses": [{"condition": conditions[i % 3], "side": ("left", "right")[i % 2], "onset_days": 100 + i}
                          for i in range(diagnoses)],
            "findings": [{"finding": "trigger_point", "target": targets[i % len(targets)],
                          "side": ("left", "right")[(i // len(targets)) % 2]} for i in range(trigger_points)]}


@pytest.mark.slow  # large generated inputs
def test_planning_time_grows_linearly_with_the_worst_shape(kb) -> None:  # type: ignore[no-untyped-def]
    """Many diagnoses by many trigger points: the time per unit of work must not grow with the case.

    The work is the rule firings and the facts (the rules pair diagnoses with findings, so
    doubling both roughly quadruples the firings). Before conclusions were indexed by content,
    each repeated conclusion scanned every fact: per unit of work 50 x 200 cost 4.8 times what
    25 x 100 did (2.0 s against 0.15 s); with the index about 0.7 (0.32 s against 0.18 s).
    """
    def per_unit(diagnoses: int, points: int) -> float:
        case = validate_case(_worst_case(diagnoses, points, kb.vocabulary), "worst.json", kb.vocabulary)
        result = plan_case(case, kb)
        best = float("inf")
        for _ in range(5):  # the best of five: another process on the machine only ever slows a run
            start = time.perf_counter()
            plan_case(case, kb)
            best = min(best, time.perf_counter() - start)
        return best / (len(result.trace) + len(result.facts))

    small, large = per_unit(25, 100), per_unit(50, 200)
    assert large / small < 2.0, (small, large)


@pytest.mark.slow  # large generated inputs
def test_the_handout_of_the_worst_shape_grows_linearly(kb) -> None:  # type: ignore[no-untyped-def]
    """Explaining each modality looked at every node of the derivation graph for each finding:
    the markdown handout of 50 x 200 took 34 s against 4.3 s for 25 x 100; now 0.4 s and 0.1 s."""
    from medmassage_rules.render.markdown import render_markdown

    def per_unit(diagnoses: int, points: int) -> float:
        case = validate_case(_worst_case(diagnoses, points, kb.vocabulary), "worst.json", kb.vocabulary)
        result = plan_case(case, kb)
        start = time.perf_counter()
        render_markdown(result, kb)
        return (time.perf_counter() - start) / (len(result.trace) + len(result.facts))

    small, large = min(per_unit(25, 100) for _ in range(2)), min(per_unit(50, 200) for _ in range(2))
    assert large / small < 2.5, (small, large)


def test_twin_activations_bound_the_other_way_round_are_ordered_and_withdrawn_apart() -> None:
    from experta import Fact
    from experta.activation import Activation
    from experta.agenda import Agenda

    from medmassage_rules.engine.agenda import DeterministicStrategy

    class Rule:
        rule_id, salience, order = "r", 0, 1

    a, b = Fact(kind="a"), Fact(kind="b")
    a["__factid__"], b["__factid__"] = 1, 2

    def twins() -> list[Activation]:
        return [Activation(Rule, (a, b), {"f0": a, "f1": b}), Activation(Rule, (a, b), {"f0": b, "f1": a})]

    orders = []
    for added in (twins(), twins()[::-1]):  # the matcher hands them over in set order
        agenda = Agenda()
        DeterministicStrategy()._update_agenda(agenda, added, [])
        orders.append([act.context["f0"]["__factid__"] for act in agenda.activations])
    assert orders[0] == orders[1]
    agenda = Agenda()
    DeterministicStrategy()._update_agenda(agenda, twins(), [])
    DeterministicStrategy()._update_agenda(agenda, [], [twins()[0]])  # one withdrawn: its twin stays
    assert [act.context["f0"]["__factid__"] for act in agenda.activations] == [2]


# -- exit codes and the batch's edges ----------------------------------------------------------------

def test_an_empty_folder_is_an_error_not_a_green_run(tmp_path: Path) -> None:
    assert "no cases found in" in _one_error_line(invoke("batch", tmp_path))
    (tmp_path / "empty.jsonl").write_text("\n\n")
    assert "no cases found in" in _one_error_line(invoke("batch", tmp_path, "--report", tmp_path / "r.json"))
    assert not (tmp_path / "r.json").exists()


def test_lint_of_a_missing_folder_exits_2(tmp_path: Path) -> None:
    assert "no such knowledge-base folder" in _one_error_line(invoke("kb", "lint", "--rules", tmp_path / "nope"))


def test_a_baseline_that_is_a_case_names_the_baseline() -> None:
    assert "--baseline is not a batch report" in _one_error_line(invoke("batch", P01, "--baseline", P01))


def test_duplicate_and_invalid_rows_are_not_added_to_the_baseline_diff(tmp_path: Path) -> None:
    before = _jsonl(tmp_path / "before.jsonl", [])
    assert invoke("batch", _jsonl(tmp_path / "a.jsonl", [_case("one")]), "--report", before).exit_code == 0
    now = _jsonl(tmp_path / "b.jsonl", [_case("one"), _case("one"), _case("two"),
                                        {"id": "bad", "diagnoses": [{"condition": "nope"}]}])
    result = invoke("batch", now, "--baseline", before, "--format", "json")
    diff = json.loads(result.stdout)["baseline"]
    assert diff["added"] == ["two"] and diff["compared"] == 1 and diff["changed"] == []
    comparison = Comparison("b", {"gone": Signature("treat")})
    comparison.observe("gone", "x", Signature(None))  # a known case that became invalid has changed
    assert comparison.result().changed[0].differences[0][:2] == ("status", "treat")


# -- the package -----------------------------------------------------------------------------------

def test_importing_the_package_leaves_the_root_logger_to_the_host() -> None:
    code = ("import logging, medmassage_rules.planning.pipeline, medmassage_rules.engine.compiler\n"
            "assert logging.getLogger().handlers == [], logging.getLogger().handlers\n"
            "logging.basicConfig(level=logging.INFO, format='HOST %(message)s')\n"
            "logging.getLogger('host').info('configured')\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "HOST configured" in proc.stderr, proc.stderr


def test_python_dash_m_stdin_and_stdout(tmp_path: Path) -> None:
    proc = _cli("recommend", "-", "--format", "json", "-o", "-", input=P01.read_text())
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["case_id"] == "p01-cts-mild-right"
    proc = _cli("recommend", "-", input=json.dumps(_case("from-stdin")))
    assert proc.returncode == 0 and "from-stdin" in proc.stdout


@pytest.mark.parametrize("suffix, marker", [(".html", "<!DOCTYPE html>"), (".md", "# Massage plan: "),
                                            (".json", '"schema_version"'), (".txt", "Status: ")])
def test_the_format_follows_the_output_extension(tmp_path: Path, suffix: str, marker: str) -> None:
    out = tmp_path / f"plan{suffix}"
    assert invoke("recommend", P01, "-o", out).exit_code == 0
    assert marker in out.read_text(encoding="utf-8")
