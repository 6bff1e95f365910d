"""A batch's inputs: case files and folders expanded in sorted order, one task per case.

``-`` names standard input: JSON Lines cases read line by line as they come (a line over the
size limit of a case is cut and refused as a case file's would be); its rows have the source
``<stdin>:N``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import CaseError, Problem
from ..files.reading import (
    CASE_SUFFIXES,
    JSONL_SUFFIXES,
    MAX_CASE_BYTES,
    iter_raw_lines,
    open_regular,
)

STDIN = "-"               # the PATH that names standard input (JSON Lines)
STDIN_SOURCE = "<stdin>"


def is_stdin(path: str | Path) -> bool:
    return str(path) == STDIN


@dataclass(frozen=True)
class Task:
    """One case to evaluate: a case file to read, or one raw line of a JSON Lines file."""

    source: str
    path: str | None = None
    line: bytes | None = None
    number: int = 0
    problems: tuple[Problem, ...] = ()  # why the input could not even be read


def expand_inputs(paths: Iterable[str | Path], skip: Iterable[str | Path] = ()) -> list[Path]:
    """The case files named by PATHs: files as given, folders searched recursively in sorted order.

    ``skip`` names files never taken from a folder (an earlier report of this batch, say). A
    PATH that does not exist is an invalid invocation, and so is a set of PATHs holding no
    case file at all: a CaseError before anything runs.
    """
    skipped = {Path(p).resolve() for p in skip}
    files: list[Path] = []
    missing: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        if is_stdin(raw):
            if all(not is_stdin(f) for f in files):
                files.append(path)
        elif path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix.lower() in CASE_SUFFIXES
                            and p.is_file() and p.resolve() not in skipped)
        elif path.exists():
            files.append(path)
        else:
            missing.append(Problem(str(path), "", "not_found", "no such file or folder"))
    if missing:
        raise CaseError(missing)
    if not files:
        raise no_cases_error(paths)
    return files


def no_cases_error(paths: Iterable[str | Path]) -> CaseError:
    named = ", ".join(str(p) for p in paths)
    return CaseError([Problem(named, "", "no_cases", "no cases found in " + named +
                              " (a folder is searched for .yaml, .yml, .json and .jsonl files)")])


def is_earlier_output(path: Path) -> bool:
    """Whether an existing file is an earlier batch output (a report or JUnit file) or empty:
    one a folder scan leaves out, and that a new run may replace."""
    try:
        handle, size = open_regular(path, is_input=False)
    except CaseError:
        return False
    with handle:
        if size == 0:
            return True
        head = handle.readline(MAX_CASE_BYTES)
        if head.lstrip().startswith(b"<?xml"):
            return b"<testsuites" in head + handle.read(512)
    try:
        row = json.loads(head)
    except ValueError:
        return False
    return isinstance(row, dict) and {"case_id", "source", "passed", "error", "failures", "plan"} <= row.keys()


def iter_tasks(files: Iterable[Path]) -> Iterator[Task]:
    """One task per case, streaming JSON Lines files line by line."""
    for path in files:
        source = str(path)
        if is_stdin(path):
            yield from (Task(f"{STDIN_SOURCE}:{n}", line=raw, number=n) for n, raw in stdin_lines())
            continue
        if path.suffix.lower() not in JSONL_SUFFIXES:
            yield Task(source, path=source)
            continue
        try:
            for number, raw in iter_raw_lines(path):
                yield Task(f"{source}:{number}", line=raw, number=number)
        except CaseError as exc:
            yield Task(source, problems=exc.problems)


def count_cases(files: Iterable[Path]) -> int:
    """How many tasks :func:`iter_tasks` will yield (for a progress bar); reads JSON Lines files once."""
    return sum(1 for _ in iter_tasks(files))


def stdin_lines(stream: object = None) -> Iterator[tuple[int, bytes]]:
    """The non-blank lines of standard input (or ``stream``) as (line number, raw bytes), as they come.

    A line longer than the size limit of a case is cut just past it (and refused when parsed);
    the rest of it is skipped without being held in memory.
    """
    stream = sys.stdin if stream is None else stream
    raw_stream = getattr(stream, "buffer", stream)
    number = 0
    while True:
        raw = raw_stream.readline(MAX_CASE_BYTES + 1)  # type: ignore[attr-defined]
        if not raw:
            return
        if isinstance(raw, str):  # a text stream without a buffer (io.StringIO)
            raw = raw.encode("utf-8", "surrogatepass")
        number += 1
        if len(raw) > MAX_CASE_BYTES and not raw.endswith(b"\n"):
            while (rest := raw_stream.readline(MAX_CASE_BYTES)) and rest[-1:] not in ("\n", b"\n"):  # type: ignore[attr-defined]
                pass
        if raw.strip():
            yield number, raw
