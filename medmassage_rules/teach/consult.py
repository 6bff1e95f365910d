"""An interactive consultation that builds a case by asking only what the rules need.

:class:`ConsultationDialogue` runs the interview (``interview.py``) with injected input and
output: click in the command line, lists in tests. ``why`` at a prompt names the rules
waiting for that answer; ``back`` revises the last answer: the interview is a generator of
questions that depends only on the answers given, so ``back`` simply replays the answers but
the last. Every answer is checked by the case validator itself, so the written case is valid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from ..cases.loading import validate_case
from ..cases.models import Case
from ..kb.knowledge_base import KnowledgeBase
from ..planning.pipeline import plan_case
from ..planning.results import PlanResult
from .case_draft import SOURCE
from .dialogue import Ask, Say
from .interview import Interview
from .questions import Notice, Question, Script
from .rule_needs import Needs

CASE_ORDER = ("id", "patient", "diagnoses", "findings", "history", "medications", "labs", "vitals",
              "clearances", "prescription")
WHY_SHOWN = 8


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
    """Where the interview stands: its generator, what it asks now, or the finished draft."""

    script: Script
    item: Question | Notice | None = None
    done: dict[str, Any] | None = None
    answers: list[Any] = field(default_factory=list)

    def send(self, value: Any) -> None:
        try:
            self.item = self.script.send(value)
        except StopIteration as stop:
            self.item, self.done = None, stop.value


class ConsultationDialogue:
    """Runs the interview with injected input and output; ``why`` and ``back`` at any prompt."""

    def __init__(self, kb: KnowledgeBase, ask: Ask, say: Say):
        self.kb = kb
        self.needs = Needs(kb)
        self.ask = ask
        self.say = say

    def _start(self, answers: list[Any]) -> _Cursor:
        """A fresh interview replayed through ``answers`` (its notices were said already)."""
        cursor = _Cursor(Interview(self.kb, self.needs).script(), answers=list(answers))
        cursor.send(None)
        replayed = 0
        while cursor.item is not None:
            if isinstance(cursor.item, Notice):
                cursor.send(None)
            elif replayed < len(answers):
                cursor.send(answers[replayed])
                replayed += 1
            else:
                break
        return cursor

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
        cursor = self._start([])
        shown: Question | None = None
        while cursor.item is not None:
            item = cursor.item
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
            elif command == "back":
                if not cursor.answers:
                    self.say("Nothing to revise yet.")
                    continue
                cursor = self._start(cursor.answers[:-1])
                shown = None
            else:
                try:
                    value = item.parse(text)
                except ValueError as exc:
                    self.say(f"  {exc}")
                    continue
                cursor.answers.append(value)
                cursor.send(value)
        data = _ordered(cursor.done or {})
        case = validate_case(data, SOURCE, self.kb.vocabulary)
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        return Consultation(data, text, case, plan_case(case, self.kb))


def consult(kb: KnowledgeBase, ask: Ask, say: Say) -> Consultation:
    """Interview the user through ``ask``/``say`` and return the validated case and its plan."""
    return ConsultationDialogue(kb, ask, say).run()
