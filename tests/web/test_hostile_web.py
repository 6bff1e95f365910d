"""Hostile requests: huge, non-UTF-8, script tags, wrong content types, a bad Host, a missing or
foreign CSRF token, a server bound beyond localhost without its token. None gets a 500 or a
traceback; every text from a request comes back escaped."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medmassage_rules.files.reading import MAX_CASE_BYTES
from medmassage_rules.web.security import host_name

from .web_client import client, fresh_csrf, post_form

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def web(kb):
    return client(kb)


def test_a_body_over_the_limit_is_413_before_it_is_read(web) -> None:
    big = b"x" * (MAX_CASE_BYTES + 1)
    r = web.post("/api/plan", content=big, headers={"content-type": "application/yaml"})
    assert r.status_code == 413 and r.json() == {"errors": ["error: request body is larger than 1 MiB; refused"]}
    r = post_form(web, {}, "/upload", files={"case": ("c.yaml", big, "text/yaml")})
    assert r.status_code == 413 and "larger than 1 MiB" in r.text
    r = post_form(web, {"medications": "a" * MAX_CASE_BYTES})
    assert r.status_code == 413


def test_a_chunked_body_over_the_limit_is_413_too(web) -> None:
    def chunks():
        for _ in range(20):
            yield b"y" * 65536
    r = web.post("/api/plan", content=chunks(), headers={"content-type": "application/yaml"})
    assert r.status_code == 413


def test_a_bad_host_header_is_refused(web) -> None:
    assert web.get("/", headers={"host": "evil.example"}).status_code == 400
    assert web.get("/", headers={"host": "127.0.0.1.evil.example:8000"}).status_code == 400
    assert web.get("/", headers={"host": "localhost:8000"}).status_code == 200
    assert host_name("[::1]:8000") == "[::1]" and host_name("LOCALHOST") == "localhost"


def test_form_posts_need_their_own_csrf_token_and_origin(web) -> None:
    fields = {"diagnoses-0-condition": "fibromyalgia"}
    assert web.post("/plan", data=fields, follow_redirects=False).status_code == 403
    token = fresh_csrf(web)
    assert web.post("/plan", data={**fields, "csrf": token + "x"}, follow_redirects=False).status_code == 403
    r = web.post("/plan", data={**fields, "csrf": token}, headers={"origin": "http://evil.example"},
                 follow_redirects=False)
    assert r.status_code == 403 and "another site" in r.text
    r = web.post("/plan", data={**fields, "csrf": token}, headers={"origin": "null"}, follow_redirects=False)
    assert r.status_code == 403
    assert web.post("/upload", files={"case": ("c.yaml", b"id: x", "")}).status_code == 403


def test_wrong_content_types_are_refused_cleanly(web) -> None:
    r = web.post("/plan", content=b"\xff\xfe garbage", headers={"content-type": "application/octet-stream"})
    assert r.status_code == 403
    r = web.post("/upload", content=b"--x\r\nbroken", headers={"content-type": "multipart/form-data; boundary=x"})
    assert r.status_code == 403
    r = web.post("/api/plan", content=b"id: x", headers={"content-type": "multipart/form-data"})
    assert r.status_code == 415


def test_non_utf8_uploads_and_api_bodies_are_one_line(web) -> None:
    r = web.post("/api/plan", content=b"id: \xff\xfe\n", headers={"content-type": "application/yaml"})
    assert r.status_code == 400 and r.json() == {"errors": ["error: <request>: input is not UTF-8 text (byte 4)"]}
    r = post_form(web, {}, "/upload", files={"case": ("c.yaml", b"\xc3\x28 bad", "text/yaml")})
    assert r.status_code == 422 and "not UTF-8" in r.text
    r = post_form(web, {}, "/upload/fhir", files={"bundle": ("b.json", b"\xff{}", "application/json")})
    assert r.status_code == 422 and "not UTF-8" in r.text


def test_script_tags_come_back_escaped(web) -> None:
    r = post_form(web, {"id": SCRIPT, "diagnoses-0-condition": SCRIPT, "medications": SCRIPT, "sex": SCRIPT})
    assert r.status_code == 422
    assert SCRIPT not in r.text and "&lt;script&gt;" in r.text
    r = post_form(web, {"id": SCRIPT, "diagnoses-0-condition": "fibromyalgia", "medications": SCRIPT})
    assert r.status_code == 303
    page = web.get(r.headers["location"]).text
    assert SCRIPT not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    download = web.get(r.headers["location"] + "/case.yaml")
    assert download.headers["content-disposition"] == 'attachment; filename="script_alert_1___script_.yaml"'
    r = web.post("/api/plan", content=json.dumps({"id": SCRIPT, "diagnoses": [{"condition": SCRIPT}]}).encode(),
                 headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.headers["content-type"] == "application/json"


def test_a_plan_id_is_never_a_path(web) -> None:
    for probe in ("../../etc/passwd", "..%2f..%2fetc%2fpasswd", "%00", "x" * 5000):
        r = web.get(f"/plan/{probe}/case.yaml")
        assert r.status_code == 404 and "root:" not in r.text
    assert web.get("/static/../app.py").status_code == 404


def test_a_server_beyond_localhost_needs_its_token(kb) -> None:
    remote = client(kb, host="192.0.2.10", token="s3cret-token")
    assert remote.get("/").status_code == 401
    assert remote.get("/?token=wrong").status_code == 401
    r = remote.get("/?token=s3cret-token")
    assert r.status_code == 200 and "medmassage_token=s3cret-token; HttpOnly; SameSite=Strict" in r.headers[
        "set-cookie"]
    assert remote.get("/").status_code == 200  # the cookie now carries it
    fresh = client(kb, host="192.0.2.10", token="s3cret-token")
    bearer = {"authorization": "Bearer s3cret-token"}
    r = fresh.post("/api/plan", content=b"id: x", headers={"content-type": "application/yaml", **bearer})
    assert r.status_code == 422
    assert fresh.get("/", headers={"host": "192.0.2.10:8000", **bearer}).status_code == 200


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=400) | st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
       kind=st.sampled_from(["application/yaml", "application/json"]))
def test_no_api_body_gets_a_500(web, body: bytes, kind: str) -> None:
    r = web.post("/api/plan", content=body, headers={"content-type": kind})
    assert r.status_code in (200, 400, 422), r.text
    assert set(r.json()) != {"errors"} or all(line.startswith("error: <request>") for line in r.json()["errors"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=st.dictionaries(st.sampled_from(["id", "age", "diagnoses-0-condition", "diagnoses-0-side",
                                               "diagnoses-2-onset_days", "findings-1-site", "history-0-item",
                                               "history-0-weeks", "medications", "systolic", "max_minutes",
                                               "modalities", "clearances", "temperature_c"]),
                              st.text(max_size=40)))
def test_no_form_gets_a_500(web, fields: dict[str, str]) -> None:
    r = post_form(web, fields)
    assert r.status_code in (303, 422), r.text[:300]


def test_an_unexpected_error_is_a_plain_500_logged_by_its_type_only(kb, caplog) -> None:
    from fastapi.testclient import TestClient

    from medmassage_rules.web import create_app

    app = create_app(kb)

    def broken() -> None:
        raise RuntimeError("Jane-Doe-1957 warfarin")

    app.add_api_route("/api/broken", broken, methods=["POST"])
    app.add_api_route("/broken", broken)
    caplog.set_level("INFO", logger="medmassage.web")
    web = TestClient(app, base_url="http://127.0.0.1:8000", raise_server_exceptions=False)
    r = web.post("/api/broken", content=b"{}", headers={"content-type": "application/json"})
    assert r.status_code == 500 and r.json() == {"errors": ["error: internal error; the case was not planned"]}
    r = web.get("/broken")
    assert r.status_code == 500 and r.text == "internal error; the case was not planned\n"
    assert "internal error RuntimeError on GET /broken" in caplog.text
    assert "Jane-Doe" not in caplog.text and "Traceback" not in caplog.text


def test_a_fhir_bundle_may_be_larger_than_a_case_file(web) -> None:
    from ..intake.test_fhir import ICD, bundle, concept, condition

    data = bundle(condition(concept(ICD, "G56.01", "Carpal tunnel syndrome, right upper limb"), onset="2020-12-01"))
    padding = "<div>" + "x" * (2 * MAX_CASE_BYTES) + "</div>"
    data["entry"][0]["resource"]["text"] = {"status": "generated", "div": padding}
    body = json.dumps(data).encode()
    assert len(body) > 2 * MAX_CASE_BYTES
    r = post_form(web, {}, "/upload/fhir", files={"bundle": ("b.json", body, "application/json")})
    assert r.status_code == 303, r.text[:300]


def test_bound_to_every_address_any_host_name_passes_with_the_token(kb) -> None:
    lan = client(kb, host="0.0.0.0", token="s3cret-token")
    bearer = {"authorization": "Bearer s3cret-token"}
    assert lan.get("/", headers={"host": "192.168.1.5:8000", **bearer}).status_code == 200
    assert lan.get("/", headers={"host": "clinic-pc.local:8000"}).status_code == 401
    assert client(kb, host="0.0.0.0").get("/", headers={"host": "evil.example"}).status_code == 400
