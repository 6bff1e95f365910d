"""The plan as JSON (contract §2)."""

from __future__ import annotations

import json

from ..planning.results import PlanResult


def render_json(result: PlanResult) -> str:
    return json.dumps(result.plan.to_dict(), indent=2)
