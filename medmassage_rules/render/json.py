"""The plan as JSON (contract §2)."""

from __future__ import annotations

import json

from ..planner import PlanResult


def render_json(result: PlanResult) -> str:
    return json.dumps(result.plan.to_dict(), indent=2)
