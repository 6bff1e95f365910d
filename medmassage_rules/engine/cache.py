"""One engine per knowledge base and process, and the rules a case can fire.

The Rete network of every rule is built once per knowledge base and reused with ``reset()``.
The first case a process plans with a knowledge base gets an engine of just the rules it can
fire instead (a single ``recommend`` need not build the network of every rule); both give the
same firings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from ..kb import fact_types as F
from ..kb.knowledge_base import KnowledgeBase
from ..kb.pattern_matching import pattern_matches
from ..kb.rule_specs import RuleSpec
from .compiler import compile_engine
from .planning_engine import PlanningEngine

_ENGINES: dict[int, tuple[KnowledgeBase, PlanningEngine]] = {}


def engine_for(kb: KnowledgeBase) -> PlanningEngine:
    """The one engine of this process for a knowledge base (built on first use, then reused)."""
    entry = _ENGINES.get(id(kb))
    if entry is None or entry[0] is not kb:
        entry = (kb, compile_engine(kb)())
        _ENGINES[id(kb)] = entry
    return entry[1]


def rules_for(kb: KnowledgeBase, facts: Iterable[Any]) -> tuple[RuleSpec, ...]:
    """The rules a case can fire: every positive pattern matches one of its facts.

    Rules test case facts only (a conclusion is never a premise), so a rule none of whose
    facts are in the case can never fire for it; leaving it out changes nothing but time.
    """
    by_kind: dict[str, list[Any]] = defaultdict(list)
    for fact in facts:
        by_kind[F.KIND_OF[type(fact)]].append(fact)
    def can_match(kind: str, fields: dict[str, Any]) -> bool:
        return any(pattern_matches(fields, f) for f in by_kind.get(kind, ()))

    return tuple(rule for rule in kb.rules if all(can_match(kind, fields) for kind, fields in rule.positive))


_PLANNED: dict[int, int] = {}


def engine_for_case(kb: KnowledgeBase, facts: list[Any]) -> PlanningEngine:
    """The engine to plan a case with: the process's first case with ``kb`` gets one of just the
    rules it can fire; every later case the one shared engine."""
    first = _PLANNED.get(id(kb), 0) == 0 and id(kb) not in _ENGINES
    _PLANNED[id(kb)] = _PLANNED.get(id(kb), 0) + 1
    return compile_engine(kb, rules_for(kb, facts))() if first else engine_for(kb)


def engine_class(kb: KnowledgeBase) -> type[PlanningEngine]:
    """The compiled engine class of every rule of ``kb`` (the class of its one engine)."""
    return type(engine_for(kb))
