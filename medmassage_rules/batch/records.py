"""The per-record function of a batch: :func:`plan_records`, for streams and distributed engines.

``plan_records(records)`` turns cases - JSON Lines text, bytes, or case objects already parsed
- into report rows (contract §4), one per record, in order, lazily: it holds one record at a
time. The knowledge base is loaded, and its engine built, once per process and reused for
every later call, so a distributed engine can map it over partitions of a population (a
``dask.bag`` of JSON Lines with :func:`plan_partition`, docs/ehr.md) and get the rows
``medmassage batch`` writes. Unlike
a batch, it does not refuse case ids repeated across records: a partition cannot see the others.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..engine.cache import engine_for
from ..kb.knowledge_base import KnowledgeBase
from ..kb.loading import load_knowledge_base
from .inputs import Task
from .outcomes import evaluate

_LOADED: dict[str, KnowledgeBase] = {}  # knowledge bases of this process, by folder ("" the shipped one)


def process_knowledge_base(rules_dir: str | Path | None = None) -> KnowledgeBase:
    """The knowledge base of ``rules_dir`` (the shipped one by default), loaded once per process."""
    key = str(rules_dir or "")
    if key not in _LOADED:
        kb = load_knowledge_base(rules_dir)
        engine_for(kb)
        _LOADED[key] = kb
    return _LOADED[key]


def _raw(record: Any) -> bytes:
    if isinstance(record, bytes):
        return record
    if isinstance(record, str):
        return record.encode("utf-8", "surrogatepass")
    return json.dumps(record, ensure_ascii=False).encode("utf-8", "surrogatepass")


def plan_records(records: Iterable[Any], kb: KnowledgeBase | None = None, *, source: str = "<records>",
                 start: int = 1, rules_dir: str | Path | None = None) -> Iterator[dict[str, Any]]:
    """One report row (a dict: case_id, source, passed, error, failures, plan) per record, in order.

    A record is one case: a JSON Lines line (str or bytes) or a parsed case object (dict). Its
    row's source is ``SOURCE:N``, N counting from ``start``. An invalid record is an error row
    and the stream goes on. ``kb`` defaults to the process's knowledge base of ``rules_dir``.
    """
    kb = kb if kb is not None else process_knowledge_base(rules_dir)
    for number, record in enumerate(records, start=start):
        if isinstance(record, (str, bytes)) and not record.strip():
            continue
        task = Task(f"{source}:{number}", line=_raw(record), number=number)
        yield json.loads(evaluate(task, kb).row)


def plan_partition(records: Iterable[Any]) -> list[dict[str, Any]]:
    """The report rows of one partition, as a list: what a ``dask.bag`` maps over its partitions
    (``bag.map_partitions(plan_partition)``), with the process's knowledge base."""
    return list(plan_records(records, source="<partition>"))
