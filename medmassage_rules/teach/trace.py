"""The trace of a run for a classroom: each rule firing in order, in plain clinical words.

A step names the rule and its description, the facts that activated it ("a diagnosis of
carpal tunnel syndrome (right, chronic)") and what it concluded ("proposes Myofascial
release (first line, certainty 0.80)", "blocks Deep tissue massage", "caps pressure at
light on the lower leg (left)").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..cases.loading import iter_cases
from ..cases.models import Case
from ..engine.agenda import Firing
from ..errors import CaseError, Problem
from ..files.reading import CASE_SUFFIXES
from ..kb.fact_types import INPUT_KINDS, KIND_OF, fact_kind
from ..kb.knowledge_base import KnowledgeBase
from ..kb.rule_specs import RuleSpec
from ..kb.vocabulary import Vocabulary
from ..kb.wording import STATUS_PHRASES, Words, describe_conclusions
from ..planning.results import PlanResult


@dataclass(frozen=True)
class TraceStep:
    """One firing, ready to show: the rule, the facts that activated it, what it concluded."""

    number: int
    rule_id: str
    description: str
    grade: str
    citation: str
    facts: tuple[str, ...]
    conclusions: tuple[str, ...]
    proposes: tuple[str, ...]  # modality ids this firing proposes (the quiz asks about these)


def _tested_fields(rule: RuleSpec, kind: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name for k, fields in rule.positive if k == kind for name in (fields or {})))


def trace_steps(result: PlanResult, kb: KnowledgeBase) -> tuple[TraceStep, ...]:
    """The firings of a run, in firing order, in plain words."""
    words = Words(kb.vocabulary)
    steps = []
    for number, firing in enumerate(result.trace, 1):
        steps.append(_step(number, firing, kb.by_id[firing.rule_id], words, kb))
    return tuple(steps)


def _step(number: int, firing: Firing, rule: RuleSpec, words: Words, kb: KnowledgeBase) -> TraceStep:
    facts = tuple(words.describe_fact(fact_kind(f), f, _tested_fields(rule, fact_kind(f)))
                  for f in firing.inputs)
    conclusions = tuple(describe_conclusions(firing.outputs, words)) or (
        "nothing new: an earlier firing had concluded the same",)
    proposes = tuple(dict.fromkeys(f.get("modality") for f in firing.outputs if fact_kind(f) == "proposal"))
    return TraceStep(number, rule.id, rule.description, rule.grade, kb.citation_text(rule.citation),
                     facts, conclusions, proposes)


def format_step(step: TraceStep, show_conclusions: bool = True) -> str:
    lines = [f"{step.number:>2}. {step.rule_id} - {step.description}",
             f"    grade {step.grade}; {step.citation}"]
    lines += [f"    because {fact}" for fact in step.facts]
    if show_conclusions:
        lines += [f"    => {c}" for c in step.conclusions]
    return "\n".join(lines)


def outcome_line(result: PlanResult, vocab: Vocabulary) -> str:
    plan = result.plan
    status = STATUS_PHRASES.get(plan.status, plan.status)
    mods = ", ".join(f"{vocab.label(m.id)} (certainty {m.certainty:.2f})" for m in plan.modalities) or "none"
    return f"Outcome: {status}; modalities: {mods}; pressure cap {plan.pressure_cap}; {plan.total_minutes} minutes"


def lesson_cases(paths: Iterable[str | Path], vocab: Vocabulary) -> list[Case]:
    """The cases of a lesson: each file (a case, or one per line of JSON Lines) and every case
    file under each folder, in sorted order. The first bad case raises its CaseError."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in CASE_SUFFIXES)
        else:
            files.append(path)
    cases = []
    for path in files:
        for loaded in iter_cases(path, vocab):
            if loaded.error is not None:
                raise loaded.error
            if loaded.case is not None:
                cases.append(loaded.case)
    if not cases:
        raise CaseError([Problem(", ".join(str(p) for p in paths), "", "no_cases", "no case found")])
    return cases


def case_fact_lines(result: PlanResult, kb: KnowledgeBase) -> list[str]:
    """Every fact of the case in words, as a class sees it before predicting the plan (a patient,
    labs or vitals record only when it holds a value)."""
    words = Words(kb.vocabulary)
    out = []
    for fact in result.facts:
        kind = KIND_OF.get(type(fact))
        if kind not in INPUT_KINDS:
            continue
        if kind in ("patient", "labs", "vitals") and all(
                value in (None, False) for name, value in fact.items()
                if name != "index" and not str(name).startswith("__")):
            continue
        out.append(words.describe_fact(kind, fact))
    return out
