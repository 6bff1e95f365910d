"""One output guard for every command that writes: an output never replaces an input (a case,
a baseline, any file of the --rules folder; by inode, so through links too), and a partial
output kept after an interruption never replaces an existing file."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from medmassage_rules.cli import run
from medmassage_rules.files.guard import forget_inputs, note_input
from medmassage_rules.files.writing import OutputFile

from ..conftest import FACTS, ROOT
from ..helpers import EXIT_INVALID

P01 = FACTS / "p01-cts-mild-right.yaml"


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    return Path(shutil.copytree(ROOT / "rules", tmp_path / "K"))


def _refused(capsys: pytest.CaptureFixture[str], args: list[str], victim: Path) -> None:
    before = victim.read_bytes()
    assert run(args) == EXIT_INVALID
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is also an input" in err and "Traceback" not in err, err
    assert victim.read_bytes() == before


@pytest.mark.parametrize("name", ["conditions.yaml", "vocabulary.yaml", "references.yaml", "intake/snomed-map.yaml"])
def test_no_command_writes_over_a_file_of_its_knowledge_base(kb: Path, name: str,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    victim = kb / name
    _refused(capsys, ["recommend", str(P01), "--rules", str(kb), "-o", str(victim)], victim)
    _refused(capsys, ["kb", "graph", "--rules", str(kb), "-o", str(victim)], victim)
    _refused(capsys, ["batch", str(P01), "--rules", str(kb), "--report", str(victim)], victim)


def test_a_link_to_an_input_is_the_input(kb: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    soft, hard = tmp_path / "soft.yaml", tmp_path / "hard.yaml"
    soft.symlink_to(kb / "red-flags.yaml")
    os.link(kb / "findings.yaml", hard)
    _refused(capsys, ["kb", "graph", "--rules", str(kb), "-o", str(soft)], kb / "red-flags.yaml")
    _refused(capsys, ["kb", "graph", "--rules", str(kb), "-o", str(hard)], kb / "findings.yaml")


def test_the_baseline_is_an_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = tmp_path / "base.jsonl"
    assert run(["batch", str(P01), "--report", str(base)]) == 0
    capsys.readouterr()
    _refused(capsys, ["batch", str(P01), "--baseline", str(base), "--junit", str(base)], base)


def test_an_output_of_another_command_line_is_not_an_input(tmp_path: Path) -> None:
    """Each command line guards its own inputs: what an earlier run read may be written now."""
    case = tmp_path / "case.yaml"
    shutil.copy(P01, case)
    assert run(["recommend", str(case)]) == 0
    out = tmp_path / "plan.txt"
    assert run(["recommend", str(P01), "-o", str(out)]) == 0 and out.read_text().strip()


def test_a_partial_output_never_replaces_a_file(tmp_path: Path) -> None:
    forget_inputs()
    target = tmp_path / "r.jsonl"
    for earlier in ("r.jsonl.partial", "r.jsonl.partial.1"):
        (tmp_path / earlier).write_text(f"{earlier} as it was\n")
    out = OutputFile(target)
    out.open().write("row\n")
    kept = out.keep_as(".partial")
    assert kept == tmp_path / "r.jsonl.partial.2" and kept.read_text() == "row\n"
    assert (tmp_path / "r.jsonl.partial").read_text() == "r.jsonl.partial as it was\n"
    assert (tmp_path / "r.jsonl.partial.1").read_text() == "r.jsonl.partial.1 as it was\n"
    assert not target.exists() and not list(tmp_path.glob(".*.tmp"))


def test_an_output_file_refuses_a_file_read_in_this_command(tmp_path: Path) -> None:
    forget_inputs()
    read = tmp_path / "in.yaml"
    read.write_text("kept\n")
    note_input(read)
    with pytest.raises(Exception, match="is also an input"):
        OutputFile(read).open()
    assert read.read_text() == "kept\n"
    forget_inputs()
