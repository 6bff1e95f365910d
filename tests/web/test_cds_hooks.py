"""The CDS Hooks 2.0 service: discovery, both hooks on requests built from the sample bundles, cards,
missing prefetch, malformed requests, the feedback log and bearer JWTs (docs/ehr.md)."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from fhir.resources.R4B.servicerequest import ServiceRequest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medmassage_rules.web.cds_auth import CdsSettings
from medmassage_rules.web.cds_hooks import PREFETCH, SERVICES, cds_router

from ..intake.test_fhir import LOINC, RXNORM, SCT, bundle, concept, condition, observation, sample, samples_at_hand

PATIENT_VIEW, ORDER_SELECT = "medmassage-patient-view", "medmassage-order-select"
BASE = "http://testserver/cds-services"


def client(tmp_path: Path, kb, jwks: Path | None = None) -> TestClient:
    app = FastAPI()
    app.state.cds = CdsSettings(feedback_log=tmp_path / "feedback.jsonl", jwks=jwks)
    app.include_router(cds_router(kb))
    return TestClient(app)


def searchset(resources: list[dict]) -> dict:
    return {"resourceType": "Bundle", "type": "searchset", "total": len(resources),
            "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources]}


def hook_request(data: dict, hook: str = "patient-view", drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """What an EHR sends for a patient bundle: context and the prefetch the discovery asks for."""
    resources = [e["resource"] for e in data["entry"]]
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    of = {kind: [r for r in resources if r["resourceType"] == kind]
          for kind in ("Condition", "MedicationRequest", "Observation", "Procedure")}
    prefetch = {
        "patient": patient,
        "conditions": searchset([c for c in of["Condition"]
                                 if c.get("clinicalStatus", {}).get("coding", [{}])[0].get("code") == "active"]),
        "medications": searchset([m for m in of["MedicationRequest"] if m.get("status") in ("active", "on-hold")]),
        "observations": searchset([o for o in of["Observation"]
                                   if {c.get("code") for c in o["code"].get("coding", [])} & set(_loinc_codes())]),
        "procedures": searchset(of["Procedure"]),
    }
    context: dict[str, Any] = {"userId": "Practitioner/1", "patientId": patient["id"]}
    if hook == "order-select":
        context |= {"selections": [], "draftOrders": searchset([])}
    return {"hook": hook, "hookInstance": str(uuid.uuid4()), "context": context,
            "prefetch": {k: v for k, v in prefetch.items() if k not in drop}}


def _loinc_codes() -> list[str]:
    from medmassage_rules.intake.fhir import OBSERVATION_CODES
    return list(OBSERVATION_CODES)


def check_cards(answer: dict) -> list[dict]:
    """The CDS Hooks 2.0 card rules: summary under 140, indicator, source label, markdown detail,
    suggestions with a selection behaviour and FHIR resources that validate."""
    cards = answer["cards"]
    for card in cards:
        assert isinstance(card["summary"], str) and 0 < len(card["summary"]) < 140
        assert card["indicator"] in ("info", "warning", "critical")
        assert card["source"]["label"] and uuid.UUID(card["uuid"])
        assert isinstance(card.get("detail", ""), str)
        for link in card.get("links", []):
            assert link["type"] in ("absolute", "smart") and link["label"] and link["url"]
        if card.get("suggestions"):
            assert card["selectionBehavior"] in ("at-most-one", "any")
            for suggestion in card["suggestions"]:
                for action in suggestion["actions"]:
                    assert action["type"] == "create"
                    request = ServiceRequest.model_validate(action["resource"])
                    assert (request.status, request.intent) == ("draft", "proposal")
    return cards


def test_discovery_lists_both_hooks_with_their_prefetch(tmp_path: Path, kb) -> None:
    services = client(tmp_path, kb).get("/cds-services").json()["services"]
    assert {(s["id"], s["hook"]) for s in services} == {(PATIENT_VIEW, "patient-view"),
                                                        (ORDER_SELECT, "order-select")}
    for service in services:
        assert service["title"] and service["description"] and service["prefetch"] == PREFETCH
        assert service["prefetch"]["patient"] == "Patient/{{context.patientId}}"
        assert "http://loinc.org|8480-6" in service["prefetch"]["observations"]


@pytest.mark.parametrize("name", samples_at_hand())
@pytest.mark.parametrize("service", sorted(SERVICES))
def test_both_hooks_answer_cards_for_the_samples(tmp_path: Path, kb, name: str, service: str) -> None:
    data = json.loads(sample(name, tmp_path).read_text(encoding="utf-8"))
    answer = client(tmp_path, kb).post(f"/cds-services/{service}",
                                       json=hook_request(data, SERVICES[service]["hook"]))
    assert answer.status_code == 200, answer.text
    cards = check_cards(answer.json())
    assert cards[-1]["indicator"] == "info"


def test_a_red_flag_is_one_critical_card_naming_the_destination(tmp_path: Path, kb) -> None:
    data = bundle(condition(concept(SCT, "279039007", "Low back pain"), onset="2021-02-10"),
                  observation("8310-5", "2021-02-28", 38.6, "Cel"))
    answer = client(tmp_path, kb).post(f"/cds-services/{PATIENT_VIEW}", json=hook_request(data))
    cards = check_cards(answer.json())
    critical = [c for c in cards if c["indicator"] == "critical"]
    assert len(critical) == 1 and critical[0] is cards[0]
    assert "refer urgently to" in critical[0]["summary"] and "no massage" in critical[0]["summary"]
    assert not any(c.get("suggestions") for c in cards)  # nothing to order


def test_a_plan_card_has_its_source_detail_and_a_draft_order(tmp_path: Path, kb) -> None:
    data = bundle(condition(concept(SCT, "95417003", "Primary fibromyalgia syndrome"), onset="2020-01-01"))
    cards = check_cards(client(tmp_path, kb).post(f"/cds-services/{PATIENT_VIEW}", json=hook_request(data)).json())
    info = cards[-1]
    assert info["summary"].startswith("Massage plan: treat")
    assert "**The plan in brief**" in info["detail"] and "**Why**" in info["detail"]
    assert info["source"]["label"].startswith("medmassage-rules")
    resource = info["suggestions"][0]["actions"][0]["resource"]
    assert resource["subject"] == {"reference": "Patient/p1"} and resource["reasonCode"][0]["coding"][0]["code"]


def test_order_select_counts_a_draft_anticoagulant(tmp_path: Path, kb) -> None:
    data = bundle(condition(concept(SCT, "95417003", "Primary fibromyalgia syndrome"), onset="2020-01-01"))
    request = hook_request(data, "order-select")
    request["context"]["draftOrders"] = searchset([{
        "resourceType": "MedicationRequest", "id": "draft1", "status": "draft", "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": concept(RXNORM, "855332", "Warfarin 5 MG")}])
    cards = check_cards(client(tmp_path, kb).post(f"/cds-services/{ORDER_SELECT}", json=request).json())
    blocked = [c for c in cards if c["summary"].startswith("Not to be done")]
    assert blocked and blocked[0]["indicator"] == "warning" and "Deep tissue" in blocked[0]["summary"]


def test_missing_prefetch_is_a_card_that_names_it(tmp_path: Path, kb) -> None:
    data = bundle(condition(concept(SCT, "95417003", "Fibromyalgia")))
    answer = client(tmp_path, kb).post(f"/cds-services/{PATIENT_VIEW}",
                                       json=hook_request(data, drop=("medications", "observations")))
    cards = check_cards(answer.json())
    assert len(cards) == 1 and "medications, observations" in cards[0]["summary"]
    assert "never queries the FHIR server" in cards[0]["detail"]


def test_a_request_without_procedures_is_planned_and_says_surgery_was_not_checked(tmp_path: Path, kb) -> None:
    """An EHR configured from an earlier discovery sends no Procedures: it still gets its plan, and an
    info card asks about recent surgery instead of a refusal."""
    data = bundle(condition(concept(SCT, "95417003", "Fibromyalgia")))
    service = client(tmp_path, kb)
    with_all = check_cards(service.post(f"/cds-services/{PATIENT_VIEW}", json=hook_request(data)).json())
    answer = service.post(f"/cds-services/{PATIENT_VIEW}", json=hook_request(data, drop=("procedures",)))
    assert answer.status_code == 200, answer.text
    cards = check_cards(answer.json())
    assert [c["summary"] for c in cards[:-1]] == [c["summary"] for c in with_all]
    assert cards[-1]["indicator"] == "info" and cards[-1]["summary"].startswith("Not checked: recent operations")
    assert not any(c["summary"].startswith("Not checked") for c in with_all)


@pytest.mark.parametrize(("change", "fragment"), [
    (lambda r: "{not json", "not JSON"),
    (lambda r: {**r, "hook": "order-sign"}, "hook:"),
    (lambda r: {**r, "context": {}}, "context.patientId"),
    (lambda r: {**r, "prefetch": {**r["prefetch"], "conditions": []}}, "prefetch.conditions: expected a Bundle"),
    (lambda r: {**r, "prefetch": {**r["prefetch"], "conditions": searchset([
        {"resourceType": "Condition", "id": "x", "subject": {"reference": "Patient/p1"},
         "onsetDateTime": "soon"}])}}, "prefetch.conditions.entry[0].resource.onsetDateTime"),
])
def test_a_malformed_request_is_a_400_with_a_json_error(tmp_path: Path, kb, change: Any, fragment: str) -> None:
    request = change(hook_request(bundle(condition(concept(SCT, "95417003", "Fibromyalgia")))))
    body = request if isinstance(request, str) else json.dumps(request)
    answer = client(tmp_path, kb).post(f"/cds-services/{PATIENT_VIEW}", content=body,
                                       headers={"content-type": "application/json"})
    assert answer.status_code == 400 and fragment in answer.json()["error"]


def test_feedback_is_logged_with_the_rules_of_its_card(tmp_path: Path, kb) -> None:
    web = client(tmp_path, kb)
    data = bundle(condition(concept(SCT, "95417003", "Fibromyalgia"), onset="2020-01-01"))
    info = web.post(f"/cds-services/{PATIENT_VIEW}", json=hook_request(data)).json()["cards"][-1]
    feedback = {"feedback": [
        {"card": info["uuid"], "outcome": "accepted", "outcomeTimestamp": "2021-03-01T10:00:00Z",
         "acceptedSuggestions": [{"id": info["suggestions"][0]["uuid"]}]},
        {"card": str(uuid.uuid4()), "outcome": "overridden", "outcomeTimestamp": "2021-03-01T10:01:00Z",
         "overrideReason": {"reason": {"code": "not-relevant", "system": "http://example.org/reasons"},
                            "userComment": "patient Jane Doe declined"}}]}
    answer = web.post(f"/cds-services/{PATIENT_VIEW}/feedback", json=feedback)
    assert answer.status_code == 200 and answer.json() == {"logged": 2}
    lines = [json.loads(line) for line in (tmp_path / "feedback.jsonl").read_text(encoding="utf-8").splitlines()]
    assert lines[0]["outcome"] == "accepted" and lines[0]["rules"] and lines[0]["indicator"] == "info"
    assert lines[1]["rules"] is None and lines[1]["overrideReason"]["code"] == "not-relevant"
    assert "Jane" not in (tmp_path / "feedback.jsonl").read_text(encoding="utf-8")  # free text is not kept
    assert web.post(f"/cds-services/{PATIENT_VIEW}/feedback", json={"feedback": [{"card": 1}]}).status_code == 400


def _keys(tmp_path: Path) -> tuple[Any, Path]:
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    private = ec.generate_private_key(ec.SECP384R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key()))
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [{**jwk, "kid": "ehr-1", "alg": "ES384", "use": "sig"}]}), encoding="utf-8")
    return private, path


def _token(private: Any, aud: str, **claims: Any) -> str:
    import jwt

    now = int(time.time())
    body = {"iss": "https://ehr.example", "aud": aud, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4()), **claims}
    return jwt.encode(body, private, algorithm="ES384", headers={"kid": "ehr-1"})


def test_bearer_jwts_are_verified_against_the_key_file(tmp_path: Path, kb) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    private, jwks = _keys(tmp_path)
    web = client(tmp_path, kb, jwks)
    request = hook_request(bundle(condition(concept(SCT, "95417003", "Fibromyalgia"))))
    url = f"/cds-services/{PATIENT_VIEW}"

    def call(token: str | None) -> int:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return web.post(url, json=request, headers=headers).status_code

    assert call(None) == 401
    good = _token(private, f"{BASE}/{PATIENT_VIEW}")
    assert call(good) == 200
    assert call(good) == 401                                                           # replayed (same jti)
    assert call(_token(private, f"{BASE}/{ORDER_SELECT}")) == 401                      # for another service
    assert call(_token(private, f"{BASE}/{PATIENT_VIEW}", exp=int(time.time()) - 600)) == 401   # expired
    assert call(_token(ec.generate_private_key(ec.SECP384R1()), f"{BASE}/{PATIENT_VIEW}")) == 401  # another key
    assert web.get("/cds-services").status_code == 200  # discovery is public
    feedback = {"feedback": [{"card": str(uuid.uuid4()), "outcome": "overridden"}]}
    assert web.post(f"{url}/feedback", json=feedback).status_code == 401
    assert web.post(f"{url}/feedback", json=feedback, headers={
        "authorization": f"Bearer {_token(private, f'{BASE}/{PATIENT_VIEW}')}"}).status_code == 200


def test_the_loinc_codes_of_the_prefetch_are_the_importer_s() -> None:
    assert all(f"{LOINC}|{code}" in PREFETCH["observations"] for code in _loinc_codes())


def test_in_the_web_application_the_plan_card_links_to_the_plan_page(tmp_path: Path, kb) -> None:
    from medmassage_rules.web import create_app

    app = create_app(kb)
    app.state.cds = CdsSettings(feedback_log=tmp_path / "feedback.jsonl")
    web = TestClient(app, base_url="http://127.0.0.1")
    data = bundle(condition(concept(SCT, "95417003", "Fibromyalgia"), onset="2020-01-01"))
    info = check_cards(web.post(f"/cds-services/{PATIENT_VIEW}", json=hook_request(data)).json())[-1]
    link = info["links"][0]["url"]
    assert link.startswith("http://127.0.0.1/plan/")
    page = web.get(link.removeprefix("http://127.0.0.1"))
    assert page.status_code == 200 and "fhir-p1" in page.text


_ANY = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10)
                    | st.sampled_from(["Bundle", "Patient", "Condition", "p1", "2021-03-01"]),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                        st.sampled_from(["resourceType", "entry", "resource", "id", "code", "coding", "subject",
                                         "reference", "status", "onsetDateTime", "valueQuantity"]),
                        inner, max_size=4), max_leaves=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(sorted(PREFETCH)), value=_ANY)
def test_any_prefetch_is_answered_with_cards_or_a_400(tmp_path: Path, kb, key: str, value: Any) -> None:
    """A prefetch the EHR got wrong is a 400 naming it, or cards - never an internal error."""
    request = hook_request(bundle(condition(concept(SCT, "95417003", "Fibromyalgia"))))
    request["prefetch"][key] = value
    answer = client(tmp_path, kb).post(f"/cds-services/{PATIENT_VIEW}", json=request)
    assert answer.status_code in (200, 400), answer.text
    if answer.status_code == 400:
        assert "prefetch" in answer.json()["error"]
    else:
        check_cards(answer.json())
