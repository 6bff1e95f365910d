"""Session length: segments of 15-30 minutes over the plan's area groups (clinical-v2 §4).

Trials that worked gave one region 60 minutes (Sherman 2014: 30-minute sessions did no
better than waiting), so a session may hold several segments over the same area group.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..kb.rule_specs import ConditionDose

SEGMENT_MIN = 15
SEGMENT_MAX = 30
DEFAULT_CEILING = 30   # without a prescribed length or an evidence dose (v1-v2: always)
MAX_DOSE = 60          # an evidence dose never sets a ceiling above this (clinical-v2.1 §5.1)


def evidence_dose(diagnoses: Iterable[tuple[str, str]], doses: Mapping[str, int]) -> int:
    """The evidence dose of a case (clinical-v2.1 §5.1): the largest dose among its chronic diagnoses,
    given as (condition, effective acuity); a chronic condition without a dose, an acute or subacute
    diagnosis, or none at all counts 30; never above 60."""
    chronic = [doses.get(condition, DEFAULT_CEILING) for condition, acuity in diagnoses if acuity == "chronic"]
    return min(MAX_DOSE, max([DEFAULT_CEILING, *chronic]))


def dose_source(diagnoses: Iterable[tuple[str, str]], doses: Mapping[str, ConditionDose]) -> ConditionDose | None:
    """The evidence dose that set the case's ceiling (the largest among its chronic diagnoses), or None
    when none did (the ceiling is then 30)."""
    found = [doses[condition] for condition, acuity in diagnoses if acuity == "chronic" and condition in doses]
    best = max(found, key=lambda d: d.dose_minutes, default=None)
    return best if best is not None and best.dose_minutes > DEFAULT_CEILING else None


def session_ceiling(max_minutes: int | None, dose: int, limits: Iterable[int]) -> int:
    """The session's ceiling: the prescribed minutes, else the evidence dose; lowered by every limit
    (reduced tolerance 30, a migraine attack 15)."""
    return min([max_minutes or dose, *limits])


@dataclass(frozen=True)
class GroupNeed:
    """What one area group of the plan's targets holds, for the allocation order."""

    group: str
    focus: bool = False      # holds one of the prescription's focus areas
    primary: bool = False    # holds a diagnosis' primary target
    chronic: bool = False    # holds a chronic condition's primary target
    finding: bool = False    # holds a finding's target
    own_area: bool = False   # holds the area a diagnosis names (e.g. the arm of an arm lymphedema)


def allocate(needs: list[GroupNeed], ceiling: int, group_order: tuple[str, ...]) -> list[tuple[str, int]]:
    """Segments as (group, minutes), the groups in the order they were first given time, each
    group's segments side by side (trunk 0-15, trunk 15-45, gluteal 45-60); groups absent got none.

    (a) 15 to each group with focus areas or primary targets;
    (b) raise each of those holding a chronic condition's primary targets to 30 when 15 more fit;
    (c) 15 to each other group, those with a finding's target first;
    (d) further segments of min(30, minutes left) over the primary groups, chronic first,
        round and round while at least 15 minutes are left;
    (e) a remainder under 15 is not used.
    Within a step the groups holding the prescription's focus areas come first (the physician
    asked to prioritise them), then the group holding a diagnosis' own area, then the order
    of the area groups.
    """
    rank = {g: i for i, g in enumerate(group_order)}
    by_order = sorted(needs, key=lambda n: (not n.focus, not n.own_area, rank[n.group]))
    segments: list[list[object]] = []   # [group, minutes], mutable while raising
    first: dict[str, list[object]] = {}
    left = ceiling

    def add(group: str, minutes: int) -> None:
        nonlocal left
        segment: list[object] = [group, minutes]
        segments.append(segment)
        first.setdefault(group, segment)
        left -= minutes

    priority = [n for n in by_order if n.focus or n.primary]
    for need in priority:                                                # (a)
        if left >= SEGMENT_MIN:
            add(need.group, SEGMENT_MIN)
    for need in priority:                                                # (b)
        segment = first.get(need.group)
        if need.chronic and segment is not None and left >= SEGMENT_MAX - SEGMENT_MIN:
            segment[1] = SEGMENT_MAX
            left -= SEGMENT_MAX - SEGMENT_MIN
    others = sorted((n for n in by_order if not (n.focus or n.primary)), key=lambda n: not n.finding)
    for need in others:                                                  # (c)
        if left >= SEGMENT_MIN:
            add(need.group, SEGMENT_MIN)
    rounds = sorted((n for n in priority if n.group in first), key=lambda n: not n.chronic)
    while rounds and left >= SEGMENT_MIN:                                # (d)
        for need in rounds:
            if left < SEGMENT_MIN:
                break
            add(need.group, min(SEGMENT_MAX, left))
    # a group's later segments run right after its first one: one area is worked in one stretch
    place = {group: i for i, group in enumerate(dict.fromkeys(str(s[0]) for s in segments))}
    segments.sort(key=lambda s: place[str(s[0])])
    return [(str(group), int(minutes)) for group, minutes in segments]  # type: ignore[call-overload]
