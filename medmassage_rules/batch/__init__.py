"""Batch evaluation: many cases in (files, folders, JSON Lines), one report row per case out, in
input order, over worker processes; expectations, metrics, a summary, JUnit, a baseline diff."""

from .runner import BatchInterrupted, run_batch

__all__ = ["BatchInterrupted", "run_batch"]
