"""`medmassage import fhir-bulk`: Bulk Data NDJSON in, the cases `import fhir` gives out, one patient at a time."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from click.testing import CliRunner

from medmassage_rules.cli import main
from medmassage_rules.files.reading import parse_yaml

from ..helpers import invoke
from .test_fhir import ICD, bundle, concept, condition, sample, samples_at_hand


def split(bundles: list[dict], folder: Path) -> Path:
    """Bundles as a Bulk Data export: one NDJSON file per resource type, the patients one after the other."""
    by_type: dict[str, list[str]] = defaultdict(list)
    for data in bundles:
        for entry in data["entry"]:
            by_type[entry["resource"]["resourceType"]].append(json.dumps(entry["resource"]))
    folder.mkdir()
    for kind, lines in by_type.items():
        (folder / f"{kind}.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def test_the_split_samples_give_the_cases_import_fhir_gives(tmp_path: Path) -> None:
    names = samples_at_hand()
    bundles = [json.loads(sample(n, tmp_path).read_text(encoding="utf-8")) for n in names]
    export = split(bundles, tmp_path / "export")
    out = tmp_path / "cases.jsonl"
    result = invoke("import", "fhir-bulk", export, "--output", out)
    assert result.exit_code == 0, result.stderr
    bulk = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    one_by_one = []
    for name in names:
        single = invoke("import", "fhir", sample(name, tmp_path))
        assert single.exit_code == 0, single.stderr
        one_by_one.append(parse_yaml(single.stdout))
    assert bulk == one_by_one
    assert len(bulk) == len(names) and all(case["as_of"] for case in bulk)


def test_the_bulk_cases_go_through_batch_on_stdin(tmp_path: Path) -> None:
    export = split([bundle(condition(concept(ICD, "M79.7", "Fibromyalgia"), onset="2020-01-01"))], tmp_path / "x")
    cases = invoke("import", "fhir-bulk", export)
    assert cases.exit_code == 0, cases.stderr
    rows = CliRunner().invoke(main, ["batch", "-", "--report", "-"], input=cases.stdout)
    row = json.loads(rows.stdout.splitlines()[0])
    assert (row["case_id"], row["source"], row["error"]) == ("fhir-p1", "<stdin>:1", None)
    assert row["plan"]["status"] in ("treat", "treat_with_precautions")


def test_a_bad_resource_fails_its_patient_and_the_others_go_on(tmp_path: Path) -> None:
    good = bundle(condition(concept(ICD, "M79.7", "Fibromyalgia")))
    bad = bundle(condition(concept(ICD, "M54.2", "Neck pain")))
    for entry in bad["entry"]:  # a second patient, p2, whose Condition has an unreadable onset
        resource = entry["resource"]
        if resource["resourceType"] == "Patient":
            resource["id"] = "p2"
        else:
            resource["id"] += "-2"
            resource["subject"] = {"reference": "Patient/p2"}
            if resource["resourceType"] == "Condition":
                resource["onsetDateTime"] = "yesterday"
    result = invoke("import", "fhir-bulk", split([good, bad], tmp_path / "export"))
    assert result.exit_code == 1
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["fhir-p1"]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Condition.ndjson:2: onsetDateTime" in errors[0] and "yesterday" in errors[0]


def test_a_line_that_is_not_json_refuses_the_export(tmp_path: Path) -> None:
    export = split([bundle(condition(concept(ICD, "M79.7", "Fibromyalgia")))], tmp_path / "export")
    with (export / "Observation.ndjson").open("a", encoding="utf-8") as handle:
        handle.write("{not json\n")
    result = invoke("import", "fhir-bulk", export)
    assert result.exit_code == 2 and result.stdout == ""
    assert "Observation.ndjson:1: not NDJSON: invalid JSON" in result.stderr
