"""Session allocation (clinical-v2 §4): the order (a)-(e), the ceiling, ties by area group.

(a) 15 minutes to each group holding a focus area or a primary target (focus first);
(b) raise each such group holding a chronic condition's primary targets to 30 when 15 more fit;
(c) 15 minutes to each other group, those holding a finding's target first; (d) further
segments of min(30, left) over the primary groups, chronic first, round and round; (e) a
remainder under 15 is not used.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medmassage_rules.planning.pipeline import plan_case
from medmassage_rules.planning.session_time import DEFAULT_CEILING, SEGMENT_MAX, SEGMENT_MIN, GroupNeed, allocate

from ..strategies import KB, build

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
    assert allocate([], 30, GROUPS) == []


@pytest.mark.parametrize(("ceiling", "expected"), [
    (15, [(HEAD, 15)]), (29, [(HEAD, 15)]), (30, [(HEAD, 30)]), (44, [(HEAD, 30)]), (45, [(HEAD, 30), (HEAD, 15)]),
    (60, [(HEAD, 30), (HEAD, 30)]), (75, [(HEAD, 30), (HEAD, 30), (HEAD, 15)]),
    (120, [(HEAD, 30), (HEAD, 30), (HEAD, 30), (HEAD, 30)])])
def test_one_chronic_group_is_given_the_whole_ceiling_in_segments(ceiling: int, expected: list) -> None:
    """(b) raises to 30 only when 15 more fit; (d) adds segments of min(30, left); (e) under 15 is unused."""
    assert allocate([primary(HEAD, chronic=True)], ceiling, GROUPS) == expected


def test_a_group_that_is_not_chronic_also_gets_further_segments() -> None:
    assert allocate([primary(TRUNK)], 60, GROUPS) == [(TRUNK, 15), (TRUNK, 30), (TRUNK, 15)]
    assert allocate([primary(TRUNK)], 25, GROUPS) == [(TRUNK, 15)]  # a remainder under 15 is not used


def test_a_primaries_first_by_group_order() -> None:
    """(a) with room for one segment: ties go by area_groups, not by the order given."""
    needs = [primary(LEG), primary(ARM)]
    assert allocate(needs, 15, GROUPS) == [(ARM, 15)]
    assert allocate(list(reversed(needs)), 15, GROUPS) == [(ARM, 15)]


def test_a_focus_comes_before_primary() -> None:
    assert allocate([primary(HEAD), focus(LEG)], 15, GROUPS) == [(LEG, 15)]
    assert allocate([primary(HEAD, chronic=True), focus(LEG)], 29, GROUPS) == [(LEG, 15)]


def test_a_the_group_of_a_diagnosis_own_area_comes_first() -> None:
    """e.g. the arm of an arm lymphedema before the neck nodes."""
    needs = [primary(HEAD), GroupNeed(ARM, primary=True, own_area=True)]
    assert allocate(needs, 15, GROUPS) == [(ARM, 15)]


def test_a_every_priority_group_gets_15_before_any_is_raised() -> None:
    assert allocate([primary(HEAD, chronic=True), primary(LEG, chronic=True)], 30, GROUPS) == [(HEAD, 15), (LEG, 15)]


def test_b_raises_chronic_groups_in_priority_order() -> None:
    needs = [primary(HEAD, chronic=True), primary(LEG, chronic=True)]
    assert allocate(needs, 45, GROUPS) == [(HEAD, 30), (LEG, 15)]
    assert allocate(needs, 50, GROUPS) == [(HEAD, 30), (LEG, 15)]
    assert allocate(needs, 60, GROUPS) == [(HEAD, 30), (LEG, 30)]
    assert allocate(needs, 90, GROUPS) == [(HEAD, 30), (HEAD, 30), (LEG, 30)]   # a group's segments side by side


def test_c_other_groups_after_the_primaries_findings_first() -> None:
    needs = [primary(TRUNK), other(LEG, finding=True), other(HEAD)]
    assert allocate(needs, 30, GROUPS) == [(TRUNK, 15), (LEG, 15)]
    assert allocate(needs, 45, GROUPS) == [(TRUNK, 15), (LEG, 15), (HEAD, 15)]


def test_d_further_segments_go_round_the_primary_groups_chronic_first() -> None:
    needs = [primary(HEAD), primary(LEG, chronic=True), other(TRUNK)]
    # (a) 15+15, (b) LEG to 30, (c) TRUNK 15, (d) LEG first (chronic), then HEAD; each group's segments adjacent
    assert allocate(needs, 105, GROUPS) == [(HEAD, 15), (HEAD, 15), (LEG, 30), (LEG, 30), (TRUNK, 15)]


def test_a_15_minute_ceiling_serves_one_group() -> None:
    needs = [primary(HEAD, chronic=True), primary(ARM), other(TRUNK, finding=True)]
    assert allocate(needs, 15, GROUPS) == [(HEAD, 15)]


needs_strategy = st.lists(
    st.builds(GroupNeed, st.sampled_from(GROUPS), st.booleans(), st.booleans(), st.booleans(), st.booleans(),
              st.booleans()),
    max_size=4, unique_by=lambda n: n.group)


@given(needs_strategy, st.integers(15, 120))
def test_allocation_keeps_the_ceiling_and_the_segment_bounds(needs: list[GroupNeed], ceiling: int) -> None:
    alloc = allocate(needs, ceiling, GROUPS)
    given_time = {g for g, _ in alloc}
    total = sum(m for _, m in alloc)
    assert given_time <= {n.group for n in needs}
    assert all(SEGMENT_MIN <= m <= SEGMENT_MAX for _, m in alloc), alloc
    assert total <= ceiling
    if needs:
        assert alloc, "the ceiling always allows one segment"
    prioritised = [n.group for n in needs if n.focus or n.primary]
    if any(n.group in given_time for n in needs if not (n.focus or n.primary)):
        assert all(g in given_time for g in prioritised), alloc  # (a) before (c)
    if prioritised:
        assert ceiling - total < SEGMENT_MIN, alloc  # (d): primary groups take every whole segment left
    left_out = [n for n in needs if n.group not in given_time]
    if left_out:
        assert ceiling - total < SEGMENT_MIN  # a group is left out only for want of time
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
    segments, _ = _segments({**NECK_AND_HEEL, "prescription": {"max_minutes": 90}})
    assert segments == [(HEAD, 30), (HEAD, 30), (LEG, 30)]


def test_planner_follows_the_focus_areas() -> None:
    segments, _ = _segments({**NECK_AND_HEEL, "prescription": {"max_minutes": 45, "focus_areas": ["ankle_foot"]}})
    assert segments == [(LEG, 30), (HEAD, 15)]


def test_planner_names_a_group_left_out_for_time() -> None:
    segments, advisories = _segments(NECK_AND_HEEL)  # no max_minutes: chronic neck pain's evidence dose, 60
    assert segments == [(HEAD, 30), (LEG, 30)]
    segments, advisories = _segments({**NECK_AND_HEEL, "prescription": {"max_minutes": 15}})
    assert segments == [(HEAD, 15)]
    assert any(a.startswith("lower limb left out: no time") for a in advisories), advisories


def test_planner_caps_a_migraine_attack_at_15_minutes() -> None:
    segments, _ = _segments({"id": "attack", "diagnoses": [{"condition": "migraine"}],
                             "findings": [{"finding": "migraine_attack_in_progress"}],
                             "prescription": {"max_minutes": 60}})
    assert sum(m for _, m in segments) == 15
