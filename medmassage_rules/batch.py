"""Batch evaluation (contract §3-§4): many cases in, one report row per case out, in input order.

Inputs are case files and folders: a folder is searched recursively for ``.yaml``, ``.yml``,
``.json`` and ``.jsonl`` files, taken in sorted path order; a JSON Lines file holds one case
per line (its rows have the source ``file:line``). A bad case - unreadable, unparsable,
invalid, or repeating an id seen earlier in the batch - becomes an error row and the batch
goes on.

Everything streams: cases are read one at a time (a JSON Lines file line by line), each row
is written to the report as soon as it is known, and only counters are kept, so memory does
not grow with the number of cases - except for a compact index of the case ids seen, to
refuse duplicates (:mod:`medmassage_rules.case_ids`, about 32 bytes a case), and the
baseline's small per-case signatures when a baseline is given.

With ``jobs > 1`` the cases are spread over worker processes. Engines cannot be pickled, so
each worker loads the knowledge base and builds its engine once (a pool initializer; safe
under the ``spawn`` start method too); the parent sends raw tasks (a file path, or the bytes
of one JSON line), and each worker returns the finished row, already serialised, with the
few fields the summary needs. ``imap`` hands results back in input order, so the report is
byte-for-byte the one ``jobs=1`` writes.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from .baseline import Comparison, Signature, load_baseline
from .case_ids import FirstSeen, Sources
from .cases import validate_case
from .errors import CaseError, MedMassageError, Problem
from .expectations import check_expectations
from .junit import JUnitWriter
from .knowledge import KnowledgeBase, load_knowledge_base
from .loaders import CASE_SUFFIXES, JSONL_SUFFIXES, iter_raw_lines, parse_document, parse_json_line, read_text
from .metrics import Judgement, judge
from .planner import engine_for, plan_case
from .summary import Summary, Tally

CHUNKSIZE = 16  # cases per message to a worker: amortises the pipe, keeps both workers busy on small batches


@dataclass(frozen=True)
class Task:
    """One case to evaluate: a case file to read, or one raw line of a JSON Lines file."""

    source: str
    path: str | None = None
    line: bytes | None = None
    number: int = 0
    problem: str | None = None  # the input could not even be read


@dataclass(frozen=True)
class CaseOutcome:
    """One evaluated case: its report row (JSON text) and what the summary needs of it."""

    source: str
    case_id: str | None
    passed: bool | None
    problems: tuple[str, ...]           # why the case is invalid (empty for a valid case)
    failures: tuple[str, ...]
    judgement: Judgement | None         # None: invalid, or no expect block
    signature: Signature
    row: str

    @property
    def error(self) -> str | None:
        return "; ".join(self.problems) if self.problems else None


def _row_json(case_id: str | None, source: str, passed: bool | None, error: str | None,
              failures: tuple[str, ...], plan: dict | None) -> str:  # type: ignore[type-arg]
    return json.dumps({"case_id": case_id, "source": source, "passed": passed, "error": error,
                       "failures": list(failures), "plan": plan}, ensure_ascii=False)


def invalid_outcome(source: str, case_id: str | None, problems: tuple[str, ...]) -> CaseOutcome:
    """The error row of a case that could not be planned (contract §4: plan null)."""
    row = _row_json(case_id, source, False, "; ".join(problems), (), None)
    return CaseOutcome(source, case_id, False, problems, (), None, Signature(None), row)


def _parse(task: Task) -> object:
    if task.line is not None:
        return parse_json_line(task.line, task.number, task.source)
    path = Path(task.path or task.source)
    suffix = path.suffix.lower()
    if suffix not in CASE_SUFFIXES:
        raise CaseError([Problem(task.source, "", "not a case file: expected .yaml, .yml, .json or .jsonl",
                                 suffix, has_value=True)])
    return parse_document(read_text(path), task.source, suffix)


def evaluate(task: Task, kb: KnowledgeBase) -> CaseOutcome:
    """Read, validate and plan one case, and check its expectations; never raises for a bad case."""
    if task.problem is not None:
        return invalid_outcome(task.source, None, (task.problem,))
    case_id = None
    try:
        data = _parse(task)
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            case_id = data["id"]
        case = validate_case(data, task.source, kb.vocabulary)
    except CaseError as exc:
        return invalid_outcome(task.source, case_id, tuple(str(p) for p in exc.problems))
    try:
        plan = plan_case(case, kb).plan
    except Exception as exc:  # a planner bug on one case must not lose the rest of a long batch
        return invalid_outcome(task.source, case_id,
                               (f"{task.source}: internal error while planning: {type(exc).__name__}: {exc}",))
    failures: tuple[str, ...] = ()
    judgement = None
    passed = None
    if case.expect is not None:
        failures = tuple(check_expectations(case.expect, plan, kb.vocabulary))
        judgement = judge(case.expect, plan)
        passed = not failures
    signature = Signature.of(plan.status, (m.id for m in plan.modalities), (t.id for t in plan.targets),
                             plan.total_minutes)
    row = _row_json(case.id, task.source, passed, None, failures, plan.to_dict())
    return CaseOutcome(task.source, case.id, passed, (), failures, judgement, signature, row)


# -- inputs ------------------------------------------------------------------------------------

def expand_inputs(paths: Iterable[str | Path], skip: Iterable[str | Path] = ()) -> list[Path]:
    """The case files named by PATHs: files as given, folders searched recursively in sorted order.

    ``skip`` names files never taken from a folder (the batch's own report, say). A PATH that
    does not exist is an invalid invocation: a CaseError before anything runs.
    """
    skipped = {Path(p).resolve() for p in skip}
    files: list[Path] = []
    missing: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix.lower() in CASE_SUFFIXES
                            and p.is_file() and p.resolve() not in skipped)
        elif path.exists():
            files.append(path)
        else:
            missing.append(Problem(str(path), "", "no such file or folder"))
    if missing:
        raise CaseError(missing)
    return files


def iter_tasks(files: Iterable[Path]) -> Iterator[Task]:
    """One task per case, streaming JSON Lines files line by line."""
    for path in files:
        source = str(path)
        if path.suffix.lower() not in JSONL_SUFFIXES:
            yield Task(source, path=source)
            continue
        try:
            for number, raw in iter_raw_lines(path):
                yield Task(f"{source}:{number}", line=raw, number=number)
        except CaseError as exc:
            yield Task(source, problem="; ".join(str(p) for p in exc.problems))


def count_cases(files: Iterable[Path]) -> int:
    """How many tasks :func:`iter_tasks` will yield (for a progress bar); reads JSON Lines files once."""
    return sum(1 for _ in iter_tasks(files))


# -- workers -----------------------------------------------------------------------------------

_WORKER_KB: KnowledgeBase | None = None


def _start_worker(rules_dir: str) -> None:
    """Pool initializer: load the knowledge base and build its engine once per worker process."""
    global _WORKER_KB
    _WORKER_KB = load_knowledge_base(rules_dir)
    engine_for(_WORKER_KB)


def _evaluate_in_worker(task: Task) -> CaseOutcome:
    assert _WORKER_KB is not None, "worker started without its initializer"
    return evaluate(task, _WORKER_KB)


@contextmanager
def evaluated(tasks: Iterable[Task], kb: KnowledgeBase, jobs: int = 1) -> Iterator[Iterator[CaseOutcome]]:
    """The outcomes of ``tasks`` in input order, computed here (jobs=1) or by ``jobs`` workers."""
    if jobs <= 1:
        yield (evaluate(task, kb) for task in tasks)
        return
    with multiprocessing.get_context().Pool(jobs, initializer=_start_worker, initargs=(str(kb.root),)) as pool:
        yield pool.imap(_evaluate_in_worker, tasks, chunksize=CHUNKSIZE)


# -- the batch ---------------------------------------------------------------------------------

def _duplicate(outcome: CaseOutcome, first: str) -> CaseOutcome:
    problem = Problem(outcome.source, "id", f"duplicate case id within the batch (first at {first})",
                      outcome.case_id, has_value=True)
    return invalid_outcome(outcome.source, outcome.case_id, (str(problem),))


def run_batch(paths: Iterable[str | Path], kb: KnowledgeBase, *, jobs: int = 1,
              report: str | Path | None = None, junit: str | Path | None = None,
              baseline: str | Path | None = None, on_start: Callable[[int], None] | None = None,
              on_case: Callable[[CaseOutcome], None] | None = None) -> Summary:
    """Evaluate every case under ``paths`` and return the summary.

    ``report``: JSON Lines file receiving one row per case (contract §4) as each finishes, in
    input order, flushed line by line. ``junit``: JUnit XML file, completed at the end.
    ``baseline``: an earlier report to compare with. ``on_start`` is called with the number
    of cases before the first one runs (which costs one extra read of JSON Lines files: pass
    it for a progress bar only); ``on_case`` is called with every outcome, in order. Raises
    CaseError for a missing PATH or a bad baseline, MedMassageError for an output file that
    cannot be written - all before any case runs.
    """
    outputs = [p for p in (report, junit, baseline) if p is not None]
    files = expand_inputs(paths, skip=outputs)
    inputs = {f.resolve() for f in files}
    for output in (report, junit):
        if output is not None and Path(output).resolve() in inputs:
            raise MedMassageError(f"{output}: is also an input; writing it would destroy the cases it holds")
    comparison = Comparison(str(baseline), load_baseline(baseline)) if baseline is not None else None
    if on_start is not None:
        on_start(count_cases(files))
    start = time.perf_counter()
    tally = Tally()
    sources, first_seen = Sources(files), FirstSeen()
    with ExitStack() as stack:
        try:
            out = stack.enter_context(open(report, "w", encoding="utf-8")) if report is not None else None
            writer = stack.enter_context(JUnitWriter(junit)) if junit is not None else None
        except OSError as exc:
            raise MedMassageError(f"{exc.filename}: cannot write: {exc.strerror or exc}") from None
        outcomes = stack.enter_context(evaluated(iter_tasks(files), kb, jobs))
        for outcome in outcomes:
            if outcome.case_id is not None:
                first = first_seen.add(outcome.case_id, sources.pack(outcome.source))
                if first is not None and not outcome.problems:
                    outcome = _duplicate(outcome, sources.unpack(first))
            if out is not None:
                out.write(outcome.row + "\n")
                out.flush()
            if writer is not None:
                writer.add(outcome.case_id or outcome.source, _classname(outcome.source),
                           passed=outcome.passed, error=outcome.error, failures=outcome.failures)
            if comparison is not None and outcome.case_id is not None:
                comparison.observe(outcome.case_id, outcome.source, outcome.signature)
            tally.add(outcome)
            if on_case is not None:
                on_case(outcome)
        seconds = time.perf_counter() - start
        if writer is not None:
            writer.finish(seconds)
    return tally.summary(baseline=comparison.result() if comparison else None, jobs=max(1, jobs), seconds=seconds)


def _classname(source: str) -> str:
    """The JUnit classname of a case: its file (without the ``:line`` of a JSON Lines row)."""
    head, sep, tail = source.rpartition(":")
    return head if sep and tail.isdigit() else source
