"""One case of a batch evaluated: read, validated, planned, its expectations checked, its report row."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..cases.loading import validate_case
from ..errors import CaseError, Problem
from ..files.reading import (
    CASE_SUFFIXES,
    parse_document,
    parse_json_line,
    read_text,
)
from ..kb.knowledge_base import KnowledgeBase
from ..planning.pipeline import plan_case
from .baseline import Signature, fired_rules
from .expectations import check_expectations
from .inputs import Task
from .metrics import Judgement, judge


@dataclass(frozen=True)
class CaseOutcome:
    """One evaluated case: its report row (JSON text) and what the summary needs of it."""

    source: str
    case_id: str | None
    passed: bool | None
    problems: tuple[Problem, ...]       # why the case is invalid (empty for a valid case)
    failures: tuple[str, ...]
    judgement: Judgement | None         # None: invalid, or no expect block
    signature: Signature
    row: str

    @property
    def error(self) -> str | None:
        """The report row's ``error``: every problem, one after the other."""
        return error_text(self.problems)


def error_text(problems: tuple[Problem, ...]) -> str | None:
    return "; ".join(str(p) for p in problems) if problems else None


def _row_json(case_id: str | None, source: str, passed: bool | None, error: str | None,
              failures: tuple[str, ...], plan: dict | None,  # type: ignore[type-arg]
              rules: dict[str, str] | None = None) -> str:
    """The report row (contract §4), and ``rules``: each rule that fired with its content hash
    (none for an invalid case), for a later ``--baseline`` comparison to name the rules involved."""
    return json.dumps({"case_id": case_id, "source": source, "passed": passed, "error": error,
                       "failures": list(failures), "plan": plan, "rules": rules or {}}, ensure_ascii=False)


def invalid_outcome(source: str, case_id: str | None, problems: tuple[Problem, ...]) -> CaseOutcome:
    """The error row of a case that could not be planned (contract §4: plan null)."""
    row = _row_json(case_id, source, False, error_text(problems), (), None)
    return CaseOutcome(source, case_id, False, problems, (), None, Signature(None), row)


def _parse(task: Task) -> object:
    if task.line is not None:
        return parse_json_line(task.line, task.number, task.source)
    path = Path(task.path or task.source)
    suffix = path.suffix.lower()
    if suffix not in CASE_SUFFIXES:
        raise CaseError([Problem(task.source, "", "wrong_suffix",
                                 "not a case file: expected .yaml, .yml, .json or .jsonl",
                                 suffix)])
    return parse_document(read_text(path), task.source, suffix)


def evaluate(task: Task, kb: KnowledgeBase) -> CaseOutcome:
    """Read, validate and plan one case, and check its expectations; never raises for a bad case."""
    if task.problems:
        return invalid_outcome(task.source, None, task.problems)
    case_id = None
    try:
        data = _parse(task)
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            case_id = data["id"]
        case = validate_case(data, task.source, kb.vocabulary)
    except CaseError as exc:
        return invalid_outcome(task.source, case_id, exc.problems)
    try:
        result = plan_case(case, kb)
        plan = result.plan
    except Exception as exc:  # a planner bug on one case must not lose the rest of a long batch
        why = f"internal error while planning: {type(exc).__name__}: {exc}"
        return invalid_outcome(task.source, case_id, (Problem(task.source, "", "internal_error", why),))
    failures: tuple[str, ...] = ()
    judgement = None
    passed = None
    if case.expect is not None:
        failures = tuple(check_expectations(case.expect, plan, kb.vocabulary))
        judgement = judge(case.expect, plan)
        passed = not failures
    rules = fired_rules((firing.rule_id for firing in result.trace), kb)
    plan_json = plan.to_dict()
    signature = Signature.of_plan(plan_json, rules)
    row = _row_json(case.id, task.source, passed, None, failures, plan_json, rules)
    return CaseOutcome(task.source, case.id, passed, (), failures, judgement, signature, row)
