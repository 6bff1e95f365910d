"""A trace walked in class: all at once, step by step, or as a predict-then-reveal quiz.

``step`` waits for Enter between firings; ``quiz`` asks the questions of
:func:`~medmassage_rules.teach.quiz.quiz_questions` before the firings that answer them,
accepts any modality those facts propose, explains each answer with the rules and the plan's
verdict, and keeps a score (given on quit and at the end of the input too). Input and output
are injected callables, so the command line wires them to click and tests to scripted lists.
"""

from __future__ import annotations

from ..kb.knowledge_base import KnowledgeBase
from ..kb.wording import LINE_WORDS
from ..planning.results import PlanResult
from .dialogue import Ask, Say, menu
from .quiz import QUIZ_LINES, QuizQuestion, QuizScore, quiz_questions
from .trace import format_step, outcome_line, trace_steps

STOP_WORDS = ("q", "quit", "stop")


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
