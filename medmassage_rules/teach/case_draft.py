"""The case draft of a consultation: answers read into case data, each checked by the case validator.

An answer is tried on a copy of the draft (a trial of the draft with the answer) and the
validator's problems under the answer's path become the :class:`ValueError` the question
shows, so the written case is valid. Menu numbers and typed ids are both read.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from ..cases.loading import validate_case
from ..errors import CaseError
from ..kb.fact_types import KIND_OF
from ..kb.knowledge_base import KnowledgeBase
from ..kb.wording import Words
from ..planning.case_facts import case_facts
from .questions import as_id
from .rule_needs import Needs

SOURCE = "consultation"
DEFAULT_ID = "consultation"


class CaseDraft:
    """The case data answered so far and the readers that check an answer against it."""

    def __init__(self, kb: KnowledgeBase, needs: Needs):
        self.kb = kb
        self.v = kb.vocabulary
        self.needs = needs
        self.words = Words(kb.vocabulary)
        self.data: dict[str, Any] = {}

    def check(self, prefix: str, change: Callable[[dict[str, Any]], None]) -> None:
        """Raise ValueError with the validator's problems under ``prefix`` if ``change`` made the draft invalid."""
        trial = copy.deepcopy(self.data)
        change(trial)
        try:
            validate_case(trial, SOURCE, self.v)
        except CaseError as exc:
            mine = [p for p in exc.problems if p.path.startswith(prefix)]
            if mine:
                raise ValueError("; ".join(f"{p.message}" + (f" (got {p.value!r})" if p.has_value else "")
                                           for p in mine)) from None

    def choice(self, options: list[str], prefix: str, build: Callable[[str], Callable[[dict[str, Any]], None]],
               optional: bool, many: bool = False) -> Callable[[str], Any]:
        """Read menu numbers or typed ids (any id the validator accepts), one or several."""
        def parse(text: str) -> Any:
            tokens = [t for t in text.replace(",", " ").split()] if many else ([text] if text.strip() else [])
            if not tokens:
                if optional:
                    return [] if many else None
                raise ValueError("choose a number from the menu or type an id")
            picked = []
            for token in tokens:
                t = token.strip()
                if t.isdigit():
                    if not 1 <= int(t) <= len(options):
                        raise ValueError(f"{t} is not on the menu (1-{len(options)})")
                    picked.append(options[int(t) - 1])
                else:
                    picked.append(as_id(t))
            for ident in picked:
                self.check(prefix, build(ident))
            return picked if many else picked[0]
        return parse

    def number(self, prefix: str, build: Callable[[Any], Callable[[dict[str, Any]], None]],
               integer: bool = True) -> Callable[[str], Any]:
        """Read a number (Enter skips it) the validator accepts where ``build`` puts it."""
        def parse(text: str) -> Any:
            t = text.strip()
            if not t:
                return None
            try:
                value: Any = int(t) if integer else float(t)
            except ValueError:
                raise ValueError(f"type a{'' if integer else ' decimal'} number, or Enter to skip") from None
            if not integer and value.is_integer():
                value = int(value)
            self.check(prefix, build(value))
            return value
        return parse

    def facts(self) -> dict[str, list[Any]]:
        """The case facts of the draft, by fact kind."""
        out: dict[str, list[Any]] = {}
        for fact in case_facts(validate_case(self.data, SOURCE, self.v), self.v):
            out.setdefault(KIND_OF[type(fact)], []).append(fact)
        return out

    def read_case_id(self, text: str) -> str:
        """The case id typed, or the default one."""
        value = text.strip() or DEFAULT_ID
        self.check("id", lambda t: t.__setitem__("id", value))
        return value

    def read_blood_pressure(self, text: str) -> tuple[int, int] | None:
        """Systolic/diastolic as typed ("150/95"), or None when not measured."""
        t = text.strip()
        if not t:
            return None
        parts = t.split("/")
        if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
            raise ValueError("type systolic/diastolic, e.g. 150/95")
        systolic, diastolic = (int(p) for p in parts)
        self.check("vitals", lambda d: d.setdefault("vitals", {}).update(systolic=systolic, diastolic=diastolic))
        return systolic, diastolic

    def condition_of(self, entry: dict[str, Any]) -> str | None:
        """The condition a diagnosis entry stands for (a code is mapped by the case validator)."""
        if "condition" in entry:
            return str(entry["condition"])
        coded, _ = self.coded(entry)
        return coded.condition if coded is not None else None

    def coded(self, entry: dict[str, Any]) -> tuple[Any, set[str]]:
        """The diagnosis a code stands for, validated alone, and the attributes the code itself
        gives (side, area); a condition that needs an area gets a stand-in for the check (its area
        is asked next). (None, set()) when the code maps to no condition."""
        for stand_in in ({}, {"area": next(iter(self.v.areas))}):
            try:
                case = validate_case({"id": "x", "diagnoses": [{**entry, **stand_in}]}, SOURCE, self.v)
            except CaseError:
                continue
            if not case.diagnoses:
                break
            d = case.diagnoses[0]
            return d, {name for name in ("side", "area") if getattr(d, name, None) is not None} - set(stand_in)
        return None, set()
