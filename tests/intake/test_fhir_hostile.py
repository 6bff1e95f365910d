"""`medmassage import fhir` and `import fhir-bulk` against hostile input: every class generated here.

Special files refused before a byte is read, sizes and list lengths bounded before work, text
cut before it is matched, integers bounded before arithmetic, text from the record escaped on
the terminal and in the case file's comments, the case written always one `recommend` reads
back, and every problem one line naming the file, the field path and the value (exit 2).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medmassage_rules.cases.fields import MAX_DAYS
from medmassage_rules.cases.loading import load_case
from medmassage_rules.cases.models import Case
from medmassage_rules.files.guard import forget_inputs
from medmassage_rules.files.reading import parse_yaml
from medmassage_rules.intake import fhir, fhir_bulk, fhir_projection, fhir_values
from medmassage_rules.intake.fhir import case_from_resources, import_bundle
from medmassage_rules.intake.fhir_projection import bundle_resources
from medmassage_rules.kb.loading import load_knowledge_base
from medmassage_rules.planning.pipeline import plan_case

from ..helpers import assert_refused, error_lines, invoke
from .test_fhir import ICD, PATIENT, bundle, concept, condition, observation, sample, samples_at_hand

RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
HOSTILE = "evil\x1b[2J\x1b]0;owned\x07\x00\u202eabc\r\nid: injected\u2028\x85"


def medication(text: str, number: int = 0, kind: str = "MedicationStatement", atc: str | None = None) -> dict:
    drug: dict[str, Any] = {"text": text}
    if atc is not None:
        drug["coding"] = [{"system": "http://www.whocc.no/atc", "code": atc}]
    return {"resourceType": kind, "id": f"m{number}", "status": "active", "subject": {"reference": PATIENT},
            "medicationCodeableConcept": drug}


def back_pain(onset: str = "2021-01-10") -> dict:
    return condition(concept(ICD, "M54.50", "Low back pain"), onset=onset)


def write(tmp_path: Path, data: dict, name: str = "bundle.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# -- special files and sizes ------------------------------------------------------------------------
def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "bundle.json"
    os.mkfifo(fifo)
    started = time.monotonic()
    result = invoke("import", "fhir", fifo)
    assert time.monotonic() - started < 30
    [line] = assert_refused(result.exit_code, result.stdout, result.stderr, fifo)
    assert "pipe" in line


def test_a_link_to_dev_zero_is_refused_unread(tmp_path: Path) -> None:
    link = tmp_path / "bundle.json"
    link.symlink_to("/dev/zero")
    result = invoke("import", "fhir", link)
    [line] = assert_refused(result.exit_code, result.stdout, result.stderr, link)
    assert "device" in line


def test_the_size_is_checked_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "bundle.json"
    with big.open("wb") as handle:  # sparse: no disk used, and never read
        handle.truncate(fhir.MAX_BUNDLE_BYTES + 1)
    result = invoke("import", "fhir", big)
    [line] = assert_refused(result.exit_code, result.stdout, result.stderr, big)
    assert "larger than" in line


def test_the_bundle_is_an_input_no_output_replaces(tmp_path: Path) -> None:
    path = write(tmp_path, bundle(back_pain()))
    before = path.read_bytes()
    link = tmp_path / "link.yaml"
    link.symlink_to(path)
    for output in (path, link):
        forget_inputs()
        result = invoke("import", "fhir", path, "-o", output)
        assert result.exit_code == 2, result.output
        assert "is also an input" in result.stderr and "Traceback" not in result.stderr
        assert path.read_bytes() == before


def test_no_ndjson_input_is_replaced_by_the_bulk_output(tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    patients = export / "Patient.ndjson"
    patients.write_text('{"resourceType": "Patient", "id": "p1", "gender": "female"}\n')
    before = patients.read_bytes()
    link = tmp_path / "cases.jsonl"
    link.symlink_to(patients)
    for source, output in ((export, patients), (patients, link)):
        forget_inputs()
        result = invoke("import", "fhir-bulk", source, "-o", output)
        assert result.exit_code == 2, result.output
        [line] = error_lines(result.stderr)
        assert "is also an input" in line
        assert patients.read_bytes() == before


def test_bulk_refuses_a_fifo_and_bounds_each_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fifo = tmp_path / "Patient.ndjson"
    os.mkfifo(fifo)
    result = invoke("import", "fhir-bulk", fifo)
    [line] = assert_refused(result.exit_code, result.stdout, result.stderr, fifo)
    assert "pipe" in line
    monkeypatch.setattr(fhir_bulk, "MAX_LINE_BYTES", 1000)
    long = tmp_path / "long" / "Patient.ndjson"
    long.parent.mkdir()
    long.write_text(json.dumps({"resourceType": "Patient", "id": "p1", "gender": "x" * 5000}) + "\n")
    result = invoke("import", "fhir-bulk", long.parent)
    [line] = assert_refused(result.exit_code, result.stdout, result.stderr, f"{long}:1")
    assert "larger than" in line


# -- list lengths and text cut before work ----------------------------------------------------------
def test_fifty_thousand_medications_are_refused_in_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, bundle(back_pain(), *(medication(f"compound {i}", i) for i in range(50_000))))
    result = invoke("import", "fhir", path)
    [line] = assert_refused(result.exit_code, result.stdout, result.stderr, path)
    # the 101st distinct medication refuses it: entries 0-2 are the Patient, Encounter and Condition
    assert line == (f"error: {path}: entry[103].resource: more than 100 distinct active medications: a case holds "
                    f"at most 100; refused (got 'compound 100')")


def test_not_mapped_lines_are_summarised(tmp_path: Path) -> None:
    path = write(tmp_path, bundle(back_pain(), *(medication(f"compound {i}", i) for i in range(60))))
    result = invoke("import", "fhir", path)
    assert result.exit_code == 0, result.output
    unmapped = [line for line in error_lines(result.stderr) if line.startswith("not mapped:")]
    assert len(unmapped) == fhir.MAX_LINES + 1
    assert unmapped[-1] == f"not mapped: ... and {60 - fhir.MAX_LINES} more not mapped (the first 20 above)"
    assert len(parse_yaml(result.stdout)["medications"]) == 60


def test_a_megabyte_medication_text_is_cut_before_matching(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pattern, generic = fhir_values._drug_pattern()
    searched: list[int] = []

    class Spy:
        def search(self, text: str) -> Any:
            searched.append(len(text))
            return pattern.search(text)

    monkeypatch.setattr(fhir_values, "_drug_pattern", lambda: (Spy(), generic))
    path = write(tmp_path, bundle(back_pain(), medication("x" * 1_000_000 + " warfarin"),
                                  medication("warfarin 5 mg " + "y" * 1_000_000, 1)))
    started = time.monotonic()
    result = invoke("import", "fhir", path)
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started < 20
    assert searched and max(searched) <= fhir_values.MAX_MATCHED
    names = [m if isinstance(m, str) else m["name"] for m in parse_yaml(result.stdout)["medications"]]
    assert names[1] == "warfarin"  # named within the text looked at
    assert len(names[0]) == fhir_values.MAX_NAME  # kept by name, cut
    assert all(len(line) < 400 for line in error_lines(result.stderr))


def test_resources_past_the_bound_are_refused_as_they_are_read(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fhir_projection, "MAX_KEPT", 50)
    conditions = [{"resourceType": "Condition", "id": f"c{i}", "subject": {"reference": PATIENT}} for i in range(60)]
    encounters = [{"resourceType": "Encounter", "id": f"e{i}", "subject": {"reference": PATIENT},
                   "period": {"start": f"20{10 + i % 10}-01-01"}} for i in range(100)]
    path = write(tmp_path, bundle(*encounters, back_pain()))
    assert invoke("import", "fhir", path).exit_code == 0  # Encounters: only the latest is kept
    forget_inputs()
    path = write(tmp_path, bundle(*conditions))
    result = invoke("import", "fhir", path)
    [line] = assert_refused(result.exit_code, result.stdout, result.stderr, path)
    # the Patient and the Encounter are entries 0 and 1; the Patient is the first resource kept
    assert line == (f"error: {path}: entry[51].resource: more than 50 resources the import reads (conditions, "
                    f"medications, measurements, orders); refused")


def test_bulk_bounds_one_patients_resources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fhir_projection, "MAX_KEPT", 5)
    (tmp_path / "Patient.ndjson").write_text('{"resourceType": "Patient", "id": "p1"}\n'
                                             '{"resourceType": "Patient", "id": "p2"}\n')
    (tmp_path / "Condition.ndjson").write_text("".join(
        json.dumps({"resourceType": "Condition", "id": f"c{i}", "subject": {"reference": "Patient/p1"}}) + "\n"
        for i in range(10)))
    result = invoke("import", "fhir-bulk", tmp_path)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    [line] = error_lines(result.stderr)
    assert line == (f"error: {tmp_path / 'Condition.ndjson'}:6: more than 5 resources the import reads (conditions, "
                    f"medications, measurements, orders); refused")
    assert [json.loads(row)["id"] for row in result.stdout.splitlines()] == ["fhir-p2"]


@pytest.mark.parametrize("name", samples_at_hand())
def test_what_is_kept_gives_the_case_all_resources_give(tmp_path: Path, vocabulary: Any, name: str) -> None:
    path = sample(name, tmp_path)
    everything = bundle_resources(json.loads(path.read_text(encoding="utf-8")))
    kept = fhir.read_bundle(path)
    assert len(kept) < len(everything)
    assert import_bundle(path, vocabulary)[0].case == case_from_resources(everything, vocabulary)[0].case


# -- integers bounded before arithmetic; the case model's bounds -----------------------------------
@pytest.mark.parametrize("value", ["9" * 400, "1e400", "-1e309"])
def test_an_absurd_systolic_pressure_is_one_line(tmp_path: Path, value: str) -> None:
    marker = 123456.25
    text = json.dumps(bundle(back_pain(), observation("8480-6", "2021-02-01", marker, "mm[Hg]")))
    path = tmp_path / "bundle.json"
    path.write_text(text.replace(str(marker), value), encoding="utf-8")
    result = invoke("import", "fhir", path)
    [line] = assert_refused(result.exit_code, result.stdout, result.stderr, path)
    assert "entry[3].resource.valueQuantity.value: not a valid FHIR R4 Bundle: a number out of range" in line


def test_an_absurd_number_in_bulk_is_that_patients_error(tmp_path: Path) -> None:
    (tmp_path / "Patient.ndjson").write_text('{"resourceType": "Patient", "id": "p1"}\n')
    obs = json.dumps(observation("8480-6", "2021-02-01", 1.5, "mm[Hg]")).replace("1.5", "9" * 400)
    (tmp_path / "Observation.ndjson").write_text(obs + "\n")
    result = invoke("import", "fhir-bulk", tmp_path)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    [line] = error_lines(result.stderr)
    assert line.startswith(f"error: {tmp_path / 'Observation.ndjson'}:1: valueQuantity.value: ")
    assert "out of range" in line


def test_a_problem_begun_over_a_hundred_years_ago_is_kept(tmp_path: Path) -> None:
    path = write(tmp_path, bundle(back_pain(onset="1900-01-01"), birth="1890-01-01"))
    result = invoke("import", "fhir", path, "--as-of", "2021-03-01")
    assert result.exit_code == 0, result.output
    case = parse_yaml(result.stdout)
    assert case["diagnoses"] == [{"icd10": "M54.50", "onset_days": MAX_DAYS}]
    assert "onset_days: 36500" in result.stderr
    assert "age 131" in result.stderr
    assert "age" not in case["patient"]


@pytest.mark.parametrize(("birth", "age"), [("1850-01-01", 171), ("2030-01-01", -9)])
def test_an_age_out_of_range_is_reported(tmp_path: Path, birth: str, age: int) -> None:
    path = write(tmp_path, bundle(back_pain(), birth=birth))
    result = invoke("import", "fhir", path, "--as-of", "2021-03-01")
    assert result.exit_code == 0, result.output
    assert "age" not in parse_yaml(result.stdout).get("patient", {})
    [note] = [line for line in error_lines(result.stderr) if "birthDate" in line]
    assert note.startswith(f"note: entry[0].resource.birthDate {birth}: age {age} on 2021-03-01 is outside 0-120")
    assert f"# note: entry[0].resource.birthDate {birth}" in result.stdout


def test_the_bounds_are_the_case_models() -> None:
    def most(field: str) -> int:
        return next(m.max_length for m in Case.model_fields[field].metadata if hasattr(m, "max_length"))

    assert fhir.MAX_DAYS == MAX_DAYS
    assert (fhir.MAX_DIAGNOSES, fhir.MAX_HISTORY, fhir.MAX_MEDICATIONS) == \
        (most("diagnoses"), most("history"), most("medications"))


# -- messages ---------------------------------------------------------------------------------------
def test_an_unknown_resource_type_is_named_as_given(tmp_path: Path) -> None:
    path = write(tmp_path, bundle({"resourceType": "NonsenseType", "id": "n1"}))
    result = invoke("import", "fhir", path)
    [line] = assert_refused(result.exit_code, result.stdout, result.stderr, path)
    assert line == (f"error: {path}: entry[2].resource.resourceType: not a valid FHIR R4 Bundle: not a FHIR R4 "
                    f"resource type (got 'NonsenseType')")
    (tmp_path / "Patient.ndjson").write_text('{"resourceType": "Patient", "id": "p1"}\n'
                                             '{"resourceType": "Nonsense\\u001b[1m", "id": "p2"}\n')
    result = invoke("import", "fhir-bulk", tmp_path / "Patient.ndjson")
    [line] = assert_refused(result.exit_code, result.stdout, result.stderr, f"{tmp_path / 'Patient.ndjson'}:2")
    assert line.endswith("resourceType: not a FHIR R4 resource type (got 'Nonsense\\x1b[1m')")


@pytest.mark.parametrize(("field", "value", "fragment"), [
    ("id", "p\x1b[31m" + "x" * 10_000, "entry[0].resource.id: not a valid FHIR R4 Bundle: not a FHIR id"),
    ("gender", "female\x1b[2J" + "x" * 100_000,
     "entry[0].resource.gender: not a valid FHIR R4 Bundle: not a FHIR gender"),
])
def test_a_patient_field_that_is_no_fhir_value_is_one_line(tmp_path: Path, field: str, value: str,
                                                           fragment: str) -> None:
    data = bundle(back_pain())
    data["entry"][0]["resource"][field] = value
    path = write(tmp_path, data)
    result = invoke("import", "fhir", path)
    [line] = assert_refused(result.exit_code, result.stdout, result.stderr, path)
    assert fragment in line
    assert "\x1b" not in line and len(line) < 400


def test_an_atc_code_that_is_no_atc_code_is_left_out(tmp_path: Path) -> None:
    path = write(tmp_path, bundle(back_pain(), medication("Compound X", atc="\x1b[31mB01"),
                                  medication("warfarin", 1, atc="B01AA03")))
    result = invoke("import", "fhir", path)
    assert result.exit_code == 0, result.output
    assert parse_yaml(result.stdout)["medications"] == ["Compound X", {"name": "warfarin", "atc": "B01AA03"}]
    assert "not mapped: MedicationStatement Compound X: [31mB01 is not an ATC code (left out)" in result.stderr


@pytest.mark.parametrize("text", ['{"resourceType": "Bundle", "entry": [{"resource": {"a": 1, "a": 2}}]}',
                                  '{"resourceType": "Bundle", "entry": [NaN]}',
                                  '{"resourceType": "Bundle", "entry": [{}, ]}',
                                  '{"resourceType": "Bundle", "entry": {}}',
                                  '{"resourceType": "Bundle"} {}',
                                  '[' * 100_000,
                                  '"\\ud800"'])
def test_malformed_json_is_one_line(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(text, encoding="utf-8")
    result = invoke("import", "fhir", path)
    assert_refused(result.exit_code, result.stdout, result.stderr, path)


# -- injection: the terminal, the comments and the case read back -----------------------------------
def test_record_text_never_reaches_the_terminal_or_the_file_raw(tmp_path: Path) -> None:
    request = {"resourceType": "ServiceRequest", "id": "s1", "status": "active", "subject": {"reference": PATIENT},
               "code": {"text": HOSTILE}, "note": [{"text": HOSTILE}]}
    path = write(tmp_path, bundle(back_pain(onset="1900-01-01"), medication(HOSTILE), request), name="b\x1b[1m.json")
    output = tmp_path / "case.yaml"
    result = invoke("import", "fhir", path, "--as-of", "2021-03-01", "-o", output)
    assert result.exit_code == 0, result.output
    assert result.stderr and not RAW_CONTROL.search(result.stderr.replace("\n", ""))
    text = output.read_text(encoding="utf-8")
    assert not RAW_CONTROL.search(text.replace("\n", ""))
    assert "injected" not in parse_yaml(text).get("id", "")
    head = [line for line in text.splitlines() if line.startswith("#")]
    assert any("\\x1b[2J" in line for line in head)  # shown escaped, not dropped
    forget_inputs()
    assert invoke("recommend", output).exit_code == 0


@pytest.fixture(scope="module")
def vocabulary() -> Any:
    return load_knowledge_base(None).vocabulary


HOSTILE_CHARS = st.sampled_from(list("\x00\x07\x08\t\n\r\x0b\x0c\x1b\x7f\x85\x9b\u2028\u2029\u202e\u2066"
                                     "\ufeff\ufffe\uffff\ud800\udfff\u0130:#-'\"&*!|>%@`{}[], ") + ["\x1b[31m"])
HOSTILE_TEXT = st.lists(st.one_of(HOSTILE_CHARS, st.characters()), max_size=300).map("".join)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(HOSTILE_TEXT, min_size=1, max_size=4))
def test_what_the_import_writes_is_read_back(tmp_path: Path, kb: Any, texts: list[str]) -> None:
    vocabulary = kb.vocabulary
    request = {"resourceType": "ServiceRequest", "id": "s1", "status": "active", "subject": {"reference": PATIENT},
               "code": {"text": texts[0]}, "note": [{"text": t} for t in texts],
               "reasonCode": [{"text": t} for t in texts]}
    data = bundle(back_pain(), request, *(medication(t, i, atc=t[:7]) for i, t in enumerate(texts)),
                  *(medication("\u0130" * 150 + t, 10 + i) for i, t in enumerate(texts)))
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(data), encoding="utf-8")  # lone surrogates as \\ud800 escapes
    imported, day = import_bundle(path, vocabulary)
    case_file = tmp_path / "case.yaml"
    case_file.write_bytes(imported.yaml(path.name, day).encode("utf-8"))
    case = load_case(case_file, vocabulary)  # as `recommend` reads it, then plans it
    assert case.id == "fhir-p1"
    assert plan_case(case, kb).plan.status in kb.vocabulary.statuses
    for line in [*imported.unmapped, *imported.advisories]:
        assert not RAW_CONTROL.search(fhir_values.comment(line))


# -- linear in the bundle's size -------------------------------------------------------------------
def generated_bundle(path: Path, entries: int) -> None:
    """A Synthea-shaped record of ``entries`` entries: blood pressures, problems, orders and claims."""
    bp = observation("85354-9", "2020-01-01", components=[("8480-6", 121), ("8462-4", 80)])
    kinds = [bp, back_pain("2010-01-01"), medication("Amlodipine 5 MG Oral Tablet", kind="MedicationRequest"),
             {"resourceType": "Claim", "id": "x", "status": "active", "patient": {"reference": PATIENT},
              "billablePeriod": {"start": "2020-01-01T10:00:00+00:00"}, "total": {"value": 100.0, "currency": "USD"}}]
    head, tail = json.dumps(bundle()).rsplit("]", 1)
    with path.open("w", encoding="utf-8") as handle:
        handle.write(head)
        for i in range(entries - 2):
            resource = {**kinds[i % 4], "id": f"r{i}"}
            handle.write(", " + json.dumps({"fullUrl": f"urn:uuid:r{i}", "resource": resource}))
        handle.write("]" + tail)


MEASURE = """
import resource, sys, time
from medmassage_rules.intake.fhir import import_bundle
from medmassage_rules.kb.loading import load_knowledge_base
vocab = load_knowledge_base(None).vocabulary
import_bundle(sys.argv[2], vocab)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.process_time()
imported, _ = import_bundle(sys.argv[1], vocab)
seconds = time.process_time() - started
print(seconds, before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, len(imported.case["diagnoses"]))
"""


@pytest.mark.slow
def test_a_hundred_thousand_entries_in_seconds_and_a_small_multiple_of_the_file(tmp_path: Path) -> None:
    big, small = tmp_path / "big.json", tmp_path / "small.json"
    generated_bundle(big, 100_000)
    generated_bundle(small, 10)
    size = big.stat().st_size
    assert 40e6 < size < fhir.MAX_BUNDLE_BYTES
    done = subprocess.run([sys.executable, "-c", MEASURE, str(big), str(small)], capture_output=True, text=True,
                          timeout=300, check=True)
    seconds, before_kb, after_kb, diagnoses = done.stdout.split()
    assert int(diagnoses) == 1
    assert float(seconds) < 30, seconds  # about 2.3 s of CPU; it was about 7 (121 with full-model validation)
    # about 2.1 times the file (its bytes and its text while it is decoded); it was about 7 times
    assert (int(after_kb) - int(before_kb)) * 1024 < 3 * size, (before_kb, after_kb, size)


def test_a_cds_prefetch_past_the_case_limits_is_a_card_not_a_server_error(tmp_path: Path) -> None:
    from ..web.test_cds_hooks import PATIENT_VIEW, client, hook_request

    orders = [medication(f"compound {i}", i, kind="MedicationRequest") for i in range(150)]
    answer = client(tmp_path, load_knowledge_base(None)).post(f"/cds-services/{PATIENT_VIEW}",
                                                json=hook_request(bundle(back_pain(), *orders)))
    assert answer.status_code == 200
    [card] = answer.json()["cards"]
    assert card["indicator"] == "info" and "more than 100 distinct active medications" in card["detail"]
