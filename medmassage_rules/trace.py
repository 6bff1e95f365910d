"""The trace of a run for a classroom: each rule firing in order, in plain clinical words.

A step names the rule and its description, the facts that activated it ("a diagnosis of
carpal tunnel syndrome (right, chronic)") and what it concluded ("proposes Myofascial
release (first line, certainty 0.80)", "blocks Deep tissue massage", "caps pressure at
light on the lower leg (left)"). :class:`TraceSession` walks the steps as a dialogue:
``step`` waits for Enter between firings, ``quiz`` asks the learner to predict each
modality proposal before revealing it, and keeps a score. Input and output are injected
callables, so the command line wires them to click and tests to scripted lists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .dialogue import Ask, Say, menu
from .engine import Firing
from .facts import KIND_OF
from .factwords import Words
from .knowledge import KnowledgeBase, RuleSpec
from .planner import PlanResult
from .vocabulary import Vocabulary

LINE_WORDS = {"first": "first line", "second": "second line", "request": "requested by the prescription"}
STATUS_WORDS = {"refer_urgent": "refer urgently", "needs_clearance": "needs clearance",
                "treat_with_precautions": "treat with precautions"}
STOP_WORDS = ("q", "quit", "stop")


# -- conclusions in words ----------------------------------------------------------------------
def _kind(fact: Any) -> str:
    return KIND_OF[type(fact)]


def _side(side: str | None) -> str:
    return f" ({side})" if side else ""


def describe_conclusion(fact: Any, words: Words) -> str:
    """One conclusion a rule declared, as what the rule did."""
    kind, get, label, v = _kind(fact), fact.get, words.label, words.v
    if kind == "mechanism":
        where = f" at {words.site(get('site'), get('side'))}" if get("site") else _side(get("side"))
        return f"indicates {label(get('name')).lower()}{where}"
    if kind == "candidate":
        return f"adds {get('role')} target {label(get('target'))}{_side(get('side'))}"
    if kind == "proposal":
        limit = f", at most {get('pressure')} pressure" if get("pressure") else ""
        return (f"proposes {label(get('modality'))} ({LINE_WORDS[get('line')]}, "
                f"certainty {get('certainty'):.2f}{limit})")
    if kind == "block":
        if get("kind") == "all":
            return f"stops all treatment: {STATUS_WORDS.get(get('status'), get('status'))}"
        if get("kind") == "modality":
            return f"blocks {label(get('modality'))}"
        where = f"the {label(get('area'))}" if get("area") else "every area"
        return f"blocks work on {where}{_side(get('side'))}"
    if kind == "cap":
        where = f" on {words.site(get('area'), get('side'))}" if get("area") else " everywhere"
        return f"caps pressure at {get('pressure')}{where}"
    if kind == "requirement":
        return f"requires a {get('clearance')} clearance ({v.clearances.get(get('clearance'), '')})"
    if kind == "referral":
        return f"refers to {v.referrals.get(get('to'), get('to'))} ({get('urgency')})"
    if kind == "advisory":
        return f"advises: {get('text')}"
    if kind == "limit":
        return f"limits the session to {get('minutes')} minutes"
    return words.describe_fact(kind, fact)


def describe_conclusions(outputs: Iterable[Any], words: Words) -> list[str]:
    """What one firing concluded; a rule's targets, or its blocked modalities, share one line."""
    lines: list[str | list[str]] = []
    groups: dict[tuple[Any, ...], list[str]] = {}
    for fact in outputs:
        kind = _kind(fact)
        if kind == "candidate":
            key: tuple[Any, ...] = (f"adds {fact.get('role')} target", _side(fact.get("side")))
            item = words.label(fact.get("target"))
        elif kind == "block" and fact.get("kind") == "modality":
            key, item = ("blocks", ""), words.label(fact.get("modality"))
        else:
            lines.append(describe_conclusion(fact, words))
            continue
        if key not in groups:
            groups[key] = [key[0], key[1]]
            lines.append(groups[key])
        groups[key].append(item)
    out = []
    for line in lines:
        if isinstance(line, str):
            out.append(line)
        else:
            head, tail, *items = line
            plural = "s" if head.endswith("target") and len(items) > 1 else ""
            out.append(f"{head}{plural} {', '.join(items)}{tail}")
    return out


# -- steps ---------------------------------------------------------------------------------------
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
    facts = tuple(words.describe_fact(_kind(f), f, _tested_fields(rule, _kind(f)))
                  for f in firing.inputs)
    conclusions = tuple(describe_conclusions(firing.outputs, words)) or (
        "nothing new: an earlier firing had concluded the same",)
    proposes = tuple(dict.fromkeys(f.get("modality") for f in firing.outputs if _kind(f) == "proposal"))
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
    status = STATUS_WORDS.get(plan.status, plan.status)
    mods = ", ".join(vocab.label(m.id) for m in plan.modalities) or "none"
    return f"Outcome: {status}; modalities: {mods}; pressure cap {plan.pressure_cap}; {plan.total_minutes} minutes"


# -- the dialogue --------------------------------------------------------------------------------
@dataclass(frozen=True)
class QuizScore:
    right: int
    asked: int


class TraceSession:
    """Walks the steps of a trace: all at once, step by step, or as a predict-then-reveal quiz."""

    def __init__(self, result: PlanResult, kb: KnowledgeBase, ask: Ask, say: Say,
                 step: bool = False, quiz: bool = False):
        self.result = result
        self.vocab = kb.vocabulary
        self.steps = trace_steps(result, kb)
        self.ask = ask
        self.say = say
        self.step = step
        self.quiz = quiz
        self.choices = tuple(self.vocab.modalities)

    def run(self) -> QuizScore | None:
        plan = self.result.plan
        self.say(f"Case {plan.case_id}: {len(self.steps)} rule firings, in firing order"
                 + (" (Enter for the next firing, q to stop)" if self.step else ""))
        right = asked = 0
        for step in self.steps:
            if self.quiz and step.proposes:
                asked += 1
                right += self._question(step)
            else:
                self.say(format_step(step))
            if self.step and step is not self.steps[-1]:
                if self.ask("next?").strip().lower() in STOP_WORDS:
                    self.say("Stopped.")
                    return QuizScore(right, asked) if self.quiz else None
        self.say(outcome_line(self.result, self.vocab))
        if not self.quiz:
            return None
        self.say(f"Score: {right} of {asked}" if asked else "No modality was proposed: nothing to predict.")
        return QuizScore(right, asked)

    def _question(self, step: TraceStep) -> int:
        """Predict, then reveal: the facts first, the rule and its proposal after the answer."""
        self.say(f"{step.number:>2}. A rule fires on:")
        self.say("\n".join(f"    {fact}" for fact in step.facts))
        self.say("    Which modality (or modalities) does it propose?")
        self.say(menu((self.vocab.label(m) for m in self.choices), indent="    "))
        while True:
            answer = self.ask("your prediction (numbers or ids, comma-separated)")
            try:
                picked = self._parse(answer)
                break
            except ValueError as exc:
                self.say(f"    {exc}")
        truth = set(step.proposes)
        named = ", ".join(self.vocab.label(m) for m in step.proposes)
        if picked == truth:
            self.say(f"    Right: {named}.")
        elif picked & truth:
            self.say(f"    Partly right: the rule proposes {named}.")
        else:
            self.say(f"    Not this time: the rule proposes {named}.")
        self.say(format_step(step))
        return int(picked == truth)

    def _parse(self, answer: str) -> set[str]:
        picked = set()
        for token in answer.replace(",", " ").split():
            if token.isdigit() and 1 <= int(token) <= len(self.choices):
                picked.add(self.choices[int(token) - 1])
            elif token in self.choices:
                picked.add(token)
            else:
                raise ValueError(f"{token!r} is not one of the numbers 1-{len(self.choices)} or a modality id")
        if not picked:
            raise ValueError("name at least one modality")
        return picked
