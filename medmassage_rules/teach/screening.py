"""The screening of a consultation: the findings, history items, measurements and medications
that a relevant rule still open tests, most urgent first.

Findings and history come as lists under one heading ("Red flags - any of these?"), each
item named with the site, side or attribute the waiting rules read; a yes asks what the
waiting rules read further. The screening ends early when a rule surely sends the case to
the most severe status.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from ..cases.models import HistoryItem
from ..kb.fact_types import SUBJECT_FIELD
from ..kb.knowledge_base import KnowledgeBase
from ..kb.rule_specs import RuleSpec
from .case_draft import CaseDraft
from .dialogue import menu
from .questions import Notice, Question, as_id, yes_no
from .rule_needs import FollowUp, Item, Key, Needs

LIST_OF = {"finding": "findings", "history": "history"}
SINGLE_WORDS = {"red_flag": "Red flag", "screening": "Screening", "urgent": "Urgent screening", "finding": "Finding",
                "history": "History"}
BATCH_WORDS = {"red_flag": "Red flags (any one means same-day medical assessment)",
               "urgent": "Urgent screening (with other answers, these may need same-day assessment)",
               "screening": "Screening (any one stops or defers treatment)",
               "finding": "Findings on examination and palpation", "history": "History"}


# A history item's attribute asked as a question about it.
FLAG_PROMPTS = {"fragility_fracture": "Has the {} caused a fragility fracture?", "active": "Is the {} active?",
                "high_risk": "Is the {} high risk?", "decompensated": "Is the {} decompensated?"}
NUMBER_PROMPTS = {"weeks": "How many weeks into the {} is the patient?", "days_since": "How many days since the {}?",
                  "hours_since": "How many hours since the last episode of {}?"}

class Screening(CaseDraft):
    """The screening questions, read into the case draft."""

    def __init__(self, kb: KnowledgeBase, needs: Needs):
        super().__init__(kb, needs)
        self.top_salience = 0
        self.titles: dict[str, int] = {}

    def screening(self, relevant: list[RuleSpec]) -> Generator[Question | Notice, Any, tuple[set[Key], bool]]:
        """Ask what the relevant rules still open test; (the keys asked, whether a decisive rule ended it)."""
        by_id = {r.id: r for r in relevant}
        asked: set[Key] = set()
        pending = self.needs.items(relevant)
        self.top_salience = max((item.salience for item in pending), default=0)
        while pending:
            facts = self.facts()
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
                return asked, True
        return asked, False

    def _screen(self, item: Item, rules: list[RuleSpec], asked: set[Key]) -> Generator[Question, Any, None]:
        kind, name = item.key
        waiting = tuple(r.id for r in rules)
        if kind in LIST_OF:
            yield from self._screen_listed(item, rules, asked)
        elif kind == "medication":
            yield from self._medications(rules)
        elif item.key == ("vitals", "blood_pressure"):
            value = yield Question("Blood pressure, systolic/diastolic, e.g. 150/95 (Enter if not measured)",
                                   self.read_blood_pressure, waiting=waiting)
            if value is not None:
                self.data.setdefault("vitals", {}).update(systolic=value[0], diastolic=value[1])
        elif name == "frail":
            value = yield Question("Is the patient frail? [y/N]", yes_no(False), waiting=waiting)
            if value:
                self.data.setdefault("patient", {})["frail"] = True
        else:
            words = {"age": "Age in years", "temperature_c": "Temperature in degrees C",
                     "platelets_k": "Platelet count, thousands per microlitre"}.get(name, name.replace("_", " "))

            def build(value: Any) -> Callable[[dict[str, Any]], None]:
                return lambda t: t.setdefault(kind, {}).__setitem__(name, value)

            value = yield Question(f"{words} (Enter if not known)",
                                   self.number(f"{kind}.{name}", build, integer=name == "age"), waiting=waiting)
            if value is not None:
                self.data.setdefault(kind, {})[name] = value

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
        facts = self.facts()
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
                    named = [k for k in keys if k[1] == as_id(part)]
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
        heading = self._heading(item, rules, self.facts(), asked)
        present = yield Question(f"{SINGLE_WORDS[heading]}: {self.words.plain(key[1])}{self._where(key, rules)}? [y/N]",
                                 yes_no(False), waiting=tuple(r.id for r in rules))
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
            if required:
                text = f"In which muscle is the {label}? (numbers or ids, comma-separated)"
            elif many:
                text = f"Where is the {label}? (areas as numbers or ids, several allowed; Enter if not known)"
            else:
                text = (f"Where is the {label}? (a number or an id; Enter if not known, "
                        "and it counts for every area)")
            return Question(text,
                            self.choice(options, listed, lambda s: build_with([s] if many else s),
                                         optional=not required, many=many),
                            menu=menu(self.v.label(o) for o in options), waiting=waiting)
        if name == "side":
            options = list(self.v.sides)
            return Question(f"Which side is the {label} on? (a number or an id; Enter if none)",
                            self.choice(options, listed, build_with, optional=True),
                            menu=menu(self.v.label(o) for o in options), waiting=waiting)
        default = HistoryItem.model_fields[name].default if name in HistoryItem.model_fields else None
        if isinstance(default, bool) or name in ("fragility_fracture", "active", "high_risk", "decompensated"):
            hint = "[Y/n]" if default else "[y/N]"
            asked = FLAG_PROMPTS.get(name, "Does the {} have " + name.replace("_", " ") + "?")
            return Question(f"{asked.format(label)} {hint}", yes_no(bool(default)), waiting=waiting)
        asked = NUMBER_PROMPTS.get(name, "What is the " + name.replace("_", " ") + " of the {}?")
        return Question(f"{asked.format(label)} (a number; Enter if not known)",
                        self.number(listed, build_with), waiting=waiting)

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
                elif as_id(token) in self.v.medications or as_id(token) in self.v.medication_classes:
                    names.append(as_id(token))
                else:
                    names.append(token)
            names = list(dict.fromkeys(names))
            self.check("medications", lambda t: t.__setitem__("medications", list(names)))
            return names

        names = yield Question("Medications: numbers, classes or drug names (e.g. warfarin), comma-separated; "
                               "Enter for none", parse,
                               menu=menu(self.v.label(o) for o in options), waiting=tuple(r.id for r in rules))
        if names:
            self.data["medications"] = names

    def _decisive(self, relevant: list[RuleSpec], asked: set[Key]) -> RuleSpec | None:
        """A rule that surely sends the case to the most severe status, clearances aside."""
        worst = self.v.statuses[0]
        facts = self.facts()
        for rule in relevant:
            b = rule.then.block_all
            if b is not None and b.status == worst and not rule.clearance_gates \
                    and self.needs.rule_state(rule, facts, asked) is True:
                return rule
        return None
