"""Batch evaluation: many cases in (files, folders, JSON Lines), one report row per case out, in
input order, over worker processes; expectations, metrics, a summary, JUnit, a baseline diff;
:func:`plan_records`, the per-record function for streams and distributed engines."""

from .records import plan_records
from .runner import BatchInterrupted, run_batch

__all__ = ["BatchInterrupted", "plan_records", "run_batch"]
