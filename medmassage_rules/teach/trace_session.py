"""A trace walked in class: all at once, step by step, or as a predict-then-reveal quiz.

``step`` waits for Enter between firings (``?`` or ``help`` lists the keys, ``why`` says why
the firing just shown happened: its rule's conditions met by the case facts). ``quiz`` first
shows the case facts and asks what the plan will be - which modalities are blocked and by
what, the pressure limit, the status - then walks the trace, asking before the firings that
answer them which modalities each set of case facts leads to (any modality those facts
propose is right). Every answer is explained with its rule and the case facts; a modality
named that a rule blocks says which rule and fact block it. The score is kept per kind of
question (given on quit and at the end of the input too). The same answer that moves nothing on
(refused, or ``hint`` again) given three times in a row ends the walk with
:class:`~medmassage_rules.teach.dialogue.AnswerRepeated`, after the score. :class:`Lesson` runs several cases
in one quiz, in a seeded order. Input and output are injected callables, so the command line
wires them to click and tests to scripted lists.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from ..kb.knowledge_base import KnowledgeBase
from ..kb.wording import LINE_WORDS, Words
from ..planning.results import PlanResult
from .dialogue import AnswerRepeated, Ask, Patience, Say, menu
from .quiz import (
    KIND_WORDS,
    KINDS,
    QUIZ_LINES,
    PlanQuestion,
    QuizQuestion,
    QuizScore,
    blocked_note,
    plan_questions,
    quiz_questions,
)
from .trace import TraceStep, case_fact_lines, format_step, outcome_line, trace_steps

STOP_WORDS = ("q", "quit", "stop")
HELP_WORDS = ("?", "help")
STEP_HELP = ("    Enter: the next firing; why: why this rule fired (its conditions and the case facts "
             "that met them); q: stop.")
NONE_WORDS = ("none", "nothing", "0")


class _Quit(Exception):
    """The learner typed quit, or the input ended."""


class ScoreSheet:
    """Right answers, answers and skips per kind of question, over one case or a whole lesson."""

    def __init__(self) -> None:
        self.right = dict.fromkeys(KINDS, 0)
        self.asked = dict.fromkeys(KINDS, 0)
        self.skipped = dict.fromkeys(KINDS, 0)

    def score(self) -> QuizScore:
        return QuizScore(sum(self.right.values()), sum(self.asked.values()), sum(self.skipped.values()),
                         tuple((k, self.right[k], self.asked[k], self.skipped[k]) for k in KINDS
                               if self.asked[k] or self.skipped[k]))

    def lines(self) -> list[str]:
        s = self.score()
        out = [f"  {KIND_WORDS[kind]}: {right} of {asked}" + (f" ({skipped} skipped)" if skipped else "")
               for kind, right, asked, skipped in s.by_kind]
        skipped = f" ({s.skipped} skipped)" if s.skipped else ""
        return (["Score by kind:", *out] if out else []) + [f"Score: {s.right} of {s.asked}{skipped}"]


class TraceSession:
    """Walks the steps of a trace: all at once, step by step, or as a predict-then-reveal quiz.

    ``ask`` raises :class:`EOFError` when the input ends: the walk stops there and the quiz
    still gives its score. ``sheet`` is shared by the cases of a lesson; ``stopped`` tells a
    lesson that the learner quit.
    """

    def __init__(self, result: PlanResult, kb: KnowledgeBase, ask: Ask, say: Say,
                 step: bool = False, quiz: bool = False, sheet: ScoreSheet | None = None,
                 final_score: bool = True):
        self.result = result
        self.kb = kb
        self.vocab = kb.vocabulary
        self.words = Words(kb.vocabulary)
        self.steps = trace_steps(result, kb)
        self.questions = {q.first_step: q for q in quiz_questions(result, kb)} if quiz else {}
        self.plan_questions = plan_questions(result, kb) if quiz else ()
        self.total = len(self.questions) + len(self.plan_questions)
        self.number = 0
        self.ask = ask
        self.say = say
        self.step = step
        self.quiz = quiz
        self.choices = tuple(self.vocab.modalities)
        self.sheet = sheet if sheet is not None else ScoreSheet()
        self.final_score = final_score
        self.stopped = False
        self.patience = Patience("quiz" if quiz else "trace")

    def run(self) -> QuizScore | None:
        plan = self.result.plan
        self.say(f"Case {plan.case_id}: {len(self.steps)} rule firings, in firing order"
                 + (" (Enter for the next firing, ? for help, q to stop)" if self.step else ""))
        try:
            if self.quiz:
                self.say(f"Quiz: {self.total} question{'s' if self.total != 1 else ''}: what is blocked and by "
                         "what, the pressure limit, the status, then the modalities each set of facts leads to "
                         "(menu numbers or ids, comma-separated); 'hint' for a clue, 'skip' to see the answer, "
                         "'quit' to stop.")
                facts = case_fact_lines(self.result, self.kb)
                self.say("The case facts:\n" + "\n".join(f"    {fact}" for fact in facts))
                for about_plan in self.plan_questions:
                    self._plan_question(about_plan)
            for step in self.steps:
                question = self.questions.get(step.number)
                if question is not None:
                    self._question(question)
                self.say(format_step(step))
                if self.step and step is not self.steps[-1]:
                    self._pause(step)
        except _Quit as stop:
            self.stopped = True
            self.say(str(stop))
            return self._score()
        except EOFError:
            self.stopped = True
            self.say("End of input.")
            return self._score()
        except AnswerRepeated:   # `yes | medmassage trace --quiz`: the score so far, then the error
            self.stopped = True
            self._score()
            raise
        self.say(outcome_line(self.result, self.vocab))
        return self._score()

    def _pause(self, step: TraceStep) -> None:
        while True:
            answer = self.ask("next?").strip().lower()
            if answer in STOP_WORDS:
                raise _Quit("Stopped.")
            if answer in HELP_WORDS:
                self.say(STEP_HELP)
            elif answer == "why":
                self.say(self._why(step))
            else:
                self.patience.moved_on()
                return
            self.patience.idle_answer(answer, "next?")

    def _why(self, step: TraceStep) -> str:
        rule = self.kb.by_id[step.rule_id]
        wanted = [self.words.describe_pattern(kind, fields) for kind, fields in rule.positive]
        lines = [f"    {step.rule_id} fires when: {'; and '.join(wanted)}."]
        lines += [f"    Here: {fact}." for fact in step.facts]
        if rule.negative:
            absent = [self.words.describe_pattern(kind, fields) for kind, fields in rule.negative]
            lines.append(f"    And the case has none of: {'; '.join(absent)}.")
        return "\n".join(lines)

    def _score(self) -> QuizScore | None:
        if not self.quiz:
            return None
        if self.final_score:
            for line in self.sheet.lines():
                self.say(line)
        return self.sheet.score()

    def _heading(self, text: str) -> str:
        self.number += 1
        return f"Question {self.number} of {self.total}. {text}"

    # -- a question about the whole plan ---------------------------------------------------------------
    def _plan_question(self, q: PlanQuestion) -> None:
        label = self.vocab.label
        self.say(self._heading(q.prompt))
        self.say(menu((label(c) for c in q.choices), indent="    "))
        how = "numbers or ids, or none" if q.many else "a number or an id"
        while True:
            answer = self.ask(f"your answer ({how}; hint, skip, quit)").strip()
            command = answer.lower()
            if command in ("quit", "q"):
                raise _Quit("Quit.")
            if command == "skip":
                self.sheet.skipped[q.kind] += 1
                self.patience.moved_on()
                self.say("    Skipped. " + self._answer_words(q))
                break
            if command == "hint":
                self.say(f"    Hint: {len(q.answer)} answer{'s' if len(q.answer) != 1 else ''}; look for the "
                         "facts a rule stops or limits treatment for." if q.many else
                         "    Hint: the strictest rule the case facts fire sets it.")
                self.patience.idle_answer(answer, q.prompt)
                continue
            try:
                picked = self._pick(answer, q.choices, many=q.many)
            except ValueError as exc:
                self.say(f"    {exc}")
                self.patience.idle_answer(answer, q.prompt)
                continue
            self.patience.moved_on()
            self.sheet.asked[q.kind] += 1
            right = set(picked) == set(q.answer)
            self.sheet.right[q.kind] += int(right)
            self.say(("    Right. " if right else "    Not this time. ") + self._answer_words(q))
            break
        self.say("\n".join(f"      - {line}" for line in q.explanation))

    def _answer_words(self, q: PlanQuestion) -> str:
        label = self.vocab.label
        named = ", ".join(label(a) for a in q.choices if a in q.answer) or "none"
        return f"The answer: {named}."

    # -- a proposed-modalities question -----------------------------------------------------------------
    def _question(self, q: QuizQuestion) -> None:
        """The facts first; one part per line (first, then second); the rules and the plan after."""
        label = self.vocab.label
        number = self.number + 1
        self.say(self._heading("The case facts:"))
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
                    self.sheet.skipped["proposed"] += 1
                    self.patience.moved_on()
                    self.say(f"    Skipped: {LINE_WORDS[line]}: {', '.join(label(m) for m in q.modalities(line))}.")
                    break
                if command == "hint":
                    self.say(self._hint(q, line))
                    self.patience.idle_answer(answer, "Which modalities do these facts lead to?")
                    continue
                try:
                    picked = self._pick(answer, self.choices)
                except ValueError as exc:
                    self.say(f"    {exc}")
                    self.patience.idle_answer(answer, "Which modalities do these facts lead to?")
                    continue
                self.patience.moved_on()
                self.sheet.asked["proposed"] += 1
                self.sheet.right["proposed"] += self._judge(q, line, picked)
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
        for m in misses:
            stopped = blocked_note(self.result, self.kb, m)
            notes.append(f"{label(m)}: not proposed by these facts" + (f" - {stopped}." if stopped else "."))
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
        lines = ["    These facts propose:"]
        for rule_id in dict.fromkeys(p.rule_id for p in q.proposals):
            rule = self.kb.by_id[rule_id]
            mods = [p for p in q.proposals if p.rule_id == rule_id]
            named = ", ".join(f"{label(p.modality)} ({LINE_WORDS[p.line]})" for p in mods)
            lines.append(f"      {named} - {rule.description} [{rule_id}; grade {rule.grade}]")
        for mod in q.modalities():
            stopped = blocked_note(self.result, self.kb, mod)
            if mod in recommended:
                fate = "recommended"
            elif stopped is not None:
                fate = stopped.removeprefix(f"{label(mod)} is ")
            elif not plan.treats:
                fate = "not given: nothing is treated today"
            else:
                fate = "not given: it reaches none of the plan's targets"
            lines.append(f"      In the plan, {label(mod)}: {fate}.")
        return "\n".join(lines)

    def _pick(self, answer: str, choices: Sequence[str], many: bool = True) -> list[str]:
        if many and answer.strip().lower() in NONE_WORDS and choices is not self.choices:
            return []
        picked: list[str] = []
        for token in answer.replace(",", " ").split():
            if token.isdigit() and 1 <= int(token) <= len(choices):
                picked.append(choices[int(token) - 1])
            elif token.lower() in choices:
                picked.append(token.lower())
            else:
                what = "a modality id" if choices is self.choices else "one of the ids shown"
                raise ValueError(f"{token!r} is not one of the numbers 1-{len(choices)} or {what}")
        if not picked:
            raise ValueError("name at least one, or type hint, skip or quit")
        if not many and len(picked) > 1:
            raise ValueError("name one")
        return list(dict.fromkeys(picked))


class Lesson:
    """A quiz (or a trace) over several cases, one after the other, the score kept per kind
    across them; ``seed`` shuffles the order of the cases (the same seed, the same order)."""

    def __init__(self, results: Sequence[PlanResult], kb: KnowledgeBase, ask: Ask, say: Say,
                 step: bool = False, quiz: bool = False, seed: int | None = None):
        self.results = list(results)
        if seed is not None:
            random.Random(seed).shuffle(self.results)
        self.kb, self.ask, self.say, self.step, self.quiz = kb, ask, say, step, quiz
        self.sheet = ScoreSheet()

    def run(self) -> QuizScore | None:
        many = len(self.results) > 1
        for number, result in enumerate(self.results, 1):
            if many:
                self.say(f"\n== Case {number} of {len(self.results)} ==")
            session = TraceSession(result, self.kb, self.ask, self.say, step=self.step, quiz=self.quiz,
                                   sheet=self.sheet, final_score=False)
            try:
                session.run()
            except AnswerRepeated:
                if self.quiz:
                    for line in self.sheet.lines():
                        self.say(line)
                raise
            if session.stopped:
                break
        if not self.quiz:
            return None
        for line in self.sheet.lines():
            self.say(line)
        return self.sheet.score()
