"""The FastAPI application of ``medmassage serve``: :func:`create_app` builds it.

Routes: ``GET /`` the intake form; ``POST /plan`` the form, ``POST /upload`` a case file,
``POST /upload/fhir`` a FHIR bundle - each answers the form again with every problem beside
its field (422), or sends the browser to the plan's page; ``GET /plan/{id}`` the page,
``/plan/{id}/case.yaml`` the case, ``/plan/{id}/plan.json`` the plan JSON,
``POST /plan/{id}/soap`` the edited SOAP note as a file; ``POST /api/plan`` a case in, the plan
JSON of ``recommend --format json`` out, or ``{"errors": [...]}`` with the command line's lines.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import jinja2
import yaml
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from ..cases.models import Case
from ..errors import CaseError, MedMassageError, Problem, printable, shown
from ..kb.knowledge_base import KnowledgeBase
from ..render.brief import DISCLAIMER, versions
from ..render.json import render_json
from .cds_hooks import cds_router
from .form import ROWS, Choices, case_data, field_of
from .security import CSRF_COOKIE, CSRF_FIELD, FORM_LIMIT, Guard, csrf_ok, new_token, same_origin
from .service import InputRefused, Planner, PlanStore, StoredPlan, problem_line
from .view import plan_view, source_link

EXPIRED = "error: the form has expired or came from another site; fill it in again"

FHIR_PATH = "/upload/fhir"
CDS_PREFIX = "/cds-services/"  # CDS Hooks: bundles in the prefetch, and the EHR's own JWTs instead of the token
CASE_TYPES = ("application/json", "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")


def _fhir_available() -> bool:
    try:
        from ..intake import fhir  # noqa: F401  (the import needs the [fhir] extra's packages)
    except ImportError:
        return False
    return True


def _bundle_limit() -> int:
    try:
        from ..intake.fhir import MAX_BUNDLE_BYTES
    except ImportError:
        return FORM_LIMIT
    return MAX_BUNDLE_BYTES


def _attachment(name: str) -> str:
    """A download's file name made of safe characters only (the case id is the user's text)."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in name)[:80].strip("._")
    return f'attachment; filename="{safe or "case"}"'


def create_app(kb: KnowledgeBase | None = None, *, host: str = "127.0.0.1", token: str | None = None,
               store: PlanStore | None = None) -> FastAPI:
    """The web application over ``kb`` (the shipped knowledge base when None).

    ``host`` is the address the server is bound to (the Host header may name it besides
    localhost); ``token``, when given, is required of every request.
    """
    if kb is None:
        from ..kb.loading import load_knowledge_base
        kb = load_knowledge_base()
    planner, plans = Planner(kb), store if store is not None else PlanStore()
    choices, fhir = Choices.of(kb), _fhir_available()
    foot = {"disclaimer": DISCLAIMER, "versions": versions(kb)}
    templates = jinja2.Environment(loader=jinja2.PackageLoader("medmassage_rules.web", "templates"),
                                   autoescape=True, undefined=jinja2.StrictUndefined)
    templates.globals.update(source_link=source_link)

    app = FastAPI(title="medmassage", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.planner, app.state.plans = planner, plans
    static = resources.files("medmassage_rules.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    def page(name: str, request: Request, status: int = 200, **context: Any) -> HTMLResponse:
        """A page whose forms carry the browser's CSRF token (one per browser, so that two tabs both work)."""
        held = request.cookies.get(CSRF_COOKIE, "")
        token_value = held if _TOKEN.fullmatch(held) else new_token()
        html = templates.get_template(name).render(csrf=token_value, **foot, **context)
        response = HTMLResponse(html, status_code=status)
        response.set_cookie(CSRF_COOKIE, token_value, httponly=True, samesite="strict")
        return response

    def form_page(request: Request, status: int = 200, values: Any = None, lists: Any = None, errors: Any = None,
                  general: Any = None) -> HTMLResponse:
        return page("index.html", request, status, values=values or {}, lists=lists or {}, errors=errors or {},
                    general=general or [], rows=ROWS, choices=choices, fhir=fhir)

    def refused(request: Request, status: int, lines: list[str]) -> HTMLResponse:
        return form_page(request, status, general=lines)

    async def checked_form(request: Request) -> Any:
        """The posted form, if its CSRF token and origin are right (else None)."""
        if not same_origin(request.headers.get("origin"), request.headers.get("host")):
            return None
        try:
            form = await request.form(max_files=2, max_fields=400)  # the guard bounds the whole body
        except Exception:  # a body that is not a form (wrong content type, broken multipart)
            return None
        if not csrf_ok(request.cookies.get(CSRF_COOKIE), form.get(CSRF_FIELD)):
            return None
        return form

    async def uploaded(request: Request, name: str, what: str) -> tuple[Any, Response | None]:
        """The file posted as ``name`` with a valid form, or the page that refuses the post."""
        form = await checked_form(request)
        if form is None:
            return None, refused(request, 403, [EXPIRED])
        upload = form.get(name)
        if upload is None or isinstance(upload, str):
            return None, refused(request, 400, [f"error: upload: no {what} was sent"])
        return upload, None

    def planned(case_yaml: str, case: Case, notes: tuple[str, ...] = ()) -> RedirectResponse:
        """The case planned and held; the browser is sent to its page."""
        result = planner.plan(case)
        plan_id = plans.add(result, case_yaml, notes)
        return RedirectResponse(f"/plan/{plan_id}", status_code=303)

    def stored(plan_id: str) -> StoredPlan | None:
        return plans.get(plan_id) if len(plan_id) <= 64 else None

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request) -> HTMLResponse:
        return form_page(request)

    @app.post("/plan")
    async def plan_form(request: Request) -> Response:
        form = await checked_form(request)
        if form is None:
            return refused(request, 403, [EXPIRED])
        data, rows = case_data(form, kb.vocabulary.areas)
        values = {k: v for k, v in form.items() if isinstance(v, str) and k != CSRF_FIELD}
        lists = {k: form.getlist(k) for k in ("clearances", "modalities", "exclude_modalities", "focus_areas")}
        try:
            case = planner.case_from_data(data, "form")
        except CaseError as exc:
            errors: dict[str, list[str]] = {}
            general = []
            for p in exc.problems:
                field = field_of(p.path, rows)
                if field is None:
                    general.append(problem_line(p))
                else:
                    errors.setdefault(field, []).append(_beside(p))
            return form_page(request, 422, values, lists, errors, general)
        case_yaml = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        return planned(case_yaml, case)

    @app.post("/upload")
    async def upload_case(request: Request) -> Response:
        upload, refusal = await uploaded(request, "case", "case file")
        if refusal is not None:
            return refusal
        data = await upload.read(FORM_LIMIT + 1)
        try:
            case = planner.case_from_bytes(data, "upload")
        except CaseError as exc:
            return refused(request, 422, [problem_line(p) for p in exc.problems])
        text = data.decode("utf-8-sig")
        if text.lstrip().startswith("{"):
            text = yaml.safe_dump(yaml.safe_load(text), sort_keys=False, allow_unicode=True)
        return planned(text, case)

    @app.post(FHIR_PATH)
    async def upload_bundle(request: Request) -> Response:
        if not fhir:
            return refused(request, 501, ["error: a FHIR bundle needs the optional extra: "
                                          "pip install 'medmassage-rules[fhir]'"])
        upload, refusal = await uploaded(request, "bundle", "bundle")
        if refusal is not None:
            return refusal
        try:
            data, case_yaml, notes = planner.case_from_bundle(await upload.read(), "bundle")
            case = planner.case_from_data(data, "bundle")
        except (InputRefused, CaseError) as exc:
            return refused(request, 422, [problem_line(p) for p in exc.problems])
        return planned(case_yaml, case, notes)

    @app.get("/plan/{plan_id}", response_class=HTMLResponse)
    def plan_page(request: Request, plan_id: str) -> HTMLResponse:
        held = stored(plan_id)
        if held is None:
            return page("message.html", request, 404, title="No such plan",
                        lines=["This plan is not held (plans are kept in memory for an hour): plan the case again."])
        with planner.lock:
            view = plan_view(held.result, kb)
        v = kb.vocabulary
        return page("plan.html", request, view=view, plan=held.result.plan, plan_id=plan_id, notes=held.notes,
                    referral_words=v.referrals, clearance_words=v.clearances)

    @app.get("/plan/{plan_id}/case.yaml")
    def case_yaml(plan_id: str) -> Response:
        held = stored(plan_id)
        if held is None:
            return PlainTextResponse("no such plan", status_code=404)
        return Response(held.case_yaml, media_type="application/yaml; charset=utf-8",
                        headers={"content-disposition": _attachment(f"{held.result.plan.case_id}.yaml")})

    @app.get("/plan/{plan_id}/plan.json")
    def plan_json(plan_id: str) -> Response:
        held = stored(plan_id)
        if held is None:
            return JSONResponse({"errors": ["error: no such plan"]}, status_code=404)
        return Response(render_json(held.result) + "\n", media_type="application/json")

    @app.post("/plan/{plan_id}/soap")
    async def soap_note(request: Request, plan_id: str) -> Response:
        held = stored(plan_id)
        if held is None:
            return PlainTextResponse("no such plan", status_code=404)
        form = await checked_form(request)
        if form is None or not isinstance(form.get("note"), str):
            return PlainTextResponse("the form has expired or came from another site; reload the plan", 403)
        note = str(form.get("note")).replace("\r\n", "\n")
        return PlainTextResponse(note, headers={"content-disposition": _attachment(
            f"{held.result.plan.case_id}-soap.txt")})

    @app.post("/api/plan")
    async def api_plan(request: Request) -> Response:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in CASE_TYPES:
            return JSONResponse({"errors": [f"error: <request>: send the case as {' or '.join(CASE_TYPES[:2])} "
                                            f"(got {kind or 'no content type'!r})"]}, status_code=415)
        try:
            case = planner.case_from_bytes(await request.body(), "<request>")
            result = planner.plan(case)
        except CaseError as exc:
            status = 400 if all(p.code in _UNREADABLE for p in exc.problems) else 422
            return JSONResponse({"errors": [problem_line(p) for p in exc.problems]}, status_code=status)
        except MedMassageError as exc:
            return JSONResponse({"errors": [f"error: {exc}"]}, status_code=400)
        return Response(render_json(result) + "\n", media_type="application/json")

    bundle_limit = _bundle_limit()
    app.include_router(cds_router(kb))  # HL7 CDS Hooks 2.0 under /cds-services (web/cds_hooks.py, docs/ehr.md)
    app.add_middleware(Guard, hosts={host}, token=token, limits={FHIR_PATH: bundle_limit, CDS_PREFIX: bundle_limit},
                       own_auth=(CDS_PREFIX.rstrip("/"),))  # outermost: before any route reads a byte
    return app


_TOKEN = re.compile(r"[A-Za-z0-9_-]{24,64}")
_UNREADABLE = frozenset({"too_large", "not_utf8", "invalid_yaml", "invalid_json", "invalid_document", "too_deep",
                         "not_a_number", "empty", "not_a_mapping"})


def _beside(p: Problem) -> str:
    """A problem beside its field: the command line's message and value (the field itself says where)."""
    return printable(p.message + (f" (got {shown(p.value)})" if p.has_value else ""), one_line=True)
