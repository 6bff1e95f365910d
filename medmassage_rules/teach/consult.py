"""An interactive consultation that builds a case by asking only what the rules need.

:class:`ConsultationDialogue` runs the interview (``interview.py``) with injected input and
output: click in the command line, lists in tests. ``why`` at a prompt names the rules
waiting for that answer; ``back`` revises the last answer: the interview is a generator of
questions that depends only on the answers given, so ``back`` simply replays the answers but
the last. Every answer is checked by the case validator itself, so the written case is valid;
an answer holding a control character or a byte that is not UTF-8 is refused at the prompt.
An interview stopped before the end leaves its answers as typed (:meth:`ConsultationDialogue.partial`),
which :meth:`ConsultationDialogue.resume` replays.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..cases.loading import validate_case
from ..cases.models import Case
from ..errors import CaseError, Problem, printable
from ..kb.knowledge_base import KnowledgeBase
from ..planning.pipeline import plan_case
from ..planning.results import PlanResult
from .case_draft import SOURCE
from .dialogue import Ask, Patience, Say, unreadable
from .interview import Interview
from .questions import Notice, Question, Script
from .rule_needs import Needs

CASE_ORDER = ("id", "patient", "diagnoses", "findings", "history", "medications", "labs", "vitals",
              "clearances", "prescription")
WHY_SHOWN = 8
PARTIAL_KEY = "consultation"   # a partial file's answers as typed, under consultation.answers
MAX_ANSWERS = 2000             # answers a partial file may hold


@dataclass(frozen=True)
class Consultation:
    """What a consultation produced: the case file (data and YAML), the case and its plan."""

    data: dict[str, Any]
    yaml: str
    case: Case
    result: PlanResult


def _ordered(data: dict[str, Any]) -> dict[str, Any]:
    return {k: data[k] for k in CASE_ORDER if data.get(k) not in (None, [], {})}


@dataclass
class _Cursor:
    """Where the interview stands: its generator and draft, what it asks now, or the finished draft.

    ``answers`` are the answers read so far, ``texts`` the same answers as typed (what a partial
    file keeps: replayed through the questions, they are read and checked again)."""

    script: Script
    draft: dict[str, Any]
    item: Question | Notice | None = None
    done: dict[str, Any] | None = None
    answers: list[Any] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)

    def send(self, value: Any) -> None:
        try:
            self.item = self.script.send(value)
        except StopIteration as stop:
            self.item, self.done = None, stop.value

    def skip_notices(self) -> None:
        while isinstance(self.item, Notice):
            self.send(None)


class ConsultationDialogue:
    """Runs the interview with injected input and output; ``why`` and ``back`` at any prompt.

    When it stops before the end (the input ends, Ctrl-C, the same answer refused again and
    again), :meth:`partial` gives what was answered, for ``consult --resume``.
    """

    def __init__(self, kb: KnowledgeBase, ask: Ask, say: Say):
        self.kb = kb
        self.needs = Needs(kb)
        self.ask = ask
        self.say = say
        self.cursor = self._fresh()

    def _fresh(self) -> _Cursor:
        interview = Interview(self.kb, self.needs)
        cursor = _Cursor(interview.script(), interview.data)
        cursor.send(None)
        return cursor

    def _start(self, answers: list[Any], texts: list[str]) -> _Cursor:
        """A fresh interview replayed through ``answers`` (its notices were said already)."""
        cursor = self._fresh()
        for value, text in zip(answers, texts, strict=True):
            cursor.skip_notices()
            if cursor.item is None:
                break
            cursor.answers.append(value)
            cursor.texts.append(text)
            cursor.send(value)
        cursor.skip_notices()
        return cursor

    def resume(self, texts: list[str]) -> None:
        """Replay the answers of a partial file: each is read and checked again, and the first one
        that no longer fits (the knowledge base changed) is asked again, with the rest."""
        cursor = self._fresh()
        for number, text in enumerate(texts, 1):
            cursor.skip_notices()
            item = cursor.item
            if not isinstance(item, Question):
                break
            try:
                if unreadable(text) is not None or text.strip().lower() in ("why", "back"):
                    raise ValueError(unreadable(text) or "not an answer")
                value = item.parse(text)
            except ValueError as exc:
                self.say(printable(f"Answer {number} ({text!r}) no longer answers {item.text!r}: {exc}; "
                                   "asked again from there.", one_line=True))
                break
            cursor.answers.append(value)
            cursor.texts.append(text)
            cursor.send(value)
        cursor.skip_notices()
        self.say(f"Resumed after {len(cursor.texts)} answer{'s' if len(cursor.texts) != 1 else ''}.")
        self.cursor = cursor

    def partial(self) -> dict[str, Any]:
        """What was answered so far: the answers as typed (``consultation.answers``, which
        ``--resume`` replays) and the case data they made."""
        data = copy.deepcopy(_ordered(self.cursor.draft))
        return {PARTIAL_KEY: {"answers": list(self.cursor.texts)}, **data}

    def _why(self, question: Question) -> None:
        lines = [question.why] if question.why else []
        if question.waiting:
            lines.append(f"Waiting for this answer ({len(question.waiting)} rule"
                         f"{'s' if len(question.waiting) > 1 else ''}):")
            for rid in question.waiting[:WHY_SHOWN]:
                lines.append(f"  {rid}: {self.kb.by_id[rid].description}")
            if len(question.waiting) > WHY_SHOWN:
                lines.append(f"  ... and {len(question.waiting) - WHY_SHOWN} more")
        self.say("\n".join(lines) or "No rule waits for this answer.")

    def run(self) -> Consultation:
        self.say("Consultation: answer with a menu number or an id; 'why' names the rules waiting for "
                 "the answer, 'back' revises the last answer.")
        shown: Question | None = None
        patience = Patience("consultation")
        while (item := self.cursor.item) is not None:
            cursor = self.cursor
            if isinstance(item, Notice):
                self.say(item.text)
                cursor.send(None)
                continue
            if item is not shown and item.menu:
                self.say(item.menu)
            shown = item
            text = self.ask(item.text)
            command = text.strip().lower()
            if command == "why":
                self._why(item)
                patience.idle_answer(text, item.text)
            elif command == "back":
                if not cursor.answers:
                    self.say("Nothing to revise yet.")
                    patience.idle_answer(text, item.text)
                    continue
                self.cursor = self._start(cursor.answers[:-1], cursor.texts[:-1])
                shown = None
                patience.moved_on()
            else:
                try:
                    problem = unreadable(text)
                    if problem is not None:
                        raise ValueError(problem)
                    value = item.parse(text)
                except ValueError as exc:
                    self.say(f"  {printable(str(exc), one_line=True)}")
                    patience.idle_answer(text, item.text)
                    continue
                patience.moved_on()
                cursor.answers.append(value)
                cursor.texts.append(text)
                cursor.send(value)
        data = _ordered(self.cursor.done or {})
        case = validate_case(data, SOURCE, self.kb.vocabulary)
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        return Consultation(data, text, case, plan_case(case, self.kb))


PARTIAL_HEAD = ("# A consultation stopped before it was complete: not a case file yet.\n"
                "# Continue it with: medmassage consult --resume THIS-FILE\n")


def partial_yaml(partial: dict[str, Any]) -> str:
    """The text of a partial file: a comment saying how to continue it, then the answers and data."""
    return PARTIAL_HEAD + yaml.safe_dump(partial, sort_keys=False, allow_unicode=True)


def partial_answers(data: Any, source: str) -> list[str]:
    """The answers of a partial file (its ``consultation.answers``), checked; raises CaseError."""
    answers = data.get(PARTIAL_KEY, {}).get("answers") if isinstance(data, dict) and \
        isinstance(data.get(PARTIAL_KEY), dict) else None
    if not isinstance(answers, list):
        raise CaseError([Problem(source, f"{PARTIAL_KEY}.answers", "not_partial",
                                 "not a partial consultation: it has no list of answers")])
    if len(answers) > MAX_ANSWERS:
        raise CaseError([Problem(source, f"{PARTIAL_KEY}.answers", "too_long",
                                 f"at most {MAX_ANSWERS} answers (got {len(answers)})")])
    problems = [Problem(source, f"{PARTIAL_KEY}.answers[{i}]", "not_text", "an answer is text", a)
                for i, a in enumerate(answers) if not isinstance(a, str)]
    if problems:
        raise CaseError(problems)
    return list(answers)


def consult(kb: KnowledgeBase, ask: Ask, say: Say) -> Consultation:
    """Interview the user through ``ask``/``say`` and return the validated case and its plan."""
    return ConsultationDialogue(kb, ask, say).run()
