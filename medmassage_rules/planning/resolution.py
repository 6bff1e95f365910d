"""Resolution: the conclusions of one run become one plan.

The precedence rules of clinical-knowledge §4: the most severe status wins, a block beats any
request, the most restrictive cap wins, area caps narrow where a modality is used, a modality
is delivered only on tissue it applies to, and a case with nothing left to treat is deferred
with a reassessment advisory.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..cases.models import Case
from ..kb.knowledge_base import KnowledgeBase
from .certainty import GRADE_WEIGHT, combine
from .plan import (
    NO_TREATMENT,
    SITE_APPLICABILITY,
    AreaCap,
    BlockedArea,
    BlockedModality,
    Plan,
    PlannedModality,
    PlannedReferral,
    PlannedTarget,
    Segment,
    Work,
)
from .results import Conclusions, Outcome
from .session import DEFAULT_CEILING, SEGMENT_MIN, GroupNeed, allocate

BOTH = frozenset({"left", "right"})
SIDELESS_AREAS = frozenset({"abdomen"})  # worked as one: its targets carry no side (clinical-v2 §1)
NO_TARGET_IT_APPLIES_TO = "no target it applies to"
DRAINAGE = "manual_lymphatic_drainage"


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


def _covered(side: str | None) -> frozenset[str]:
    return BOTH if side in (None, "bilateral") else frozenset({side})


class Resolver:
    """Resolves the conclusions of one run into a plan (one instance per case)."""

    def __init__(self, kb: KnowledgeBase, case: Case, c: Conclusions):
        self.kb = kb
        self.v = kb.vocabulary
        self.case = case
        self.c = c
        self.order = kb.rule_order
        self.mech_benefit = {m: spec["benefit"] for m, spec in self.v.mechanisms.items()}
        self.site_rank = {t: i for i, t in enumerate([*self.v.targets, *self.v.areas])}
        self.advisories: list[str] = []

    def ids(self, rules: Iterable[str]) -> tuple[str, ...]:
        """Rule ids in knowledge-base order, once each."""
        return tuple(sorted(set(rules), key=lambda r: self.order.get(r, 1 << 30)))

    def covered(self, area: str | None, side: str | None) -> frozenset[str]:
        """The sides a block or cap covers: an axial area is covered on both sides (clinical-v2 §1)."""
        return BOTH if area in self.v.axial_areas else _covered(side)

    def plain_side(self, area: str | None, side: str | None) -> str | None:
        return None if area in self.v.axial_areas else side

    # -- status parts ---------------------------------------------------------------------------
    def cap(self) -> tuple[str, tuple[str, ...]]:
        caps = [f for f in self.c["cap"] if f["area"] is None]
        if not caps:
            return "deep", ()
        lowest = min((f["pressure"] for f in caps), key=self.v.rank)
        return lowest, self.ids(f["rule"] for f in caps if f["pressure"] == lowest)

    def area_caps(self) -> tuple[AreaCap, ...]:
        merged: dict[tuple[str, str | None, str], set[str]] = defaultdict(set)
        for f in self.c["cap"]:
            if f["area"] is not None:
                merged[(f["area"], self.plain_side(f["area"], f["side"]), f["pressure"])].add(f["rule"])
        area_rank = {a: i for i, a in enumerate(self.v.areas)}
        return tuple(AreaCap(area, side, pressure, self.ids(rules)) for (area, side, pressure), rules in
                     sorted(merged.items(), key=lambda kv: (area_rank[kv[0][0]], kv[0][1] or "",
                                                            self.v.rank(kv[0][2]))))

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

    def blocked_areas(self, blocks: dict[str, set[str]]) -> tuple[BlockedArea, ...]:
        """Area blocks; an axial area is blocked on both sides. While drainage is blocked, the
        edematous limb (a drainage zone) takes no other modality either: it is blocked too."""
        merged: dict[tuple[str, str | None], set[str]] = defaultdict(set)
        for f in self.c["block"]:
            if f["kind"] != "area":
                continue
            for area in ([f["area"]] if f["area"] is not None else list(self.v.areas)):
                merged[(area, self.plain_side(area, f["side"]))].add(f["rule"])
        drainage_blocks = self.drainage_blocks(blocks)
        if drainage_blocks:
            for f in self.c.by_kind.get("zone", []):
                merged[(f["area"], self.plain_side(f["area"], f["side"]))].update({f["rule"], *drainage_blocks})
        area_rank = {a: i for i, a in enumerate(self.v.areas)}
        return tuple(BlockedArea(area, side, self.ids(rules)) for (area, side), rules in
                     sorted(merged.items(), key=lambda kv: (area_rank[kv[0][0]], kv[0][1] or "")))

    def drainage_blocks(self, blocks: dict[str, set[str]]) -> set[str]:
        """The contraindications that block lymphatic drainage (a prescription's exclusion is not one)."""
        exclusions = self.kb.exclusion_rules
        return set(blocks.get(DRAINAGE, ())) - exclusions

    # -- targets --------------------------------------------------------------------------------
    def candidates(self) -> dict[str, TargetState]:
        states: dict[str, TargetState] = {}
        for f in self.c["candidate"]:
            state = states.get(f["target"])
            if state is None:
                state = states[f["target"]] = TargetState(f["target"], f["area"], frozenset(), False)
            sideless = f["area"] in SIDELESS_AREAS
            state.sides = state.sides | (BOTH if sideless else _covered(f["side"]))
            state.sided = state.sided or (f["side"] is not None and not sideless)
            state.roles.add(f["role"])
            state.sources.add((f["source_kind"], f["source_index"]))
            if f["role"] == "primary" and f["source_kind"] == "diagnosis":
                state.primary_of.add(f["source_index"])
            state.mechanisms.update(f["mechanisms"])
            state.because.add(f["rule"])
        return states

    def apply_area_blocks(self, states: dict[str, TargetState],
                          blocked: tuple[BlockedArea, ...]) -> dict[str, tuple[str, ...]]:
        """Narrow or remove targets in blocked areas (or worked through one); returns removed target -> rules."""
        removed: dict[str, tuple[str, ...]] = {}
        for tid, state in list(states.items()):
            rules: set[str] = set()
            free = set(state.sides)
            through = self.v.approach_areas.get(tid)
            for b in blocked:
                if b.id == through:  # e.g. iliopsoas, worked through the abdomen
                    free = set()
                    rules.update(b.because)
                elif b.id == state.area and free & self.covered(b.id, b.side):
                    free -= self.covered(b.id, b.side)
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
                if f["area"] == state.area and state.sides & self.covered(f["area"], f["side"]):
                    state.cap = self.v.lower(state.cap, f["pressure"])
                    state.area_capped = True

    def reaches(self, p: Any, state: TargetState) -> bool:
        """Whether a proposal is for this target: its own diagnosis or finding, a finding's
        mechanism it serves, or a request (a request reaches every target)."""
        if p["line"] == "request" or (p["source_kind"], p["source_index"]) in state.sources:
            return True
        return "finding" in state.roles and bool({self.mech_benefit[m] for m in state.mechanisms}
                                                 & set(p["benefits"]))

    def inapplicable(self, states: dict[str, TargetState], modalities: set[str]) -> dict[str, list[str]]:
        """Modalities that apply to none of the candidate targets they were proposed or requested
        for, each with those targets."""
        out = {}
        for mod in sorted(modalities):
            props = [p for p in self.c["proposal"] if p["modality"] == mod]
            reached = sorted((s.id for s in states.values() if any(self.reaches(p, s) for p in props)),
                             key=self.site_rank.__getitem__)
            if not any(self.v.applies(mod, t) for t in reached):
                out[mod] = reached
        return out

    def restrictions(self, state: TargetState) -> set[str] | None:
        """The only modalities allowed on a target's area (None: no restriction).

        A restriction on one side of a two-sided target narrows the target to the free side
        (as a one-sided block does); one covering every side it has limits its modalities.
        """
        allowed: set[str] | None = None
        restricted: set[str] = set()
        for f in self.c.by_kind.get("restrict", []):
            if f["area"] == state.area and state.sides & self.covered(f["area"], f["side"]):
                restricted |= self.covered(f["area"], f["side"])
                allowed = set(f["modalities"]) if allowed is None else allowed & set(f["modalities"])
        free = state.sides - restricted
        if allowed is not None and free:
            state.sides, state.sided = free, True
            state.because.update(f["rule"] for f in self.c.by_kind.get("restrict", []) if f["area"] == state.area)
            return None
        return allowed

    def assign_modalities(self, states: dict[str, TargetState], available: set[str]) -> dict[str, str]:
        """Which available modality reaches which target, at what pressure."""
        undeliverable: dict[str, str] = {}
        for state in states.values():
            allowed = self.restrictions(state)
            restricting = {f["rule"] for f in self.c.by_kind.get("restrict", []) if f["area"] == state.area
                           and state.sides & self.covered(f["area"], f["side"])}
            for p in self.c["proposal"]:
                mod = self.v.modalities[p["modality"]]
                if mod.id not in available:
                    continue
                if not self.reaches(p, state) or not self.v.applies(mod.id, state.id):
                    continue
                if allowed is not None and mod.id not in allowed:  # e.g. a healing site takes only drainage
                    self.stopped_at[mod.id]["blocked"] |= restricting
                    continue
                if self.v.rank(mod.lowest) > self.v.rank(state.cap):
                    self.stopped_at[mod.id]["priced_out"] |= {
                        f["rule"] for f in self.c["cap"] if f["area"] == state.area
                        and state.sides & self.covered(f["area"], f["side"])
                        and self.v.rank(f["pressure"]) < self.v.rank(mod.lowest)}
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
                restricted = self.restrictions(state)
                if restricted is not None:
                    only = ", ".join(self.v.label(m) for m in sorted(restricted)) or "nothing"
                    undeliverable[tid] = f"only {only} may be given there, and no such modality was proposed for it"
                else:
                    undeliverable[tid] = (f"no recommended modality can be delivered there under a {state.cap} cap"
                                          if state.cap != "deep" else "no recommended modality applies there")
                del states[tid]
        return undeliverable

    def stopped_modalities(self, states: dict[str, TargetState], available: set[str]) -> list[BlockedModality]:
        """Modalities that reach no remaining target only because area caps or restrictions stop them
        there: listed as blocked or priced out, never dropped silently (clinical-v2 §1)."""
        delivered = {m for s in states.values() for m in s.modalities}
        request_rules = {p["modality"]: p["rule"] for p in self.c["proposal"] if p["line"] == "request"}
        out = []
        for mod in sorted(available - delivered):
            stopped = self.stopped_at.get(mod, {})
            reason = "blocked" if stopped.get("blocked") else "priced_out" if stopped.get("priced_out") else None
            if reason is None:
                continue
            rules = stopped[reason]
            because = set(rules) | ({request_rules[mod]} if mod in request_rules else set())
            if mod in request_rules:
                how = ("not allowed where it was to be given" if reason == "blocked"
                       else "priced out by the pressure caps where it was to be given")
                culprits = ", ".join(self.ids(rules))
                self.advisories.append(f"requested {self.v.label(mod)} is not given: {how} ({culprits}); "
                                       "a request never overrides a contraindication or an exclusion")
            out.append(BlockedModality(mod, self.ids(because), reason))
        return out

    # -- the whole plan ---------------------------------------------------------------------------
    def resolve(self) -> tuple[Plan, Outcome]:
        v, c, case = self.v, self.c, self.case
        cap, cap_because = self.cap()
        blocks, priced = self.blocked_modalities(cap)
        states = self.candidates()
        proposed = {p["modality"] for p in c["proposal"]}
        self.no_site_targets = self.inapplicable(states, proposed - set(blocks) - set(priced))
        no_site = {m: (SITE_APPLICABILITY,) for m in self.no_site_targets}
        request_rules = {p["modality"]: p["rule"] for p in c["proposal"] if p["line"] == "request"}
        blocked_mods = []
        for mod in sorted(set(blocks) | set(priced) | set(no_site)):
            why = blocks.get(mod) or priced.get(mod) or no_site[mod]
            because = set(why)
            reason = "blocked" if mod in blocks else "priced_out" if mod in priced else NO_TARGET_IT_APPLIES_TO
            if mod in request_rules:
                because.add(request_rules[mod])
                how = {"blocked": "blocked", "priced_out": f"priced out by the {cap} pressure cap",
                       NO_TARGET_IT_APPLIES_TO: self.no_target_words(mod)}[reason]
                self.advisories.append(f"requested {v.label(mod)} is not given: {how} ({', '.join(self.ids(why))}); "
                                       "a request never overrides a contraindication or an exclusion")
            blocked_mods.append(BlockedModality(mod, self.ids(because), reason))
        blocked_areas = self.blocked_areas(blocks)
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

        not_covered = tuple(getattr(case, "not_covered", ()))
        self.advisories += self.unchecked_medications()
        if not_covered and not case.diagnoses:
            severe.append(("defer", ""))
            self.advisories.append("the case lies outside the knowledge base: no rule covers "
                                   + ", ".join(f"{code} ({text})" for code, text in not_covered)
                                   + "; plan the session by clinical judgement or refer back to the physician")
        blocked_targets = self.apply_area_blocks(states, blocked_areas)
        self.drop_subsumed_areas(states)
        self.apply_caps(states, cap)
        available = proposed - set(blocks) - set(priced) - set(no_site)
        had_targets = bool(states)
        self.stopped_at: dict[str, dict[str, set[str]]] = defaultdict(lambda: {"blocked": set(), "priced_out": set()})
        undeliverable = self.assign_modalities(states, available)
        stopped = self.stopped_modalities(states, available)
        blocked_mods = sorted([*blocked_mods, *stopped], key=lambda b: b.id)
        available -= {b.id for b in stopped}

        if not states:  # nothing left to treat: defer, unless something more severe applies
            severe += [("defer", r) for r in sorted({r for rules in blocked_targets.values() for r in rules})]
            if not any(kind == "defer" for kind, _ in severe):
                severe.append(("defer", ""))
            if not any(f["kind"] == "all" for f in c["block"]) and not (not_covered and not case.diagnoses):
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
            # a restriction of an area to some modalities blocks the others there: a precaution
            precautions = (blocked_mods or blocked_areas or cap != "deep" or c.by_kind.get("restrict")
                           or any(t.pressure_cap not in (None, "deep") for t in targets))
            status = "treat_with_precautions" if precautions else "treat"
            self.advisories += treatment_notes
            total = sum(s.minutes for s in segments)
            delivered_now = {m.id for m in modalities}
            for group, left_out in outcome_time.items():
                lost = sorted({m for t in left_out for m in states[t].modalities} - delivered_now)
                also = f"; {', '.join(v.label(m) for m in lost)} not given" if lost else ""
                short = ("no time" if total >= ceiling else
                         f"the {ceiling - total} minutes left are under one {SEGMENT_MIN}-minute segment")
                self.advisories.append(f"{v.label(group)} left out: {short} "
                                       f"({', '.join(v.label(t) for t in left_out)}){also}")
            planned_areas = {t.area for t in targets}
            for area in sorted(set(case.prescription.focus_areas), key=list(v.areas).index):
                if area not in planned_areas:
                    self.advisories.append(f"focus area {v.label(area)}: no target of this plan lies there "
                                           "(no rule for these diagnoses works it, or it is blocked)")
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
            advisories=tuple(dict.fromkeys(self.advisories)), caps=self.area_caps(),
            not_covered=not_covered,
            unrecognised_medications=tuple(getattr(case, "unrecognised_medications", ())),
        )
        outcome = Outcome(priced_out=priced, dropped_for_time=outcome_time, undeliverable=undeliverable,
                          blocked_targets=blocked_targets,
                          not_delivered=tuple(sorted(available - delivered)))
        return plan, outcome

    def unchecked_medications(self) -> list[str]:
        """A medication the knowledge base could not classify is named, with a close known name."""
        names = tuple(getattr(self.case, "unrecognised_medications", ()))
        if not names:
            return []
        from ..intake.medications import load_drugs  # only when a name was not recognised
        known = sorted({*self.v.medications, *load_drugs().drugs})
        out = []
        for name in names:
            close = difflib.get_close_matches(name.lower(), known, n=1, cutoff=0.8)
            hint = f" (did you mean {close[0]}?)" if close else ""
            out.append(f"medication not checked: {name}{hint} is not in the knowledge base's drug table; "
                       "confirm its class (an anticoagulant, a corticosteroid, chemotherapy?) before treating")
        return out

    def no_target_words(self, modality: str) -> str:
        """Why a modality reaches no target, in clinical words."""
        mod = self.v.modalities[modality]
        tissues = " or ".join(self.v.label(t) for t in mod.applies_to) or "any tissue"
        sites = "; ".join(f"{self.v.label(t)} is {self.v.label(self.v.tissue_of(t))}"
                          for t in self.no_site_targets.get(modality, ()))
        return f"no target it applies to: {mod.label} works on {tissues}" + (f", and {sites}" if sites else "")

    def _nothing_to_treat(self, blocked: dict[str, tuple[str, ...]], undeliverable: dict[str, str],
                          had_targets: bool) -> str:
        if blocked and not had_targets:
            rules = self.ids(r for rs in blocked.values() for r in rs)
            return ("nothing can be treated today: every candidate target lies in a blocked area "
                    f"({', '.join(rules)}); reassess when those areas can be treated or a clearance lifts the block")
        if undeliverable:
            rules = self.ids(r for stopped in self.stopped_at.values() for rs in stopped.values() for r in rs)
            by_reason: dict[str, list[str]] = defaultdict(list)
            for t, reason in undeliverable.items():
                by_reason[reason].append(self.v.label(t))
            why = "; ".join(f"{', '.join(targets)}: {reason}" for reason, targets in by_reason.items())
            because = "; ".join(f"{self.kb.by_id[r].description} ({r})" for r in rules if r in self.kb.by_id)
            return (f"nothing can be treated today: {why}"
                    + (f". Set by: {because}" if because else "")
                    + "; reassess when that restriction ends or a clearance lifts it")
        return ("nothing can be treated today: the case gives no target to treat (e.g. the muscles holding "
                "trigger points); reassess with a fuller examination")

    def schedule(self, states: dict[str, TargetState],
                 ceiling: int) -> tuple[list[Segment], dict[str, tuple[str, ...]]]:
        v, case = self.v, self.case
        focus = set(case.prescription.focus_areas)
        own_areas = {d.area for d in case.diagnoses if d.area}
        needs: dict[str, dict[str, bool]] = defaultdict(lambda: dict(focus=False, primary=False, chronic=False,
                                                                     finding=False, own_area=False))
        for state in states.values():
            need = needs[v.areas[state.area]]
            need["focus"] |= state.area in focus
            need["primary"] |= bool(state.primary_of)
            need["chronic"] |= any(case.diagnoses[i].effective_acuity == "chronic" for i in state.primary_of)
            need["finding"] |= "finding" in state.roles
            need["own_area"] |= state.area in own_areas
        alloc = allocate([GroupNeed(g, **n) for g, n in needs.items()], ceiling, v.area_groups)
        target_rank = self.site_rank
        mod_rank = {m: i for i, m in enumerate(v.modalities)}
        members_of = {g: sorted((s for s in states.values() if v.areas[s.area] == g), key=lambda s: target_rank[s.id])
                      for g in v.area_groups}
        segments = []
        # Segments run in the order the groups were given time (focus and primary work first).
        for group, minutes in alloc:
            members = members_of[group]
            work = tuple(Work(s.id, s.side, mod, s.modalities[mod]) for s in members
                         for mod in sorted(s.modalities, key=mod_rank.__getitem__))
            mods = tuple(sorted({w.modality for w in work}, key=mod_rank.__getitem__))
            segments.append(Segment(minutes, group, tuple(s.id for s in members), mods, work))
        given = {g for g, _ in alloc}
        dropped = {g: tuple(s.id for s in members_of[g]) for g in v.area_groups
                   if members_of[g] and g not in given}
        return segments, dropped

    def planned_targets(self, states: dict[str, TargetState], segments: list[Segment]) -> list[PlannedTarget]:
        """The scheduled targets, in session order, once each."""
        order = dict.fromkeys(tid for segment in segments for tid in segment.targets)
        return [PlannedTarget(tid, states[tid].area, states[tid].side, states[tid].role,
                              self.ids(states[tid].because),
                              states[tid].cap if states[tid].area_capped else None)
                for tid in order]

    def planned_modalities(self, states: dict[str, TargetState], scheduled: set[str]) -> list[PlannedModality]:
        pressure: dict[str, str] = {}
        for tid in scheduled:
            for mod, p in states[tid].modalities.items():
                if mod not in pressure or self.v.rank(p) > self.v.rank(pressure[mod]):
                    pressure[mod] = p
        benefit_rank = {b: i for i, b in enumerate(self.v.benefits)}
        grade_rank = {g: i for i, g in enumerate(GRADE_WEIGHT)}
        out = []
        for mod, p in pressure.items():
            props = [f for f in self.c["proposal"] if f["modality"] == mod]
            evidence = [f for f in props if f["line"] != "request"]
            requested = len(evidence) < len(props)
            certainty = combine(self.kb, props)[1]
            grades: list[str] = [self.kb.by_id[f["rule"]].grade for f in evidence if f["rule"] in self.kb.by_id]
            grade = min(grades, key=grade_rank.__getitem__) if grades else None
            benefits = sorted({b for f in evidence for b in f["benefits"]}, key=benefit_rank.__getitem__)
            because = self.ids({f["rule"] for f in props})
            out.append(PlannedModality(mod, p, certainty, tuple(benefits), because, requested, grade))
        return sorted(out, key=lambda m: (-m.certainty, m.id))

    def endangerment(self, targets: list[PlannedTarget]) -> list[str]:
        areas = {t.area for t in targets}
        return [f"{self.v.label(site)}: avoid deep pressure at the site itself"
                for site, area in self.v.endangerment_sites.items() if area in areas]

    def caveats(self, modalities: list[PlannedModality]) -> list[str]:
        served = {b for m in modalities for b in m.benefits}
        return [c.text for c in self.kb.caveats if served & set(c.benefits)]
