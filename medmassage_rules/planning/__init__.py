"""Planning: a validated case's facts, the engine run, and the resolution of its conclusions into
one safe plan (limits, targets, session time, certainty)."""

from .pipeline import plan_case
from .plan import Plan
from .results import PlanResult

__all__ = ["Plan", "PlanResult", "plan_case"]
