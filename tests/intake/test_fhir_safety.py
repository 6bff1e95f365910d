"""`medmassage import fhir`: facts EHRs send in shapes the plain import lost, read toward safety (docs/ehr.md)."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest

from medmassage_rules.cases.loading import validate_case
from medmassage_rules.files.reading import parse_yaml

from ..helpers import invoke
from .test_fhir import ICD, PATIENT, SCT, bundle, concept, condition, observation, run

BACK = concept(SCT, "279039007", "Low back pain")


def with_back(*resources: dict, **options: str) -> dict:
    """A bundle with a low back pain (a case needs a diagnosis) and ``resources``."""
    return bundle(condition(BACK, onset="2017-01-10"), *resources, **options)


@pytest.mark.parametrize("verification", ["provisional", "differential", "unconfirmed"])
def test_an_unconfirmed_clot_is_a_suspected_one(vocab, tmp_path: Path, verification: str) -> None:
    result, case_data = run(tmp_path, with_back(condition(concept(SCT, "128053003", "Deep venous thrombosis"),
                                                       verification=verification)))
    assert result.exit_code == 0, result.stderr
    case = validate_case(case_data, "imported", vocab)
    assert [h.item for h in case.history] == ["suspected_dvt"]


@pytest.mark.parametrize("verification", ["refuted", "entered-in-error"])
def test_a_refuted_clot_is_left_out(tmp_path: Path, verification: str) -> None:
    result, case_data = run(tmp_path, with_back(condition(concept(ICD, "I82.402", "DVT left leg"),
                                                       verification=verification)))
    assert result.exit_code == 0, result.stderr
    assert "history" not in case_data


def test_the_hl7_status_coding_is_read_wherever_it_sits(vocab, tmp_path: Path) -> None:
    clot = condition(concept(ICD, "I82.402", "DVT left leg"))
    clot["clinicalStatus"]["coding"].insert(0, {"system": "urn:local:status", "code": "A", "display": "Active"})
    clot["verificationStatus"]["coding"].insert(0, {"system": "urn:local:ver", "code": "P"})
    clot["verificationStatus"]["coding"][1]["code"] = "provisional"
    gone = condition(concept(ICD, "I82.401", "DVT right leg"), clinical="resolved")
    gone["clinicalStatus"]["coding"].insert(0, {"system": "urn:local:status", "code": "active"})
    result, case_data = run(tmp_path, with_back(clot, gone))
    assert result.exit_code == 0, result.stderr
    assert case_data["history"] == [{"item": "suspected_dvt"}]


@pytest.mark.parametrize("system", ["urn:oid:2.16.840.1.113883.6.90", "http://hl7.org/fhir/sid/icd-10"])
def test_icd10_by_oid_and_who_system_is_read(vocab, tmp_path: Path, system: str) -> None:
    result, case_data = run(tmp_path, with_back(condition(concept(system, "I82.402", "DVT left leg"))))
    assert result.exit_code == 0, result.stderr
    case = validate_case(case_data, "imported", vocab)
    assert [(h.item, h.side) for h in case.history] == [("known_dvt", "left")]


@pytest.mark.parametrize(("sct", "display", "expected"), [
    ("132281000119108", "Acute deep venous thrombosis", ("known_dvt", "lower_leg", False)),
    ("59282003", "Pulmonary embolism", ("known_dvt", None, False)),
    ("56675007", "Acute heart failure", ("heart_failure", None, True)),
    ("94381002", "Metastatic malignant neoplasm to liver", ("malignancy", "abdomen", False)),
    ("302215000", "Thrombocytopenic disorder", ("thrombocytopenia", None, False)),
    ("77386006", "Pregnant", ("pregnancy", None, False)),
    ("86569001", "Postpartum state", ("postpartum", None, False)),
    ("65966004", "Fracture of forearm", ("recent_fracture", "forearm", False)),
    ("16114001", "Fracture of ankle", ("recent_fracture", "ankle_foot", False)),
    ("5913000", "Fracture of neck of femur", ("recent_fracture", "hip_gluteal", False)),
])
def test_snomed_concepts_of_history_items_are_mapped(vocab, tmp_path: Path, sct: str, display: str,
                                                     expected: tuple) -> None:
    result, case_data = run(tmp_path, with_back(condition(concept(SCT, sct, display), onset="2021-02-24")))
    assert result.exit_code == 0, result.stderr
    case = validate_case(case_data, "imported", vocab)
    assert [(h.item, h.area, h.decompensated) for h in case.history] == [expected]


RX = "http://www.nlm.nih.gov/research/umls/rxnorm"


def medication(rid: str, status: str = "active", kind: str = "MedicationRequest", **fields: Any) -> dict:
    resource = {"resourceType": kind, "id": rid, "status": status, "subject": {"reference": PATIENT}, **fields}
    if kind == "MedicationRequest":
        resource.setdefault("intent", "order")
        resource.setdefault("authoredOn", "2021-01-05")
    return resource


def names(case_data: dict) -> list[str]:
    return [m if isinstance(m, str) else m["name"] for m in case_data.get("medications", [])]


def test_medications_by_reference_code_only_and_combinations_are_kept(vocab, tmp_path: Path) -> None:
    warfarin = {"coding": [{"system": RX, "code": "855332", "display": "Warfarin Sodium 5 MG Oral Tablet"}]}
    data = with_back(
        medication("m1", medicationReference={"reference": "#w"},
                   contained=[{"resourceType": "Medication", "id": "w", "code": warfarin}]),
        {"resourceType": "Medication", "id": "apx", "code": concept(RX, "1364445", "apixaban 5 MG Oral Tablet")},
        medication("m2", medicationReference={"reference": "Medication/apx"}),
        medication("m3", medicationCodeableConcept={"coding": [{"system": RX, "code": "11289"}]}),
        medication("m4", medicationCodeableConcept=concept(
            RX, "1049221", "Acetaminophen 325 MG / Oxycodone Hydrochloride 5 MG Oral Tablet")),
    )
    result, case_data = run(tmp_path, data)
    assert result.exit_code == 0, result.stderr
    assert names(case_data) == ["warfarin", "apixaban", "RxNorm 11289", "acetaminophen", "oxycodone"]
    case = validate_case(case_data, "imported", vocab)
    assert "RxNorm 11289".lower() in case.unrecognised_medications
    assert any("RxNorm 11289" in line and line.startswith("not mapped:") for line in result.stderr.splitlines())


def test_a_statement_stopped_after_the_as_of_date_or_of_unknown_status_counts(vocab, tmp_path: Path) -> None:
    data = with_back(
        medication("s1", "stopped", "MedicationStatement", medicationCodeableConcept=concept(RX, "1", "Apixaban 5 MG"),
                   effectivePeriod={"start": "2020-10-01", "end": "2021-06-01"}),
        medication("s2", "completed", "MedicationStatement", medicationCodeableConcept=concept(RX, "2", "Warfarin"),
                   effectivePeriod={"start": "2020-10-01", "end": "2021-02-01"}),
        medication("s3", "unknown", "MedicationStatement", medicationCodeableConcept=concept(RX, "3", "Enoxaparin")),
    )
    result, case_data = run(tmp_path, data, "--as-of", "2021-03-01")
    assert result.exit_code == 0, result.stderr
    assert names(case_data) == ["apixaban", "enoxaparin"]
    assert any("status unknown" in line for line in result.stderr.splitlines())


@pytest.mark.parametrize("unit", ["x10E3/uL", "K/uL", "K/mcL", "10*3/mm3", "thou/uL", "10³/µL", "10^3/uL", "10*9/L"])
def test_platelet_units_labs_send_are_read(tmp_path: Path, unit: str) -> None:
    result, case_data = run(tmp_path, with_back(observation("777-3", "2021-02-27", 18, unit),
                                                observation("777-3", "2020-01-01", 193.2, "10*3/uL")))
    assert result.exit_code == 0, result.stderr
    assert case_data["labs"] == {"platelets_k": 18}


@pytest.mark.parametrize(("value", "unit", "expected"), [(19960, "/uL", 19.96), (49960, "{cells}/uL", 49.96),
                                                         (19.96, "10*3/uL", 19.96)])
def test_a_platelet_count_is_not_rounded_across_a_threshold(tmp_path: Path, value: float, unit: str,
                                                            expected: float) -> None:
    result, case_data = run(tmp_path, with_back(observation("777-3", "2021-02-27", value, unit)))
    assert result.exit_code == 0, result.stderr
    assert case_data["labs"]["platelets_k"] == expected


@pytest.mark.parametrize(("loinc", "value", "unit", "expected"), [
    ("8331-1", 38.9, "Cel", 38.9), ("8332-9", 37.96, "°C", 37.96), ("8333-7", 101.3, "[degF]", 38.5),
    ("8328-7", 100.4, "degF", 38.0), ("8310-5", 100.4, "°F", 38.0), ("8310-5", 100.3, "F", 37.94),
    ("8310-5", 311.65, "K", 38.5)])
def test_temperatures_by_site_and_unit(tmp_path: Path, loinc: str, value: float, unit: str, expected: float) -> None:
    result, case_data = run(tmp_path, with_back(observation(loinc, "2021-02-27", value, unit)))
    assert result.exit_code == 0, result.stderr
    assert case_data["vitals"] == {"temperature_c": expected}


@pytest.mark.parametrize(("loinc", "unit"), [("8310-5", "deg"), ("8310-5", ""), ("777-3", "mg")])
def test_a_unit_not_understood_names_the_entry_the_code_and_the_unit(tmp_path: Path, loinc: str, unit: str) -> None:
    value = 101.3 if loinc == "8310-5" else 18
    result, _ = run(tmp_path, with_back(observation(loinc, "2021-02-27", value, unit)))
    assert result.exit_code == 2
    assert "entry[3].resource.valueQuantity" in result.stderr and f"LOINC {loinc}" in result.stderr
    assert repr(unit) in result.stderr and "vitals." not in result.stderr


def test_the_latest_reading_by_time_instant_and_the_same_blood_pressure_panel(tmp_path: Path) -> None:
    evening = observation("8310-5", "2021-02-27", 38.9, "Cel")
    evening["effectiveDateTime"] = "2021-02-27T18:00:00+00:00"
    morning = observation("8310-5", "2021-02-27", 36.9, "Cel")
    morning["effectiveDateTime"] = "2021-02-27T08:00:00+00:00"
    old_bp = observation("85354-9", "2021-01-10", components=[("8480-6", 150), ("8462-4", 112)])
    new_bp = observation("85354-9", "2021-02-20", components=[("8480-6", 122)])
    instant = observation("777-3", "2021-02-27", 40, "10*3/uL")
    instant["effectiveInstant"] = instant.pop("effectiveDateTime")
    result, case_data = run(tmp_path, with_back(evening, morning, old_bp, new_bp, instant))
    assert result.exit_code == 0, result.stderr
    assert case_data["vitals"] == {"temperature_c": 38.9, "systolic": 122}
    assert case_data["labs"] == {"platelets_k": 40}


@pytest.mark.parametrize(("clinical", "abated"), [("remission", None), ("resolved", "2016-01-01"),
                                                  ("inactive", None)])
def test_a_cancer_over_is_history_malignancy_not_active(vocab, tmp_path: Path, clinical: str,
                                                        abated: str | None) -> None:
    cancer = condition(concept(SCT, "363406005", "Malignant neoplasm of colon"), clinical=clinical,
                       onset="2015-01-01", abated=abated)
    result, case_data = run(tmp_path, with_back(cancer))
    assert result.exit_code == 0, result.stderr
    case = validate_case(case_data, "imported", vocab)
    assert [(h.item, h.active) for h in case.history] == [("malignancy", False)]


def test_a_pregnancy_ended_within_42_days_is_postpartum_and_dated_items_get_days_since(vocab,
                                                                                        tmp_path: Path) -> None:
    data = with_back(
        condition(concept(SCT, "72892002", "Normal pregnancy"), clinical="resolved", onset="2020-05-01",
                  abated="2021-02-11"),
        condition(concept(SCT, "16114001", "Fracture of ankle"), onset="2021-02-24"))
    result, case_data = run(tmp_path, data, "--as-of", "2021-03-01")
    assert result.exit_code == 0, result.stderr
    case = validate_case(case_data, "imported", vocab)
    assert sorted((h.item, h.days_since) for h in case.history) == [("postpartum", 18), ("recent_fracture", 5)]
    result, case_data = run(tmp_path, data, "--as-of", "2021-04-01")  # 49 days after: no longer postpartum
    assert [h.get("item") for h in case_data["history"]] == [None]  # the fracture, by its code


# red-team bundles (edited Synthea records, one fact each, coded as EHRs send it) and what the import must keep
RED_TEAM = Path(__file__).resolve().parent.parent / "data" / "fhir-red-team"
RED_TEAM_CASES = {
    "dvt-provisional": ("2021-03-01", "history", {"item": "suspected_dvt"}),
    "dvt-icd-oid-system": ("2021-03-01", "history", {"icd10": "I82.402"}),
    "warfarin-medref-contained": ("2021-03-01", "medications", "warfarin"),
    "oxycodone-apap": ("2021-03-01", "medications", "oxycodone"),
    "apixaban-stmt-stopped-after-asof": ("2021-03-01", "medications", "apixaban"),
    "plt-19.96-rounds": ("2021-03-01", "labs", {"platelets_k": 19.96}),
    "temp-same-day-newest-first": ("2021-03-01", "vitals", 38.9),
    "ca-colon-remission": ("2021-03-01", "history", {"icd10": "C18.9", "active": False}),
    "postpartum-synthea-abated-pregnancy": ("2018-01-20", "history", {"item": "postpartum", "days_since": 18}),
}


@pytest.mark.parametrize("name", sorted(RED_TEAM_CASES))
def test_red_team_bundles_keep_their_fact(vocab, tmp_path: Path, name: str) -> None:
    as_of, field, wanted = RED_TEAM_CASES[name]
    path = tmp_path / f"{name}.json"
    path.write_bytes(gzip.decompress((RED_TEAM / f"{name}.json.gz").read_bytes()))
    result = invoke("import", "fhir", path, "--as-of", as_of)
    assert result.exit_code == 0, result.stderr
    data = parse_yaml(result.stdout)
    validate_case(data, name, vocab)
    if field == "medications":
        assert wanted in names(data)
    elif field == "vitals":
        assert data["vitals"]["temperature_c"] == wanted
    elif field == "labs":
        assert data["labs"] == wanted
    else:
        assert wanted in data.get(field, [])


def pregnancy_status(when: str, sct: str, display: str) -> dict:
    """A US Core pregnancy-status Observation (LOINC 82810-3) with its SNOMED CT value."""
    resource = observation("82810-3", when)
    resource["id"] = f"o82810-3-{when}-{sct}"
    resource["valueCodeableConcept"] = concept(SCT, sct, display)
    return resource


PREGNANT = ("77386006", "Pregnant")
NOT_PREGNANT = ("60001007", "Not pregnant")


@pytest.mark.parametrize(("readings", "ages", "expected"), [
    ([("2021-02-20", PREGNANT)], [], {"item": "pregnancy"}),
    ([("2021-02-20", PREGNANT)], [("49051-6", "2021-02-01", 22, "wk")], {"item": "pregnancy", "weeks": 26}),
    ([("2021-02-20", PREGNANT)], [("18185-9", "2021-03-01", 140, "d")], {"item": "pregnancy", "weeks": 20}),
    ([("2021-02-20", PREGNANT)], [("11884-4", "2021-02-26", 31, "")], {"item": "pregnancy", "weeks": 31}),
    ([("2020-06-01", PREGNANT), ("2021-01-10", NOT_PREGNANT)], [], None),         # a later "not pregnant" wins
    ([("2020-06-01", NOT_PREGNANT), ("2021-01-10", PREGNANT)],                    # an age of an earlier pregnancy
     [("49051-6", "2020-03-01", 30, "wk")], {"item": "pregnancy"}),
    ([("2021-02-20", PREGNANT), ("2021-03-05", NOT_PREGNANT)], [], {"item": "pregnancy"}),  # after --as-of: not read
    ([("2019-01-10", PREGNANT)], [], None),                                       # more than 45 weeks ago
])
def test_the_pregnancy_status_observation_gives_history_pregnancy(vocab, tmp_path: Path, readings: list,
                                                                   ages: list, expected: dict | None) -> None:
    resources = [pregnancy_status(when, *value) for when, value in readings]
    resources += [observation(code, when, value, unit) for code, when, value, unit in ages]
    result, case_data = run(tmp_path, with_back(*resources), "--as-of", "2021-03-01")
    assert result.exit_code == 0, result.stderr
    validate_case(case_data, "imported", vocab)
    assert case_data.get("history") == ([expected] if expected else None)


def test_a_pregnancy_status_beside_a_pregnancy_condition_adds_no_second_item(tmp_path: Path) -> None:
    data = with_back(condition(concept(SCT, "72892002", "Normal pregnancy"), onset="2020-10-01"),
                     pregnancy_status("2021-02-20", *PREGNANT))
    result, case_data = run(tmp_path, data, "--as-of", "2021-03-01")
    assert result.exit_code == 0, result.stderr
    assert case_data["history"] == [{"icd10": "Z34.90"}]


def with_site(resource: dict, *sites: dict) -> dict:
    resource["bodySite"] = list(sites)
    return resource


LEFT, RIGHT = concept(SCT, "7771000", "Left"), concept(SCT, "24028007", "Right")
BOTH = concept(SCT, "51440002", "Bilateral")


@pytest.mark.parametrize(("code", "sites", "expected"), [
    (concept(SCT, "128053003", "Deep venous thrombosis"), [LEFT], ("known_dvt", "left")),
    (concept(ICD, "I82.409", "DVT of lower extremity"), [{"text": "Right lower leg"}], ("known_dvt", "right")),
    (concept(SCT, "16114001", "Fracture of ankle"), [RIGHT], ("recent_fracture", "right")),
    (concept(ICD, "L03.90", "Cellulitis, unspecified"), [{"coding": [{"system": SCT, "code": "30021000",
                                                                       "display": "Left lower leg structure"}]}],
     ("cellulitis", "left")),
    (concept(ICD, "I83.90", "Varicose veins of unspecified lower extremity"), [BOTH], ("varicose_veins", "bilateral")),
    (concept(ICD, "I82.402", "DVT of left lower extremity"), [RIGHT], ("known_dvt", "left")),  # the code's side wins
    (concept(ICD, "I82.409", "DVT of lower extremity"), [], ("known_dvt", None)),
    (concept(SCT, "56675007", "Acute heart failure"), [LEFT], ("heart_failure", None)),  # takes no side
])
def test_a_side_in_body_site_is_carried_to_a_history_item_that_takes_one(vocab, tmp_path: Path, code: dict,
                                                                        sites: list, expected: tuple) -> None:
    result, case_data = run(tmp_path, with_back(with_site(condition(code, onset="2021-02-24"), *sites)))
    assert result.exit_code == 0, result.stderr
    case = validate_case(case_data, "imported", vocab)
    assert [(h.item, h.side) for h in case.history] == [expected]
