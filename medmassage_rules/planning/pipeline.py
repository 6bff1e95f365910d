"""Facts in, experta run, plan out: one validated case planned with one knowledge base."""

from __future__ import annotations

from ..cases.models import Case
from ..engine.cache import engine_for_case
from ..kb.knowledge_base import KnowledgeBase
from .case_facts import case_facts
from .resolution import Resolver
from .results import Conclusions, PlanResult


def plan_case(case: Case, kb: KnowledgeBase) -> PlanResult:
    """Plan one validated case with a knowledge base: its facts, the engine run, the resolution."""
    facts_in = case_facts(case, kb.vocabulary)
    facts, trace = engine_for_case(kb, facts_in).infer(facts_in)
    plan, outcome = Resolver(kb, case, Conclusions.collect(facts)).resolve()
    return PlanResult(case, plan, tuple(trace), tuple(facts), outcome)
