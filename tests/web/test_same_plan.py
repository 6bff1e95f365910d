"""A property: any case the command line accepts gives, on the web, the same plan JSON."""

from __future__ import annotations

import io
import json

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from medmassage_rules.cli import run

from ..strategies import case_dicts
from .web_client import client


@pytest.fixture(scope="module")
def web(kb):
    return client(kb)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=case_dicts())
def test_the_api_plans_any_case_as_recommend_does(web, data) -> None:
    text = yaml.safe_dump(data, sort_keys=False)
    out, err = io.StringIO(), io.StringIO()
    code = run(["recommend", "-", "--format", "json"], stdin=io.StringIO(text), stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    as_yaml = web.post("/api/plan", content=text.encode(), headers={"content-type": "application/yaml"})
    as_json = web.post("/api/plan", content=json.dumps(data).encode(), headers={"content-type": "application/json"})
    assert as_yaml.status_code == as_json.status_code == 200
    assert as_yaml.text == as_json.text == out.getvalue()
