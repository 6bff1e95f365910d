"""Batch evaluation (contract §3-§4): many cases in, one report row per case out, in input order.

Inputs are case files and folders: a folder is searched recursively for ``.yaml``, ``.yml``,
``.json`` and ``.jsonl`` files, taken in sorted path order; a JSON Lines file holds one case
per line (its rows have the source ``file:line``). A bad case - unreadable, unparsable,
invalid, or repeating an id seen earlier in the batch - becomes an error row and the batch
goes on.

Everything streams: cases are read one at a time (a JSON Lines file line by line), each row
is written to the report as soon as it is known, and only counters are kept, so memory does
not grow with the number of cases - except for a compact index of the case ids seen, to
refuse duplicates (:mod:`medmassage_rules.batch.case_ids`, about 32 bytes a case), and the
baseline's small per-case signatures when a baseline is given.

With ``jobs > 1`` the cases are spread over worker processes. Engines cannot be pickled, so
each worker loads the knowledge base and builds its engine once (a pool initializer; safe
under the ``spawn`` start method too); the parent sends raw tasks (a file path, or the bytes
of one JSON line), and each worker returns the finished row, already serialised, with the
few fields the summary needs. ``imap`` hands results back in input order, so the report is
byte-for-byte the one ``jobs=1`` writes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import IO

from ..errors import MedMassageError, Problem, printable
from ..files.reading import (
    JSONL_SUFFIXES,
)
from ..files.writing import OutputFile, check_outputs, identities
from ..kb.knowledge_base import KnowledgeBase
from .baseline import Comparison, load_baseline
from .case_ids import FirstSeen, Sources
from .inputs import (
    STDIN_SOURCE,
    count_cases,
    expand_inputs,
    is_earlier_output,
    is_stdin,
    iter_tasks,
    no_cases_error,
)
from .junit import JUnitWriter, classname
from .outcomes import CaseOutcome, invalid_outcome
from .summary import Summary, Tally
from .workers import evaluated, max_jobs


class BatchInterrupted(MedMassageError):
    """The batch was interrupted (Ctrl-C): the summary of the cases that finished, and where
    their rows were kept (the earlier report and JUnit files are left as they were)."""

    def __init__(self, summary: Summary, kept: tuple[Path, ...]):
        self.summary = summary
        self.kept = kept
        super().__init__(f"interrupted after {summary.cases} cases")


def _duplicate(outcome: CaseOutcome, first: str) -> CaseOutcome:
    problem = Problem(outcome.source, "id", "duplicate_id", f"duplicate case id within the batch (first at {first})",
                      outcome.case_id)
    return invalid_outcome(outcome.source, outcome.case_id, (problem,))


def run_batch(paths: Iterable[str | Path], kb: KnowledgeBase, *, jobs: int = 1,
              report: str | Path | None = None, junit: str | Path | None = None,
              baseline: str | Path | None = None, on_start: Callable[[int], None] | None = None,
              on_case: Callable[[CaseOutcome], None] | None = None,
              report_stream: IO[str] | None = None) -> Summary:
    """Evaluate every case under ``paths`` and return the summary.

    ``report``: JSON Lines file receiving one row per case (contract §4) as each finishes, in
    input order, flushed line by line. ``junit``: JUnit XML file, completed at the end.
    Both are written under a temporary name beside them and renamed into place when the batch
    is complete, so a failed or interrupted run leaves the earlier files as they were.
    ``baseline``: an earlier report to compare with (it may be the ``report`` path itself:
    it is read before anything is written). ``on_start`` is called with the number of cases
    before the first one runs (which costs one extra read of JSON Lines files: pass it for a
    progress bar only; not called when a PATH is ``-``, standard input, which is read once, as
    it comes); ``on_case`` is called with every outcome, in order. ``report_stream``: a text
    stream receiving the report rows instead of a file (``--report -``). ``jobs`` is capped at
    :func:`max_jobs`.

    Raises, all before any case runs and before any file is touched: CaseError for a missing
    PATH, PATHs without a case, or a bad baseline; MedMassageError for an output that is also
    an input, that names the same file as another output, or that cannot be written. Raises
    MedMassageError when writing fails midway (a full disk), and :class:`BatchInterrupted` on
    Ctrl-C, with the summary so far.
    """
    paths = list(paths)
    outputs = {"--report": None if report is None else Path(report),
               "--junit": None if junit is None else Path(junit)}
    earlier = [p for p in outputs.values() if p is not None and p.is_file() and is_earlier_output(p)]
    files = expand_inputs(paths, skip=[*earlier, *([baseline] if baseline is not None else [])])
    check_outputs(outputs, identities([f for f in files if not is_stdin(f)]))
    comparison = Comparison(str(baseline), load_baseline(baseline)) if baseline is not None else None
    jobs = max(1, min(jobs, max_jobs()))
    streamed = any(is_stdin(f) for f in files)
    if not streamed and not any(f.suffix.lower() in JSONL_SUFFIXES for f in files):
        jobs = min(jobs, len(files))  # a worker per case at most: each one loads the knowledge base
    if on_start is not None and not streamed:
        on_start(count_cases(files))
    start = time.perf_counter()
    tally = Tally()
    sources, first_seen = Sources([Path(STDIN_SOURCE) if is_stdin(f) else f for f in files]), FirstSeen()
    files_out = {option: OutputFile(path, binary=option == "--junit")
                 for option, path in outputs.items() if path is not None}
    with ExitStack() as stack:
        handles = {}
        for option, output in files_out.items():
            stack.callback(output.discard)  # whatever was not committed or kept is dropped
            handles[option] = output.open()
        out = handles.get("--report", report_stream)
        writer = stack.enter_context(JUnitWriter(handles["--junit"], str(outputs["--junit"]))) \
            if "--junit" in handles else None
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
                raise no_cases_error(paths)
            if writer is not None:
                writer.finish(seconds, summary.baseline)
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
