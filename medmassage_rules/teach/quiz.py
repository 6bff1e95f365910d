"""The quiz of a trace: one question per set of case facts that proposes modalities.

"Which first-line modalities do these facts lead to?", then the second line: any modality
the same facts propose is a right answer, the line is told apart in the feedback. Proposals
that only follow the prescription are not asked (their facts give the answer away).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..engine.agenda import Firing
from ..kb.fact_types import fact_kind
from ..kb.knowledge_base import KnowledgeBase
from ..kb.wording import Words
from ..planning.results import PlanResult

QUIZ_LINES = ("first", "second")


def _fact_key(fact: Any) -> str:
    kind = fact_kind(fact)
    index = fact.get("index")
    return f"{kind}:{index}" if index is not None else f"{kind}:{sorted((str(k), str(v)) for k, v in fact.items())}"


@dataclass(frozen=True)
class Proposal:
    """One modality a rule proposed, at which line."""

    rule_id: str
    modality: str
    line: str


@dataclass(frozen=True)
class QuizQuestion:
    """The facts shared by one or more proposing firings, and everything those facts proposed.

    A learner answers from the facts alone: any modality the same facts propose is a right
    answer; the line (first or second) is told apart in the feedback.
    """

    first_step: int                       # the step number before which it is asked
    facts: tuple[str, ...]                # the case facts, in words
    proposals: tuple[Proposal, ...]
    mechanisms: tuple[str, ...]           # what the same facts indicated (a hint)
    benefits: tuple[str, ...]             # what the proposed modalities aim at (a hint)

    def modalities(self, line: str | None = None) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.modality for p in self.proposals if line is None or p.line == line))

    def line_of(self, modality: str) -> str:
        lines = [p.line for p in self.proposals if p.modality == modality]
        return "first" if "first" in lines else lines[0]


def quiz_questions(result: PlanResult, kb: KnowledgeBase) -> tuple[QuizQuestion, ...]:
    """The quiz of a trace: one question per distinct set of case facts that proposed modalities.

    Proposals that only follow the prescription ("the prescription requests X") are not asked:
    their facts give the answer away.
    """
    words = Words(kb.vocabulary)
    groups: dict[tuple[str, ...], list[tuple[int, Firing]]] = {}
    for number, firing in enumerate(result.trace, 1):
        if any(fact_kind(o) == "proposal" and o.get("line") in QUIZ_LINES for o in firing.outputs):
            key = tuple(sorted(_fact_key(f) for f in firing.inputs))
            groups.setdefault(key, []).append((number, firing))
    mechanisms_of: dict[str, list[str]] = {}
    for firing in result.trace:
        names = [words.label(o.get("name")).lower() for o in firing.outputs if fact_kind(o) == "mechanism"]
        for fact in firing.inputs:
            mechanisms_of.setdefault(_fact_key(fact), []).extend(names)
    out = []
    for key, firings in groups.items():
        inputs = firings[0][1].inputs
        proposals = tuple(Proposal(f.rule_id, o.get("modality"), o.get("line"))
                          for _, f in firings for o in f.outputs
                          if fact_kind(o) == "proposal" and o.get("line") in QUIZ_LINES)
        benefits = tuple(dict.fromkeys(words.label(b).lower() for _, f in firings for o in f.outputs
                                       if fact_kind(o) == "proposal" for b in (o.get("benefits") or ())))
        out.append(QuizQuestion(
            firings[0][0], tuple(words.describe_fact(fact_kind(f), f) for f in inputs), proposals,
            tuple(dict.fromkeys(m for k in key for m in mechanisms_of.get(k, []))), benefits))
    return tuple(out)


@dataclass(frozen=True)
class QuizScore:
    """How a quiz went: the questions answered right, those answered, those skipped."""

    right: int
    asked: int
    skipped: int = 0
