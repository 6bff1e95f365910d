"""Streaming and scale: `batch -` on stdin, `--report -` on stdout, plan_records, and the Dask recipe (docs/ehr.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

import medmassage_rules
from medmassage_rules.batch import plan_records
from medmassage_rules.batch.records import plan_partition, process_knowledge_base
from medmassage_rules.cli import main

from ..conftest import ROOT
from ..helpers import invoke

CASES = sorted((ROOT / "facts").glob("p0*.yaml"))


def jsonl(tmp_path: Path, extra: tuple[str, ...] = ()) -> Path:
    """The public cases p01-p09 as one JSON Lines file (plus any extra raw lines)."""
    import yaml

    lines = [json.dumps(yaml.safe_load(p.read_text(encoding="utf-8")), default=str) for p in CASES]
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join([*lines, *extra]) + "\n", encoding="utf-8")
    return path


def rows_of(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def without_source(rows: list[dict]) -> list[dict]:
    """Rows with their source left out (and named nowhere else: an error message starts with it)."""
    out = []
    for row in rows:
        error = row["error"]
        out.append({**{k: v for k, v in row.items() if k != "source"},
                    "error": error.removeprefix(row["source"]) if error else error})
    return out


def batch_rows(path: Path, tmp_path: Path) -> list[dict]:
    report = tmp_path / "report.jsonl"
    invoke("batch", path, "--report", report)
    return rows_of(report.read_text(encoding="utf-8"))


def test_batch_on_stdin_writes_the_rows_of_batch_on_the_file(tmp_path: Path) -> None:
    path = jsonl(tmp_path, extra=('{"id": "broken", "diagnoses": []}',))
    streamed = CliRunner().invoke(main, ["batch", "-", "--report", "-"], input=path.read_text(encoding="utf-8"))
    assert streamed.exit_code == 1  # the broken case fails the batch, as it does from the file
    rows = rows_of(streamed.stdout)  # stdout holds the rows only; the summary is on stderr
    assert [r["source"] for r in rows] == [f"<stdin>:{n}" for n in range(1, len(CASES) + 2)]
    assert without_source(rows) == without_source(batch_rows(path, tmp_path))
    assert rows[-1]["plan"] is None and "diagnoses" in rows[-1]["error"]
    assert "passed" in streamed.stderr and "cases in" in streamed.stderr


def test_a_row_comes_out_before_stdin_ends(tmp_path: Path) -> None:
    first = jsonl(tmp_path).read_text(encoding="utf-8").splitlines()[0]
    with subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "batch", "-", "--report", "-"], cwd=ROOT,
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(first + "\n")
        proc.stdin.flush()
        row = json.loads(proc.stdout.readline())  # stdin still open: the case was planned as it came
        assert row["source"] == "<stdin>:1" and row["plan"]["case_id"] == CASES[0].stem
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0


def test_plan_records_gives_the_batch_rows_and_reuses_the_process_knowledge_base(tmp_path: Path) -> None:
    path = jsonl(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    rows = list(medmassage_rules.plan_records(lines))
    assert medmassage_rules.plan_records is plan_records
    assert without_source(rows) == without_source(batch_rows(path, tmp_path))
    assert [r["source"] for r in rows] == [f"<records>:{n}" for n in range(1, len(lines) + 1)]
    parsed = list(plan_records([json.loads(line) for line in lines], source="mine", start=5))
    assert [r["plan"] for r in parsed] == [r["plan"] for r in rows] and parsed[0]["source"] == "mine:5"
    assert process_knowledge_base() is process_knowledge_base()


def test_the_dask_recipe_gives_the_batch_rows(tmp_path: Path) -> None:
    import dask
    import dask.bag as db

    path = jsonl(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    parts = []
    for i in range(0, len(lines), 4):  # three JSON Lines partitions
        part = tmp_path / f"part-{i // 4}.jsonl"
        part.write_text("\n".join(lines[i:i + 4]) + "\n", encoding="utf-8")
        parts.append(str(part))
    bag = db.read_text(parts).map_partitions(plan_partition)
    with dask.config.set(scheduler="processes", num_workers=2):
        rows = bag.compute()
    assert bag.npartitions == 3
    assert without_source(rows) == without_source(batch_rows(path, tmp_path))
