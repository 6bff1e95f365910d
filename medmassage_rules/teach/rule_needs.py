"""What the knowledge base needs to know about a case, read from the rules themselves.

The consultation asks only what some rule still open would test. This module reads the
rule specs (no engine run): which diagnosis attributes the rules of a condition use, which
findings, history items, medications and measurements the relevant rules test, what a
"yes" must say further (a site, a side, an attribute), and, given the answers so far,
whether a rule can still fire (three-valued: it holds, it cannot hold, or not known yet).

Relevant rules for a set of diagnoses: the rules whose diagnosis patterns admit one of
them, the examination rules (findings alone indicate a mechanism and add their site as a
target: a trigger point in a muscle, paresthesia, spasm), and the safety rules (no diagnosis
pattern; they only veto, cap, require or refer) unless a safety rule can only block areas or
modalities these diagnoses never reach.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..cases.models import NEEDS_AREA
from ..kb.fact_types import SUBJECT_FIELD
from ..kb.knowledge_base import KnowledgeBase
from ..kb.pattern_matching import Universe, field_matches, pattern_matches
from ..kb.rule_specs import RuleSpec, SiteRef

SCREENED_KINDS = ("finding", "history", "patient", "vitals", "labs", "medication")
PRESCRIPTION_KINDS = ("request", "exclusion", "focus")
SITE_FIELDS = ("area", "target", "site")
BLOOD_PRESSURE = ("systolic", "diastolic")       # asked together, as "150/95"
# A diagnosis field a rule tests -> the question that answers it.
DIAGNOSIS_QUESTION = {"side": "side", "acuity": "acuity", "onset_days": "acuity", "acuity_recorded": "acuity",
                      "area": "area", "group": "area", "severity": "severity"}
DIAGNOSIS_ORDER = ("area", "side", "acuity", "severity")

Key = tuple[str, str]   # ("finding", "dyspnea"), ("history", "osteoporosis"), ("vitals", "blood_pressure"), ...


def field_key(kind: str, name: str) -> Key:
    return (kind, "blood_pressure") if kind == "vitals" and name in BLOOD_PRESSURE else (kind, name)


@dataclass(frozen=True)
class Item:
    """One thing to screen for, and the rules that test it."""

    key: Key
    rules: tuple[str, ...]
    salience: int


@dataclass(frozen=True)
class FollowUp:
    """What a "yes" to a finding or history item must say further, and who waits for each part."""

    fixed: Mapping[str, Any]                       # site fields a rule names literally
    ask: Mapping[str, tuple[str, ...]]             # field -> rules that read it


def _site_refs(rule: RuleSpec) -> list[SiteRef]:
    t = rule.then
    refs: list[SiteRef] = list(t.targets)
    if t.block_areas is not None:
        refs.append(t.block_areas)
    if t.cap is not None and not t.cap.everywhere:
        refs.append(t.cap)
    return refs


def _patterns(rule: RuleSpec) -> list[tuple[int | None, str, dict[str, Any]]]:
    """(index among positive patterns or None for a negated one, kind, fields)."""
    out: list[tuple[int | None, str, dict[str, Any]]] = [
        (i, kind, fields or {}) for i, (kind, fields) in enumerate(rule.positive)]
    out += [(None, kind, fields or {}) for kind, fields in rule.negative]
    return out


class Needs:
    """The questions a knowledge base can ask, and which rules each answer serves."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self.v = kb.vocabulary
        self.universe = Universe(self.v, [(k, f) for r in kb.rules for _, k, f in _patterns(r)])
        # diagnosis fields that follow from the condition alone (planning/case_facts): never asked
        self.by_condition = {"spinal": frozenset(self.v.spinal_conditions),
                             "headache": frozenset(self.v.headache_conditions),
                             "injury": frozenset(self.v.soft_tissue_injuries)}

    # -- which rules ---------------------------------------------------------------------------
    @staticmethod
    def has_diagnosis(rule: RuleSpec) -> bool:
        return any(kind == "diagnosis" for kind, _ in rule.positive)

    def is_safety(self, rule: RuleSpec) -> bool:
        t = rule.then
        return (not self.has_diagnosis(rule) and not (t.mechanisms or t.targets or t.propose)
                and all(kind in SCREENED_KINDS for _, kind, _ in _patterns(rule)))

    def is_examination(self, rule: RuleSpec) -> bool:
        """A rule that reads only findings and concludes mechanisms or targets: what palpation and
        examination add to any diagnosis (trigger points, paresthesia, spasm, hypertonicity ...)."""
        t = rule.then
        return (not self.has_diagnosis(rule) and bool(t.mechanisms or t.targets)
                and all(kind == "finding" for _, kind, _ in _patterns(rule)))

    def prescription_rules(self) -> dict[str, tuple[str, ...]]:
        """The prescription's parts the rules read (request, exclusion, focus), with those rules."""
        out: dict[str, list[str]] = {}
        for rule in self.kb.rules:
            for _, kind, _ in _patterns(rule):
                if kind in PRESCRIPTION_KINDS:
                    out.setdefault(kind, []).append(rule.id)
        return {kind: tuple(dict.fromkeys(ids)) for kind, ids in out.items()}

    def admits(self, rule: RuleSpec, conditions: Iterable[str]) -> bool:
        """Every diagnosis pattern of the rule admits one of the conditions (by condition alone)."""
        chosen = list(conditions)
        tests = [fields.get("condition") for kind, fields in rule.positive if kind == "diagnosis"]
        return bool(tests) and all(c is None or any(field_matches(c, x) for x in chosen) for c in tests)

    def condition_rules(self, conditions: Iterable[str]) -> list[RuleSpec]:
        chosen = list(conditions)
        return [r for r in self.kb.rules if self.has_diagnosis(r) and self.admits(r, chosen)]

    def relevant_rules(self, conditions: Iterable[str]) -> list[RuleSpec]:
        """The condition rules of these diagnoses and the safety rules that can matter to them."""
        own = self.condition_rules(conditions)
        areas: set[str] = set()
        every_area = False
        modalities: set[str] = set()
        every_modality = False
        for rule in own:
            for target in rule.then.targets:
                every_area |= target.site_from is not None
                areas.update(self.v.area_of(t) for t in target.ids)
            if rule.then.propose is not None:
                every_modality |= rule.then.propose.modality_from is not None
                modalities.update(rule.then.propose.modalities)

        def moot(rule: RuleSpec) -> bool:
            t = rule.then
            if set(t.model_dump(exclude_defaults=True)) - {"block_areas", "block_modalities"}:
                return False
            if t.block_areas is not None and (every_area or t.block_areas.site_from is not None
                                              or {self.v.area_of(a) for a in t.block_areas.ids} & areas):
                return False
            b = t.block_modalities
            return not (b is not None and (every_modality or b.modality_from is not None
                                           or set(b.modalities) & modalities))

        own_ids = {r.id for r in own}
        return [r for r in self.kb.rules
                if r.id in own_ids or self.is_examination(r) or (self.is_safety(r) and not moot(r))]

    # -- what to ask ---------------------------------------------------------------------------
    def diagnosis_fields(self, condition: str) -> dict[str, tuple[str, ...]]:
        """The attributes of a diagnosis of this condition that some rule reads, with those rules."""
        waiting: dict[str, list[str]] = {}
        for rule in self.kb.rules:
            for i, (kind, fields) in enumerate(rule.positive):
                fields = fields or {}
                if kind != "diagnosis" or ("condition" in fields
                                           and not field_matches(fields["condition"], condition)):
                    continue
                if any(name in fields and not field_matches(fields[name], condition in members)
                       for name, members in self.by_condition.items()):
                    continue  # e.g. an injury's rule: it never reads a diagnosis that is no injury
                used = {DIAGNOSIS_QUESTION[n] for n in fields if n in DIAGNOSIS_QUESTION}
                for ref in _site_refs(rule):
                    if i in ref.side_from and (ref.ids or ref.site_from is not None):
                        used.add("side")
                    if ref.site_from == i:
                        used.add("area")
                for name in used:
                    waiting.setdefault(name, []).append(rule.id)
        if condition in NEEDS_AREA:
            waiting.setdefault("area", [])
        return {name: tuple(dict.fromkeys(waiting[name])) for name in DIAGNOSIS_ORDER if name in waiting}

    def keys(self, kind: str, fields: Mapping[str, Any]) -> set[Key]:
        """The screening keys whose answers decide a pattern."""
        if kind in ("finding", "history"):
            subject = SUBJECT_FIELD[kind]
            cond = fields.get(subject)
            values = (self.universe.admitted(kind, subject, cond) if cond is not None
                      else getattr(self.v, "findings" if kind == "finding" else "history"))
            return {(kind, v) for v in values if v is not None}
        if kind == "medication":
            return {("medication", "")}
        if kind in ("patient", "vitals", "labs"):
            return {field_key(kind, name) for name in fields}
        return set()

    def joint(self, rule: RuleSpec, first: Key, then: Key) -> bool:
        """Whether the rule needs both answers, in two of its patterns (dyspnoea *with* edema): the
        second is then worth asking only once the first is known."""
        keys = [self.keys(kind, fields) for _, kind, fields in _patterns(rule)]
        return any(first in a and then in b for i, a in enumerate(keys) for j, b in enumerate(keys) if i != j)

    def items(self, rules: Iterable[RuleSpec]) -> list[Item]:
        """Everything the given rules test, most urgent first (salience), then by kind and vocabulary."""
        waiting: dict[Key, list[RuleSpec]] = {}
        for rule in rules:
            for _, kind, fields in _patterns(rule):
                for key in self.keys(kind, fields):
                    waiting.setdefault(key, []).append(rule)
        order = {**{("finding", f): i for i, f in enumerate(self.v.findings)},
                 **{("history", h): i for i, h in enumerate(self.v.history)}}

        def rank(key: Key) -> tuple[int, int, int, str]:
            salience = max(r.salience for r in waiting[key])
            return (-salience, SCREENED_KINDS.index(key[0]), order.get(key, 0), key[1])

        return [Item(key, tuple(dict.fromkeys(r.id for r in waiting[key])),
                     max(r.salience for r in waiting[key])) for key in sorted(waiting, key=rank)]

    def follow_up(self, key: Key, rules: Iterable[RuleSpec]) -> FollowUp:
        """What a yes to ``key`` must say: the site, side and attributes the waiting rules read."""
        kind, value = key
        subject = SUBJECT_FIELD[kind]
        fixed: dict[str, Any] = {}
        ask: dict[str, list[str]] = {}
        free_site = False
        for rule in rules:
            for i, pkind, fields in _patterns(rule):
                if pkind != kind or key not in self.keys(kind, fields):
                    continue
                for name, cond in fields.items():
                    if name == subject:
                        continue
                    if name in SITE_FIELDS and not isinstance(cond, dict):
                        fixed[name] = cond
                    else:
                        ask.setdefault("site" if name in SITE_FIELDS else name, []).append(rule.id)
                        free_site |= name in SITE_FIELDS
                for ref in _site_refs(rule):
                    if i is not None and ref.site_from == i:
                        ask.setdefault("site", []).append(rule.id)
                        free_site = True
                        if i in ref.side_from:
                            ask.setdefault("side", []).append(rule.id)
        if free_site or len(fixed) > 1:
            fixed = {}
        if kind == "finding" and value == "trigger_point" and not fixed:
            ask.setdefault("site", [])   # a trigger point is always at a muscle (case format)
        return FollowUp(fixed, {name: tuple(dict.fromkeys(ids)) for name, ids in ask.items()})

    # -- what is still open ----------------------------------------------------------------------
    def pattern_state(self, kind: str, fields: Mapping[str, Any], facts: Mapping[str, list[Any]],
                      asked: set[Key]) -> bool | None:
        """Whether a pattern matches the answers: True, False, or None while an answer is missing."""
        if kind in ("patient", "vitals", "labs"):
            fact = (facts.get(kind) or [{}])[0]
            pending = False
            for name, cond in fields.items():
                if field_key(kind, name) not in asked:
                    pending = True
                elif not field_matches(cond, fact.get(name)):
                    return False
            return None if pending else True
        if any(pattern_matches(fields, fact) for fact in facts.get(kind, [])):
            return True
        return False if self.keys(kind, fields) <= asked else None

    def rule_state(self, rule: RuleSpec, facts: Mapping[str, list[Any]], asked: set[Key],
                   pending: Key | None = None) -> bool | None:
        """True when every pattern holds, False when one cannot, else None (clearances aside).

        With ``pending``, the patterns that this one answer decides are left out: True then
        means a "yes" to it alone makes the rule hold.
        """
        states = []
        for i, kind, fields in _patterns(rule):
            if pending is not None and pending in self.keys(kind, fields):
                continue
            state = self.pattern_state(kind, fields, facts, asked)
            if i is None and state is not None:
                state = not state
            states.append(state)
        if False in states:
            return False
        return True if all(states) else None
