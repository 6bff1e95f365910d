"""Every route of ``medmassage serve`` and its error paths, through FastAPI's TestClient."""

from __future__ import annotations

import html
import io
import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from medmassage_rules.cases.loading import load_case
from medmassage_rules.cli import run
from medmassage_rules.planning.pipeline import plan_case
from medmassage_rules.render.brief import MAX_BRIEF_LINES, versions
from medmassage_rules.render.soap import render_soap
from medmassage_rules.web.service import PlanStore

from ..conftest import FACTS
from ..intake.test_fhir import ICD, RXNORM, bundle, concept, condition
from .web_client import client, csrf_of, post_form, problems_beside

P05 = FACTS / "p05-fibromyalgia-warfarin.yaml"
E11 = FACTS / "e11-sciatica-red-flag.yaml"


@pytest.fixture(scope="module")
def web(kb):
    return client(kb)


def cli_json(path) -> str:
    out, err = io.StringIO(), io.StringIO()
    assert run(["recommend", str(path), "--format", "json"], stdout=out, stderr=err) == 0, err.getvalue()
    return out.getvalue()


def plan_page_of(web, response) -> tuple[str, str]:
    assert response.status_code == 303, response.text[:500]
    location = response.headers["location"]
    assert re.fullmatch(r"/plan/[A-Za-z0-9_-]{20,}", location)
    page = web.get(location)
    assert page.status_code == 200
    return location, page.text


def test_the_form_page_is_served_with_its_security_headers_and_csrf_cookie(web) -> None:
    r = web.get("/")
    assert r.status_code == 200
    assert "<form method=\"post\" action=\"/plan\"" in r.text
    assert r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.cookies.get("medmassage_csrf") == csrf_of(r.text)
    assert versions(web.app.state.planner.kb) in r.text
    assert "Decision support for trained therapists; not a diagnosis." in r.text
    assert web.get("/static/style.css").status_code == 200
    assert "@media print" in web.get("/static/style.css").text


def test_a_filled_form_plans_the_case_the_cli_would(web, kb) -> None:
    fields = {"id": "p05-form", "age": "66", "sex": "female", "diagnoses-0-condition": "fibromyalgia",
              "diagnoses-0-acuity": "chronic", "medications": "warfarin", "max_minutes": "45",
              "modalities": ["deep_tissue", "trigger_point_therapy"]}
    location, page = plan_page_of(web, post_form(web, fields))
    expected = json.loads(cli_json(P05))
    expected["case_id"] = "p05-form"
    assert json.loads(web.get(f"{location}/plan.json").text) == expected
    assert "TREAT WITH PRECAUTIONS" in page
    case = yaml.safe_load(web.get(f"{location}/case.yaml").text)
    assert case == {"id": "p05-form", "patient": {"age": 66, "sex": "female"},
                    "diagnoses": [{"condition": "fibromyalgia", "acuity": "chronic"}], "medications": ["warfarin"],
                    "prescription": {"max_minutes": 45, "modalities": ["deep_tissue", "trigger_point_therapy"]}}


def test_the_plan_page_holds_brief_timeline_chart_every_why_and_the_foot(web, kb) -> None:
    location, page = plan_page_of(web, post_form(web, {"id": "p05", "diagnoses-0-condition": "fibromyalgia",
                                                       "medications": "warfarin", "modalities": ["deep_tissue"]}))
    result = plan_case(load_case(P05, kb.vocabulary).model_copy(update={"id": "p05"}), kb)
    plan = result.plan
    brief = re.search(r'<ul class="brief">(.*?)</ul>', page, re.S).group(1)
    assert 1 <= brief.count("<li>") <= MAX_BRIEF_LINES - 2
    assert 'class="banner banner-caution"' in page
    assert page.count('<svg class="body"') == 2
    assert 'class="region blocked"' not in page  # no area is blocked in this case ...
    assert 'class="region light"' in page         # ... and the worked ones are light
    for m in plan.modalities:
        assert f'id="why-{m.id}"' in page
    for b in plan.blocked_modalities:
        assert f'id="why-not-{b.id}"' in page
    for t in plan.targets:
        assert f'id="why-target-{t.id}"' in page
    assert "doi.org/10.1371/journal.pone.0089304" in page  # a source link of the explanation
    assert page.index("Decision support for trained therapists") > page.index("SOAP note draft")
    assert versions(kb) in page
    assert "0–30 min" in page or "0–15 min" in page


def test_blocked_areas_are_hatched_labelled_and_explained_in_the_legend(web, kb) -> None:
    case = (FACTS / "e04-known-dvt-cleared.yaml").read_bytes()
    r = post_form(web, {}, "/upload", files={"case": ("e04.yaml", case, "application/yaml")})
    _, page = plan_page_of(web, r)
    plan = plan_case(load_case(FACTS / "e04-known-dvt-cleared.yaml", kb.vocabulary), kb).plan
    assert plan.blocked_areas
    assert 'class="region blocked"' in page and "✕" in page and "url(#hatch)" in web.get("/static/style.css").text
    for area in plan.blocked_areas:
        key = area.id if area.side is None else f"{area.id}-{area.side}"
        assert f'<li id="area-{key}" class="blocked">' in page
        assert f'href="#area-{key}"' in page


def test_problems_are_shown_beside_their_fields_in_the_cli_words(web) -> None:
    r = post_form(web, {"id": "x", "age": "abc", "diagnoses-1-condition": "carpal tunel syndrome",
                        "findings-0-finding": "trigger_point", "systolic": "900", "medications": "<b>aspirin</b>"})
    assert r.status_code == 422
    beside = problems_beside(r.text)
    assert "did you mean carpal_tunnel_syndrome" in beside["diagnoses-1-condition"][0]
    assert beside["age"] == ["Input should be a valid integer (got &#39;abc&#39;)"]
    assert any("needs a target" in line for line in beside["findings-0-site"])
    assert beside["systolic"] == ["Input should be less than or equal to 320 (got 900)"]
    assert 'value="carpal tunel syndrome"' in r.text  # what was typed stays in its field
    assert "&lt;b&gt;aspirin&lt;/b&gt;" in r.text and "<b>aspirin</b>" not in r.text


def test_an_empty_form_says_a_diagnosis_is_needed(web) -> None:
    r = post_form(web, {})
    assert r.status_code == 422
    assert any("at least 1 item" in line for line in problems_beside(r.text)["diagnoses"])


def test_a_case_file_upload_plans_and_downloads_as_it_was_sent(web) -> None:
    text = P05.read_bytes()
    location, _ = plan_page_of(web, post_form(web, {}, "/upload", files={"case": ("p05.yaml", text, "text/yaml")}))
    assert web.get(f"{location}/case.yaml").content == text
    assert 'filename="p05-fibromyalgia-warfarin.yaml"' in web.get(f"{location}/case.yaml").headers[
        "content-disposition"]
    as_json = json.dumps(yaml.safe_load(text)).encode()
    location, _ = plan_page_of(web, post_form(web, {}, "/upload", files={"case": ("p05.json", as_json, "x/y")}))
    assert yaml.safe_load(web.get(f"{location}/case.yaml").text) == yaml.safe_load(text)
    assert web.get(f"{location}/plan.json").text == cli_json(P05)


def test_a_bad_upload_is_refused_with_the_cli_lines(web) -> None:
    r = post_form(web, {}, "/upload", files={"case": ("c.yaml", b"id: x\ndiagnoses: [{condition: nope}]\n", "")})
    assert r.status_code == 422
    assert "error: upload: diagnoses[0].condition: unknown condition id (got &#39;nope&#39;)" in r.text
    assert post_form(web, {}, "/upload").status_code == 400


def test_a_fhir_bundle_upload_is_imported_and_planned(web, kb) -> None:
    data = bundle(condition(concept(ICD, "G56.01", "Carpal tunnel syndrome, right upper limb"), onset="2020-12-01"),
                  {"resourceType": "MedicationRequest", "id": "m2", "status": "active", "intent": "order",
                   "subject": {"reference": "urn:uuid:p1"},
                   "medicationCodeableConcept": concept(RXNORM, "1", "Warfarin 5 MG")})
    r = post_form(web, {}, "/upload/fhir", files={"bundle": ("b.json", json.dumps(data).encode(), "application/json")})
    location, page = plan_page_of(web, r)
    case = yaml.safe_load(web.get(f"{location}/case.yaml").text)
    assert case["diagnoses"][0]["icd10"] == "G56.01" and "warfarin" in str(case["medications"]).lower()
    assert "why-not-deep_tissue" in page  # warfarin blocks deep tissue work
    bad = post_form(web, {}, "/upload/fhir", files={"bundle": ("b.json", b'{"resourceType": "Patient"}', "")})
    assert bad.status_code == 422 and "not a FHIR Bundle" in bad.text


def test_an_unknown_or_expired_plan_is_404(web, kb) -> None:
    assert web.get("/plan/nope").status_code == 404
    assert web.get("/plan/" + "a" * 500).status_code == 404
    assert web.get("/plan/nope/case.yaml").status_code == 404
    assert web.get("/plan/nope/plan.json").json() == {"errors": ["error: no such plan"]}
    gone = client(kb, store=PlanStore(ttl=0))
    r = post_form(gone, {"diagnoses-0-condition": "fibromyalgia"})
    assert r.status_code == 303 and gone.get(r.headers["location"]).status_code == 404


def test_the_store_keeps_at_most_its_limit(kb) -> None:
    store = PlanStore(limit=2)
    result = plan_case(load_case(P05, kb.vocabulary), kb)
    ids = [store.add(result, "") for _ in range(3)]
    assert store.get(ids[0]) is None and store.get(ids[2]) is not None and len(store) == 2


def test_the_soap_draft_is_the_cli_one_editable_and_downloadable(web, kb) -> None:
    location, page = plan_page_of(web, post_form(web, {}, "/upload", files={"case": ("p.yaml", P05.read_bytes(), "")}))
    out = io.StringIO()
    assert run(["recommend", str(P05), "--format", "soap"], stdout=out) == 0
    textarea = re.search(r'<textarea name="note"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    assert html.unescape(textarea) == out.getvalue().rstrip("\n")
    r = web.post(f"{location}/soap", data={"csrf": csrf_of(page), "note": "S: edited\r\nP: rest"})
    assert r.status_code == 200 and r.text == "S: edited\nP: rest"
    assert r.headers["content-disposition"] == 'attachment; filename="p05-fibromyalgia-warfarin-soap.txt"'
    assert web.post(f"{location}/soap", data={"note": "x"}).status_code == 403
    assert render_soap(plan_case(load_case(P05, kb.vocabulary), kb), kb) == out.getvalue().rstrip("\n")


@pytest.mark.parametrize("kind", ["application/yaml", "application/json"])
def test_the_api_answers_the_cli_plan_json(web, kind) -> None:
    body = P05.read_bytes() if kind.endswith("yaml") else json.dumps(yaml.safe_load(P05.read_bytes())).encode()
    r = web.post("/api/plan", content=body, headers={"content-type": kind})
    assert r.status_code == 200 and r.text == cli_json(P05)


def test_the_api_errors_are_the_cli_lines(web) -> None:
    bad = b"id: x\ndiagnoses: [{condition: carpal_tunel_syndrome, side: up}]\n"
    err = io.StringIO()
    assert run(["recommend", "-"], stdin=io.StringIO(bad.decode()), stdout=io.StringIO(), stderr=err) == 2
    r = web.post("/api/plan", content=bad, headers={"content-type": "application/yaml"})
    assert r.status_code == 422
    assert r.json()["errors"] == [line.replace("<stdin>", "<request>") for line in err.getvalue().splitlines()]
    r = web.post("/api/plan", content=b"id: [unclosed", headers={"content-type": "application/yaml"})
    assert r.status_code == 400 and "invalid YAML" in r.json()["errors"][0]
    r = web.post("/api/plan", content=b"{}", headers={"content-type": "text/plain"})
    assert r.status_code == 415 and "application/json" in r.json()["errors"][0]


def test_concurrent_requests_get_their_own_plans(web) -> None:
    cases = sorted(FACTS.glob("p0*.yaml"))[:6] * 2
    expected = {c: cli_json(c) for c in cases}

    def ask(path):
        return path, web.post("/api/plan", content=path.read_bytes(), headers={"content-type": "application/yaml"})

    with ThreadPoolExecutor(max_workers=6) as pool:
        for path, r in pool.map(ask, cases):
            assert r.status_code == 200 and r.text == expected[path]


def test_the_log_names_no_patient_data(web, caplog) -> None:
    caplog.set_level("INFO", logger="medmassage.web")
    r = post_form(web, {"id": "Jane-Doe-1957", "diagnoses-0-condition": "fibromyalgia", "medications": "warfarin"})
    web.get(r.headers["location"])
    web.post("/api/plan", content=b"id: Jane-Doe-1957\ndiagnoses: [{condition: nope}]",
             headers={"content-type": "application/yaml"})
    logged = caplog.text
    assert "POST /plan 303" in logged and "GET /plan/{id} 200" in logged
    for secret in ("Jane-Doe-1957", "warfarin", "fibromyalgia", r.headers["location"].rsplit("/", 1)[1]):
        assert secret not in logged


def test_a_form_left_open_in_another_tab_still_posts(kb) -> None:
    tabs = client(kb)
    token = csrf_of(tabs.get("/").text)
    r = post_form(tabs, {"diagnoses-0-condition": "fibromyalgia"})
    tabs.get(r.headers["location"])  # another page served in between
    r = tabs.post("/plan", data={"csrf": token, "diagnoses-0-condition": "fibromyalgia"}, follow_redirects=False)
    assert r.status_code == 303


def test_without_the_fhir_extra_the_bundle_upload_says_what_to_install(kb, monkeypatch) -> None:
    import medmassage_rules.web.app as web_app

    monkeypatch.setattr(web_app, "_fhir_available", lambda: False)
    bare = client(kb)
    assert "pip install 'medmassage-rules[fhir]'" in bare.get("/").text
    assert 'action="/upload/fhir"' not in bare.get("/").text
    r = post_form(bare, {}, "/upload/fhir", files={"bundle": ("b.json", b"{}", "application/json")})
    assert r.status_code == 501 and "pip install" in r.text


def test_a_soap_note_of_an_unknown_plan_is_404(web) -> None:
    assert web.post("/plan/nope/soap", data={"note": "x"}).status_code == 404
