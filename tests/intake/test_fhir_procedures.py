"""`medmassage import fhir`: a recent operation, recorded as a Procedure, becomes recent_surgery (docs/ehr.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from medmassage_rules.cases.loading import validate_case
from medmassage_rules.intake import intake_dir, read_table
from medmassage_rules.intake.fhir_procedures import TABLE_FILE, load_procedures, parse_procedures

from .test_fhir import PATIENT, SCT, concept, run
from .test_fhir_safety import with_back

SURGICAL = {"coding": [{"system": SCT, "code": "387713003", "display": "Surgical procedure"}]}
LEFT = concept(SCT, "7771000", "Left")


def procedure(code: str, display: str, performed: str, status: str = "completed", period: bool = False,
              category: dict | None = None, side: dict | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Procedure", "id": f"p{code}{performed}{status}", "status": status,
                                "code": concept(SCT, code, display), "subject": {"reference": PATIENT}}
    if period:
        resource["performedPeriod"] = {"start": f"{performed}T08:00:00+00:00", "end": f"{performed}T10:00:00+00:00"}
    else:
        resource["performedDateTime"] = f"{performed}T08:00:00+00:00"
    if category is not None:
        resource["category"] = category
    if side is not None:
        resource["bodySite"] = [side]
    return resource


def history(tmp_path: Path, vocab, *resources: dict, as_of: str = "2021-03-01") -> list[dict]:
    result, case_data = run(tmp_path, with_back(*resources), "--as-of", as_of)
    assert result.exit_code == 0, result.stderr
    validate_case(case_data, "imported", vocab)
    assert "Procedure" not in result.stderr or "performed" in result.stderr  # only notes of operations kept
    return case_data.get("history", [])


def test_a_mapped_operation_is_its_item_with_area_side_and_days_since(vocab, tmp_path: Path) -> None:
    found = history(tmp_path, vocab, procedure("609588000", "Total knee replacement", "2021-02-09", period=True,
                                               side=LEFT),
                    procedure("387731002", "Laminectomy", "2021-02-25"),
                    procedure("80146002", "Appendectomy", "2021-02-20", status="in-progress"))
    assert found == [{"item": "recent_surgery", "area": "knee", "side": "left", "days_since": 20},
                     {"item": "recent_surgery", "days_since": 4},
                     {"item": "recent_abdominal_surgery", "area": "abdomen", "days_since": 9}]


def test_an_operation_42_days_old_or_after_the_as_of_date_is_left_out(vocab, tmp_path: Path) -> None:
    assert history(tmp_path, vocab, procedure("609588000", "Total knee replacement", "2021-01-18"),
                   procedure("52734007", "Total hip replacement", "2021-03-02")) == []
    found = history(tmp_path, vocab, procedure("609588000", "Total knee replacement", "2021-01-19"))
    assert found == [{"item": "recent_surgery", "area": "knee", "days_since": 41}]


@pytest.mark.parametrize("status", ["not-done", "entered-in-error", "preparation", "on-hold", "unknown"])
def test_an_operation_not_done_is_left_out(vocab, tmp_path: Path, status: str) -> None:
    assert history(tmp_path, vocab, procedure("52734007", "Total hip replacement", "2021-02-20", status=status)) == []


def test_an_unlisted_surgical_category_is_recent_surgery_without_an_area(vocab, tmp_path: Path) -> None:
    found = history(tmp_path, vocab, procedure("999999999", "Some rare operation", "2021-02-27", category=SURGICAL))
    assert found == [{"item": "recent_surgery", "days_since": 2}]


def test_an_unlisted_procedure_is_left_out_silently(vocab, tmp_path: Path) -> None:
    result, case_data = run(tmp_path, with_back(
        procedure("428191000124101", "Documentation of current medications", "2021-02-27"),
        procedure("73761001", "Colonoscopy", "2021-02-27", category=concept(SCT, "103693007", "Diagnostic"))),
        "--as-of", "2021-03-01")
    assert result.exit_code == 0, result.stderr
    assert "history" not in case_data
    assert "Colonoscopy" not in result.stderr and "Documentation" not in result.stderr


def test_the_same_operation_twice_is_one_item_of_the_latest(vocab, tmp_path: Path) -> None:
    found = history(tmp_path, vocab, procedure("11466000", "Cesarean section", "2021-02-01"),
                    procedure("11466000", "Cesarean section", "2021-02-15"))
    assert found == [{"item": "recent_abdominal_surgery", "area": "abdomen", "days_since": 14}]


def test_every_row_of_the_table_is_a_known_item_and_area(vocab) -> None:
    table, problems = parse_procedures(read_table(intake_dir() / TABLE_FILE), TABLE_FILE)
    assert problems == []
    assert table == load_procedures() and table
    for code, rows in table.items():
        assert code.isdigit() and rows, code
        for row in rows:
            assert row["item"] in {"recent_surgery", "recent_abdominal_surgery"}, code
            assert row["item"] in vocab.history, code
            assert row.get("area", "head") in vocab.areas, code


def test_a_malformed_table_is_refused() -> None:
    _, problems = parse_procedures({"procedures": {"abc": {"item": 1}, "123": [{"item": "x", "side": "left"}]}}, "t")
    assert [p.path for p in problems] == ["procedures.abc", "procedures.abc", "procedures.123"]
    assert parse_procedures([], "t")[1]
