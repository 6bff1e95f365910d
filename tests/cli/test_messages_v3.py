"""Messages, third round: a huge id is named cut, a JUnit write error names its file, a huge
medication text is matched in bounded time, and every command into a closed standard output
exits 2 with one line."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from medmassage_rules.batch import junit
from medmassage_rules.cli import run
from medmassage_rules.cli.console import EXIT_INVALID
from medmassage_rules.intake.medications import MAX_NAME, classify, name_keys

from ..conftest import FACTS, ROOT

P01 = str(FACTS / "p01-cts-mild-right.yaml")


def _run(*args: str, stdout: io.StringIO | None = None) -> tuple[int, str, str]:
    out, err = stdout if stdout is not None else io.StringIO(), io.StringIO()
    code = run(list(args), stdout=out, stderr=err)
    return code, out.getvalue() if stdout is None else "", err.getvalue()


# -- explain: a 100 kB id ------------------------------------------------------------------------------
@pytest.mark.parametrize("option", ["--why", "--why-not"])
def test_explain_names_a_huge_id_cut_with_its_length(option: str) -> None:
    huge = "deep_tissue" + "x" * 100_000
    code, out, err = _run("explain", P01, option, huge)
    assert (code, out) == (EXIT_INVALID, "")
    assert err.count("\n") == 1 and len(err) < 300, err[:400]
    assert err.startswith("error: unknown modality, target or area id 'deep_tissuexxx")
    assert err.rstrip().endswith(f"an id is at most 200 characters (got {len(huge)})")


def test_explain_escapes_control_characters_of_an_unknown_id() -> None:
    code, _, err = _run("explain", P01, "--why", "\x1b[31mred\x07")
    assert code == EXIT_INVALID and "\x1b" not in err and "\x07" not in err and err.count("\n") == 1


# -- a JUnit write error names the file -----------------------------------------------------------------
def test_a_junit_file_that_cannot_be_written_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*args: object, **kwargs: object) -> object:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(junit.tempfile, "TemporaryFile", full)   # the test cases' temporary file: a full disk
    target = tmp_path / "junit.xml"
    code, _, err = _run("batch", P01, "--junit", str(target))
    assert code == EXIT_INVALID
    assert err == f"error: {target}: cannot write: No space left on device\n"
    assert list(tmp_path.iterdir()) == []                          # no temporary file left


def test_a_junit_writer_names_its_file_when_a_write_fails() -> None:
    class Full(io.BytesIO):
        def write(self, data: object) -> int:
            raise OSError(28, "No space left on device")

    with junit.JUnitWriter(Full(), "reports/junit.xml") as writer:
        writer.add("c1", "facts.c1_yaml", passed=True, error=None, failures=())
        with pytest.raises(OSError) as raised:
            writer.finish(0.1)
    assert raised.value.filename == "reports/junit.xml" and raised.value.strerror == "No space left on device"


# -- a megabyte of medication text -----------------------------------------------------------------------
HUGE_NAMES = ["x " * 300_000 + "hcl " * 100_000, "a/" * 500_000, "warfarin " + "5 " * 500_000]


@pytest.mark.parametrize("name", HUGE_NAMES, ids=["suffixes", "combination", "doses"])
def test_a_megabyte_medication_text_is_matched_at_once(vocab, name: str) -> None:
    started = time.perf_counter()
    classify(name, None, None, vocab)
    assert time.perf_counter() - started < 2            # was 40 s for the first: suffixes stripped one by one
    assert all(len(key) <= MAX_NAME for key in name_keys(name))


def test_the_cut_keeps_what_a_name_of_the_case_model_can_be(vocab) -> None:
    assert classify("Warfarin 5 mg tablet", None, None, vocab) == (("anticoagulant",), True)
    assert name_keys("w" * 150 + " hcl " + "x" * 300)[0] == "w" * 150 + " hcl " + "x" * (MAX_NAME - 155)


def test_a_case_with_a_megabyte_medication_is_refused_at_once(tmp_path: Path) -> None:
    case = tmp_path / "big.yaml"
    case.write_text(yaml.safe_dump({"id": "m1", "diagnoses": [{"condition": "fibromyalgia"}],
                                    "medications": [HUGE_NAMES[0]]}))
    started = time.perf_counter()
    code, out, err = _run("recommend", str(case))
    assert time.perf_counter() - started < 5
    assert (code, out) == (EXIT_INVALID, "") and err.count("\n") == 1 and "medications[0]" in err


# -- a closed standard output ------------------------------------------------------------------------------
class _Closed(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


@pytest.mark.parametrize("args", [
    ["kb", "lint"], ["kb", "graph"], ["schema"], ["recommend", P01], ["recommend", P01, "--format", "json"],
    ["explain", P01, "--why", "status"], ["trace", P01], ["batch", P01], ["--help"], ["--version"],
    ["recommend", "--help"], ["kb", "lint", "--help"],
], ids=lambda args: " ".join(a if "/" not in a else "CASE" for a in args))
def test_every_command_into_a_closed_stdout_exits_2_with_one_line(args: list[str]) -> None:
    code, _, err = _run(*args, stdout=_Closed())
    assert code == EXIT_INVALID
    assert err == "error: standard output: cannot write: Broken pipe\n"


@pytest.mark.parametrize("args", [["kb", "lint"], ["--help"]])
def test_a_closed_pipe_as_a_shell_makes_it(args: list[str]) -> None:
    read, write = os.pipe()
    os.close(read)                                        # `medmassage kb lint | true` when true has exited
    try:
        done = subprocess.run([sys.executable, "-m", "medmassage_rules", *args], cwd=ROOT, stdout=write,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=120)
    finally:
        os.close(write)
    assert done.returncode == EXIT_INVALID
    assert done.stderr.decode() == "error: standard output: cannot write: Broken pipe\n"
