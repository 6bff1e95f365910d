"""Session allocation (clinical-knowledge §5): the order (a)-(d), the ceiling, ties by area group.

(a) 15 minutes to each group holding a focus area or a primary target (focus first);
(b) raise each such group holding a chronic condition's primary targets to 30, as far as the
ceiling allows; (c) 15 minutes to each other group, those holding a finding's target first;
(d) a remainder under 15 goes to the first group that stays within 30, else it is unused.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medmassage_rules.planner import plan_case
from medmassage_rules.session import DEFAULT_CEILING, SEGMENT_MAX, SEGMENT_MIN, GroupNeed, allocate

from .strategies import KB, build

GROUPS = ("head_neck", "upper_extremity", "trunk", "lower_extremity")
HEAD, ARM, TRUNK, LEG = GROUPS


def primary(group: str, chronic: bool = False, focus: bool = False) -> GroupNeed:
    return GroupNeed(group, focus=focus, primary=True, chronic=chronic)


def focus(group: str, chronic: bool = False) -> GroupNeed:
    return GroupNeed(group, focus=True, primary=chronic, chronic=chronic)


def other(group: str, finding: bool = False) -> GroupNeed:
    return GroupNeed(group, finding=finding)


def test_the_constants_of_the_seed() -> None:
    assert (SEGMENT_MIN, SEGMENT_MAX, DEFAULT_CEILING) == (15, 30, 30)


def test_no_groups_no_minutes() -> None:
    assert allocate([], 30, GROUPS) == {}


@pytest.mark.parametrize(("ceiling", "expected"), [(15, {HEAD: 15}), (29, {HEAD: 29}), (30, {HEAD: 30}),
                                                   (120, {HEAD: 30})])
def test_one_chronic_group_is_raised_as_far_as_the_ceiling_allows(ceiling: int, expected: dict) -> None:
    assert allocate([primary(HEAD, chronic=True)], ceiling, GROUPS) == expected


def test_a_group_that_is_not_chronic_gets_15_and_the_rest_is_unused() -> None:
    assert allocate([primary(TRUNK)], 120, GROUPS) == {TRUNK: 15}


def test_a_remainder_under_15_goes_to_the_group() -> None:
    """(d): 25 minutes for one non-chronic group: 15, then the remainder of 10."""
    assert allocate([primary(TRUNK)], 25, GROUPS) == {TRUNK: 25}


def test_a_primaries_first_by_group_order() -> None:
    """(a) with room for one segment: ties go by area_groups, not by the order given."""
    needs = [primary(LEG), primary(ARM)]
    assert allocate(needs, 15, GROUPS) == {ARM: 15}
    assert allocate(list(reversed(needs)), 15, GROUPS) == {ARM: 15}


def test_a_focus_comes_before_primary() -> None:
    assert allocate([primary(HEAD), focus(LEG)], 15, GROUPS) == {LEG: 15}
    # the chronic head and neck group does not fit beside the focus; the 14 left go to the focus
    assert allocate([primary(HEAD, chronic=True), focus(LEG)], 29, GROUPS) == {LEG: 29}


def test_a_every_priority_group_gets_15_before_any_is_raised() -> None:
    """(a) before (b): two chronic groups in 30 minutes get 15 each, neither is raised."""
    assert allocate([primary(HEAD, chronic=True), primary(LEG, chronic=True)], 30, GROUPS) == {HEAD: 15, LEG: 15}


def test_b_raises_chronic_groups_in_priority_order() -> None:
    needs = [primary(HEAD, chronic=True), primary(LEG, chronic=True)]
    assert allocate(needs, 45, GROUPS) == {HEAD: 30, LEG: 15}
    assert allocate(needs, 50, GROUPS) == {HEAD: 30, LEG: 20}
    assert allocate(needs, 60, GROUPS) == {HEAD: 30, LEG: 30}
    with_focus = [primary(HEAD, chronic=True), primary(LEG, chronic=True, focus=True)]
    assert allocate(with_focus, 45, GROUPS) == {LEG: 30, HEAD: 15}


def test_b_raises_only_chronic_groups() -> None:
    assert allocate([primary(HEAD), primary(LEG, chronic=True)], 60, GROUPS) == {HEAD: 15, LEG: 30}


def test_b_comes_before_c() -> None:
    """A chronic primary group is raised to 30 before another group gets its 15."""
    needs = [primary(TRUNK, chronic=True), other(HEAD)]
    assert allocate(needs, 45, GROUPS) == {TRUNK: 30, HEAD: 15}
    assert allocate(needs, 40, GROUPS) == {TRUNK: 30}  # the 10 left would take TRUNK past 30
    assert allocate(needs, 30, GROUPS) == {TRUNK: 30}


def test_c_other_groups_with_a_finding_first() -> None:
    needs = [primary(TRUNK), other(HEAD), other(LEG, finding=True)]
    assert allocate(needs, 30, GROUPS) == {TRUNK: 15, LEG: 15}
    assert allocate(needs, 45, GROUPS) == {TRUNK: 15, LEG: 15, HEAD: 15}


def test_c_ties_go_by_group_order() -> None:
    needs = [primary(LEG), other(TRUNK), other(HEAD)]
    assert allocate(needs, 30, GROUPS) == {LEG: 15, HEAD: 15}


def test_d_remainder_to_the_first_group_that_stays_within_30() -> None:
    # HEAD is raised to 30 in (b); LEG gets 15 in (c); the 5 left cannot go to HEAD, so LEG takes it
    assert allocate([primary(HEAD, chronic=True), other(LEG)], 50, GROUPS) == {HEAD: 30, LEG: 20}
    # nothing is chronic: both get 15, the remainder of 10 goes to the first group in area_groups order
    assert allocate([primary(LEG), other(ARM)], 40, GROUPS) == {ARM: 25, LEG: 15}


def test_d_a_remainder_no_group_can_take_is_unused() -> None:
    needs = [primary(HEAD, chronic=True), primary(ARM, chronic=True)]
    assert allocate(needs, 70, GROUPS) == {HEAD: 30, ARM: 30}


def test_a_15_minute_ceiling_serves_one_group() -> None:
    needs = [primary(HEAD, chronic=True), primary(ARM), other(TRUNK, finding=True)]
    assert allocate(needs, 15, GROUPS) == {HEAD: 15}


needs_strategy = st.lists(
    st.builds(GroupNeed, st.sampled_from(GROUPS), st.booleans(), st.booleans(), st.booleans(), st.booleans()),
    max_size=4, unique_by=lambda n: n.group)


@given(needs_strategy, st.integers(15, 120))
def test_allocation_keeps_the_ceiling_and_the_segment_bounds(needs: list[GroupNeed], ceiling: int) -> None:
    alloc = allocate(needs, ceiling, GROUPS)
    assert set(alloc) <= {n.group for n in needs}
    assert all(SEGMENT_MIN <= m <= SEGMENT_MAX for m in alloc.values()), alloc
    assert sum(alloc.values()) <= ceiling
    if needs:
        assert alloc, "the ceiling always allows one segment"
    prioritised = [n.group for n in needs if n.focus or n.primary]
    if any(n.group in alloc for n in needs if not (n.focus or n.primary)):
        assert all(g in alloc for g in prioritised), alloc  # (a) before (c)
    left_out = [n for n in needs if n.group not in alloc]
    if left_out:
        assert ceiling - sum(alloc.values()) < SEGMENT_MIN  # a group is left out only for want of time
    assert allocate(list(reversed(needs)), ceiling, GROUPS) == alloc  # the order given does not matter


# -- through the planner: segments, ceilings and the advisory for groups left out ---------------

NECK_AND_HEEL = {"id": "two-groups", "diagnoses": [
    {"condition": "neck_pain", "acuity": "chronic"}, {"condition": "plantar_fasciitis", "acuity": "chronic"}]}


def _segments(data: dict) -> tuple[list[tuple[str, int]], list[str]]:
    p = plan_case(build(data), KB).plan
    return [(s.group, s.minutes) for s in p.segments], list(p.advisories)


def test_planner_gives_a_chronic_group_30_within_the_default_ceiling() -> None:
    segments, _ = _segments({**NECK_AND_HEEL, "prescription": {"max_minutes": 60}})
    assert segments == [(HEAD, 30), (LEG, 30)]
    segments, _ = _segments({**NECK_AND_HEEL, "prescription": {"max_minutes": 45}})
    assert segments == [(HEAD, 30), (LEG, 15)]


def test_planner_follows_the_focus_areas() -> None:
    segments, _ = _segments({**NECK_AND_HEEL, "prescription": {"max_minutes": 45, "focus_areas": ["ankle_foot"]}})
    assert dict(segments) == {HEAD: 15, LEG: 30}


def test_planner_names_a_group_left_out_for_time() -> None:
    segments, advisories = _segments(NECK_AND_HEEL)  # no max_minutes: a ceiling of 30
    assert segments == [(HEAD, 15), (LEG, 15)]
    segments, advisories = _segments({**NECK_AND_HEEL, "prescription": {"max_minutes": 15}})
    assert segments == [(HEAD, 15)]
    assert any(a.startswith("lower limb left out: no time") for a in advisories), advisories


def test_planner_caps_a_migraine_attack_at_15_minutes() -> None:
    segments, _ = _segments({"id": "attack", "diagnoses": [{"condition": "migraine"}],
                             "findings": [{"finding": "migraine_attack_in_progress"}],
                             "prescription": {"max_minutes": 60}})
    assert sum(m for _, m in segments) == 15
