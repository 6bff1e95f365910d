"""Worker processes evaluating chunks of raw tasks; results come back in input order.

The parent builds the engine once before the workers start; where the platform can fork, the
workers are forked (asked for explicitly: newer Pythons no longer fork by default) and inherit
the knowledge base and its engine as they are. Where processes are spawned, each worker loads
the knowledge base (from the cache on disk) and builds its engine once, when it starts.
"""

from __future__ import annotations

import gc
import itertools
import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from ..engine.cache import engine_for
from ..errors import Problem
from ..kb.knowledge_base import KnowledgeBase
from ..kb.loading import load_knowledge_base
from .inputs import Task
from .outcomes import CaseOutcome, evaluate, invalid_outcome

CHUNKSIZE = 16  # cases per message to a worker: amortises the pipe, keeps both workers busy on small batches
JOBS_PER_CPU = 4  # --jobs beyond this many workers per CPU only costs memory (each holds its own engine)


def max_jobs() -> int:
    """The most worker processes a batch starts: JOBS_PER_CPU per CPU."""
    return JOBS_PER_CPU * (os.cpu_count() or 1)


_WORKER_KB: KnowledgeBase | None = None


def _start_worker(rules_dir: str) -> None:
    """Pool initializer: a forked worker has the parent's knowledge base and engine already; a
    spawned one loads the knowledge base and builds its engine, once.

    A worker ignores Ctrl-C: the parent handles it (and stops the workers), so an interrupted
    batch prints one message, not a traceback per worker. SIGTERM and SIGHUP end a worker
    quietly (a forked one would otherwise keep the parent's handlers, which raise).
    """
    global _WORKER_KB
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    if _WORKER_KB is None or str(_WORKER_KB.root) != rules_dir:
        _WORKER_KB = load_knowledge_base(rules_dir)
    engine_for(_WORKER_KB)


def _context() -> multiprocessing.context.BaseContext:
    """Fork where the platform has it (the workers inherit the built engine), else the default."""
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def _evaluate_chunk(tasks: list[Task]) -> list[CaseOutcome]:
    assert _WORKER_KB is not None, "worker started without its initializer"
    return [evaluate(task, _WORKER_KB) for task in tasks]


def _chunks(tasks: Iterable[Task], size: int) -> Iterator[list[Task]]:
    it = iter(tasks)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def _lost(task: Task, why: str) -> CaseOutcome:
    return invalid_outcome(task.source, None, (Problem(task.source, "", "not_evaluated", f"not evaluated: {why}"),))


class _Workers:
    """A pool of worker processes that can be replaced when one of them dies."""

    def __init__(self, jobs: int, kb: KnowledgeBase):
        global _WORKER_KB
        self.jobs = jobs
        self.rules_dir = str(kb.root)
        self.context = _context()
        if self.context.get_start_method() == "fork":
            _WORKER_KB = kb  # inherited by every forked worker, with the engine built here
            engine_for(kb)
        self.pool = self._new()

    def _new(self) -> ProcessPoolExecutor:
        if self.context.get_start_method() == "fork":
            gc.freeze()  # the inherited objects stay out of the collector: their pages stay shared
        return ProcessPoolExecutor(self.jobs, mp_context=self.context,
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
        gc.unfreeze()

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
    workers = _Workers(jobs, kb)
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
