"""Compile a knowledge base into an experta engine, run it deterministically, trace it.

Each rule spec becomes one experta ``Rule``: its patterns become fact patterns (field
conditions through :mod:`~medmassage_rules.kb.condition_operators`), its clearance gates become
``NOT(Clearance(...))``, and its actions become a right-hand side that declares derived
facts. The engine class is built once per knowledge base; one instance per process is
reused with ``reset()``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from experta import AS, MATCH, NOT, P, Rule

from ..kb import fact_types as F
from ..kb.fact_types import SUBJECT_FIELD
from ..kb.knowledge_base import KnowledgeBase
from ..kb.rule_specs import DEFAULT_CERTAINTY, RuleSpec, SiteRef
from ..kb.vocabulary import Vocabulary
from .alpha import condition_predicate
from .planning_engine import PlanningEngine


def _pattern(kind: str, fields: dict[str, Any] | None, bind: tuple[str, str] | None = None) -> Any:
    """An experta pattern; ``bind`` = (field, variable) also binds that field's value to a variable."""
    constraints = {}
    for name, cond in (fields or {}).items():
        constraints[name] = P(condition_predicate(cond)) if isinstance(cond, dict) else cond
    if bind is not None:
        name, variable = bind
        held = constraints.get(name)
        var = getattr(MATCH, variable)
        constraints[name] = var if held is None else held & var
    return F.INPUT_KINDS[kind](**constraints)


# The field naming what a fact is about: a clearance object ``for`` that id lifts a bare gate.
SUBJECT_VARIABLE = "subject0"


def _gate_patterns(rule: RuleSpec) -> tuple[list[Any], bool]:
    """The negated clearance patterns of a rule, and whether pattern 0 must bind its subject.

    A bare gate (``unless_clearance: X`` or ``require: X``) is lifted by the bare id X or by X
    given for the rule's subject (the id matched by the first pattern); ``require`` with a list is
    lifted by any of its ids; a mapping gate ``{id, for}`` only by a clearance given for that id.
    """
    patterns: list[Any] = []
    bind = False
    scoped = rule.scoped_gate
    bare = [g for g in (rule.unless_clearance, *rule.required) if isinstance(g, str)]
    static = rule.subject
    kind = rule.positive[0][0] if rule.positive else None
    for name in dict.fromkeys(bare):
        patterns.append(NOT(F.Clearance(name=name, scope=None)))
        if static is not None and (kind not in SUBJECT_FIELD or isinstance(
                (rule.positive[0][1] or {}).get(F.SUBJECT_FIELD[kind]), str)):
            patterns.append(NOT(F.Clearance(name=name, scope=static)))
        elif kind in SUBJECT_FIELD:
            patterns.append(NOT(F.Clearance(name=name, scope=getattr(MATCH, SUBJECT_VARIABLE))))
            bind = True
    if scoped is not None:
        if scoped.id == "any":
            patterns.append(NOT(F.Clearance(scope=scoped.scope)))
        else:
            patterns.append(NOT(F.Clearance(name=scoped.id, scope=scoped.scope)))
    return patterns, bind


def _site_of(fact: Any) -> str | None:
    return fact.get("site") or fact.get("target") or fact.get("area")


class _Compiler:
    """Turns the actions of one rule spec into a function of the matched facts."""

    def __init__(self, rule: RuleSpec, vocab: Vocabulary):
        self.rule = rule
        self.vocab = vocab

    def side(self, ref: SiteRef, matched: list[Any]) -> str | None:
        for index in ref.side_from:
            side = matched[index].get("side")
            if side is not None:
                return side
        return None

    def areas(self, ref: SiteRef, matched: list[Any]) -> list[str] | None:
        """The areas an action covers; None means every area (the site was not given)."""
        sites = list(ref.ids)
        if ref.site_from is not None:
            site = _site_of(matched[ref.site_from])
            if site is None:
                return None
            sites.append(site)
        areas = [self.vocab.area_of(s) for s in sites]
        if ref.whole_group:
            areas = [a for area in areas for a in self.vocab.areas_in_group(self.vocab.areas[area])]
        return list(dict.fromkeys(areas))

    def sites(self, ref: SiteRef, matched: list[Any]) -> list[str]:
        sites = list(ref.ids)
        if ref.site_from is not None:
            site = _site_of(matched[ref.site_from])
            if site is not None:
                sites.append(site)
        return sites

    def target_side(self, action: Any, matched: list[Any]) -> str | None:
        side = self.side(action, matched)
        if action.side == "opposite":
            return {"left": "right", "right": "left"}.get(side or "")
        return action.side if action.side is not None else side

    def targets_of(self, sites: tuple[str, ...]) -> list[str]:
        """Target ids; an area id stands for itself (the whole area as a target) and every target in it."""
        out: list[str] = []
        for site in sites:
            out += [site, *(t for t, a in self.vocab.targets.items() if a == site)] if site in self.vocab.areas \
                else [site]
        return list(dict.fromkeys(out))

    def every_area(self, ref: SiteRef, matched: list[Any]) -> list[str]:
        """The areas of an action, every area when its site was not given."""
        areas = self.areas(ref, matched)
        return list(self.vocab.areas) if areas is None else areas

    def build(self) -> Callable[[list[Any]], list[Any]]:
        rule, t = self.rule, self.rule.then
        rid = rule.id
        steps: list[Callable[[list[Any], float], list[Any]]] = []

        if t.mechanisms:
            def mechanisms(m: list[Any], cf: float) -> list[Any]:
                subject = m[0]
                return [F.Mechanism(name=name, site=_site_of(subject), side=subject.get("side"),
                                    source_kind=F.KIND_OF[type(subject)], source_index=subject.get("index"),
                                    rule=rid, cf=cf) for name in t.mechanisms]
            steps.append(mechanisms)

        for action in t.targets:
            def targets(m: list[Any], cf: float, a: Any = action) -> list[Any]:
                subject = m[0]
                side = self.target_side(a, m)
                return [F.Candidate(target=s, area=self.vocab.area_of(s), side=side, role=a.role,
                                    source_kind=F.KIND_OF[type(subject)], source_index=subject.get("index"),
                                    mechanisms=t.mechanisms, rule=rid) for s in self.sites(a, m)]
            steps.append(targets)

        if t.propose is not None:
            p = t.propose
            factor = p.certainty if p.certainty is not None else DEFAULT_CERTAINTY[p.line]

            def propose(m: list[Any], cf: float) -> list[Any]:
                subject = m[0]
                mods = list(p.modalities)
                if p.modality_from is not None:
                    mods.append(m[p.modality_from]["modality"])
                return [F.Proposal(modality=mod, line=p.line, certainty=round(factor * cf, 6),
                                   pressure=p.pressure, source_kind=F.KIND_OF[type(subject)],
                                   source_index=subject.get("index"), benefits=rule.benefits, rule=rid)
                        for mod in mods]
            steps.append(propose)

        if t.block_all is not None:
            status = t.block_all.status
            steps.append(lambda m, cf: [_block("all", rid, status=status)])

        if t.block_modalities is not None:
            b = t.block_modalities

            def block_modalities(m: list[Any], cf: float) -> list[Any]:
                mods = list(b.modalities)
                if b.modality_from is not None:
                    mods.append(m[b.modality_from]["modality"])
                return [_block("modality", rid, modality=mod) for mod in mods]
            steps.append(block_modalities)

        if t.block_areas is not None:
            ref = t.block_areas

            def block_areas(m: list[Any], cf: float) -> list[Any]:
                areas = self.areas(ref, m)
                side = self.side(ref, m)
                if areas is None:  # no site given: every area
                    return [_block("area", rid, side=side)]
                return [_block("area", rid, area=a, side=side) for a in areas]
            steps.append(block_areas)

        if t.block_targets is not None:
            ref_t = t.block_targets

            def block_targets(m: list[Any], cf: float) -> list[Any]:
                side = self.side(ref_t, m)
                return [_block("target", rid, area=self.vocab.area_of(tid), side=side, target=tid)
                        for tid in ref_t.ids]
            steps.append(block_targets)

        if t.cap is not None:
            c = t.cap

            def cap(m: list[Any], cf: float) -> list[Any]:
                side = self.side(c, m)
                if c.targets:  # a target cap: on these targets (and side), not their areas
                    return [F.Cap(pressure=c.pressure, area=self.vocab.area_of(tid), side=side, target=tid,
                                  rule=rid) for tid in self.targets_of(c.targets)]
                areas = None if c.everywhere or (not c.ids and c.site_from is None) else self.areas(c, m)
                if areas is None:
                    return [F.Cap(pressure=c.pressure, area=None, side=None, target=None, rule=rid)]
                return [F.Cap(pressure=c.pressure, area=a, side=side, target=None, rule=rid) for a in areas]
            steps.append(cap)

        if rule.required:
            any_of = rule.required
            steps.append(lambda m, cf: [F.Requirement(clearance=any_of[0], rule=rid, any_of=any_of)])

        if t.restrict_modalities is not None:
            ref_r = t.restrict_modalities

            def restrict(m: list[Any], cf: float) -> list[Any]:
                side = self.side(ref_r, m)
                return [F.Restrict(area=a, side=side, modalities=ref_r.modalities, rule=rid)
                        for a in self.every_area(ref_r, m)]
            steps.append(restrict)

        if t.drainage_zone is not None:
            ref_z = t.drainage_zone

            def zone(m: list[Any], cf: float) -> list[Any]:
                side = self.side(ref_z, m)
                return [F.Zone(area=a, side=side, rule=rid) for a in self.every_area(ref_z, m)]
            steps.append(zone)

        if t.referral is not None:
            r = t.referral
            steps.append(lambda m, cf: [F.Referral(to=r.to, urgency=r.urgency, rule=rid)])

        if t.advisory is not None:
            text = t.advisory
            steps.append(lambda m, cf: [F.Advisory(text=text, rule=rid)])

        if t.limit_minutes is not None:
            minutes = t.limit_minutes
            steps.append(lambda m, cf: [F.Limit(minutes=minutes, rule=rid)])

        def conclude(matched: list[Any]) -> list[Any]:
            cf = min((f.get("cf", 1.0) for f in matched), default=1.0)
            return [fact for step in steps for fact in step(matched, cf)]
        return conclude


def compile_rule(rule: RuleSpec, vocab: Vocabulary) -> Rule:
    """One experta Rule from one rule spec."""
    patterns: list[Any] = []
    names: list[str] = []
    gates, bind = _gate_patterns(rule)
    for i, (kind, fields) in enumerate(rule.positive):
        name = f"f{i}"
        names.append(name)
        subject = (F.SUBJECT_FIELD[kind], SUBJECT_VARIABLE) if bind and i == 0 else None
        patterns.append(getattr(AS, name) << _pattern(kind, fields, subject))
    for kind, fields in rule.negative:
        patterns.append(NOT(_pattern(kind, fields)))
    patterns += gates
    conclude = _Compiler(rule, vocab).build()

    def fire(engine: PlanningEngine, **bound: Any) -> None:
        for fact in conclude([bound[n] for n in names]):
            engine.record(fact)

    fire.__name__ = rule.id.replace("-", "_")
    # Set on the function: experta copies rules (new_conditions) and update_wrapper
    # carries the function's attributes onto every copy.
    fire.rule_id = rule.id  # type: ignore[attr-defined]
    fire.order = rule.order  # type: ignore[attr-defined]
    return Rule(*patterns, salience=rule.salience)(fire)


def compile_engine(kb: KnowledgeBase, rules: Iterable[RuleSpec] | None = None) -> type[PlanningEngine]:
    """The engine class of a knowledge base (build it once, instantiate once per process).

    ``rules`` narrows it to some of the rules (each keeps its place in the knowledge base, so
    the agenda orders their firings as the whole engine would).
    """
    chosen = kb.rules if rules is None else tuple(rules)
    attrs = {f"rule_{rule.order:04d}": compile_rule(rule, kb.vocabulary) for rule in chosen}
    return type("CompiledPlanningEngine", (PlanningEngine,), attrs)


def _block(kind: str, rule: str, *, status: str | None = None, modality: str | None = None,
           area: str | None = None, side: str | None = None, target: str | None = None) -> Any:
    """A Block fact: every field present (None where the block does not say it), as rules test them."""
    return F.Block(kind=kind, status=status, modality=modality, area=area, side=side, target=target, rule=rule)
