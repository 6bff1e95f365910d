"""An HL7 CDS Hooks 2.0 service under ``/cds-services`` (case-format §6, docs/ehr.md).

- ``GET /cds-services``: discovery - a ``patient-view`` and an ``order-select`` service, each
  with prefetch templates for the Patient, its active Conditions, its MedicationRequests, the
  latest Observations of the LOINC codes the FHIR import reads and its latest Procedures.
- ``POST /cds-services/{id}``: the case is built from ``context`` and ``prefetch`` (and, for
  order-select, the draft orders) through the light projection and the mapping of
  ``import fhir``, planned, and answered with cards (:mod:`.cds_cards`). The as-of date is the
  day of the request. A missing prefetch is a card saying what is missing: the service never
  calls the EHR's FHIR server. A malformed request is a 400 with a JSON ``error``.
- ``POST /cds-services/{id}/feedback``: each entry appended to the feedback log as one JSON line.

The service runs behind the EHR's TLS; with a key set (``--cds-jwks``) it verifies the EHR's
bearer JWTs (:mod:`.cds_auth`).
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ..cases.loading import validate_case
from ..errors import CaseError, printable
from ..intake.fhir import OBSERVATION_CODES, case_from_resources
from ..intake.fhir_projection import Projected, ProjectionError, bundle_resources, project
from ..kb.knowledge_base import KnowledgeBase
from ..planning.pipeline import plan_case
from .cds_auth import CdsSettings, FeedbackLog, KeySet, TokenRefused, default_feedback_log
from .cds_cards import Card, notice_card, plan_cards

MAX_REQUEST_BYTES = 16 * 1024 * 1024
LOINC = "http://loinc.org"
PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}&clinical-status=active",
    "medications": "MedicationRequest?patient={{context.patientId}}&status=active,on-hold",
    "observations": "Observation?patient={{context.patientId}}&code="
                    + ",".join(f"{LOINC}|{code}" for code in OBSERVATION_CODES) + "&_sort=-date&_count=100",
    "procedures": "Procedure?patient={{context.patientId}}&status=completed,in-progress&_sort=-date&_count=100",
}
# without these the service still plans, and says what it could not check (an EHR configured from an
# earlier discovery document sends no Procedures)
OPTIONAL_PREFETCH = {"procedures": "recent operations (ask whether the patient had surgery in the last 6 weeks)"}
SERVICES = {
    "medmassage-patient-view": {
        "hook": "patient-view", "title": "Medical massage plan",
        "description": "A medical massage plan from the record's problems, medications and latest vital signs: "
                       "red flags first, then what is blocked or capped, then the plan and why."},
    "medmassage-order-select": {
        "hook": "order-select", "title": "Medical massage check of the draft orders",
        "description": "The massage plan with the draft orders counted (a massage order's reasons, a new "
                       "medication): red flags, blocks and caps before the order is signed."},
}


class BadRequest(ValueError):
    """A request the service cannot read: a 400 with this message."""


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": printable(message, one_line=True)}, status_code=status)


def discovery() -> dict[str, Any]:
    return {"services": [{"id": sid, **meta, "prefetch": dict(PREFETCH)} for sid, meta in SERVICES.items()]}


def _prefetched(prefetch: dict[str, Any], key: str) -> list[Projected]:
    value = prefetch.get(key)
    if key == "patient":
        found = project(value, f"prefetch.{key}")
        if found is None or found.type != "Patient":
            raise BadRequest(f"prefetch.{key}: expected a Patient resource")
        return [found]
    if not isinstance(value, dict) or value.get("resourceType") != "Bundle":
        raise BadRequest(f"prefetch.{key}: expected a Bundle (a search result)")
    return bundle_resources(value, f"prefetch.{key}")


def read_request(body: bytes, hook: str) -> tuple[dict[str, Any], str, list[str]]:
    """The request, its patient id and the prefetch keys missing; BadRequest for a malformed one."""
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise BadRequest(f"the request is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise BadRequest("the request is not a JSON object")
    if data.get("hook") != hook:
        raise BadRequest(f"hook: this service answers {hook!r} (got {data.get('hook')!r})")
    if not isinstance(data.get("hookInstance"), str):
        raise BadRequest("hookInstance: required (a UUID)")
    context = data.get("context")
    if not isinstance(context, dict) or not isinstance(context.get("patientId"), str) or not context["patientId"]:
        raise BadRequest("context.patientId: required")
    prefetch = data.get("prefetch")
    if prefetch is not None and not isinstance(prefetch, dict):
        raise BadRequest("prefetch: expected an object")
    missing = [k for k in PREFETCH if (prefetch or {}).get(k) is None]
    return data, context["patientId"], missing


def unchecked_card(kb: KnowledgeBase, missing: list[str]) -> Card | None:
    """The info card for the optional prefetch keys the EHR did not send, if any."""
    absent = [k for k in OPTIONAL_PREFETCH if k in missing]
    if not absent:
        return None
    return notice_card(kb, "info", "Not checked: " + "; ".join(OPTIONAL_PREFETCH[k] for k in absent), [
        "The EHR sent no " + ", ".join(f"`{k}` ({PREFETCH[k]})" for k in absent) + "; the plan was made without it."])


def case_resources(data: dict[str, Any], patient_id: str, hook: str) -> list[Projected]:
    """The patient's resources in the prefetch (and, for order-select, the draft orders as if signed)."""
    prefetch = data["prefetch"]
    resources = [r for key in PREFETCH if key not in OPTIONAL_PREFETCH or prefetch.get(key) is not None
                 for r in _prefetched(prefetch, key)]
    if resources[0].id not in (None, patient_id):
        raise BadRequest(f"prefetch.patient: the Patient is {resources[0].id!r}, not the context's patient")
    resources = [r for r in resources if r.type == "Patient" or r.subject in (None, patient_id)]
    drafts = data["context"].get("draftOrders") if hook == "order-select" else None
    if drafts is not None:
        if not isinstance(drafts, dict) or drafts.get("resourceType") != "Bundle":
            raise BadRequest("context.draftOrders: expected a Bundle")
        for order in bundle_resources(drafts, "context.draftOrders"):
            if order.type == "MedicationRequest" and order.status == "draft":
                order = dataclasses.replace(order, status="active")  # counted as if signed
            resources.append(order)
    return resources


def cds_router(kb: KnowledgeBase | None = None) -> APIRouter:
    """The CDS Hooks routes. Settings come from ``app.state.cds`` (a :class:`CdsSettings`, set by
    ``serve``); the knowledge base from ``app.state.planner`` when the web application has one."""
    router = APIRouter()
    state: dict[str, Any] = {}

    def setup(request: Request) -> tuple[KnowledgeBase, Any, FeedbackLog, KeySet | None]:
        if "log" not in state:
            settings = getattr(request.app.state, "cds", None) or CdsSettings()
            state["log"] = FeedbackLog(settings.feedback_log or default_feedback_log())
            state["keys"] = KeySet(settings.jwks) if settings.jwks is not None else None
        planner = getattr(request.app.state, "planner", None)
        base = kb if kb is not None else getattr(planner, "kb", None)
        if base is None:
            from ..kb.loading import load_knowledge_base
            base = state.setdefault("kb", load_knowledge_base())
        return base, planner, state["log"], state["keys"]

    def admitted(service_id: str, request: Request) -> tuple[KnowledgeBase, Any, FeedbackLog] | JSONResponse:
        """The service's knowledge base, planner and log - or the answer to a call it does not take
        (an unknown service, a missing or refused bearer token)."""
        if service_id not in SERVICES:
            return _error(404, f"no such CDS service {service_id!r}")
        base, planner, log, keys = setup(request)
        if keys is not None:
            try:
                keys.check(request.headers.get("authorization"), request.url.path)
            except TokenRefused as exc:
                return JSONResponse({"error": str(exc)}, status_code=401, headers={"www-authenticate": "Bearer"})
        return base, planner, log

    @router.get("/cds-services")
    def cds_discovery() -> dict[str, Any]:
        return discovery()

    @router.post("/cds-services/{service_id}")
    async def cds_call(service_id: str, request: Request) -> JSONResponse:
        if isinstance(checked := admitted(service_id, request), JSONResponse):
            return checked
        base, planner, log = checked
        body = await request.body()
        if len(body) > MAX_REQUEST_BYTES:
            return _error(413, f"the request is larger than {MAX_REQUEST_BYTES // (1024 * 1024)} MiB")
        hook = SERVICES[service_id]["hook"]
        try:
            data, patient_id, missing = read_request(body, hook)
            required = [k for k in missing if k not in OPTIONAL_PREFETCH]
            if required:
                cards = [notice_card(base, "warning", f"No massage plan: the EHR sent no {', '.join(required)}", [
                    "The service plans only from what the EHR sends with the call (prefetch); it never queries "
                    "the FHIR server itself.", "",
                    "Missing: " + ", ".join(f"`{k}` ({PREFETCH[k]})" for k in required)])]
            else:
                cards = plan_or_notice(base, planner, data, patient_id, hook, request)
                if (unchecked := unchecked_card(base, missing)) is not None:
                    cards.append(unchecked)
        except (BadRequest, ProjectionError) as exc:
            return _error(400, str(exc))
        for card in cards:
            log.remember(card.uuid, service_id, card.data["indicator"], card.rules)
        return JSONResponse({"cards": [c.data for c in cards]})

    @router.post("/cds-services/{service_id}/feedback")
    async def cds_feedback(service_id: str, request: Request) -> JSONResponse:
        if isinstance(checked := admitted(service_id, request), JSONResponse):
            return checked
        log = checked[2]
        try:
            data = json.loads(await request.body())
        except ValueError:
            return _error(400, "the feedback is not JSON")
        entries = data.get("feedback") if isinstance(data, dict) else None
        if not isinstance(entries, list) or not all(isinstance(e, dict) and isinstance(e.get("card"), str)
                                                    and e.get("outcome") in ("accepted", "overridden")
                                                    for e in entries):
            return _error(400, "feedback: expected a list of {card, outcome: accepted | overridden}")
        try:
            count = log.append(service_id, entries)
        except OSError as exc:
            return _error(500, f"the feedback log cannot be written: {exc.strerror or exc}")
        return JSONResponse({"logged": count})

    return router


def plan_or_notice(kb: KnowledgeBase, planner: Any, data: dict[str, Any], patient_id: str, hook: str,
                   request: Request) -> list[Card]:
    """The plan's cards, or one card saying why the record gives no case to plan."""
    resources = case_resources(data, patient_id, hook)
    try:  # a record with more distinct problems or medications than a case holds is refused while read
        imported, _ = case_from_resources(resources, kb.vocabulary, date.today(), "prefetch")
    except CaseError as exc:
        return [notice_card(kb, "info", "No massage plan: the record gives no case the plan can start from",
                            [f"- {p.what}" for p in exc.problems])]
    try:
        case = validate_case(imported.case, "prefetch", kb.vocabulary)
    except CaseError as exc:
        return [notice_card(kb, "info", "No massage plan: the record gives no problem the plan can start from",
                            ["The record's problems, as read:", "", *(f"- {p.what}" for p in exc.problems),
                             *(f"- not mapped: {line}" for line in imported.unmapped)])]
    lock = getattr(planner, "lock", None)
    if lock is not None:
        with lock:
            result = plan_case(case, kb)
    else:
        result = plan_case(case, kb)
    plan_url = None
    plans = getattr(request.app.state, "plans", None)
    if plans is not None:  # the web application's plan page, held in memory for its lifetime
        import yaml
        plan_id = plans.add(result, yaml.safe_dump(imported.case, sort_keys=False, allow_unicode=True),
                            tuple(imported.unmapped + imported.advisories))
        plan_url = str(request.base_url).rstrip("/") + f"/plan/{plan_id}"
    return plan_cards(result, kb, patient_id, plan_url)
