"""Expectations that no plan can meet are invalid input (contract §3, §5; the invariants of §2).

A ``min`` above its ``max``, an empty any-of list, an id both included and excluded, a target
inside an excluded area, a code that is not ICD-10-CM under ``not_covered``, a minimum above the
prescription's ``max_minutes``, or a field the expected status rules out: each is one problem
with the code ``impossible_expectation``, the field path and the value. A single case file exits
2 with one ``error:`` line per problem; a JSON Lines batch makes the case an error row and goes on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from medmassage_rules.cases import Expectation, validate_case
from medmassage_rules.errors import CaseError, Problem

from ..helpers import assert_refused, invoke

NECK = {"diagnoses": [{"condition": "neck_pain"}]}
IMPOSSIBLE = "impossible_expectation"


def _case(case_id: str, expect: dict[str, Any]) -> dict[str, Any]:
    return {"id": case_id, **NECK, "expect": expect}


def _problems(expect: dict[str, Any], vocab: Any) -> list[Problem]:
    with pytest.raises(CaseError) as caught:
        validate_case(_case("x", expect), "c.json", vocab)
    return list(caught.value.problems)


# (expect block, [(field path, message fragment, value)]) - every problem the block holds
IMPOSSIBLE_BLOCKS: list[tuple[str, dict[str, Any], list[tuple[str, str, object]]]] = [
    ("min above max", {"minutes": {"min": 40, "max": 20}},
     [("expect.minutes.min", "min 40 is more than max 20", 40)]),
    ("no status at all", {"status": []},
     [("expect.status", "at least 1 item", [])]),
    ("an empty any-of group", {"modalities": {"include_any": [["swedish"], []]}},
     [("expect.modalities.include_any[1]", "at least 1 item", [])]),
    ("a modality both included and excluded", {"modalities": {"include": ["swedish"],
                                                              "exclude": ["deep_tissue", "swedish"]}},
     [("expect.modalities.exclude[1]", "also in modalities.include", "swedish")]),
    ("an any-of group wholly excluded", {"modalities": {"include_any": [["swedish", "deep_tissue"]],
                                                        "exclude": ["deep_tissue", "swedish"]}},
     [("expect.modalities.include_any[0]", "every modality of the group is in modalities.exclude",
       ["swedish", "deep_tissue"])]),
    ("a target both included and excluded", {"targets": {"include": ["neck"], "exclude": ["neck"]}},
     [("expect.targets.exclude[0]", "also in targets.include", "neck")]),
    ("a target inside an excluded area", {"targets": {"include": ["forearm_flexors"],
                                                      "exclude": ["forearm"]}},
     [("expect.targets.include[0]", "lies in area forearm, which targets.exclude rules out",
       "forearm_flexors")]),
    ("no treatment, yet modalities", {"status": "defer", "modalities": {"include": ["swedish"]}},
     [("expect.modalities.include", "a plan of status defer recommends no modality", ["swedish"])]),
    ("no treatment, yet one of a group", {"status": ["refer", "refer_urgent"],
                                          "modalities": {"include_any": [["swedish"]]}},
     [("expect.modalities.include_any", "a plan of status refer or refer_urgent recommends no modality",
       [["swedish"]])]),
    ("no treatment, yet targets", {"status": "needs_clearance", "targets": {"include": ["neck"]}},
     [("expect.targets.include", "a plan of status needs_clearance has no targets", ["neck"])]),
    ("no treatment, yet minutes", {"status": "defer", "minutes": {"min": 15}},
     [("expect.minutes.min", "a plan of status defer has 0 minutes", 15)]),
    ("a referral status without a referral", {"status": "refer_urgent", "referral": False},
     [("expect.referral", "a plan of status refer_urgent carries a referral", False)]),
    ("treat under a cap", {"status": "treat", "pressure_cap": "moderate"},
     [("expect.pressure_cap", "a plan of status treat has no pressure cap below deep", "moderate")]),
    ("not an ICD-10-CM code", {"not_covered": ["L40.0", "XYZ"]},
     [("expect.not_covered[1]", "not a valid ICD-10-CM code", "XYZ")]),
    ("several at once, in field order", {"status": [], "modalities": {"include": ["swedish"], "exclude": ["swedish"]},
                                         "minutes": {"min": 30, "max": 15}},
     [("expect.status", "at least 1 item", []),
      ("expect.modalities.exclude[0]", "also in modalities.include", "swedish"),
      ("expect.minutes.min", "min 30 is more than max 15", 30)]),
]


@pytest.mark.parametrize("expect, wanted", [(e, w) for _, e, w in IMPOSSIBLE_BLOCKS],
                         ids=[name for name, _, _ in IMPOSSIBLE_BLOCKS])
def test_an_impossible_expectation_is_one_problem_each(vocab: Any, expect: dict[str, Any],
                                                       wanted: list[tuple[str, str, object]]) -> None:
    problems = _problems(expect, vocab)
    assert [p.path for p in problems] == [path for path, _, _ in wanted]
    for problem, (_, fragment, value) in zip(problems, wanted, strict=True):
        assert problem.code == IMPOSSIBLE and problem.source == "c.json"
        assert fragment in problem.message and "no plan" in problem.message
        assert problem.value == value


@pytest.mark.parametrize("expect", [
    {"minutes": {"min": 20, "max": 20}},
    {"status": ["defer"], "minutes": {"min": 0, "max": 0}, "modalities": {"exclude": ["swedish"]}},
    {"status": ["defer", "treat"], "modalities": {"include": ["swedish"]}, "pressure_cap": "light"},
    {"status": "refer", "referral": True},
    {"status": "treat_with_precautions", "pressure_cap": "light"},
    {"modalities": {"include_any": [["swedish", "deep_tissue"]], "exclude": ["deep_tissue"]}},
    {"targets": {"include": ["forearm"], "exclude": ["forearm_flexors"]}},
    {"targets": {"include": ["neck"], "exclude": ["upper_back"], "pressure": {"upper_back": "light"}}},
    {"not_covered": ["l400", "J45.909"]},
], ids=["equal bounds", "defer with nothing", "any of two statuses", "refer with a referral",
        "precautions under a cap", "one of a group left", "an area beside an excluded target",
        "disjoint sites", "codes in any spelling"])
def test_a_possible_expectation_is_accepted(vocab: Any, expect: dict[str, Any]) -> None:
    case = validate_case(_case("x", expect), "c.json", vocab)
    assert isinstance(case.expect, Expectation)


def test_the_expect_block_is_checked_without_a_vocabulary_too() -> None:
    """Validated on its own (no vocabulary in the context) the block still refuses what needs no ids."""
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as caught:
        Expectation.model_validate({"minutes": {"min": 5, "max": 1}}, context={"vocabulary": None})
    assert caught.value.errors()[0]["type"] == IMPOSSIBLE


def test_a_single_case_file_exits_2_with_a_line_per_problem(tmp_path: Path) -> None:
    case = tmp_path / "c.yaml"
    case.write_text("id: x\ndiagnoses: [{condition: neck_pain}]\n"
                    "expect:\n  status: []\n  minutes: {min: 40, max: 20}\n", encoding="utf-8")
    for command in ("recommend", "explain"):
        args = (case, "--why", "status") if command == "explain" else (case,)
        result = invoke(command, *args)
        lines = assert_refused(result.exit_code, result.stdout, result.stderr, case)
        assert lines == [
            f"error: {case}: expect.status: should have at least 1 item: an empty list of statuses is met by "
            "no plan (got [])",
            f"error: {case}: expect.minutes.min: min 40 is more than max 20: no plan can meet it (got 40)",
        ]


def test_a_json_lines_batch_goes_on_past_an_impossible_expectation(tmp_path: Path) -> None:
    cases = tmp_path / "cases.jsonl"
    rows = [_case("first", {"status": "treat_with_precautions"}),  # neck pain: SCM capped (v2.1 §4.2)
            _case("impossible", {"status": "defer", "minutes": {"min": 40, "max": 20}}),
            _case("last", {"status": "treat_with_precautions"})]
    cases.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report = tmp_path / "report.jsonl"
    result = invoke("batch", cases, "--report", report)
    assert result.exit_code == 1, result.output
    first, bad, last = (json.loads(line) for line in report.read_text(encoding="utf-8").splitlines())
    assert first["passed"] is True and last["passed"] is True
    assert bad["case_id"] == "impossible" and bad["plan"] is None and bad["passed"] is False
    assert bad["error"] == (f"{cases}:2: expect.minutes.min: min 40 is more than max 20: no plan can meet it (got 40); "
                            f"{cases}:2: expect.minutes.min: a plan of status defer has 0 minutes: no plan can meet "
                            "both (got 40)")
    assert result.stderr.count("error: ") == 2


def test_minutes_beyond_the_prescription_cannot_be_met(vocab: Any) -> None:
    """Contract §2: the total never exceeds ``prescription.max_minutes``."""
    case = {**_case("x", {"minutes": {"min": 45, "max": 60}}), "prescription": {"max_minutes": 30}}
    with pytest.raises(CaseError) as caught:
        validate_case(case, "c.json", vocab)
    (problem,) = caught.value.problems
    assert (problem.path, problem.code, problem.value) == ("expect.minutes.min", IMPOSSIBLE, 45)
    assert str(problem) == ("c.json: expect.minutes.min: more than prescription.max_minutes 30: no plan can meet it "
                            "(got 45)")
    validate_case({**case, "prescription": {"max_minutes": 45}}, "c.json", vocab)
