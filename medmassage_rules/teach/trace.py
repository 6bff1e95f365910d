"""The trace of a run for a classroom: each rule firing in order, in plain clinical words.

A step names the rule and its description, the facts that activated it ("a diagnosis of
carpal tunnel syndrome (right, chronic)") and what it concluded ("proposes Myofascial
release (first line, certainty 0.80)", "blocks Deep tissue massage", "caps pressure at
light on the lower leg (left)"). :class:`TraceSession` walks the steps as a dialogue:
``step`` waits for Enter between firings; ``quiz`` asks one question per set of case facts
that proposes modalities ("which first-line modalities do these facts lead to?", then the
second line), accepts any modality those facts propose, explains each answer with the rules
and the plan's verdict, and keeps a score (given on quit and at the end of the input too).
Input and output are injected callables, so the command line wires them to click and tests
to scripted lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..engine.agenda import Firing
from ..kb.fact_types import fact_kind
from ..kb.knowledge_base import KnowledgeBase
from ..kb.rule_specs import RuleSpec
from ..kb.vocabulary import Vocabulary
from ..kb.wording import LINE_WORDS, STATUS_PHRASES, Words, describe_conclusions
from ..planning.results import PlanResult
from .dialogue import Ask, Say, menu

STOP_WORDS = ("q", "quit", "stop")


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
    mods = ", ".join(vocab.label(m.id) for m in plan.modalities) or "none"
    return f"Outcome: {status}; modalities: {mods}; pressure cap {plan.pressure_cap}; {plan.total_minutes} minutes"


# -- the quiz: one question per group of facts that propose modalities ------------------------------
QUIZ_LINES = ("first", "second")
QUIZ_COMMANDS = ("hint", "skip", "quit")


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


# -- the dialogue --------------------------------------------------------------------------------
@dataclass(frozen=True)
class QuizScore:
    right: int
    asked: int
    skipped: int = 0


class _Quit(Exception):
    """The learner typed quit, or the input ended."""


class TraceSession:
    """Walks the steps of a trace: all at once, step by step, or as a predict-then-reveal quiz.

    ``ask`` raises :class:`EOFError` when the input ends: the walk stops there and the quiz
    still gives its score.
    """

    def __init__(self, result: PlanResult, kb: KnowledgeBase, ask: Ask, say: Say,
                 step: bool = False, quiz: bool = False):
        self.result = result
        self.kb = kb
        self.vocab = kb.vocabulary
        self.steps = trace_steps(result, kb)
        self.questions = {q.first_step: q for q in quiz_questions(result, kb)} if quiz else {}
        self.shown: list[QuizQuestion] = []
        self.ask = ask
        self.say = say
        self.step = step
        self.quiz = quiz
        self.choices = tuple(self.vocab.modalities)
        self.right = self.asked = self.skipped = 0

    def run(self) -> QuizScore | None:
        plan = self.result.plan
        self.say(f"Case {plan.case_id}: {len(self.steps)} rule firings, in firing order"
                 + (" (Enter for the next firing, q to stop)" if self.step else ""))
        if self.quiz:
            self.say(f"Quiz: {len(self.questions)} question{'s' if len(self.questions) != 1 else ''}. "
                     "At each, name the modalities the facts lead to (menu numbers or ids, comma-separated); "
                     "'hint' for a clue, 'skip' to see the answer, 'quit' to stop.")
        try:
            for step in self.steps:
                question = self.questions.get(step.number)
                if question is not None:
                    self._question(question)
                self.say(format_step(step))
                if self.step and step is not self.steps[-1]:
                    if self.ask("next?").strip().lower() in STOP_WORDS:
                        raise _Quit("Stopped.")
        except _Quit as stop:
            self.say(str(stop))
            return self._score()
        except EOFError:
            self.say("End of input.")
            return self._score()
        self.say(outcome_line(self.result, self.vocab))
        return self._score()

    def _score(self) -> QuizScore | None:
        if not self.quiz:
            return None
        if not self.questions:
            self.say("No rule proposed a modality from the case facts: nothing to predict.")
        else:
            skipped = f" ({self.skipped} skipped)" if self.skipped else ""
            self.say(f"Score: {self.right} of {self.asked}{skipped}")
        return QuizScore(self.right, self.asked, self.skipped)

    # -- one question -----------------------------------------------------------------------------
    def _question(self, q: QuizQuestion) -> None:
        """The facts first; one part per line (first, then second); the rules and the plan after."""
        label = self.vocab.label
        number = len(self.shown) + 1
        self.shown.append(q)
        self.say(f"Question {number} of {len(self.questions)}. The case facts:")
        self.say("\n".join(f"    {fact}" for fact in q.facts))
        self.say(menu((label(m) for m in self.choices), indent="    "))
        lines = [line for line in QUIZ_LINES if q.modalities(line)]
        for part, line in enumerate(lines):
            tag = f"{number}{'ab'[part]}" if len(lines) > 1 else f"{number}"
            self.say(f"    {tag}. Which {LINE_WORDS[line]} modalities do these facts lead to? "
                     f"Any {LINE_WORDS[line]} one scores.")
            while True:
                answer = self.ask("your answer (numbers or ids; hint, skip, quit)").strip()
                command = answer.lower()
                if command in ("quit", "q"):
                    raise _Quit("Quit.")
                if command == "skip":
                    self.skipped += 1
                    self.say(f"    Skipped: {LINE_WORDS[line]}: {', '.join(label(m) for m in q.modalities(line))}.")
                    break
                if command == "hint":
                    self.say(self._hint(q, line))
                    continue
                try:
                    picked = self._parse(answer)
                except ValueError as exc:
                    self.say(f"    {exc}")
                    continue
                self.asked += 1
                self.right += self._judge(q, line, picked)
                break
        self.say(self._explanation(q))

    def _judge(self, q: QuizQuestion, line: str, picked: list[str]) -> int:
        label = self.vocab.label
        wanted = set(q.modalities(line))
        proposed = set(q.modalities())
        hits = [m for m in picked if m in wanted]
        other = [m for m in picked if m in proposed - wanted]
        misses = [m for m in picked if m not in proposed]
        notes = []
        if hits:
            notes.append(f"{', '.join(label(m) for m in hits)}: {LINE_WORDS[line]} for these facts.")
        if other:
            lines = sorted({q.line_of(m) for m in other}, key=QUIZ_LINES.index)
            notes.append(f"{', '.join(label(m) for m in other)}: proposed, but as "
                         f"{' or '.join(LINE_WORDS[x] for x in lines)}.")
        if misses:
            notes.append(f"{', '.join(label(m) for m in misses)}: not proposed by these facts.")
        rest = [m for m in q.modalities(line) if m not in hits]
        if rest:
            notes.append(f"Also {LINE_WORDS[line]}: {', '.join(label(m) for m in rest)}.")
        scored = bool(hits) and not other and not misses
        verdict = "Right" if scored else "Partly right" if hits or other else "Not this time"
        self.say(f"    {verdict}. " + " ".join(notes))
        return int(scored)

    def _hint(self, q: QuizQuestion, line: str) -> str:
        parts = []
        if q.mechanisms:
            parts.append(f"these facts indicate {', '.join(q.mechanisms)}")
        if q.benefits:
            parts.append(f"the modalities to name aim at {', '.join(q.benefits)}")
        count = len(q.modalities(line))
        parts.append(f"{count} modalit{'y is' if count == 1 else 'ies are'} {LINE_WORDS[line]} for them")
        return "    Hint: " + "; ".join(parts) + "."

    def _explanation(self, q: QuizQuestion) -> str:
        label = self.vocab.label
        plan = self.result.plan
        recommended = {m.id for m in plan.modalities}
        blocked = {b.id: b for b in plan.blocked_modalities}
        lines = ["    These facts propose:"]
        for rule_id in dict.fromkeys(p.rule_id for p in q.proposals):
            rule = self.kb.by_id[rule_id]
            mods = [p for p in q.proposals if p.rule_id == rule_id]
            named = ", ".join(f"{label(p.modality)} ({LINE_WORDS[p.line]})" for p in mods)
            lines.append(f"      {named} - {rule.description} [{rule_id}; grade {rule.grade}]")
        for mod in q.modalities():
            if mod in recommended:
                fate = "recommended"
            elif mod in blocked:
                stops = [r for r in blocked[mod].because if not self._proposes(r)]
                verb = "blocked" if blocked[mod].reason == "blocked" else "priced out by the pressure cap"
                fate = f"{verb}" + (f" by {', '.join(stops)}" if stops else "")
            elif not plan.treats:
                fate = "not given: nothing is treated today"
            else:
                fate = "not given: it reaches none of the plan's targets"
            lines.append(f"      In the plan, {label(mod)}: {fate}.")
        return "\n".join(lines)

    def _proposes(self, rule_id: str) -> bool:
        rule = self.kb.by_id.get(rule_id)
        return rule is not None and rule.then.propose is not None

    def _parse(self, answer: str) -> list[str]:
        picked: list[str] = []
        for token in answer.replace(",", " ").split():
            if token.isdigit() and 1 <= int(token) <= len(self.choices):
                picked.append(self.choices[int(token) - 1])
            elif token.lower() in self.choices:
                picked.append(token.lower())
            else:
                raise ValueError(f"{token!r} is not one of the numbers 1-{len(self.choices)} or a modality id")
        if not picked:
            raise ValueError("name at least one modality, or type hint, skip or quit")
        return list(dict.fromkeys(picked))
