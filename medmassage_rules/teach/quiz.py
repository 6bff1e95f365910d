"""The quiz of a trace: what the case facts lead to, asked before the rules are shown.

Four kinds of question (:data:`KINDS`). *proposed*: one question per set of case facts that
proposes modalities, "Which first-line modalities do these facts lead to?", then the second
line; any modality the same facts propose is a right answer, the line is told apart in the
feedback (proposals that only follow the prescription are not asked: their facts give the
answer away). *blocked*: which modalities are blocked or priced out, and by what. *pressure*:
the pressure limit of the session, and what sets it. *status*: the plan's status. Every answer
is explained with the rules and the case facts that fired them (:func:`rule_facts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..engine.agenda import Firing
from ..kb.fact_types import INPUT_KINDS, KIND_OF, fact_kind
from ..kb.knowledge_base import KnowledgeBase
from ..kb.wording import Words
from ..planning.results import PlanResult

QUIZ_LINES = ("first", "second")
KINDS = ("proposed", "blocked", "pressure", "status")
KIND_WORDS = {"proposed": "modalities proposed", "blocked": "blocked and by what",
              "pressure": "pressure limit and by what", "status": "status"}


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
    by_kind: tuple[tuple[str, int, int, int], ...] = ()   # (kind, right, asked, skipped) of each kind asked


@dataclass(frozen=True)
class PlanQuestion:
    """A question about the whole plan (blocked, pressure or status): the prompt, the choices,
    the right answer (a set of ids: several for blocked, one otherwise) and the explanation."""

    kind: str
    prompt: str
    choices: tuple[str, ...]
    answer: frozenset[str]
    explanation: tuple[str, ...]          # one line per reason: the rule, its description, the case facts
    many: bool = False                    # several answers (blocked), "none" allowed


def rule_facts(result: PlanResult, kb: KnowledgeBase, rule_id: str) -> tuple[str, ...]:
    """The case facts that fired a rule, in clinical words (each once, in firing order)."""
    words = Words(kb.vocabulary)
    out = [words.describe_fact(fact_kind(f), f) for firing in result.trace if firing.rule_id == rule_id
           for f in firing.inputs if KIND_OF.get(type(f)) in INPUT_KINDS]
    return tuple(dict.fromkeys(out))


def because(result: PlanResult, kb: KnowledgeBase, rule_ids: Any) -> tuple[str, ...]:
    """'fibro-light-pressure (Fibromyalgia - light pressure only) because a diagnosis of fibromyalgia'."""
    lines = []
    for rule_id in dict.fromkeys(rule_ids):
        rule = kb.by_id.get(rule_id)
        if rule is None:
            continue
        facts = rule_facts(result, kb, rule_id)
        lines.append(f"{rule_id} ({rule.description})" + (f" because {' and '.join(facts)}" if facts else ""))
    return tuple(lines)


def plan_questions(result: PlanResult, kb: KnowledgeBase) -> tuple[PlanQuestion, ...]:
    """The blocked, pressure and status questions of one plan, in that order (only the status
    for a plan that treats nothing today)."""
    v, plan = kb.vocabulary, result.plan
    stopped = [b for b in plan.blocked_modalities if b.reason in ("blocked", "priced_out")]
    blocked_lines = []
    for b in stopped:
        verb = "blocked by" if b.reason == "blocked" else "priced out by the pressure cap of"
        proposers = {r for r in b.because if (rule := kb.by_id.get(r)) is not None and rule.then.propose}
        blocked_lines += [f"{v.label(b.id)}: {verb} {line}" for line in because(result, kb,
                                                                              [r for r in b.because
                                                                               if r not in proposers])]
    if not stopped:
        blocked_lines = ["Nothing is blocked or priced out for this patient."]
    cap_lines = ([f"{plan.pressure_cap} at most, set by {line}"
                  for line in because(result, kb, plan.pressure_cap_because)]
                 or ["deep: nothing caps pressure for this patient"])
    status = plan.status.replace("_", " ")
    status_lines = [f"{status}, set by {line}" for line in because(result, kb, plan.status_because)]
    if not status_lines and plan.treats:
        limits = [*plan.pressure_cap_because, *(r for b in stopped for r in b.because),
                  *(r for a in plan.blocked_areas for r in a.because)]
        status_lines = [f"{status}: treatment goes ahead within what {line}" for line in because(result, kb, limits)]
    if not status_lines:
        status_lines = [f"{status}: no rule stops or limits treatment"]
    status_question = PlanQuestion("status", "What is the plan's status?", tuple(v.statuses),
                                   frozenset({plan.status}), tuple(status_lines))
    if not plan.treats:      # nothing is given today: what is blocked or capped is not the lesson
        return (status_question,)
    return (
        PlanQuestion("blocked", "Which modalities are blocked or priced out for this patient?",
                     tuple(v.modalities), frozenset(b.id for b in stopped), tuple(blocked_lines), many=True),
        PlanQuestion("pressure", "What is the most pressure allowed in this session?",
                     tuple(v.pressures), frozenset({plan.pressure_cap}), tuple(cap_lines)),
        status_question,
    )


def blocked_note(result: PlanResult, kb: KnowledgeBase, modality: str) -> str | None:
    """Why a modality the learner named is not given when a rule blocks it or the cap prices it
    out: 'Deep tissue massage is blocked by fibro-light-pressure (...) because a diagnosis of
    fibromyalgia'; None when nothing stops it."""
    blocked = next((b for b in result.plan.blocked_modalities if b.id == modality), None)
    if blocked is None or blocked.reason not in ("blocked", "priced_out"):
        return None
    rules = [r for r in blocked.because if (rule := kb.by_id.get(r)) is not None and not rule.then.propose]
    verb = "blocked by" if blocked.reason == "blocked" else "priced out by the pressure cap of"
    return f"{kb.vocabulary.label(modality)} is {verb} " + "; and by ".join(because(result, kb, rules))
