"""Limits: what the safety conclusions of one run set on a plan, before any target is placed.

The whole-body pressure cap (the most restrictive wins), the area caps, the blocked modalities
(a block beats any request; a modality whose lightest pressure is over the cap is priced out),
the blocked areas (an axial area is blocked on both sides) and the referrals.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from ..kb.knowledge_base import KnowledgeBase
from .plan import AreaCap, BlockedArea, PlannedReferral, TargetCap
from .results import Conclusions

BOTH = frozenset({"left", "right"})
DRAINAGE = "manual_lymphatic_drainage"


def sides_of(side: str | None) -> frozenset[str]:
    """The sides a fact names: none or bilateral is both."""
    return BOTH if side in (None, "bilateral") else frozenset({side})


class Limits:
    """The caps, blocks and referrals of one run's conclusions, and the shared ways of reading them."""

    def __init__(self, kb: KnowledgeBase, c: Conclusions):
        self.kb = kb
        self.v = kb.vocabulary
        self.c = c
        self.order = kb.rule_order

    def ids(self, rules: Iterable[str]) -> tuple[str, ...]:
        """Rule ids in knowledge-base order, once each."""
        return tuple(sorted(set(rules), key=lambda r: self.order.get(r, 1 << 30)))

    def covered(self, area: str | None, side: str | None) -> frozenset[str]:
        """The sides a block or cap covers: an axial area is covered on both sides (clinical-v2 §1)."""
        return BOTH if area in self.v.axial_areas else sides_of(side)

    def plain_side(self, area: str | None, side: str | None) -> str | None:
        return None if area in self.v.axial_areas else side

    def cap(self) -> tuple[str, tuple[str, ...]]:
        """The whole-body pressure cap and the rules that set it."""
        caps = [f for f in self.c["cap"] if f["area"] is None]
        if not caps:
            return "deep", ()
        lowest = min((f["pressure"] for f in caps), key=self.v.rank)
        return lowest, self.ids(f["rule"] for f in caps if f["pressure"] == lowest)

    def area_caps(self) -> tuple[AreaCap, ...]:
        merged: dict[tuple[str, str | None, str], set[str]] = defaultdict(set)
        for f in self.c["cap"]:
            if f["area"] is not None and f.get("target") is None:
                merged[(f["area"], self.plain_side(f["area"], f["side"]), f["pressure"])].add(f["rule"])
        area_rank = {a: i for i, a in enumerate(self.v.areas)}
        return tuple(AreaCap(area, side, pressure, self.ids(rules)) for (area, side, pressure), rules in
                     sorted(merged.items(), key=lambda kv: (area_rank[kv[0][0]], kv[0][1] or "",
                                                            self.v.rank(kv[0][2]))))

    def target_caps(self, candidates: Iterable[str]) -> tuple[TargetCap, ...]:
        """The target caps on this case's candidate targets (clinical-v2.1 §4.2): one-sided ones stay
        one-sided, whatever the target's area."""
        wanted = set(candidates)
        merged: dict[tuple[str, str | None, str], set[str]] = defaultdict(set)
        for f in self.c["cap"]:  # on a candidate, or on a target of an area worked as one candidate
            if f.get("target") in wanted or (f.get("target") is not None and f["area"] in wanted):
                merged[(f["target"], f["side"], f["pressure"])].add(f["rule"])
        rank = {t: i for i, t in enumerate([*self.v.targets, *self.v.areas])}
        return tuple(TargetCap(target, side, pressure, self.ids(rules)) for (target, side, pressure), rules in
                     sorted(merged.items(), key=lambda kv: (rank[kv[0][0]], kv[0][1] or "",
                                                            self.v.rank(kv[0][2]))))

    def target_blocks(self) -> list[tuple[str, frozenset[str], str]]:
        """(target, sides, rule) of every block of a single target (iliopsoas after hip surgery)."""
        return [(f["target"], sides_of(f["side"]), f["rule"]) for f in self.c["block"] if f["kind"] == "target"]

    def blocked_modalities(self, cap: str) -> tuple[dict[str, set[str]], dict[str, tuple[str, ...]]]:
        """Blocked modalities (modality -> rules) and those priced out by the cap (modality -> cap rules)."""
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
