"""`medmassage import fhir`: FHIR R4 patient bundles become valid case files (case-format §5).

Runs on real Synthea bundles - the one shipped gzip-compressed in tests/data, and all five of the
shared folder when it is beside the checkout - and on small Synthea-shaped bundles built here for
what those do not hold (ICD-10-CM and ATC codings, MedicationStatement, body temperature,
ServiceRequest, malformed input).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from medmassage_rules.cases.loading import validate_case
from medmassage_rules.files.reading import parse_yaml

from ..conftest import ROOT
from ..helpers import assert_refused, invoke

SAMPLES = ROOT.parent / "shared" / "fhir-samples"
DATA = Path(__file__).resolve().parent.parent / "data"
SHIPPED_BUNDLES = {p.name.removesuffix(".gz"): p for p in sorted(DATA.glob("*.json.gz"))}  # in the repository
SHIPPED = SHIPPED_BUNDLES["f4-colon-cancer-chemo-bp194.json"]
SCT, ICD, LOINC, ATC, RXNORM = ("http://snomed.info/sct", "http://hl7.org/fhir/sid/icd-10-cm", "http://loinc.org",
                                "http://www.whocc.no/atc", "http://www.nlm.nih.gov/research/umls/rxnorm")
PATIENT = "urn:uuid:p1"


def concept(system: str, code: str, display: str) -> dict:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def status(system_tail: str, code: str) -> dict:
    return {"coding": [{"system": f"http://terminology.hl7.org/CodeSystem/{system_tail}", "code": code}]}


def condition(code: dict, clinical: str = "active", onset: str = "2021-01-10", abated: str | None = None,
              verification: str = "confirmed") -> dict:
    resource = {"resourceType": "Condition", "id": f"c{abs(hash(json.dumps(code))) % 10**6}",
                "clinicalStatus": status("condition-clinical", clinical),
                "verificationStatus": status("condition-ver-status", verification),
                "code": code, "subject": {"reference": PATIENT}, "onsetDateTime": f"{onset}T10:00:00+00:00"}
    if abated:
        resource["abatementDateTime"] = f"{abated}T10:00:00+00:00"
    return resource


def observation(code: str, when: str, value: float | None = None, unit: str = "", components=()) -> dict:
    resource: dict[str, Any] = {"resourceType": "Observation", "id": f"o{code}{when}", "status": "final",
                                "code": concept(LOINC, code, code), "subject": {"reference": PATIENT},
                                "effectiveDateTime": f"{when}T10:00:00+00:00"}
    if value is not None:
        resource["valueQuantity"] = {"value": value, "unit": unit, "system": "http://unitsofmeasure.org",
                                     "code": unit}
    if components:
        resource["component"] = [{"code": concept(LOINC, c, c),
                                  "valueQuantity": {"value": v, "unit": "mm[Hg]", "code": "mm[Hg]"}}
                                 for c, v in components]
    return resource


def bundle(*resources: dict, birth: str = "1970-06-15") -> dict:
    patient = {"resourceType": "Patient", "id": "p1", "birthDate": birth, "gender": "female"}
    encounter = {"resourceType": "Encounter", "id": "e1", "status": "finished",
                 "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                 "subject": {"reference": PATIENT}, "period": {"start": "2021-03-01T09:00:00+00:00"}}
    entries = [patient, encounter, *resources]
    return {"resourceType": "Bundle", "type": "transaction",
            "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r,
                       "request": {"method": "POST", "url": r["resourceType"]}} for r in entries]}


def run(tmp_path: Path, data: dict | str, *options: str) -> tuple[Any, dict | None]:
    path = tmp_path / "bundle.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    result = invoke("import", "fhir", path, *options)
    return result, (parse_yaml(result.stdout) if result.exit_code == 0 else None)


# -- the Synthea sample bundles ------------------------------------------------------------------------------
SAMPLE_EXPECTATIONS = {
    "f1-fibromyalgia-naproxen.json": {"age": 34, "conditions": {"fibromyalgia"}, "history": set(),
                                      "classes": {"analgesic", "nsaid"}},
    "f2-knee-oa-afib-warfarin.json": {"age": 56, "conditions": {"knee_osteoarthritis"}, "history": set(),
                                      "classes": {"anticoagulant", "antihypertensive", "nsaid"}},
    "f3-ankle-sprain-recurrent.json": {"age": 27, "conditions": {"ankle_sprain"}, "history": set(),
                                       "classes": {"analgesic"}},
    # its partial resection of the colon (a Procedure) 16 days before the last encounter: recent abdominal surgery
    "f4-colon-cancer-chemo-bp194.json": {"age": 72, "conditions": set(),
                                         "history": {"malignancy", "recent_abdominal_surgery"},
                                         "classes": {"chemotherapy", "antihypertensive"}},
    # the colon cancer resolved in 2020 stays as history malignancy, active: false (docs/ehr.md)
    "f5-chf-resolved-colon-cancer.json": {"age": 67, "conditions": set(), "history": {"heart_failure", "malignancy"},
                                          "classes": {"antihypertensive"}},
}
# What a bundle's history must and must not give today: resolved problems stay out, the latest blood pressure is taken.
TODAY = {
    "f4-colon-cancer-chemo-bp194.json": {"systolic": 194, "codes": {"I10"}, "not": {"S71.119A"}},  # laceration of 2016
    # the colon cancer abated in 2020: history, not active (docs/ehr.md)
    "f5-chf-resolved-colon-cancer.json": {"not": set(), "history": [{"icd10": "C18.8", "active": False}]},
}
# What it gives as of an earlier date: the age, the problems and medications active then.
AS_OF = {
    # the sprain of 2021-03-31 has not happened yet; the chronic sinusitis of 2020-06-11 is active
    "f3-ankle-sprain-recurrent.json": ("2021-01-01", {
        "patient": {"age": 27}, "diagnoses": [{"icd10": "J32.9", "onset_days": 204}],
        "medications": [{"name": "Levora 0.15/30 28 Day Pack", "ordered": "2020-04-19"}]}),  # not acetaminophen:
    # it came with the sprain
    # the polyps of 2020-2021, the colon cancer and its chemotherapy have not happened yet
    "f4-colon-cancer-chemo-bp194.json": ("2016-02-01", {
        "patient": {"age": 67}, "diagnoses": [{"icd10": "I10", "onset_days": 17959},
                                               {"icd10": "R73.03", "onset_days": 13192},
                                               {"icd10": "D64.9", "onset_days": 13192},
                                               {"icd10": "J43.9", "onset_days": 760}],
        "medications": [{"name": "hydrochlorothiazide", "ordered": "1967-12-07"},
                        {"name": "fluticasone", "ordered": "2015-01-08"}],
        "vitals": {"systolic": 171, "diastolic": 100}, "as_of": "2016-02-01"}),
}


def samples_at_hand() -> list[str]:
    """The real bundles to run on: the ones shipped in tests/data always (f2, f4, f5), all five when
    the shared folder is there."""
    shared = {p.name for p in SAMPLES.glob("*.json")} if SAMPLES.is_dir() else set()
    return sorted({*SHIPPED_BUNDLES, *(shared & set(SAMPLE_EXPECTATIONS))})


def sample(name: str, tmp_path: Path) -> Path:
    """A sample bundle as a file: from the shared folder, or a shipped one decompressed."""
    if (SAMPLES / name).is_file():
        return SAMPLES / name
    assert name in SHIPPED_BUNDLES, name
    out = tmp_path / name
    out.write_bytes(gzip.decompress(SHIPPED_BUNDLES[name].read_bytes()))
    return out


def test_the_shipped_sample_is_the_shared_one() -> None:
    assert SHIPPED.stat().st_size < 300_000
    if (SAMPLES / SHIPPED.name.removesuffix(".gz")).is_file():
        assert gzip.decompress(SHIPPED.read_bytes()) == (SAMPLES / SHIPPED.name.removesuffix(".gz")).read_bytes()


@pytest.mark.parametrize("name", samples_at_hand())
def test_synthea_samples_become_valid_cases(vocab, tmp_path: Path, name: str) -> None:
    out = tmp_path / "case.yaml"
    result = invoke("import", "fhir", sample(name, tmp_path), "--output", out)
    assert result.exit_code == 0, result.stderr
    case = validate_case(parse_yaml(out.read_text(encoding="utf-8")), str(out), vocab)
    want = SAMPLE_EXPECTATIONS[name]
    assert case.patient.age == want["age"]
    assert {d.condition for d in case.diagnoses} == want["conditions"]
    assert {h.item for h in case.history} == want["history"]
    assert want["classes"] <= {c for _, c in case.medication_pairs(vocab)}
    assert all(line.startswith(("not mapped: ", "note: ")) for line in result.stderr.splitlines())


@pytest.mark.parametrize("name", [n for n in samples_at_hand() if n in TODAY])
def test_resolved_problems_stay_out_and_the_latest_blood_pressure_is_taken(tmp_path: Path, name: str) -> None:
    result = invoke("import", "fhir", sample(name, tmp_path))
    assert result.exit_code == 0, result.stderr
    data = parse_yaml(result.stdout)
    want = TODAY[name]
    if "systolic" in want:
        assert data["vitals"]["systolic"] == want["systolic"]
    assert want.get("codes", set()) <= {d["icd10"] for d in data["diagnoses"]}
    for code in want["not"]:
        assert code not in result.stdout
    for item in want.get("history", []):
        assert item in data.get("history", [])


@pytest.mark.parametrize("name", [n for n in samples_at_hand() if n in AS_OF])
def test_as_of_moves_the_age_and_the_active_problems(tmp_path: Path, name: str) -> None:
    when, want = AS_OF[name]
    result = invoke("import", "fhir", sample(name, tmp_path), "--as-of", when)
    assert result.exit_code == 0, result.stderr
    data = parse_yaml(result.stdout)
    for key, value in want.items():
        if key in ("patient", "vitals"):
            assert {k: data[key][k] for k in value} == value, key
        else:
            assert data[key] == value, key


# -- bundles built here ---------------------------------------------------------------------------------
def test_icd10cm_conditions_atc_medication_statements_and_measurements(vocab, tmp_path: Path) -> None:
    data = bundle(
        condition(concept(ICD, "G56.01", "Carpal tunnel syndrome, right upper limb"), onset="2020-12-01"),
        condition(concept(ICD, "C50.912", "Malignant neoplasm of left female breast")),
        condition(concept(SCT, "38341003", "Hypertension")),
        condition(concept(SCT, "444814009", "Viral sinusitis"), clinical="resolved", abated="2021-01-20"),
        condition(concept(SCT, "57406009", "Carpal tunnel syndrome"), verification="refuted"),
        condition(concept(SCT, "999999999", "Something rare")),
        {"resourceType": "MedicationStatement", "id": "m1", "status": "active", "subject": {"reference": PATIENT},
         "medicationCodeableConcept": concept(ATC, "B01AF02", "Eliquis 5 mg")},
        {"resourceType": "MedicationRequest", "id": "m2", "status": "active", "intent": "order",
         "subject": {"reference": PATIENT}, "medicationCodeableConcept": concept(RXNORM, "29046", "Lisinopril 10 MG")},
        {"resourceType": "MedicationRequest", "id": "m3", "status": "stopped", "intent": "order",
         "subject": {"reference": PATIENT}, "medicationCodeableConcept": concept(RXNORM, "1", "Warfarin 5 MG")},
        {"resourceType": "MedicationRequest", "id": "m4", "status": "on-hold", "intent": "order",
         "subject": {"reference": PATIENT}, "medicationCodeableConcept": concept(RXNORM, "2", "Mystery Pill 1 MG")},
        observation("8310-5", "2021-02-27", 101.3, "[degF]"),
        observation("26515-7", "2021-02-27", 85, "10*3/uL"),
        observation("26515-7", "2020-01-01", 300, "10*3/uL"),
        observation("85354-9", "2021-02-27", components=[("8480-6", 150), ("8462-4", 95)]),
        observation("8480-6", "2021-04-01", 200, "mm[Hg]"),   # after the as-of date: not taken
        {"resourceType": "ServiceRequest", "id": "s1", "status": "active", "intent": "order",
         "subject": {"reference": PATIENT}, "code": {"text": "Medical massage"},
         "reasonCode": [concept(SCT, "279039007", "Low back pain")],
         "note": [{"text": "6 sessions, avoid the left chest wall"}]},
    )
    result, case_data = run(tmp_path, data)
    assert result.exit_code == 0, result.stderr
    case = validate_case(case_data, "imported", vocab)
    assert case.patient.age == 50 and case.patient.sex == "female"
    assert [(d.condition, d.side, d.effective_acuity) for d in case.diagnoses] == [
        ("carpal_tunnel_syndrome", "right", "chronic"), ("low_back_pain", None, "chronic")]
    assert case.not_covered == (("I10", "Essential (primary) hypertension"),)
    assert [(h.item, h.area, h.side) for h in case.history] == [("malignancy", "chest", "left")]
    assert case.medication_pairs(vocab) == [("apixaban", "anticoagulant"), ("lisinopril", "antihypertensive")]
    assert case.unrecognised_medications == ("mystery pill 1 mg",)
    assert (case.labs.platelets_k, case.vitals.temperature_c) == (85, 38.5)
    assert (case.vitals.systolic, case.vitals.diastolic) == (150, 95)
    assert "# ServiceRequest (Medical massage): 6 sessions, avoid the left chest wall" in result.stdout
    stderr = result.stderr.splitlines()
    assert "not mapped: Condition Something rare: no ICD-10-CM code, and no SNOMED CT code in the crosswalk" in stderr
    assert any(line.startswith("not mapped: MedicationRequest Mystery Pill 1 MG") for line in stderr)
    assert len(stderr) == 2


def test_the_written_case_plans(tmp_path: Path) -> None:
    data = bundle(condition(concept(ICD, "M79.7", "Fibromyalgia"), onset="2020-01-01"))
    out = tmp_path / "case.yaml"
    path = tmp_path / "b.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert invoke("import", "fhir", path, "-o", out).exit_code == 0
    result = invoke("recommend", out, "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout)["case_id"] == "fhir-p1"


@pytest.mark.parametrize(("text", "fragment"), [
    ("{not json", "not a FHIR bundle: invalid JSON"),
    ('{"resourceType": "Patient", "id": "x"}', "resourceType: not a FHIR Bundle (got 'Patient')"),
    ('{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": '
     '{"resourceType": "Patient", "birthDate": "yesterday"}}]}', "not a valid FHIR R4 Bundle"),
    ('{"resourceType": "Bundle", "type": "collection", "entry": []}', "exactly one Patient (found 0)"),
])
def test_a_malformed_bundle_is_one_error_line(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(text, encoding="utf-8")
    result = invoke("import", "fhir", path)
    lines = assert_refused(result.exit_code, result.stdout, result.stderr, path)
    assert len(lines) == 1 and fragment in lines[0], lines


def test_a_bundle_with_no_problem_to_plan_is_refused_naming_the_field(tmp_path: Path) -> None:
    result, _ = run(tmp_path, bundle(condition(concept(SCT, "999999999", "Something rare"))))
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert result.exit_code == 2 and len(lines) == 1 and "diagnoses" in lines[0]
