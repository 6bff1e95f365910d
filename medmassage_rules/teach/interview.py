"""The interview of a consultation: the questions in their order, as a generator of the answers given.

The order: the case id; the diagnoses (one or more, each once; a condition or an ICD-10-CM
code), each with the attributes its rules read (side, acuity, the limb of a lymphedema);
then the screening (``screening.py``); then the clearances that rules which would fire
require; then the prescription (requested and excluded modalities, focus areas, the longest
session). The questions depend only on the answers given, so replaying the answers replays
the interview.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator
from typing import Any

from ..cases.loading import validate_case
from ..cases.models import NEEDS_AREA
from ..kb.rule_specs import RuleSpec
from ..planning.pipeline import plan_case
from .case_draft import DEFAULT_ID, SOURCE
from .dialogue import menu
from .questions import Notice, Question, Script, as_id, yes_no
from .rule_needs import Key
from .screening import Screening

# A diagnosis' attribute asked as a question about it.
DETAIL_PROMPTS = {"side": "Which side is the {} on?", "acuity": "How acute is the {}?",
                  "severity": "How severe is the {}?", "area": "Which area does the {} affect?"}
ICD10 = re.compile(r"[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?")


class Interview(Screening):
    """The questions, as a generator that reads each answer and builds the case draft."""

    def script(self) -> Script:
        """The whole interview; it returns the case data answered."""
        d = self.data
        d["id"] = yield Question(
            f"What is the case id? (Enter for {DEFAULT_ID!r})", self.read_case_id,
            why="No rule reads the case id: it names the case and its file.")
        d["diagnoses"] = []
        while True:
            entry = yield self._condition_question(first=not d["diagnoses"])
            if entry is None:
                break
            d["diagnoses"].append(dict(entry))
            yield from self._diagnosis_details(entry)
        conditions = [x.condition for x in validate_case(d, SOURCE, self.v).diagnoses]
        relevant = self.needs.relevant_rules(conditions)
        asked, decided = yield from self.screening(relevant)
        if decided:
            return d
        yield from self._clearances()
        yield from self._prescription(relevant, asked)
        return d

    def _condition_question(self, first: bool) -> Question:
        conditions = list(self.v.conditions)
        index = len(self.data["diagnoses"])

        def parse(text: str) -> dict[str, str] | None:
            t = text.strip()
            if not t:
                if first:
                    raise ValueError("choose a number from the menu, or type a condition id or an ICD-10-CM code")
                return None
            if t.isdigit():
                if not 1 <= int(t) <= len(conditions):
                    raise ValueError(f"{t} is not on the menu (1-{len(conditions)})")
                entry = {"condition": conditions[int(t) - 1]}
            elif ICD10.fullmatch(t.upper()) and as_id(t) not in self.v.conditions:
                entry = {"icd10": t.upper()}
            else:
                entry = {"condition": as_id(t)}
            self.check(f"diagnoses[{index}].{next(iter(entry))}", lambda d: d["diagnoses"].append(dict(entry)))
            condition = self.condition_of(entry)
            if condition is None:   # kept as given: the plan lists it as not covered (contract §5)
                if any(x.get("icd10") == entry["icd10"] for x in self.data["diagnoses"]):
                    raise ValueError(f"{entry['icd10']} is a diagnosis of this case already")
                return entry
            given = [self.condition_of(x) for x in self.data["diagnoses"]]
            if condition in given:
                raise ValueError(f"{self.v.label(condition)} is a diagnosis of this case already")
            return entry

        waiting = [r.id for r in self.kb.rules if any(k == "diagnosis" and "condition" in (f or {})
                                                       for k, f in r.positive)]
        text = ("What is the diagnosis? (a number, a condition id or an ICD-10-CM code)" if first else
                "Is there another diagnosis? (a number, an id or an ICD-10-CM code; Enter when done)")
        return Question(text, parse, menu=menu(self.v.label(c) for c in conditions), waiting=tuple(waiting))

    def _diagnosis_details(self, entry: dict[str, Any]) -> Generator[Question | Notice, Any, None]:
        diagnosis = self.data["diagnoses"][-1]
        index = len(self.data["diagnoses"]) - 1
        prefix = f"diagnoses[{index}]"
        condition = self.condition_of(entry)
        if condition is None:
            yield Notice(f"  {entry['icd10']} names no condition of the knowledge base: it is kept in the case "
                         "and the plan lists it as not covered.")
            return
        _, given = self.coded(entry) if "icd10" in entry else (None, set())
        for name, rules in self.needs.diagnosis_fields(condition).items():
            if name in given:
                continue                     # the code gives it (G56.01: right; I97.2: the upper arm)
            options = {"side": list(self.v.sides), "acuity": list(self.v.acuities),
                       "severity": list(self.v.severities), "area": list(self.v.areas)}[name]
            required = name == "area" and condition in NEEDS_AREA

            def build(value: str, name: str = name) -> Callable[[dict[str, Any]], None]:
                return lambda t: t["diagnoses"][index].__setitem__(name, value)

            label = self.v.label(condition)
            hint = "" if required else "; Enter if not known"
            value = yield Question(DETAIL_PROMPTS[name].format(label) + f" (a number or an id{hint})",
                                   self.choice(options, f"{prefix}.{name}", build, optional=not required),
                                   menu=menu(self.v.label(o) for o in options), waiting=rules,
                                   why="" if rules else f"A diagnosis of {label} must give its {name}.")
            if value is not None:
                diagnosis[name] = value

    def _clearances(self) -> Generator[Question, Any, None]:
        case = validate_case(self.data, SOURCE, self.v)
        gates: dict[str, list[str]] = {}
        for firing in plan_case(case, self.kb).trace:
            for gate in self.kb.by_id[firing.rule_id].clearance_gates:
                gates.setdefault(gate, []).append(firing.rule_id)
        for gate, rules in gates.items():
            article = "an" if gate[:1] in "aeiou" else "a"
            present = yield Question(f"Is {article} {gate} clearance documented ({self.v.clearances[gate]})? [y/N]",
                                     yes_no(False), waiting=tuple(dict.fromkeys(rules)))
            if present:
                self.data.setdefault("clearances", []).append(gate)

    def _prescription(self, relevant: list[RuleSpec], asked: set[Key]) -> Generator[Question, Any, None]:
        """The physician's order: requested and excluded modalities, focus areas, the longest session."""
        rx_rules = self.needs.prescription_rules()
        modalities, areas = list(self.v.modalities), list(self.v.areas)
        parts = (("modalities", "request", modalities, "Prescription: modalities the physician requests"),
                 ("exclude_modalities", "exclusion", modalities, "Prescription: modalities the physician rules out"),
                 ("focus_areas", "focus", areas, "Prescription: areas to focus on"))
        why = {"modalities": "A request is proposed like any modality; a block or the pressure cap still wins.",
               "exclude_modalities": "An excluded modality is blocked for this case.",
               "focus_areas": "The session planner gives the segments of these areas their minutes first."}
        for name, kind, options, text in parts:
            if kind not in rx_rules and name != "focus_areas":
                continue

            def build(ident: str, name: str = name) -> Callable[[dict[str, Any]], None]:
                return lambda t: t.setdefault("prescription", {}).setdefault(name, []).append(ident)

            value = yield Question(f"{text} (numbers or ids, comma-separated; Enter for none)",
                                   self.choice(options, f"prescription.{name}", build, optional=True, many=True),
                                   menu=menu(self.v.label(o) for o in options), waiting=rx_rules.get(kind, ()),
                                   why=why[name])
            if value:
                self.data.setdefault("prescription", {})[name] = list(dict.fromkeys(value))
        facts = self.facts()
        limits = tuple(r.id for r in relevant if r.then.limit_minutes is not None
                       and self.needs.rule_state(r, facts, asked) is True)

        def build_minutes(value: Any) -> Callable[[dict[str, Any]], None]:
            return lambda t: t.setdefault("prescription", {}).__setitem__("max_minutes", value)

        value = yield Question("Prescription: longest session in minutes, 15-120 (Enter for 30)",
                               self.number("prescription.max_minutes", build_minutes), waiting=limits,
                               why="No rule tests it: the session planner makes it the ceiling of the "
                                   "session (30 minutes when not given); the rules listed lower that ceiling.")
        if value is not None:
            self.data.setdefault("prescription", {})["max_minutes"] = value
