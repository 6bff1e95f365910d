"""An interactive consultation that builds a case by asking only what the rules need.

The order: the case id; the diagnoses (one or more, each once; a condition or an ICD-10-CM
code), each with the attributes its rules read (side, acuity, the limb of a lymphedema);
then, most urgent first, the findings (palpation and examination included), history items,
measurements and medications that a relevant rule still open tests - findings and history
as lists under one heading ("Red flags - any of these?"), each item named followed by the
site, side or attribute the waiting rules read; then the clearances that rules which would
fire require; then the prescription (requested and excluded modalities, focus areas, the
longest session). ``why`` at a prompt names the rules waiting for that answer; ``back``
revises the last answer.

The interview is a generator of questions that depends only on the answers given, so
``back`` simply replays the answers but the last. Every answer is checked by the case
validator itself (a trial of the draft with the answer), so the written case is valid.
Input and output are injected callables: click in the command line, lists in tests.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..cases.loading import validate_case
from ..cases.models import NEEDS_AREA, Case, HistoryItem
from ..errors import CaseError
from ..kb.fact_types import KIND_OF, SUBJECT_FIELD
from ..kb.knowledge_base import KnowledgeBase
from ..kb.rule_specs import RuleSpec
from ..kb.wording import Words
from ..planning.case_facts import case_facts
from ..planning.planner import plan_case
from ..planning.results import PlanResult
from .case_needs import FollowUp, Item, Key, Needs
from .dialogue import Ask, Say, menu

SOURCE = "consultation"
DEFAULT_ID = "consultation"
CASE_ORDER = ("id", "patient", "diagnoses", "findings", "history", "medications", "labs", "vitals",
              "clearances", "prescription")
LIST_OF = {"finding": "findings", "history": "history"}
WHY_SHOWN = 8
YES = ("y", "yes")
NO = ("n", "no")
ICD10 = re.compile(r"[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?")
SINGLE_WORDS = {"red_flag": "Red flag", "screening": "Screening", "urgent": "Urgent screening", "finding": "Finding",
                "history": "History"}
BATCH_WORDS = {"red_flag": "Red flags (any one means same-day medical assessment)",
               "urgent": "Urgent screening (with other answers, these may need same-day assessment)",
               "screening": "Screening (any one stops or defers treatment)",
               "finding": "Findings on examination and palpation", "history": "History"}


@dataclass(frozen=True)
class Question:
    """One prompt: its text, how to read the answer, and who waits for it."""

    text: str
    parse: Callable[[str], Any]          # raw text -> answer; ValueError says what is wrong
    menu: str = ""
    waiting: tuple[str, ...] = ()        # rule ids
    why: str = ""                        # what `why` says besides the waiting rules


@dataclass(frozen=True)
class Notice:
    """A line to say once, between questions."""

    text: str


@dataclass(frozen=True)
class Consultation:
    """What a consultation produced: the case file (data and YAML), the case and its plan."""

    data: dict[str, Any]
    yaml: str
    case: Case
    result: PlanResult


Script = Generator[Question | Notice, Any, dict[str, Any]]


def _as_id(text: str) -> str:
    return text.strip().lower().replace(" ", "_").replace("-", "_")


def _yes_no(default: bool) -> Callable[[str], bool]:
    def parse(text: str) -> bool:
        t = text.strip().lower()
        if not t:
            return default
        if t in YES or t in NO:
            return t in YES
        raise ValueError("answer y or n")
    return parse


class _Interview:
    """The questions, as a generator that reads each answer and builds the case draft."""

    def __init__(self, kb: KnowledgeBase, needs: Needs):
        self.kb = kb
        self.v = kb.vocabulary
        self.needs = needs
        self.words = Words(kb.vocabulary)
        self.data: dict[str, Any] = {}
        self.top_salience = 0
        self.titles: dict[str, int] = {}

    # -- checking an answer against the case validator ---------------------------------------------
    def _check(self, prefix: str, change: Callable[[dict[str, Any]], None]) -> None:
        trial = copy.deepcopy(self.data)
        change(trial)
        try:
            validate_case(trial, SOURCE, self.v)
        except CaseError as exc:
            mine = [p for p in exc.problems if p.path.startswith(prefix)]
            if mine:
                raise ValueError("; ".join(f"{p.message}" + (f" (got {p.value!r})" if p.has_value else "")
                                           for p in mine)) from None

    def _choice(self, options: list[str], prefix: str, build: Callable[[str], Callable[[dict[str, Any]], None]],
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
                    picked.append(_as_id(t))
            for ident in picked:
                self._check(prefix, build(ident))
            return picked if many else picked[0]
        return parse

    def _number(self, prefix: str, build: Callable[[Any], Callable[[dict[str, Any]], None]],
                integer: bool = True) -> Callable[[str], Any]:
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
            self._check(prefix, build(value))
            return value
        return parse

    def _facts(self) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {}
        for fact in case_facts(validate_case(self.data, SOURCE, self.v), self.v):
            out.setdefault(KIND_OF[type(fact)], []).append(fact)
        return out

    # -- the script ----------------------------------------------------------------------------
    def script(self) -> Script:
        d = self.data
        d["id"] = yield Question(
            f"Case id (Enter for {DEFAULT_ID!r})", self._case_id,
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
        by_id = {r.id: r for r in relevant}
        asked: set[Key] = set()
        pending = self.needs.items(relevant)
        self.top_salience = max((item.salience for item in pending), default=0)
        while pending:
            facts = self._facts()
            still_open = [(item, [by_id[r] for r in item.rules
                                  if self.needs.rule_state(by_id[r], facts, asked) is not False])
                          for item in pending]
            still_open = [(item, rules) for item, rules in still_open if rules]
            if not still_open:
                break
            batch = self._batch(still_open, facts, asked)
            if len(batch) > 1:
                yield from self._screen_batch(batch, asked)
            else:
                yield from self._screen(*batch[0], asked)
            done = {item.key for item, _ in batch}
            asked |= done
            pending = [item for item, _ in still_open if item.key not in done]
            decisive = self._decisive(relevant, asked)
            if decisive is not None:
                yield Notice(f"  -> {decisive.id}: {decisive.description}. No further answer can change "
                             f"the outcome, so the screening ends here.")
                return d
        yield from self._clearances()
        yield from self._prescription(relevant, asked)
        return d

    def _case_id(self, text: str) -> str:
        value = text.strip() or DEFAULT_ID
        self._check("id", lambda t: t.__setitem__("id", value))
        return value

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
            elif ICD10.fullmatch(t.upper()) and _as_id(t) not in self.v.conditions:
                entry = {"icd10": t.upper()}
            else:
                entry = {"condition": _as_id(t)}
            self._check(f"diagnoses[{index}].{next(iter(entry))}", lambda d: d["diagnoses"].append(dict(entry)))
            condition = self._condition_of(entry)
            if condition is None:
                raise ValueError(f"{t} names no condition of the knowledge base: the plan could not cover it")
            given = [self._condition_of(x) for x in self.data["diagnoses"]]
            if condition in given:
                raise ValueError(f"{self.v.label(condition)} is a diagnosis of this case already")
            return entry

        waiting = [r.id for r in self.kb.rules if any(k == "diagnosis" and "condition" in (f or {})
                                                       for k, f in r.positive)]
        text = ("Diagnosis (number, condition id or ICD-10-CM code)" if first else
                "Another diagnosis (number, id or ICD-10-CM code; Enter when done)")
        return Question(text, parse, menu=menu(self.v.label(c) for c in conditions), waiting=tuple(waiting))

    def _condition_of(self, entry: dict[str, Any]) -> str | None:
        """The condition a diagnosis entry stands for (a code is mapped by the case validator)."""
        if "condition" in entry:
            return str(entry["condition"])
        coded, _ = self._coded(entry)
        return coded.condition if coded is not None else None

    def _coded(self, entry: dict[str, Any]) -> tuple[Any, set[str]]:
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

    def _diagnosis_details(self, entry: dict[str, Any]) -> Generator[Question, Any, None]:
        diagnosis = self.data["diagnoses"][-1]
        index = len(self.data["diagnoses"]) - 1
        prefix = f"diagnoses[{index}]"
        condition = self._condition_of(entry) or ""
        _, given = self._coded(entry) if "icd10" in entry else (None, set())
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
            value = yield Question(f"{label}: {name} (number or id{hint})",
                                   self._choice(options, f"{prefix}.{name}", build, optional=not required),
                                   menu=menu(self.v.label(o) for o in options), waiting=rules,
                                   why="" if rules else f"A diagnosis of {label} must give its {name}.")
            if value is not None:
                diagnosis[name] = value

    # -- screening -------------------------------------------------------------------------------
    def _screen(self, item: Item, rules: list[RuleSpec], asked: set[Key]) -> Generator[Question, Any, None]:
        kind, name = item.key
        waiting = tuple(r.id for r in rules)
        if kind in LIST_OF:
            yield from self._screen_listed(item, rules, asked)
        elif kind == "medication":
            yield from self._medications(rules)
        elif item.key == ("vitals", "blood_pressure"):
            value = yield Question("Blood pressure, systolic/diastolic, e.g. 150/95 (Enter if not measured)",
                                   self._blood_pressure, waiting=waiting)
            if value is not None:
                self.data.setdefault("vitals", {}).update(systolic=value[0], diastolic=value[1])
        elif name == "frail":
            value = yield Question("Is the patient frail? [y/N]", _yes_no(False), waiting=waiting)
            if value:
                self.data.setdefault("patient", {})["frail"] = True
        else:
            words = {"age": "Age in years", "temperature_c": "Temperature in degrees C",
                     "platelets_k": "Platelet count, thousands per microlitre"}.get(name, name.replace("_", " "))

            def build(value: Any) -> Callable[[dict[str, Any]], None]:
                return lambda t: t.setdefault(kind, {}).__setitem__(name, value)

            value = yield Question(f"{words} (Enter if not known)",
                                   self._number(f"{kind}.{name}", build, integer=name == "age"), waiting=waiting)
            if value is not None:
                self.data.setdefault(kind, {})[name] = value

    def _blood_pressure(self, text: str) -> tuple[int, int] | None:
        t = text.strip()
        if not t:
            return None
        parts = t.split("/")
        if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
            raise ValueError("type systolic/diastolic, e.g. 150/95")
        systolic, diastolic = (int(p) for p in parts)
        self._check("vitals", lambda d: d.setdefault("vitals", {}).update(systolic=systolic, diastolic=diastolic))
        return systolic, diastolic

    def _heading(self, item: Item, rules: list[RuleSpec], facts: dict[str, list[Any]], asked: set[Key]) -> str:
        """red_flag when a yes alone sends the case to the most severe status, screening when it
        stops treatment otherwise, urgent when the most urgent rules need it with other answers,
        else the kind (finding, history)."""
        stops = [r.then.block_all.status for r in rules if r.then.block_all is not None
                 and self.needs.rule_state(r, facts, asked, pending=item.key) is True]
        if stops:
            return "red_flag" if self.v.statuses[0] in stops else "screening"
        return "urgent" if item.salience >= self.top_salience else item.key[0]

    def _batch(self, still_open: list[tuple[Item, list[RuleSpec]]], facts: dict[str, list[Any]],
               asked: set[Key]) -> list[tuple[Item, list[RuleSpec]]]:
        """The next question: the first open item with every open finding or history item under the
        same heading (red flags, screening, urgent, findings, history). An item that a rule needs
        jointly with one already on the list waits for a later question (dyspnoea *with* edema)."""
        first, rules = still_open[0]
        batch = [(first, rules)]
        if first.key[0] not in LIST_OF:
            return batch
        heading = self._heading(first, rules, facts, asked)
        for item, item_rules in still_open[1:]:
            if item.key[0] not in LIST_OF or self._heading(item, item_rules, facts, asked) != heading:
                continue
            if any(self.needs.joint(rule, other.key, item.key) for rule in item_rules for other, _ in batch):
                continue
            batch.append((item, item_rules))
        return batch

    def _where(self, key: Key, rules: list[RuleSpec]) -> str:
        follow = self.needs.follow_up(key, rules)
        return "".join(f" of the {self.v.label(site)}" for site in follow.fixed.values())

    def _screen_batch(self, batch: list[tuple[Item, list[RuleSpec]]],
                      asked: set[Key]) -> Generator[Question, Any, None]:
        """'Any of these?' with a numbered list; the details of each one named follow."""
        facts = self._facts()
        first, rules = batch[0]
        heading = self._heading(first, rules, facts, asked)
        self.titles[heading] = times = self.titles.get(heading, 0) + 1
        title = BATCH_WORDS[heading]
        if times > 1:                  # a later list under the same heading: say so, never repeat a question
            title = f"More {title[0].lower()}{title[1:]}" + (f" ({times})" if times > 2 else "")
        keys = [item.key for item, _ in batch]
        labels = [f"{self.words.plain(item.key[1])}{self._where(item.key, item_rules)}" for item, item_rules in batch]
        waiting = tuple(dict.fromkeys(r.id for _, item_rules in batch for r in item_rules))

        def parse(text: str) -> list[Key]:
            tokens = [t.strip() for t in text.split(",") if t.strip()]
            if not tokens or [t.lower() for t in tokens] in (["none"], ["no"], ["n"]):
                return []
            picked: list[Key] = []
            for token in tokens:
                for part in (token.split() if all(p.isdigit() for p in token.split()) else [token]):
                    named = [k for k in keys if k[1] == _as_id(part)]
                    if part.isdigit():
                        if not 1 <= int(part) <= len(keys):
                            raise ValueError(f"{part} is not on the list (1-{len(keys)})")
                        picked.append(keys[int(part) - 1])
                    elif named:
                        picked += named
                    else:
                        raise ValueError(f"{part!r} is not on this list: answer its numbers or ids, or none")
            return list(dict.fromkeys(picked))

        present = yield Question(f"{title} - any of these? Numbers or ids, comma-separated; "
                                 "Enter or 'none' for none", parse, menu=menu(labels), waiting=waiting)
        for item, item_rules in batch:
            if item.key in present:
                yield from self._details(item.key, item_rules)

    def _screen_listed(self, item: Item, rules: list[RuleSpec], asked: set[Key]) -> Generator[Question, Any, None]:
        key = item.key
        heading = self._heading(item, rules, self._facts(), asked)
        present = yield Question(f"{SINGLE_WORDS[heading]}: {self.words.plain(key[1])}{self._where(key, rules)}? [y/N]",
                                 _yes_no(False), waiting=tuple(r.id for r in rules))
        if present:
            yield from self._details(key, rules)

    def _details(self, key: Key, rules: list[RuleSpec]) -> Generator[Question, Any, None]:
        """What a yes must say further: the site, the side, the attributes the waiting rules read."""
        kind, value = key
        follow = self.needs.follow_up(key, rules)
        entries: list[dict[str, Any]] = [{SUBJECT_FIELD[kind]: value, **follow.fixed}]
        for name, waiting in follow.ask.items():
            question = self._follow_up_question(kind, value, name, waiting, entries, follow)
            answer = yield question
            entries = self._with(kind, entries, name, answer)
        self.data.setdefault(LIST_OF[kind], []).extend(entries)

    def _with(self, kind: str, entries: list[dict[str, Any]], name: str, answer: Any) -> list[dict[str, Any]]:
        """The entries with one follow-up answer filled in (one entry per site for findings)."""
        if answer is None or answer == []:
            return entries
        if name == "site":
            sites = answer if isinstance(answer, list) else [answer]
            return [{**e, ("target" if s in self.v.targets else "area"): s} for e in entries for s in sites]
        return [{**e, name: answer} for e in entries]

    def _follow_up_question(self, kind: str, value: str, name: str, waiting: tuple[str, ...],
                            entries: list[dict[str, Any]], follow: FollowUp) -> Question:
        listed = LIST_OF[kind]
        label = self.v.label(value)

        def build_with(answer: Any) -> Callable[[dict[str, Any]], None]:
            return lambda t: t.setdefault(listed, []).extend(self._with(kind, entries, name, answer))

        if name == "site":
            # a trigger point lies in a muscle: the menu lists the muscles (any target id is still taken)
            options = ([t for t in self.v.targets if self.v.tissue_of(t) == "muscle"] if value == "trigger_point"
                       else list(self.v.areas))
            required = kind == "finding" and value == "trigger_point"
            many = kind == "finding"
            what = "which muscle(s)" if required else ("where (area; several allowed)" if many else "where (area)")
            blank = "" if required else (" Enter if not known: every area" if kind == "history" else
                                         " Enter if not known")
            return Question(f"{label}: {what}, number or id;{blank}".rstrip(";"),
                            self._choice(options, listed, lambda s: build_with([s] if many else s),
                                         optional=not required, many=many),
                            menu=menu(self.v.label(o) for o in options), waiting=waiting)
        if name == "side":
            options = list(self.v.sides)
            return Question(f"{label}: side (number or id; Enter if none)",
                            self._choice(options, listed, build_with, optional=True),
                            menu=menu(self.v.label(o) for o in options), waiting=waiting)
        default = HistoryItem.model_fields[name].default if name in HistoryItem.model_fields else None
        if isinstance(default, bool) or name in ("fragility_fracture", "active", "high_risk", "decompensated"):
            hint = "[Y/n]" if default else "[y/N]"
            return Question(f"{label}: {name.replace('_', ' ')}? {hint}", _yes_no(bool(default)), waiting=waiting)
        return Question(f"{label}: {name.replace('_', ' ')} (a number; Enter if not known)",
                        self._number(listed, build_with), waiting=waiting)

    def _medications(self, rules: list[RuleSpec]) -> Generator[Question, Any, None]:
        tested: list[str] = []
        for rule in rules:
            for kind, fields in rule.positive:
                if kind == "medication":
                    cond = (fields or {}).get("class")
                    tested += sorted(self.needs.universe.admitted("medication", "class", cond) - {None},
                                     key=self.v.medication_classes.index) if cond is not None else []
        options = list(dict.fromkeys(tested)) or list(self.v.medication_classes)

        def parse(text: str) -> list[str]:
            """Menu numbers, classes or drug names, comma-separated; a name the vocabulary does not
            know is kept as given (the planner lists it as not checked)."""
            names: list[str] = []
            for token in (t.strip() for t in text.split(",")):
                if not token:
                    continue
                if token.isdigit():
                    if not 1 <= int(token) <= len(options):
                        raise ValueError(f"{token} is not on the menu (1-{len(options)})")
                    names.append(options[int(token) - 1])
                elif _as_id(token) in self.v.medications or _as_id(token) in self.v.medication_classes:
                    names.append(_as_id(token))
                else:
                    names.append(token)
            names = list(dict.fromkeys(names))
            self._check("medications", lambda t: t.__setitem__("medications", list(names)))
            return names

        names = yield Question("Medications: numbers, classes or drug names (e.g. warfarin), comma-separated; "
                               "Enter for none", parse,
                               menu=menu(self.v.label(o) for o in options), waiting=tuple(r.id for r in rules))
        if names:
            self.data["medications"] = names

    def _decisive(self, relevant: list[RuleSpec], asked: set[Key]) -> RuleSpec | None:
        """A rule that surely sends the case to the most severe status, clearances aside."""
        worst = self.v.statuses[0]
        facts = self._facts()
        for rule in relevant:
            b = rule.then.block_all
            if b is not None and b.status == worst and not rule.clearance_gates \
                    and self.needs.rule_state(rule, facts, asked) is True:
                return rule
        return None

    # -- clearances and the prescription ---------------------------------------------------------
    def _clearances(self) -> Generator[Question, Any, None]:
        case = validate_case(self.data, SOURCE, self.v)
        gates: dict[str, list[str]] = {}
        for firing in plan_case(case, self.kb).trace:
            for gate in self.kb.by_id[firing.rule_id].clearance_gates:
                gates.setdefault(gate, []).append(firing.rule_id)
        for gate, rules in gates.items():
            article = "an" if gate[:1] in "aeiou" else "a"
            present = yield Question(f"Is {article} {gate} clearance documented ({self.v.clearances[gate]})? [y/N]",
                                     _yes_no(False), waiting=tuple(dict.fromkeys(rules)))
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
                                   self._choice(options, f"prescription.{name}", build, optional=True, many=True),
                                   menu=menu(self.v.label(o) for o in options), waiting=rx_rules.get(kind, ()),
                                   why=why[name])
            if value:
                self.data.setdefault("prescription", {})[name] = list(dict.fromkeys(value))
        facts = self._facts()
        limits = tuple(r.id for r in relevant if r.then.limit_minutes is not None
                       and self.needs.rule_state(r, facts, asked) is True)

        def build_minutes(value: Any) -> Callable[[dict[str, Any]], None]:
            return lambda t: t.setdefault("prescription", {}).__setitem__("max_minutes", value)

        value = yield Question("Prescription: longest session in minutes, 15-120 (Enter for 30)",
                               self._number("prescription.max_minutes", build_minutes), waiting=limits,
                               why="No rule tests it: the session planner makes it the ceiling of the "
                                   "session (30 minutes when not given); the rules listed lower that ceiling.")
        if value is not None:
            self.data.setdefault("prescription", {})["max_minutes"] = value


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
        cursor = _Cursor(_Interview(self.kb, self.needs).script(), answers=list(answers))
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
