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

import itertools
import json
import multiprocessing
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from .baseline import Comparison, Signature, load_baseline
from .case_ids import FirstSeen, Sources
from .cases import validate_case
from .errors import CaseError, MedMassageError, Problem, printable
from .expectations import check_expectations
from .junit import JUnitWriter, classname
from .knowledge import KnowledgeBase, load_knowledge_base
from .loaders import (
    CASE_SUFFIXES,
    JSONL_SUFFIXES,
    MAX_CASE_BYTES,
    iter_raw_lines,
    open_regular,
    parse_document,
    parse_json_line,
    read_text,
)
from .metrics import Judgement, judge
from .output import OutputFile, check_outputs, identities
from .planner import engine_for, plan_case
from .summary import Summary, Tally

CHUNKSIZE = 16  # cases per message to a worker: amortises the pipe, keeps both workers busy on small batches
JOBS_PER_CPU = 4  # --jobs beyond this many workers per CPU only costs memory (each holds its own engine)


def max_jobs() -> int:
    """The most worker processes a batch starts: JOBS_PER_CPU per CPU."""
    return JOBS_PER_CPU * (os.cpu_count() or 1)


class BatchInterrupted(MedMassageError):
    """The batch was interrupted (Ctrl-C): the summary of the cases that finished, and where
    their rows were kept (the earlier report and JUnit files are left as they were)."""

    def __init__(self, summary: Summary, kept: tuple[Path, ...]):
        self.summary = summary
        self.kept = kept
        super().__init__(f"interrupted after {summary.cases} cases")


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

    ``skip`` names files never taken from a folder (an earlier report of this batch, say). A
    PATH that does not exist is an invalid invocation, and so is a set of PATHs holding no
    case file at all: a CaseError before anything runs.
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
    if not files:
        raise _no_cases(paths)
    return files


def _no_cases(paths: Iterable[str | Path]) -> CaseError:
    named = ", ".join(str(p) for p in paths)
    return CaseError([Problem(named, "", "no cases found in " + named +
                              " (a folder is searched for .yaml, .yml, .json and .jsonl files)")])


def _earlier_output(path: Path) -> bool:
    """Whether an existing file is an earlier batch output (a report or JUnit file) or empty:
    one a folder scan leaves out, and that a new run may replace."""
    try:
        handle, size = open_regular(path)
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
    """Pool initializer: load the knowledge base and build its engine once per worker process.

    A worker ignores Ctrl-C: the parent handles it (and stops the workers), so an interrupted
    batch prints one message, not a traceback per worker.
    """
    global _WORKER_KB
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER_KB = load_knowledge_base(rules_dir)
    engine_for(_WORKER_KB)


def _evaluate_chunk(tasks: list[Task]) -> list[CaseOutcome]:
    assert _WORKER_KB is not None, "worker started without its initializer"
    return [evaluate(task, _WORKER_KB) for task in tasks]


def _chunks(tasks: Iterable[Task], size: int) -> Iterator[list[Task]]:
    it = iter(tasks)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def _lost(task: Task, why: str) -> CaseOutcome:
    return invalid_outcome(task.source, None, (f"{task.source}: not evaluated: {why}",))


class _Workers:
    """A pool of worker processes that can be replaced when one of them dies."""

    def __init__(self, jobs: int, rules_dir: str):
        self.jobs = jobs
        self.rules_dir = rules_dir
        self.pool = self._new()

    def _new(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.jobs, mp_context=multiprocessing.get_context(),
                                   initializer=_start_worker, initargs=(self.rules_dir,))

    def submit(self, chunk: list[Task]) -> Future[list[CaseOutcome]]:
        return self.pool.submit(_evaluate_chunk, chunk)

    def restart(self) -> None:
        self.stop()
        self.pool = self._new()

    def stop(self) -> None:
        """Stop every worker now (busy ones too) and forget the pool."""
        for process in list((getattr(self.pool, "_processes", None) or {}).values()):
            if process.is_alive():
                process.terminate()
        self.pool.shutdown(wait=True, cancel_futures=True)

    def alone(self, task: Task) -> CaseOutcome:
        """Evaluate one task by itself (after a worker died): if it kills its worker too, it is the one."""
        try:
            return self.submit([task]).result()[0]
        except BrokenProcessPool:
            self.restart()
            return _lost(task, "the worker process evaluating it died (killed, or out of memory)")
        except Exception as exc:  # noqa: BLE001 (a row must come back for every case)
            return _lost(task, f"{type(exc).__name__}: {exc}")


def _in_workers(tasks: Iterable[Task], kb: KnowledgeBase, jobs: int) -> Iterator[CaseOutcome]:
    """Outcomes computed by ``jobs`` worker processes, in input order.

    A few chunks per worker are in flight at a time, so memory stays flat. When a worker dies
    (killed, out of memory) the pool breaks and every chunk in flight fails with it: those
    cases are then evaluated one at a time in a fresh pool, so only a case that kills its
    worker again becomes an error row, and the batch goes on - it never waits for a dead worker.
    """
    workers = _Workers(jobs, str(kb.root))
    chunks = _chunks(tasks, CHUNKSIZE)
    window: deque[tuple[list[Task], Future[list[CaseOutcome]]]] = deque()
    try:
        while True:
            while len(window) < 2 * jobs and (chunk := next(chunks, None)) is not None:
                window.append((chunk, workers.submit(chunk)))
            if not window:
                return
            chunk, future = window.popleft()
            try:
                results = future.result()
            except BrokenProcessPool:
                rest = list(window)
                workers.restart()
                for task in chunk:
                    yield workers.alone(task)
                window = deque((c, f if _finished(f) else workers.submit(c)) for c, f in rest)
                continue
            except Exception as exc:  # noqa: BLE001 (a row must come back for every case)
                results = [_lost(task, f"{type(exc).__name__}: {exc}") for task in chunk]
            yield from results
    finally:
        workers.stop()


def _finished(future: Future[list[CaseOutcome]]) -> bool:
    return future.done() and future.exception() is None


def evaluated(tasks: Iterable[Task], kb: KnowledgeBase, jobs: int = 1) -> Iterator[CaseOutcome]:
    """The outcomes of ``tasks`` in input order, computed here (jobs=1) or by ``jobs`` workers."""
    if jobs <= 1:
        return (evaluate(task, kb) for task in tasks)
    return _in_workers(tasks, kb, jobs)


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
    Both are written under a temporary name beside them and renamed into place when the batch
    is complete, so a failed or interrupted run leaves the earlier files as they were.
    ``baseline``: an earlier report to compare with (it may be the ``report`` path itself:
    it is read before anything is written). ``on_start`` is called with the number of cases
    before the first one runs (which costs one extra read of JSON Lines files: pass it for a
    progress bar only); ``on_case`` is called with every outcome, in order. ``jobs`` is capped
    at :func:`max_jobs`.

    Raises, all before any case runs and before any file is touched: CaseError for a missing
    PATH, PATHs without a case, or a bad baseline; MedMassageError for an output that is also
    an input, that names the same file as another output, or that cannot be written. Raises
    MedMassageError when writing fails midway (a full disk), and :class:`BatchInterrupted` on
    Ctrl-C, with the summary so far.
    """
    paths = list(paths)
    outputs = {"--report": None if report is None else Path(report),
               "--junit": None if junit is None else Path(junit)}
    earlier = [p for p in outputs.values() if p is not None and p.is_file() and _earlier_output(p)]
    files = expand_inputs(paths, skip=[*earlier, *([baseline] if baseline is not None else [])])
    check_outputs(outputs, identities(files))
    comparison = Comparison(str(baseline), load_baseline(baseline)) if baseline is not None else None
    jobs = max(1, min(jobs, max_jobs()))
    if not any(f.suffix.lower() in JSONL_SUFFIXES for f in files):
        jobs = min(jobs, len(files))  # a worker per case at most: each one loads the knowledge base
    if on_start is not None:
        on_start(count_cases(files))
    start = time.perf_counter()
    tally = Tally()
    sources, first_seen = Sources(files), FirstSeen()
    files_out = {option: OutputFile(path, binary=option == "--junit")
                 for option, path in outputs.items() if path is not None}
    with ExitStack() as stack:
        handles = {}
        for option, output in files_out.items():
            stack.callback(output.discard)  # whatever was not committed or kept is dropped
            handles[option] = output.open()
        out = handles.get("--report")
        writer = stack.enter_context(JUnitWriter(handles["--junit"])) if "--junit" in handles else None
        try:
            for outcome in evaluated(iter_tasks(files), kb, jobs):
                duplicate = False
                if outcome.case_id is not None:
                    first = first_seen.add(outcome.case_id, sources.pack(outcome.source))
                    duplicate = first is not None
                    if first is not None and not outcome.problems:
                        outcome = _duplicate(outcome, sources.unpack(first))
                if out is not None:
                    out.write(outcome.row + "\n")
                    out.flush()
                if writer is not None:
                    writer.add(outcome.case_id or outcome.source, classname(outcome.source),
                               passed=outcome.passed, error=outcome.error, failures=outcome.failures)
                if comparison is not None and outcome.case_id is not None and not duplicate:
                    comparison.observe(outcome.case_id, outcome.source, outcome.signature)
                tally.add(outcome)
                if on_case is not None:
                    on_case(outcome)
            seconds = time.perf_counter() - start
            summary = tally.summary(baseline=comparison.result() if comparison else None, jobs=jobs,
                                    seconds=seconds)
            if summary.cases == 0:
                raise _no_cases(paths)
            if writer is not None:
                writer.finish(seconds)
            for output in files_out.values():
                output.commit()
        except KeyboardInterrupt:
            seconds = time.perf_counter() - start
            if writer is not None:
                try:
                    writer.finish(seconds)
                except OSError:
                    pass
            kept = tuple(k for k in (o.keep_as(".partial") for o in files_out.values()) if k is not None)
            summary = tally.summary(baseline=None, jobs=jobs, seconds=seconds)
            raise BatchInterrupted(summary, kept) from None
        except OSError as exc:
            name = exc.filename or ", ".join(str(p) for p in outputs.values() if p is not None)
            raise MedMassageError(printable(f"{name}: cannot write: {exc.strerror or exc}", one_line=True)) from None
    return summary
