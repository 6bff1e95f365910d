"""The light projection of FHIR resources and what `import fhir` keeps (case-format §6): as_of, ordered, sides.

The projection reads a dozen fields without the fhir.resources models; here the models check
it: every sample bundle validates in full, and the projection gives the same values the models do.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medmassage_rules.errors import CaseError
from medmassage_rules.files.reading import parse_yaml
from medmassage_rules.intake.fhir import case_from_resources
from medmassage_rules.intake.fhir_projection import READ_TYPES, ProjectionError, bundle_resources, project

from ..helpers import invoke
from .test_fhir import ICD, RXNORM, SCT, bundle, concept, condition, run, sample, samples_at_hand


def _day(value) -> date | None:
    if value is None:
        return None
    return value.date() if hasattr(value, "date") and callable(value.date) else value


@pytest.mark.parametrize("name", samples_at_hand())
def test_the_projection_reads_what_the_full_models_read(tmp_path: Path, name: str) -> None:
    from fhir.resources.R4B.bundle import Bundle

    data = json.loads(sample(name, tmp_path).read_text(encoding="utf-8"))
    models = [e.resource for e in Bundle.model_validate(data).entry]  # the whole bundle is valid FHIR
    light = {(r.type, r.id): r for r in bundle_resources(data)}
    read = [m for m in models if (m.get_resource_type(), m.id) in light]
    assert {"Patient", "Condition", "MedicationRequest", "Observation", "Encounter"} <= {t for t, _ in light}
    assert len(read) == len(light)
    for model in read:
        got = light[(model.get_resource_type(), model.id)]
        kind = got.type
        if kind == "Condition":
            assert got.status == model.clinicalStatus.coding[0].code
            assert [c.code for c in got.code.codings] == [c.code for c in model.code.coding]
            assert got.start == _day(model.onsetDateTime) and got.end == _day(model.abatementDateTime)
        elif kind == "MedicationRequest":
            assert got.status == model.status and got.ordered == _day(model.authoredOn)
            assert got.code.label == (model.medicationCodeableConcept.text
                                      or model.medicationCodeableConcept.coding[0].display)
        elif kind == "Observation":
            assert got.start == _day(model.effectiveDateTime)
            if model.valueQuantity is not None:
                assert got.quantity.value == pytest.approx(float(model.valueQuantity.value))
            assert len(got.components) == len(model.component or [])
        elif kind == "Patient":
            assert (got.birth_date, got.gender) == (model.birthDate, model.gender)
        elif kind == "Encounter":
            assert got.start == _day(model.period.start)


@pytest.mark.parametrize(("resource", "path"), [
    ({"resourceType": "Condition", "onsetDateTime": "last week"}, "onsetDateTime"),
    ({"resourceType": "Condition", "code": {"coding": {"code": "x"}}}, "code.coding"),
    ({"resourceType": "Observation", "valueQuantity": {"value": "high"}}, "valueQuantity.value"),
    ({"resourceType": "MedicationRequest", "authoredOn": 2018}, "authoredOn"),
    ({"resourceType": "Patient", "birthDate": "2000-13-01"}, "birthDate"),
])
def test_a_field_the_import_reads_is_checked_and_named(resource: dict, path: str) -> None:
    with pytest.raises(ProjectionError) as caught:
        project(resource, "entry[2].resource")
    assert caught.value.path == f"entry[2].resource.{path}"


def test_types_it_does_not_read_are_not_looked_at() -> None:
    assert project({"resourceType": "Claim", "created": "not a date"}) is None


def test_a_malformed_field_refuses_the_bundle_on_one_line(tmp_path: Path) -> None:
    data = bundle(condition(concept(ICD, "M79.7", "Fibromyalgia")))
    data["entry"][2]["resource"]["onsetDateTime"] = "soon"
    result, _ = run(tmp_path, data)
    lines = result.stderr.splitlines()
    assert result.exit_code == 2 and len(lines) == 1
    assert "entry[2].resource.onsetDateTime: not a valid FHIR R4 Bundle: not a FHIR date (got 'soon')" in lines[0]


def test_as_of_and_the_order_dates_are_written(tmp_path: Path) -> None:
    data = bundle(condition(concept(ICD, "M79.7", "Fibromyalgia"), onset="2020-01-01"),
                  {"resourceType": "MedicationRequest", "id": "m1", "status": "active", "intent": "order",
                   "authoredOn": "2019-02-01T08:00:00Z",
                   "medicationCodeableConcept": concept(RXNORM, "855332", "Warfarin 5 MG")},
                  {"resourceType": "MedicationRequest", "id": "m2", "status": "active", "intent": "order",
                   "authoredOn": "2020-11-01", "medicationCodeableConcept": concept(RXNORM, "855302", "Coumadin 2 MG")})
    result, case = run(tmp_path, data)
    assert result.exit_code == 0, result.stderr
    assert case["as_of"] == "2021-03-01"  # the latest Encounter's start
    assert case["diagnoses"] == [{"icd10": "M79.7", "onset_days": 425}]
    assert case["medications"] == [{"name": "warfarin", "ordered": "2020-11-01"}]  # the latest order of the drug
    _, earlier = run(tmp_path, data, "--as-of", "2020-06-01")
    assert earlier["as_of"] == "2020-06-01" and earlier["medications"] == [{"name": "warfarin",
                                                                               "ordered": "2019-02-01"}]


def test_a_problem_resolved_after_the_as_of_date_was_active_on_it(tmp_path: Path) -> None:
    data = bundle(condition(concept(ICD, "M79.7", "Fibromyalgia"), onset="2019-01-01"),
                  condition(concept(SCT, "57406009", "Carpal tunnel syndrome"), clinical="resolved",
                            onset="2020-01-01", abated="2020-09-01"))
    _, now = run(tmp_path, data)
    assert [d["icd10"] for d in now["diagnoses"]] == ["M79.7"]
    _, then = run(tmp_path, data, "--as-of", "2020-06-01")
    assert [d["icd10"] for d in then["diagnoses"]] == ["M79.7", "G56.00"]


def test_the_side_from_body_site_or_the_concept_and_a_note_when_none(tmp_path: Path) -> None:
    knee = condition(concept(SCT, "239873007", "Osteoarthritis of knee"), onset="2015-01-01")
    knee["bodySite"] = [{"coding": [{"system": SCT, "code": "24028007", "display": "Right"}]}]
    sprain = condition(concept(SCT, "44465007", "Sprain of left ankle"), onset="2021-02-27")
    cts = condition(concept(SCT, "57406009", "Carpal tunnel syndrome"), onset="2020-06-01")
    result, case = run(tmp_path, bundle(knee, sprain, cts))
    assert result.exit_code == 0, result.stderr
    assert [(d["icd10"], d.get("side")) for d in case["diagnoses"]] == [
        ("M17.9", "right"), ("S93.409A", "left"), ("G56.00", None)]
    notes = [line for line in result.stderr.splitlines() if line.startswith("note: ")]
    assert len(notes) == 1 and "Carpal tunnel syndrome (G56.00): side not given" in notes[0]
    assert f"# {notes[0]}" in result.stdout  # and kept in the case file


@pytest.mark.parametrize("name", [n for n in samples_at_hand() if n.startswith("f5")])
def test_old_chemotherapy_orders_are_named_in_the_plan(tmp_path: Path, name: str) -> None:
    out = tmp_path / "case.yaml"
    assert invoke("import", "fhir", sample(name, tmp_path), "-o", out).exit_code == 0
    case = parse_yaml(out.read_text(encoding="utf-8"))
    assert {"name": "oxaliplatin", "ordered": "2018-05-28"} in case["medications"]
    result = invoke("import", "fhir", sample(name, tmp_path))
    assert ("note: medication oxaliplatin: order dated 2018-05-28, more than a year before 2021-02-24: it is counted; "
            "confirm it is current") in result.stderr.splitlines()
    assert "note: medication Simvistatin 10 MG: order dated" not in result.stderr  # ordered on the as-of day
    plan = json.loads(invoke("recommend", out, "--format", "json").stdout)
    assert any("oxaliplatin" in a and "2018-05-28" in a for a in plan["advisories"]), plan["advisories"]


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
                     | st.sampled_from(["2021-02-30", "2021-03-01", "2021", "Patient/p1", "active", "resolved"]),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                         st.sampled_from(["coding", "system", "code", "display", "text", "reference", "value",
                                          "unit", "start"]), inner, max_size=3), max_leaves=8)
_FIELDS = ["id", "subject", "status", "clinicalStatus", "verificationStatus", "code", "bodySite", "onsetDateTime",
           "abatementDateTime", "authoredOn", "medicationCodeableConcept", "medicationReference",
           "effectiveDateTime", "effectivePeriod", "valueQuantity", "component", "reasonCode", "note", "birthDate",
           "gender", "period", "issued"]


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(sorted(READ_TYPES)), fields=st.dictionaries(st.sampled_from(_FIELDS), _JSON, max_size=6))
def test_any_resource_is_projected_or_refused_naming_a_field_of_it(vocab, kind: str, fields: dict) -> None:
    """Whatever a record holds, the projection reads it or names the field it cannot read - never another
    error - and what it reads builds a case or a refusal (CaseError), never a crash."""
    resource = {"resourceType": kind, **fields}
    try:
        found = project(resource, "r")
    except ProjectionError as exc:
        assert exc.path.startswith("r.") and exc.path.split(".")[1].split("[")[0] in fields
        return
    patient = project({"resourceType": "Patient", "id": "p1"})
    assert found is not None and patient is not None
    try:
        case_from_resources([patient, found] if kind != "Patient" else [found], vocab, date(2021, 3, 1))
    except CaseError as exc:
        assert exc.problems


def test_the_import_and_the_plan_agree_on_when_an_order_is_old() -> None:
    from medmassage_rules.intake.fhir import STALE_ORDER_DAYS
    from medmassage_rules.planning.advisory_kinds import STALE_AFTER_DAYS

    assert STALE_ORDER_DAYS == STALE_AFTER_DAYS


@pytest.mark.parametrize("name", [n for n in samples_at_hand() if n.startswith("f2")])
def test_the_sample_knee_osteoarthritis_without_a_side_says_so(tmp_path: Path, name: str) -> None:
    result = invoke("import", "fhir", sample(name, tmp_path))
    notes = [line for line in result.stderr.splitlines() if "side not given" in line]
    assert result.exit_code == 0 and len(notes) == 1 and "Osteoarthritis of knee (M17.9)" in notes[0]
    assert "side" not in next(d for d in parse_yaml(result.stdout)["diagnoses"] if d["icd10"] == "M17.9")
