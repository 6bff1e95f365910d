"""clinical-v2.1 §2.8: facts that contradict each other are invalid input (exit 2, one line each), and
the v2.1 case additions (case-format §6): as_of, a medication's ordered date, unrecognised_medications."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from medmassage_rules.cases.loading import validate_case
from medmassage_rules.errors import CaseError
from medmassage_rules.planning.pipeline import plan_case

from ..helpers import assert_refused, invoke

NECK = {"condition": "neck_pain", "acuity": "chronic"}


def case(sex: str | None = None, diagnoses: list[dict[str, Any]] | None = None, **more: Any) -> dict[str, Any]:
    patient = {"age": 40, **({"sex": sex} if sex is not None else {})}
    return {"id": "t", "patient": patient, "diagnoses": diagnoses or [NECK], **more}


def problems(data: dict[str, Any], vocab: Any) -> list[tuple[str, str, str]]:
    with pytest.raises(CaseError) as caught:
        validate_case(data, "c.yaml", vocab)
    return [(p.path, p.code, p.message) for p in caught.value.problems]


@pytest.mark.parametrize("sex", ["male", "m", "M", " Male ", "MALE", "m\t"])
@pytest.mark.parametrize("item", ["pregnancy", "postpartum"])
def test_a_male_patient_cannot_be_pregnant_or_postpartum(vocab: Any, sex: str, item: str) -> None:
    got = problems(case(sex, history=[{"item": "exercise_program"}, {"item": item}]), vocab)
    assert len(got) == 1
    path, code, message = got[0]
    assert (path, code) == ("history[1].item", "contradictory_facts") and item in message and "sex" in message


@pytest.mark.parametrize("sex", ["female", "f", "F", "intersex", "man", "", "unknown"])
def test_other_sexes_are_free_text(vocab: Any, sex: str) -> None:
    got = validate_case(case(sex, history=[{"item": "pregnancy", "weeks": 12}]), "c.yaml", vocab)
    assert got.history[0].item == "pregnancy"


def test_a_male_patient_cannot_have_pelvic_girdle_pain_of_pregnancy(vocab: Any) -> None:
    got = problems(case("male", diagnoses=[NECK, {"condition": "pelvic_girdle_pain"}]), vocab)
    assert [(p, c) for p, c, _ in got] == [("diagnoses[1].condition", "contradictory_facts")]


def test_a_pregnancy_code_contradicts_sex_male_wherever_it_is_entered(vocab: Any) -> None:
    under_diagnoses = problems(case("m", diagnoses=[NECK, {"icd10": "O26.89"}]), vocab)
    assert [(p, c) for p, c, _ in under_diagnoses] == [("diagnoses[1].icd10", "contradictory_facts")]
    under_history = problems(case("m", history=[{"icd10": "O86.4"}]), vocab)
    assert [(p, c) for p, c, _ in under_history] == [("history[0].icd10", "contradictory_facts")]


def test_each_contradiction_is_its_own_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("id: x\npatient: {age: 30, sex: Male}\n"
                    "diagnoses: [{condition: pelvic_girdle_pain}]\n"
                    "history: [{item: pregnancy, weeks: 20}, {item: postpartum}]\n", encoding="utf-8")
    result = invoke("recommend", path)
    lines = assert_refused(result.exit_code, result.stdout, result.stderr, path)
    assert len(lines) == 3
    assert [line.split(": ")[2] for line in lines] == ["history[0].item", "history[1].item",
                                                       "diagnoses[0].condition"]


@pytest.mark.parametrize("age", [-1, 121, 500])
def test_an_age_outside_0_to_120_is_refused(tmp_path: Path, age: int) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(f"id: x\npatient: {{age: {age}}}\ndiagnoses: [{{condition: neck_pain}}]\n", encoding="utf-8")
    result = invoke("recommend", path)
    lines = assert_refused(result.exit_code, result.stdout, result.stderr, path)
    assert len(lines) == 1 and ": patient.age: " in lines[0]


# -- as_of and ordered (case-format §6) ------------------------------------------------------------------
def test_a_medication_ordered_over_a_year_before_as_of_is_counted_and_named(kb: Any) -> None:
    data = case(as_of="2025-06-01", medications=[{"name": "warfarin", "ordered": "2024-05-01"},
                                                 {"name": "ibuprofen", "ordered": "2025-01-10"}])
    result = plan_case(validate_case(data, "c.json", kb.vocabulary), kb)
    notes = [a for a in result.plan.advisories if "confirm it is current" in a]
    assert len(notes) == 1 and "warfarin" in notes[0] and "2024-05-01" in notes[0]
    assert result.plan.pressure_cap != "deep"  # the anticoagulant still counts


def test_without_as_of_an_order_date_names_nothing(kb: Any) -> None:
    data = case(medications=[{"name": "warfarin", "ordered": "2001-01-01"}])
    result = plan_case(validate_case(data, "c.json", kb.vocabulary), kb)
    assert not any("confirm it is current" in a for a in result.plan.advisories)


def test_a_yaml_date_is_read_as_a_date(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("id: x\nas_of: 2025-06-01\ndiagnoses: [{condition: neck_pain}]\n"
                    "medications: [{name: warfarin, ordered: 2023-02-01}]\n", encoding="utf-8")
    result = invoke("recommend", path, "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert "confirm it is current" in result.stdout


@pytest.mark.parametrize(("field", "value"), [("as_of", "2025-13-01"), ("as_of", "June 2025"),
                                              ("as_of", "2025-06-01T10:00:00"), ("as_of", 20250601)])
def test_a_bad_date_is_one_line(vocab: Any, field: str, value: Any) -> None:
    got = problems(case(**{field: value}), vocab)
    assert len(got) == 1 and got[0][0] == "as_of", got


def test_a_bad_order_date_names_its_medication(vocab: Any) -> None:
    got = problems(case(medications=["aspirin", {"name": "warfarin", "ordered": "yesterday"}]), vocab)
    assert len(got) == 1 and got[0][0] == "medications[1].ordered", got


def test_expected_unrecognised_medications(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    rows = ['{"id": "a", "diagnoses": [{"condition": "neck_pain"}], "medications": ["Zorblax"], '
            '"expect": {"unrecognised_medications": ["zorblax"]}}',
            '{"id": "b", "diagnoses": [{"condition": "neck_pain"}], "medications": ["warfarin"], '
            '"expect": {"unrecognised_medications": ["warfarin"]}}']
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    report = tmp_path / "r.jsonl"
    result = invoke("batch", path, "--report", report)
    assert result.exit_code == 1
    got = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()]
    assert got[0]["passed"] is True
    assert got[1]["passed"] is False and "unrecognised_medications: warfarin not listed" in got[1]["failures"][0]
