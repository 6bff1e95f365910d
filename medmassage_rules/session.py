"""Session length: segments of 15-30 minutes, one per area group (clinical-knowledge §5)."""

from __future__ import annotations

from dataclasses import dataclass

SEGMENT_MIN = 15
SEGMENT_MAX = 30
DEFAULT_CEILING = 30


@dataclass(frozen=True)
class GroupNeed:
    """What one area group of the plan's targets holds, for the allocation order."""

    group: str
    focus: bool = False      # holds one of the prescription's focus areas
    primary: bool = False    # holds a diagnosis' primary target
    chronic: bool = False    # holds a chronic condition's primary target
    finding: bool = False    # holds a finding's target


def allocate(needs: list[GroupNeed], ceiling: int, group_order: tuple[str, ...]) -> dict[str, int]:
    """Minutes per group, in the order of §5; groups that get none are left out.

    (a) 15 to each group with focus areas or primary targets (focus first);
    (b) raise the groups with a chronic condition's primary targets toward 30;
    (c) 15 to each other group, those with a finding's target first;
    (d) a remainder under 15 goes to the first group that stays within 30.
    Ties go by the order of the area groups.
    """
    rank = {g: i for i, g in enumerate(group_order)}
    by_order = sorted(needs, key=lambda n: rank[n.group])
    alloc: dict[str, int] = {}
    left = ceiling

    def give(group: str, minutes: int) -> None:
        nonlocal left
        alloc[group] = alloc.get(group, 0) + minutes
        left -= minutes

    priority = sorted((n for n in by_order if n.focus or n.primary), key=lambda n: not n.focus)
    for need in priority:
        if left >= SEGMENT_MIN:
            give(need.group, SEGMENT_MIN)
    for need in priority:
        if need.chronic and need.group in alloc and left > 0:
            give(need.group, min(SEGMENT_MAX - alloc[need.group], left))
    others = sorted((n for n in by_order if not (n.focus or n.primary)), key=lambda n: not n.finding)
    for need in others:
        if left >= SEGMENT_MIN:
            give(need.group, SEGMENT_MIN)
    if 0 < left < SEGMENT_MIN:
        for need in by_order:
            if need.group in alloc and alloc[need.group] + left <= SEGMENT_MAX:
                give(need.group, left)
                break
    return alloc
