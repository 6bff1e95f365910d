"""Facts in, experta run, plan out.

The engine concludes proposals, candidate targets, blocks, caps, requirements,
referrals and limits; this module resolves them into one plan by the precedence rules
of clinical-knowledge §4: the most severe status wins, a block beats any request, the
most restrictive cap wins, area caps narrow where a modality is used, and a case with
nothing left to treat is deferred with a reassessment advisory.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from . import facts as F
from .cases import Case
from .engine import Firing, PlanningEngine
from .knowledge import KnowledgeBase
from .plan import (
    NO_TREATMENT,
    BlockedArea,
    BlockedModality,
    Plan,
    PlannedModality,
    PlannedReferral,
    PlannedTarget,
    Segment,
)
from .session import DEFAULT_CEILING, GroupNeed, allocate
from .vocabulary import Vocabulary

BOTH = frozenset({"left", "right"})


def case_facts(case: Case, vocab: Vocabulary) -> list[Any]:
    """The experta facts a case asserts; every field present (None when absent)."""
    out: list[Any] = []
    for i, d in enumerate(case.diagnoses):
        out.append(F.Diagnosis(index=i, condition=d.condition, side=d.side, acuity=d.effective_acuity,
                               severity=d.severity, area=d.area,
                               group=vocab.areas[d.area] if d.area else None, onset_days=d.onset_days))
    for i, f in enumerate(case.findings):
        site = f.site
        out.append(F.Finding(index=i, finding=f.finding, area=f.site_area(vocab), target=f.target,
                             site=site, group=vocab.group_of(site) if site else None, side=f.side))
    for i, h in enumerate(case.history):
        out.append(F.History(index=i, item=h.item, area=h.area, side=h.side,
                             group=vocab.areas[h.area] if h.area else None,
                             fragility_fracture=h.fragility_fracture, active=h.active,
                             days_since=h.days_since, weeks=h.weeks, high_risk=h.high_risk,
                             decompensated=h.decompensated))
    for i, (name, cls) in enumerate(case.medication_classes(vocab).items()):
        out.append(F.Medication(index=i, name=name, **{"class": cls}))
    out.append(F.Patient(index=0, age=case.patient.age, frail=bool(case.patient.frail)))
    out.append(F.Labs(index=0, platelets_k=case.labs.platelets_k))
    out.append(F.Vitals(index=0, temperature_c=case.vitals.temperature_c,
                        systolic=case.vitals.systolic, diastolic=case.vitals.diastolic))
    for i, name in enumerate(dict.fromkeys(case.clearances)):
        out.append(F.Clearance(index=i, name=name))
    rx = case.prescription
    for i, mod in enumerate(dict.fromkeys(rx.modalities)):
        out.append(F.Request(index=i, modality=mod))
    for i, mod in enumerate(dict.fromkeys(rx.exclude_modalities)):
        out.append(F.Exclusion(index=i, modality=mod))
    for i, area in enumerate(dict.fromkeys(rx.focus_areas)):
        out.append(F.Focus(index=i, area=area))
    return out


@dataclass
class Conclusions:
    """The derived facts of one run, by kind."""

    by_kind: dict[str, list[Any]]

    @classmethod
    def collect(cls, facts: Iterable[Any]) -> Conclusions:
        by_kind: dict[str, list[Any]] = defaultdict(list)
        for fact in facts:
            kind = F.KIND_OF.get(type(fact))
            if kind is not None:
                by_kind[kind].append(fact)
        return cls(by_kind)

    def __getitem__(self, kind: str) -> list[Any]:
        return self.by_kind.get(kind, [])


@dataclass
class TargetState:
    """A candidate target while the plan is resolved."""

    id: str
    area: str
    sides: frozenset[str]        # the sides it covers
    sided: bool                  # whether any source gave a side
    roles: set[str] = field(default_factory=set)
    sources: set[tuple[str, int]] = field(default_factory=set)
    primary_of: set[int] = field(default_factory=set)  # diagnoses it is a primary target of
    mechanisms: set[str] = field(default_factory=set)
    because: set[str] = field(default_factory=set)
    cap: str = "deep"
    area_capped: bool = False
    modalities: dict[str, str] = field(default_factory=dict)  # modality -> delivered pressure

    @property
    def side(self) -> str | None:
        if not self.sided:
            return None
        return "bilateral" if self.sides == BOTH else next(iter(self.sides))

    @property
    def role(self) -> str:
        for role in ("primary", "secondary", "finding"):
            if role in self.roles:
                return role
        return "finding"


@dataclass(frozen=True)
class Outcome:
    """Why each modality and target ended where it did: the planner's own notes, for explanations."""

    priced_out: dict[str, tuple[str, ...]]            # modality -> cap rules
    dropped_for_time: dict[str, tuple[str, ...]]      # group -> targets
    undeliverable: dict[str, str]                     # target -> why no modality reached it
    blocked_targets: dict[str, tuple[str, ...]]       # target -> blocking rules
    not_delivered: tuple[str, ...]                    # available modalities with no scheduled target


@dataclass(frozen=True)
class PlanResult:
    """A plan together with the reasoning that produced it."""

    case: Case
    plan: Plan
    trace: tuple[Firing, ...]
    facts: tuple[Any, ...]
    outcome: Outcome


def _covered(side: str | None) -> frozenset[str]:
    return BOTH if side in (None, "bilateral") else frozenset({side})


class _Resolver:
    """Resolves the conclusions of one run into a plan (one instance per case)."""

    def __init__(self, kb: KnowledgeBase, case: Case, c: Conclusions):
        self.kb = kb
        self.v = kb.vocabulary
        self.case = case
        self.c = c
        self.order = {rule.id: rule.order for rule in kb.rules}
        self.advisories: list[str] = []

    def ids(self, rules: Iterable[str]) -> tuple[str, ...]:
        """Rule ids in knowledge-base order, once each."""
        return tuple(sorted(set(rules), key=lambda r: self.order.get(r, 1 << 30)))

    # -- status parts ---------------------------------------------------------------------------
    def cap(self) -> tuple[str, tuple[str, ...]]:
        caps = [f for f in self.c["cap"] if f["area"] is None]
        if not caps:
            return "deep", ()
        lowest = min((f["pressure"] for f in caps), key=self.v.rank)
        return lowest, self.ids(f["rule"] for f in caps if f["pressure"] == lowest)

    def blocked_modalities(self, cap: str) -> tuple[dict[str, set[str]], dict[str, tuple[str, ...]]]:
        blocks: dict[str, set[str]] = defaultdict(set)
        for f in self.c["block"]:
            if f["kind"] == "modality":
                blocks[f["modality"]].add(f["rule"])
        priced: dict[str, tuple[str, ...]] = {}
        global_caps = [f for f in self.c["cap"] if f["area"] is None]
        for p in self.c["proposal"]:
            mod = self.v.modalities[p["modality"]]
            if mod.id not in blocks and self.v.rank(mod.lowest) > self.v.rank(cap):
                priced[mod.id] = self.ids(f["rule"] for f in global_caps
                                          if self.v.rank(f["pressure"]) < self.v.rank(mod.lowest))
        return blocks, priced

    def referrals(self) -> tuple[PlannedReferral, ...]:
        merged: dict[tuple[str, str], set[str]] = defaultdict(set)
        for f in self.c["referral"]:
            merged[(f["to"], f["urgency"])].add(f["rule"])
        out = [PlannedReferral(to, urgency, self.ids(rules)) for (to, urgency), rules in merged.items()]
        return tuple(sorted(out, key=lambda r: (r.urgency != "urgent", r.to)))

    def blocked_areas(self) -> tuple[BlockedArea, ...]:
        merged: dict[tuple[str, str | None], set[str]] = defaultdict(set)
        for f in self.c["block"]:
            if f["kind"] != "area":
                continue
            for area in ([f["area"]] if f["area"] is not None else list(self.v.areas)):
                merged[(area, f["side"])].add(f["rule"])
        area_rank = {a: i for i, a in enumerate(self.v.areas)}
        return tuple(BlockedArea(area, side, self.ids(rules)) for (area, side), rules in
                     sorted(merged.items(), key=lambda kv: (area_rank[kv[0][0]], kv[0][1] or "")))

    # -- targets --------------------------------------------------------------------------------
    def candidates(self) -> dict[str, TargetState]:
        states: dict[str, TargetState] = {}
        for f in self.c["candidate"]:
            state = states.get(f["target"])
            if state is None:
                state = states[f["target"]] = TargetState(f["target"], f["area"], frozenset(), False)
            state.sides = state.sides | _covered(f["side"])
            state.sided = state.sided or f["side"] is not None
            state.roles.add(f["role"])
            state.sources.add((f["source_kind"], f["source_index"]))
            if f["role"] == "primary" and f["source_kind"] == "diagnosis":
                state.primary_of.add(f["source_index"])
            state.mechanisms.update(f["mechanisms"])
            state.because.add(f["rule"])
        return states

    def apply_area_blocks(self, states: dict[str, TargetState],
                          blocked: tuple[BlockedArea, ...]) -> dict[str, tuple[str, ...]]:
        """Narrow or remove targets in blocked areas; returns removed target -> rules."""
        removed: dict[str, tuple[str, ...]] = {}
        for tid, state in list(states.items()):
            rules: set[str] = set()
            free = set(state.sides)
            for b in blocked:
                if b.id == state.area and free & _covered(b.side):
                    free -= _covered(b.side)
                    rules.update(b.because)
            if not free:
                removed[tid] = self.ids(rules)
                del states[tid]
            elif free != state.sides:
                state.sides = frozenset(free)
                state.sided = True
                state.because.update(rules)
        return removed

    def drop_subsumed_areas(self, states: dict[str, TargetState]) -> None:
        """A finding's whole-area target gives way to specific targets in that area."""
        for tid in [t for t, s in states.items() if t in self.v.areas and s.roles == {"finding"}]:
            if any(o.area == tid and o.id != tid and o.sides >= states[tid].sides for o in states.values()):
                del states[tid]

    def apply_caps(self, states: dict[str, TargetState], cap: str) -> None:
        for state in states.values():
            state.cap = cap
            for f in self.c["cap"]:
                if f["area"] == state.area and state.sides & _covered(f["side"]):
                    state.cap = self.v.lower(state.cap, f["pressure"])
                    state.area_capped = True

    def assign_modalities(self, states: dict[str, TargetState], available: set[str]) -> dict[str, str]:
        """Which available modality reaches which target, at what pressure."""
        mech_benefit = {m: spec["benefit"] for m, spec in self.v.mechanisms.items()}
        undeliverable: dict[str, str] = {}
        for state in states.values():
            benefits = {mech_benefit[m] for m in state.mechanisms}
            for p in self.c["proposal"]:
                mod = self.v.modalities[p["modality"]]
                if mod.id not in available:
                    continue
                source = (p["source_kind"], p["source_index"])
                reaches = (p["line"] == "request" or source in state.sources
                           or ("finding" in state.roles and benefits & set(p["benefits"])))
                if not reaches or not self.v.applies(mod.id, state.id):
                    continue
                if self.v.rank(mod.lowest) > self.v.rank(state.cap):
                    continue
                limit = p["pressure"] or mod.highest
                pressure = self.v.lower(self.v.lower(mod.highest, state.cap), limit)
                if self.v.rank(pressure) < self.v.rank(mod.lowest):
                    continue
                best = state.modalities.get(mod.id)
                if best is None or self.v.rank(pressure) > self.v.rank(best):
                    state.modalities[mod.id] = pressure
        for tid, state in list(states.items()):
            if not state.modalities:
                undeliverable[tid] = (f"no recommended modality can be delivered there under a {state.cap} cap"
                                      if state.cap != "deep" else "no recommended modality applies there")
                del states[tid]
        return undeliverable

    # -- the whole plan ---------------------------------------------------------------------------
    def resolve(self) -> tuple[Plan, Outcome]:
        v, c, case = self.v, self.c, self.case
        cap, cap_because = self.cap()
        blocks, priced = self.blocked_modalities(cap)
        request_rules = {p["modality"]: p["rule"] for p in c["proposal"] if p["line"] == "request"}
        blocked_mods = []
        for mod in sorted(set(blocks) | set(priced)):
            because = set(blocks.get(mod, ())) | set(priced.get(mod, ()))
            if mod in request_rules:
                because.add(request_rules[mod])
                culprits = ", ".join(self.ids(blocks.get(mod, ()) or priced.get(mod, ())))
                how = "blocked" if mod in blocks else f"priced out by the {cap} pressure cap"
                self.advisories.append(f"requested {v.label(mod)} is not given: {how} ({culprits}); "
                                       "a request never overrides a contraindication or an exclusion")
            blocked_mods.append(BlockedModality(mod, self.ids(because),
                                                "blocked" if mod in blocks else "priced_out"))
        blocked_areas = self.blocked_areas()
        referrals = self.referrals()
        required = tuple(sorted({f["clearance"] for f in c["requirement"]}))
        severe = [(f["status"], f["rule"]) for f in c["block"] if f["kind"] == "all"]
        if required:
            severe += [("needs_clearance", f["rule"]) for f in c["requirement"]]
        # In knowledge-base order, not firing order (that follows the order of the case's lists).
        # A rule that serves a benefit gives a treatment note, shown only on a plan that treats;
        # a safety rule's advisory is always shown.
        treatment_notes: list[str] = []
        for f in sorted(c["advisory"], key=lambda f: (self.order.get(f["rule"], 1 << 30), f["text"])):
            rule = self.kb.by_id.get(f["rule"])
            (treatment_notes if rule is not None and rule.benefits else self.advisories).append(f["text"])
        for clearance in required:
            self.advisories.append(f"needs {clearance} clearance: {v.clearances[clearance]}")
        ceiling_rules = [(f["minutes"], f["rule"]) for f in c["limit"]]
        ceiling = min([case.prescription.max_minutes or DEFAULT_CEILING] + [m for m, _ in ceiling_rules])

        states = self.candidates()
        blocked_targets = self.apply_area_blocks(states, blocked_areas)
        self.drop_subsumed_areas(states)
        self.apply_caps(states, cap)
        available = {p["modality"] for p in c["proposal"]} - set(blocks) - set(priced)
        had_targets = bool(states)
        undeliverable = self.assign_modalities(states, available)

        if not states:  # nothing left to treat: defer, unless something more severe applies
            severe += [("defer", r) for r in sorted({r for rules in blocked_targets.values() for r in rules})]
            if not any(kind == "defer" for kind, _ in severe):
                severe.append(("defer", ""))
            if not any(f["kind"] == "all" for f in c["block"]):
                self.advisories.append(self._nothing_to_treat(blocked_targets, undeliverable, had_targets))
        status = v.most_severe([s for s, _ in severe]) if severe else "treat"
        status_because = self.ids(r for s, r in severe if s == status and r)

        outcome_time: dict[str, tuple[str, ...]] = {}
        segments: list[Segment] = []
        targets: list[PlannedTarget] = []
        modalities: list[PlannedModality] = []
        if status not in NO_TREATMENT:
            segments, outcome_time = self.schedule(states, ceiling)
            scheduled = {t for s in segments for t in s.targets}
            targets = self.planned_targets(states, segments)
            modalities = self.planned_modalities(states, scheduled)
            precautions = (blocked_mods or blocked_areas or cap != "deep"
                           or any(t.pressure_cap not in (None, "deep") for t in targets))
            status = "treat_with_precautions" if precautions else "treat"
            self.advisories += treatment_notes
            for group, dropped in outcome_time.items():
                self.advisories.append(f"{v.label(group)} left out: no time "
                                       f"({', '.join(v.label(t) for t in dropped)})")
            self.advisories += self.endangerment(targets)
            self.advisories += self.caveats(modalities)
        delivered = {m.id for m in modalities}
        plan = Plan(
            case_id=case.id, status=status, status_because=status_because,
            modalities=tuple(modalities), targets=tuple(targets),
            blocked_modalities=tuple(blocked_mods), blocked_areas=blocked_areas,
            pressure_cap=cap, pressure_cap_because=cap_because,
            total_minutes=sum(s.minutes for s in segments), minutes_ceiling=ceiling,
            segments=tuple(segments), clearances_required=required, referrals=referrals,
            advisories=tuple(dict.fromkeys(self.advisories)),
        )
        outcome = Outcome(priced_out=priced, dropped_for_time=outcome_time, undeliverable=undeliverable,
                          blocked_targets=blocked_targets,
                          not_delivered=tuple(sorted(available - delivered)))
        return plan, outcome

    def _nothing_to_treat(self, blocked: dict[str, tuple[str, ...]], undeliverable: dict[str, str],
                          had_targets: bool) -> str:
        if blocked and not had_targets:
            rules = self.ids(r for rs in blocked.values() for r in rs)
            return ("nothing can be treated today: every candidate target lies in a blocked area "
                    f"({', '.join(rules)}); reassess when those areas can be treated or a clearance lifts the block")
        if undeliverable:
            return ("nothing can be treated today: no recommended modality can be delivered on any remaining "
                    "target under its pressure cap; reassess when the restriction is lifted")
        return ("nothing can be treated today: the case gives no target to treat (e.g. the muscles holding "
                "trigger points); reassess with a fuller examination")

    def schedule(self, states: dict[str, TargetState],
                 ceiling: int) -> tuple[list[Segment], dict[str, tuple[str, ...]]]:
        v, case = self.v, self.case
        focus = set(case.prescription.focus_areas)
        needs: dict[str, dict[str, bool]] = defaultdict(lambda: dict(focus=False, primary=False,
                                                                     chronic=False, finding=False))
        for state in states.values():
            need = needs[v.areas[state.area]]
            need["focus"] |= state.area in focus
            need["primary"] |= bool(state.primary_of)
            need["chronic"] |= any(case.diagnoses[i].effective_acuity == "chronic" for i in state.primary_of)
            need["finding"] |= "finding" in state.roles
        alloc = allocate([GroupNeed(g, **n) for g, n in needs.items()], ceiling, v.area_groups)
        target_rank = {t: i for i, t in enumerate([*v.targets, *v.areas])}
        mod_rank = {m: i for i, m in enumerate(v.modalities)}
        segments, dropped = [], {}
        # Segments run in the order the groups were given time (focus and primary work first);
        # groups left out follow the order of the area groups.
        for group in [*alloc, *(g for g in v.area_groups if g not in alloc)]:
            members = sorted((s for s in states.values() if v.areas[s.area] == group),
                             key=lambda s: target_rank[s.id])
            if not members:
                continue
            if group not in alloc:
                dropped[group] = tuple(s.id for s in members)
                continue
            mods = sorted({m for s in members for m in s.modalities}, key=mod_rank.__getitem__)
            segments.append(Segment(alloc[group], group, tuple(s.id for s in members), tuple(mods)))
        return segments, dropped

    def planned_targets(self, states: dict[str, TargetState], segments: list[Segment]) -> list[PlannedTarget]:
        """The scheduled targets, in session order."""
        return [PlannedTarget(tid, states[tid].area, states[tid].side, states[tid].role,
                              self.ids(states[tid].because),
                              states[tid].cap if states[tid].area_capped else None)
                for segment in segments for tid in segment.targets]

    def planned_modalities(self, states: dict[str, TargetState], scheduled: set[str]) -> list[PlannedModality]:
        pressure: dict[str, str] = {}
        for tid in scheduled:
            for mod, p in states[tid].modalities.items():
                if mod not in pressure or self.v.rank(p) > self.v.rank(pressure[mod]):
                    pressure[mod] = p
        benefit_rank = {b: i for i, b in enumerate(self.v.benefits)}
        out = []
        for mod, p in pressure.items():
            props = [f for f in self.c["proposal"] if f["modality"] == mod]
            per_rule: dict[str, float] = {}
            for f in props:
                per_rule[f["rule"]] = max(per_rule.get(f["rule"], 0.0), f["certainty"])
            certainty = 0.0
            for rule in self.ids(per_rule):
                certainty = certainty + per_rule[rule] - certainty * per_rule[rule]
            benefits = sorted({b for f in props for b in f["benefits"]}, key=benefit_rank.__getitem__)
            out.append(PlannedModality(mod, p, round(certainty, 4), tuple(benefits), self.ids(per_rule)))
        return sorted(out, key=lambda m: (-m.certainty, m.id))

    def endangerment(self, targets: list[PlannedTarget]) -> list[str]:
        areas = {t.area for t in targets}
        return [f"{self.v.label(site)}: avoid deep pressure at the site itself"
                for site, area in self.v.endangerment_sites.items() if area in areas]

    def caveats(self, modalities: list[PlannedModality]) -> list[str]:
        served = {b for m in modalities for b in m.benefits}
        return [c.text for c in self.kb.caveats if served & set(c.benefits)]


_ENGINES: dict[int, tuple[KnowledgeBase, PlanningEngine]] = {}


def engine_for(kb: KnowledgeBase) -> PlanningEngine:
    """The one engine of this process for a knowledge base (built on first use, then reused)."""
    entry = _ENGINES.get(id(kb))
    if entry is None or entry[0] is not kb:
        entry = (kb, kb.engine_class())
        _ENGINES[id(kb)] = entry
    return entry[1]


def plan_case(case: Case, kb: KnowledgeBase) -> PlanResult:
    """Plan one validated case with a knowledge base."""
    facts, trace = engine_for(kb).infer(case_facts(case, kb.vocabulary))
    plan, outcome = _Resolver(kb, case, Conclusions.collect(facts)).resolve()
    return PlanResult(case, plan, tuple(trace), tuple(facts), outcome)
