"""`recommend --format fhir`: a FHIR R4 collection Bundle that validates with fhir.resources (case-format §6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle

from ..conftest import ROOT
from ..helpers import invoke

FACTS = ROOT / "facts"


def bundle_of(case: Path | str) -> tuple[dict, dict]:
    """The FHIR bundle and the JSON plan of one case, the bundle validated by the full models."""
    result = invoke("recommend", case, "--format", "fhir")
    assert result.exit_code == 0, result.stderr
    Bundle.model_validate_json(result.stdout)
    plan = json.loads(invoke("recommend", case, "--format", "json").stdout)
    return json.loads(result.stdout), plan


def of_type(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_a_service_request_per_modality_with_sides_pressure_minutes_and_the_icd10_reason() -> None:
    bundle, plan = bundle_of(FACTS / "p05-fibromyalgia-warfarin.yaml")
    assert bundle["type"] == "collection"
    requests = [r for r in of_type(bundle, "ServiceRequest") if "category" not in r]  # not the referrals
    assert [r["code"]["coding"][0]["code"] for r in requests] == [m["id"] for m in plan["modalities"]]
    for request, modality in zip(requests, plan["modalities"], strict=True):
        assert (request["status"], request["intent"]) == ("draft", "proposal")
        assert f"pressure {modality['pressure']}" in request["note"][0]["text"]
        worked = {(w["target"], w["side"]) for s in plan["session"]["segments"] for w in s["work"]
                  if w["modality"] == modality["id"]}
        assert {site["coding"][0]["code"] for site in request["bodySite"]} == {t for t, _ in worked}
    issues = of_type(bundle, "DetectedIssue")
    assert {i["severity"] for i in issues} >= {"moderate"}  # the anticoagulant's blocks
    blocked = {m["id"] for m in plan["blocked"]["modalities"]}
    assert {i["implicated"][0]["display"] for i in issues if i["code"]["text"].endswith("blocked")} >= {
        f"modality {m}" for m in blocked}


def test_the_reason_is_the_icd10cm_code_when_the_case_gives_one() -> None:
    bundle, _ = bundle_of(FACTS / "p23-icd10-and-intake-meds.yaml")
    reasons = of_type(bundle, "ServiceRequest")[0]["reasonCode"]
    assert any(c["system"] == "http://hl7.org/fhir/sid/icd-10-cm" for r in reasons for c in r.get("coding", []))


def test_a_red_flag_is_a_high_severity_issue_and_an_urgent_referral() -> None:
    bundle, plan = bundle_of(FACTS / "p18-dyspnea-after-knee-surgery.yaml")
    assert plan["status"] == "refer_urgent"
    referrals = [r for r in of_type(bundle, "ServiceRequest") if "category" in r]
    assert [(r["priority"], r["performerType"]["coding"][0]["code"]) for r in referrals] == [
        ("urgent", ref["to"]) for ref in plan["referrals"]]
    flags = [i for i in of_type(bundle, "DetectedIssue") if i["code"]["text"] == "red flag"]
    assert flags and all(i["severity"] == "high" for i in flags)
    assert not [r for r in of_type(bundle, "ServiceRequest") if "category" not in r]  # nothing to deliver


def test_caps_are_low_severity_issues() -> None:
    bundle, plan = bundle_of(FACTS / "p05-fibromyalgia-warfarin.yaml")
    caps = [i for i in of_type(bundle, "DetectedIssue") if "pressure at most" in i["code"]["text"]]
    assert plan["pressure_cap"] != "deep" and caps and {i["severity"] for i in caps} == {"low"}


def test_the_provenance_names_the_program_the_rules_and_the_case_day(tmp_path: Path) -> None:
    case = tmp_path / "case.yaml"
    case.write_text((FACTS / "p01-cts-mild-right.yaml").read_text(encoding="utf-8") + "\nas_of: 2024-05-06\n",
                    encoding="utf-8")
    bundle, plan = bundle_of(case)
    provenance = of_type(bundle, "Provenance")[0]
    assert provenance["recorded"].startswith("2024-05-06")
    assert "medmassage-rules" in provenance["agent"][0]["who"]["display"]
    named = {e["what"]["identifier"]["value"] for e in provenance["entity"]}
    assert {r for m in plan["modalities"] for r in m["because"]} <= named
    assert {t["reference"] for t in provenance["target"]} == {e["fullUrl"] for e in bundle["entry"]
                                                              if e["resource"] is not provenance}
    assert invoke("recommend", case, "--format", "fhir").stdout == json.dumps(bundle, indent=2,
                                                                              ensure_ascii=False) + "\n"


@pytest.mark.parametrize("name", ["p09-low-back-fever.yaml", "p12-constipation-aaa.yaml",
                                  "p26-malignancy-no-site-cleared.yaml", "c31-post-mastectomy-active-cancer.yaml"])
def test_other_statuses_validate(name: str) -> None:
    bundle, plan = bundle_of(FACTS / name)
    high = [i for i in of_type(bundle, "DetectedIssue") if i["severity"] == "high"]
    assert bool(high) == (plan["status"] in ("refer_urgent", "refer", "defer"))


def test_explain_does_not_go_with_fhir() -> None:
    result = invoke("recommend", FACTS / "p01-cts-mild-right.yaml", "--format", "fhir", "--explain")
    assert result.exit_code == 2 and "--explain" in result.stderr
