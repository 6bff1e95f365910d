"""kb lint grows with the rules, not with their pairs: the pairwise checks look only at indexed
candidates (lint/rule_index.py), and copies of one rule give one finding."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from medmassage_rules.kb.loading import read_knowledge_base
from medmassage_rules.kb.pattern_matching import Universe
from medmassage_rules.lint.linter import _Linter, lint_knowledge_base
from medmassage_rules.lint.rule_index import GeneralIndex, identical_groups

from .test_lint import _add, _rule, write_small_kb


def test_copies_of_one_rule_give_one_finding(tmp_path: Path) -> None:
    rules = write_small_kb(tmp_path / "rules")
    copy = ("[{diagnosis: {condition: sciatica}}]", "{targets: [{role: secondary, ids: [piriformis]}]}")
    _add(rules, *(_rule(f"copy-{i}", *copy, benefits="nerve_compression_relief") for i in range(250)))
    report = lint_knowledge_base(rules)
    redundant = [f for f in report.findings if f.check == "redundant"]
    assert len(redundant) == 1
    assert redundant[0].problem.rule == "copy-0"
    assert redundant[0].problem.message.startswith("249 rules have the same conditions and conclusions as this one "
                                                   "(copy-1, copy-2, copy-3, copy-4, copy-5, … (+244 more))")


def test_two_copies_keep_the_pairwise_wording(tmp_path: Path) -> None:
    rules = write_small_kb(tmp_path / "rules")
    copy = ("[{diagnosis: {condition: sciatica}}]", "{targets: [{role: secondary, ids: [piriformis]}]}")
    _add(rules, *(_rule(f"twin-{i}", *copy, benefits="nerve_compression_relief") for i in range(2)))
    found = [f.problem for f in lint_knowledge_base(rules).findings if f.check == "redundant"]
    assert [(p.rule, p.message) for p in found] == [("twin-1", "same conditions and conclusions as twin-0: "
                                                     "one of the two can go")]


LINTER = _Linter(read_knowledge_base(None))
RULES = list(LINTER.rules)
INDEX = GeneralIndex(LINTER.universe, RULES)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(RULES))
def test_the_index_misses_no_more_general_rule(specific) -> None:  # type: ignore[no-untyped-def]
    """Every shipped rule that fires whenever ``specific`` fires is among the index's candidates."""
    candidates = {r.id for r in INDEX.candidates(specific)}
    for general in RULES:
        if general is not specific and LINTER.fires_whenever(general, specific):
            assert general.id in candidates, (general.id, specific.id)


def test_identical_groups_partition_the_rules_in_order() -> None:
    groups = identical_groups(RULES)
    assert all(len(g) == 1 for g in groups)  # the shipped knowledge base holds no copies
    assert [r.id for g in groups for r in g] == [r.id for r in RULES]


def test_the_universe_remembers_what_a_condition_admits() -> None:
    u = Universe(LINTER.v, [])
    first = u.admitted("diagnosis", "condition", {"in": ["sciatica", "neck_pain"]})
    assert first == frozenset({"sciatica", "neck_pain"})
    assert u.admitted("diagnosis", "condition", {"in": ["sciatica", "neck_pain"]}) is first
    # a constant too long to print in decimal still makes a key (and admits no value here)
    assert u.admitted("vitals", "systolic", {"ge": 10 ** 5000}) == frozenset()
