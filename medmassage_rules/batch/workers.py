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
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool

from ..engine.cache import engine_for
from ..errors import Problem
from ..kb.knowledge_base import KnowledgeBase
from ..kb.loading import load_knowledge_base
from .inputs import Task
from .outcomes import CaseOutcome, evaluate, invalid_outcome

CHUNKSIZE = 16  # cases per message to a worker: amortises the pipe, keeps both workers busy on small batches
POLL_SECONDS = 0.5  # how often a batch waiting for a result checks that its workers are alive
STOP_PATIENCE = 10.0  # seconds a stopping batch waits for a busy worker to finish its chunk
JOBS_PER_CPU = 4  # --jobs beyond this many workers per CPU only costs memory (each holds its own engine)


def max_jobs() -> int:
    """The most worker processes a batch starts: JOBS_PER_CPU per CPU."""
    return JOBS_PER_CPU * (os.cpu_count() or 1)


_WORKER_KB: KnowledgeBase | None = None


def _start_worker(rules_dir: str) -> None:
    """Pool initializer: a forked worker has the parent's knowledge base and engine already; a
    spawned one loads the knowledge base and builds its engine, once.

    A worker ignores Ctrl-C and SIGHUP (sent to the whole process group by a terminal): the parent
    handles them and stops its workers in order, after the chunk each is evaluating. SIGTERM ends a
    worker at once (the pool itself stops workers with it; a forked worker would otherwise keep the
    parent's handler, which raises). A worker whose parent is gone ends itself.
    """
    global _WORKER_KB
    _watch_parent()
    for name, action in (("SIGINT", signal.SIG_IGN), ("SIGHUP", signal.SIG_IGN), ("SIGTERM", signal.SIG_DFL)):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), action)
    if _WORKER_KB is None or str(_WORKER_KB.root) != rules_dir:
        _WORKER_KB = load_knowledge_base(rules_dir)
    engine_for(_WORKER_KB)


def _watch_parent(every: float = 0.5) -> None:
    """A worker dies with its parent: when the parent is gone (killed outright, so it could not stop
    its workers) the worker is handed to another process, and a watchdog thread ends it - an orphan
    would hold the caller's pipes open, and a ``$(...)`` or a CI step would wait forever."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


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

    def stop(self, patience: float = STOP_PATIENCE) -> None:
        """Stop every worker and forget the pool: chunks not yet started are cancelled, a busy worker
        finishes its chunk (milliseconds) and exits; one still busy after ``patience`` seconds is
        stopped outright."""
        processes = self._processes()
        self.pool.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + patience
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
        self._break_open()  # whoever is still busy is stopped; a half-sent result no longer holds the reader
        self.pool.shutdown(wait=True)
        gc.unfreeze()

    def _processes(self) -> list[multiprocessing.process.BaseProcess]:
        return list((getattr(self.pool, "_processes", None) or {}).values())

    def _break_open(self) -> None:
        """Stop every worker outright and close the parent's end of the result pipe: a worker stopped
        while it sent a result leaves half a message there, and the pool's reader would wait for
        the rest forever; with no writer left it reads the end of the file and gives up."""
        for process in self._processes():
            if process.is_alive():
                process.terminate()
        for process in self._processes():
            process.join(STOP_PATIENCE)
        writer = getattr(getattr(self.pool, "_result_queue", None), "_writer", None)
        if writer is not None:
            writer.close()

    def result(self, future: Future[list[CaseOutcome]]) -> list[CaseOutcome]:
        """A chunk's outcomes. When a worker has died and the result has still not come a moment
        later (it died while sending it: the pool would wait forever), the pool is broken open, so
        the wait ends in BrokenProcessPool, as for any other death."""
        dead_since: float | None = None
        while True:
            try:
                return future.result(timeout=POLL_SECONDS)
            except FutureTimeout:
                if not any(p.exitcode is not None for p in self._processes()):
                    dead_since = None
                elif dead_since is None:
                    dead_since = time.monotonic()
                elif time.monotonic() - dead_since > POLL_SECONDS * 4:
                    self._break_open()

    def alone(self, task: Task) -> CaseOutcome:
        """Evaluate one task by itself (after a worker died): if it kills its worker too, it is the one."""
        try:
            return self.result(self.submit([task]))[0]
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
                results = workers.result(future)
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
