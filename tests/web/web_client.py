"""What the web tests share: one application over the shipped knowledge base, a client that
speaks as the browser on this computer does, and reading the CSRF token off a form."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from medmassage_rules.kb.knowledge_base import KnowledgeBase
from medmassage_rules.web import create_app

BASE = "http://127.0.0.1:8000"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_PROBLEM = re.compile(r'<p class="problem" id="problem-([^"]+)" role="alert">([^<]*)</p>')


def client(kb: KnowledgeBase, **options: Any) -> TestClient:
    return TestClient(create_app(kb, **options), base_url=BASE)


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page holds no form with a CSRF token"
    return match.group(1)


def fresh_csrf(c: TestClient) -> str:
    """The CSRF token of a freshly served form (its cookie is now the client's)."""
    return csrf_of(c.get("/").text)


def problems_beside(html: str) -> dict[str, list[str]]:
    """The problems a form page shows beside its fields, by field name (HTML entities kept)."""
    out: dict[str, list[str]] = {}
    for field, line in _PROBLEM.findall(html):
        out.setdefault(field, []).append(line)
    return out


def post_form(c: TestClient, fields: dict[str, Any], path: str = "/plan", **kw: Any) -> Any:
    return c.post(path, data={"csrf": fresh_csrf(c), **fields}, follow_redirects=False, **kw)
