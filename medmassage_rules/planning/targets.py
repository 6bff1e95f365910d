"""Targets: where the plan's work can go, and which modality reaches which target at what pressure.

Candidate targets are merged from the run's conclusions, narrowed or removed by area blocks,
capped by area caps, limited by area restrictions, and given the modalities that reach them
and apply to their tissue (clinical-knowledge §4, clinical-v2 §1). A modality stopped on every
target it reaches is listed as blocked or priced out, never dropped silently.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from .limits import BOTH, Limits, sides_of
from .plan import BlockedArea, BlockedModality

SIDELESS_AREAS = frozenset({"abdomen"})  # worked as one: its targets carry no side (clinical-v2 §1)
INTRAORAL = "pterygoid"   # the pterygoids are reached only inside the mouth: never planned (clinical-v2.1 §4.1)
INTRAORAL_ADVISORY = ("intraoral work on the pterygoids needs specific training, gloves and consent; "
                      "not planned here")
INTRAORAL_REASON = "reached only inside the mouth: intraoral work is not planned here"


def intraoral(target: str) -> bool:
    """Whether a target is reached only inside the mouth (lateral_pterygoid, any pterygoid)."""
    return INTRAORAL in target


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
    base_cap: str = "deep"       # the cap of the plan and the target's area, before any target cap
    target_cap: str = "deep"     # the lowest target cap on it (clinical-v2.1 §4.2)
    cap_lowered: bool = False    # a target cap lowered (or priced out) a pressure it would otherwise get
    given_sides: frozenset[str] = frozenset()  # the sides its sources named
    found_sided: bool = False    # a finding named its side
    whole_dx: bool = False       # a diagnosis named no side (the condition, both sides)
    key: str = ""                # its key among the states: the id, or id:side for one side of a split target
    modalities: dict[str, str] = field(default_factory=dict)  # modality -> delivered pressure
    given_by: dict[str, set[str]] = field(default_factory=dict)  # modality -> the rules whose proposal delivers it here

    @property
    def side(self) -> str | None:
        if not self.sided:
            return None
        return "bilateral" if self.sides == BOTH else next(iter(self.sides))

    def add_side(self, side: str | None, source_kind: str) -> None:
        """Merge one source's side. A one-sided finding (a trigger point palpated on the right)
        keeps its side: a source that names no side widens neither it nor a diagnosis' side, but a
        diagnosis without one (no finding's side given) covers both sides."""
        if side is not None:
            self.given_sides |= sides_of(side)
            self.found_sided |= source_kind == "finding"
        elif source_kind == "diagnosis":
            self.whole_dx = True
        self.sided = bool(self.given_sides)
        if not self.sided or (self.whole_dx and not self.found_sided):
            self.sides = BOTH
        else:
            self.sides = self.given_sides

    @property
    def role(self) -> str:
        for role in ("primary", "secondary", "finding"):
            if role in self.roles:
                return role
        return "finding"


class Targets:
    """The target side of one plan's resolution: candidates, area blocks, caps, restrictions, delivery."""

    def __init__(self, limits: Limits):
        self.v = limits.v
        self.c = limits.c
        self.ids = limits.ids
        self.covered = limits.covered
        self.mech_benefit = {m: spec["benefit"] for m, spec in self.v.mechanisms.items()}
        self.site_rank = {t: i for i, t in enumerate([*self.v.targets, *self.v.areas])}
        # modality -> {"blocked" | "priced_out": the rules that stopped it on some target}
        self.stopped_at: dict[str, dict[str, set[str]]] = defaultdict(lambda: {"blocked": set(), "priced_out": set()})
        self.intraoral: dict[str, set[str]] = {}   # intraoral target -> the kinds of fact that listed it
        self.target_blocks = limits.target_blocks()

    def candidates(self) -> dict[str, TargetState]:
        """Candidates merged by id; an intraoral target is left out here, before any time is given
        (not a block: clinical-v2.1 §4.1), and noted in ``intraoral``."""
        states: dict[str, TargetState] = {}
        for f in self.c["candidate"]:
            if intraoral(f["target"]):
                self.intraoral.setdefault(f["target"], set()).add(f["source_kind"])
                continue
            state = states.get(f["target"])
            if state is None:
                state = states[f["target"]] = TargetState(f["target"], f["area"], frozenset(), False, key=f["target"])
            sideless = f["area"] in SIDELESS_AREAS
            if sideless:
                state.sides = BOTH
            else:
                state.add_side(f["side"], f["source_kind"])
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
            for target, sides, rule in self.target_blocks:  # a block of this target alone (both sides: its own)
                if target == tid and free & sides:
                    free -= sides
                    rules.add(rule)
            if not free:
                removed[tid] = self.ids(rules)
                del states[tid]
            elif free != state.sides:
                state.sides = frozenset(free)
                state.sided = True
                state.because.update(rules)
        return removed

    def single_blocks(self, candidates: set[str]) -> tuple[BlockedArea, ...]:
        """The blocks of single targets (iliopsoas after hip surgery) on this case's candidates; the
        id is the target's, the side none when both are blocked."""
        merged: dict[str, tuple[set[str], set[str]]] = {}
        for target, sides, rule in self.target_blocks:
            if target in candidates:
                entry = merged.setdefault(target, (set(), set()))
                entry[0].update(sides)
                entry[1].add(rule)
        return tuple(BlockedArea(t, None if sides == BOTH else next(iter(sides)), self.ids(rules))
                     for t, (sides, rules) in sorted(merged.items(), key=lambda kv: self.site_rank[kv[0]]))

    def drop_subsumed_areas(self, states: dict[str, TargetState]) -> None:
        """A finding's whole-area target gives way to specific targets in that area."""
        for tid in [t for t, s in states.items() if t in self.v.areas and s.roles == {"finding"}]:
            if any(o.area == tid and o.id != tid and o.sides >= states[tid].sides for o in states.values()):
                del states[tid]

    def apply_caps(self, states: dict[str, TargetState], cap: str) -> None:
        """The plan's cap, the caps on each target's area, then the caps on the target itself. A
        one-sided target cap on a target worked on both sides splits it: each side is delivered at
        its own pressure (clinical-v2.1 §4.2)."""
        self.split_by_target_caps(states)
        for state in states.values():
            state.cap = cap
            for f in self.c["cap"]:
                if f.get("target") is None and f["area"] == state.area \
                        and state.sides & self.covered(f["area"], f["side"]):
                    state.cap = self.v.lower(state.cap, f["pressure"])
                    state.area_capped = True
            state.base_cap = state.cap
            for f in self.target_caps_on(state):
                state.target_cap = self.v.lower(state.target_cap, f["pressure"])
            state.cap = self.v.lower(state.cap, state.target_cap)

    def target_caps_on(self, state: TargetState) -> list[Any]:
        """The target caps on this target that cover one of its sides (a one-sided one: that side only)."""
        return [f for f in self.caps_of(state.id) if state.sides & sides_of(f["side"])]

    def caps_of(self, target: str) -> list[Any]:
        """The target caps on a target; a whole area worked as one target holds every target in it, so
        it takes their caps too (the neck worked as a whole holds sternocleidomastoid)."""
        whole_area = target in self.v.areas
        return [f for f in self.c["cap"] if f.get("target") is not None
                and (f["target"] == target or (whole_area and f["area"] == target))]

    def split_by_target_caps(self, states: dict[str, TargetState]) -> None:
        for key, state in list(states.items()):
            caps = self.caps_of(state.id)
            if not caps or len(state.sides) < 2:
                continue
            by_side = {side: min((f["pressure"] for f in caps if side in sides_of(f["side"])),
                                 key=self.v.rank, default="deep") for side in sorted(state.sides)}
            if len(set(by_side.values())) < 2:
                continue
            del states[key]
            for side in sorted(by_side):
                part = copy.deepcopy(state)
                part.sides, part.sided = frozenset({side}), True
                part.key = f"{state.id}:{side}"
                states[part.key] = part

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
                limit = p["pressure"] or mod.highest
                if self.v.rank(mod.lowest) > self.v.rank(state.cap):
                    self.stopped_at[mod.id]["priced_out"] |= {
                        f["rule"] for f in self.c["cap"] if f.get("target") is None and f["area"] == state.area
                        and state.sides & self.covered(f["area"], f["side"])
                        and self.v.rank(f["pressure"]) < self.v.rank(mod.lowest)}
                    self.stopped_at[mod.id]["priced_out"] |= {
                        f["rule"] for f in self.target_caps_on(state)
                        if self.v.rank(f["pressure"]) < self.v.rank(mod.lowest)}
                    state.cap_lowered |= self.v.rank(mod.lowest) <= self.v.rank(state.base_cap)
                    continue
                pressure = self.v.lower(self.v.lower(mod.highest, state.cap), limit)
                state.cap_lowered |= pressure != self.v.lower(self.v.lower(mod.highest, state.base_cap), limit)
                if self.v.rank(pressure) < self.v.rank(mod.lowest):
                    continue
                state.given_by.setdefault(mod.id, set()).add(p["rule"])
                best = state.modalities.get(mod.id)
                if best is None or self.v.rank(pressure) > self.v.rank(best):
                    state.modalities[mod.id] = pressure
        for key, state in list(states.items()):
            if not state.modalities:
                restricted = self.restrictions(state)
                if restricted is not None:
                    only = ", ".join(self.v.label(m) for m in sorted(restricted)) or "nothing"
                    undeliverable[state.id] = (f"only {only} may be given there, and no such modality was "
                                               "proposed for it")
                elif blocked_there := self.blocked_for(state, available):
                    undeliverable[state.id] = f"{blocked_there}, the only modality proposed there, is blocked"
                else:
                    undeliverable[state.id] = (
                        f"no recommended modality can be delivered there under a {state.cap} cap"
                        if state.cap != "deep" else "no recommended modality applies there")
                del states[key]
        for state in states.values():  # one side of a split target lost, the other delivered: not undeliverable
            undeliverable.pop(state.id, None)
        return undeliverable

    def blocked_for(self, state: TargetState, available: set[str]) -> str:
        """The blocked modalities that were proposed for this target and apply to its tissue (the
        cervical nodes when drainage is blocked), as words; empty when none was."""
        mods = {p["modality"] for p in self.c["proposal"] if p["modality"] not in available
                and self.reaches(p, state) and self.v.applies(p["modality"], state.id)}
        rules = self.ids(f["rule"] for f in self.c["block"] if f["kind"] == "modality" and f["modality"] in mods)
        words = " and ".join(self.v.label(m) for m in sorted(mods))
        return f"{words} ({', '.join(rules)})" if rules else words

    def stopped_modalities(self, states: dict[str, TargetState],
                           available: set[str]) -> tuple[list[BlockedModality], list[str]]:
        """Modalities that reach no remaining target only because area caps or restrictions stop them
        there: listed as blocked or priced out, never dropped silently (clinical-v2 §1); with the
        advisories for those the prescription requested."""
        advisories: list[str] = []
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
                advisories.append(f"requested {self.v.label(mod)} is not given: {how} ({culprits}); "
                                       "a request never overrides a contraindication or an exclusion")
            out.append(BlockedModality(mod, self.ids(because), reason))
        return out, advisories
