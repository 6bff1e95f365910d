"""Shared fixtures: the shipped knowledge base (loaded once) and the example cases."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, settings

from medmassage_rules.kb.knowledge_base import KnowledgeBase
from medmassage_rules.kb.loading import load_knowledge_base

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from medmassage_rules.lint.findings import LintReport

# A busy machine (CI on two cores, every core running tests) can make one draw slow; a property's
# examples are what it checks, not how fast they are drawn (speed is measured in bench/).
settings.register_profile("project", suppress_health_check=[HealthCheck.too_slow], deadline=None)
settings.load_profile("project")

ROOT = Path(__file__).resolve().parent.parent
FACTS = ROOT / "facts"
_CACHE: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    """The tests' knowledge-base cache lives in a folder of their own, never the user's."""
    _CACHE.append(tempfile.mkdtemp(prefix="medmassage-tests-cache-"))
    os.environ["XDG_CACHE_HOME"] = _CACHE[-1]


def pytest_unconfigure(config: pytest.Config) -> None:
    for folder in _CACHE:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_knowledge_base()


@pytest.fixture(scope="session")
def vocab(kb: KnowledgeBase):
    return kb.vocabulary


@pytest.fixture(scope="session")
def shipped_lint() -> LintReport:
    """``kb lint`` of the shipped knowledge base, run once for every test that reads it."""
    from medmassage_rules.lint.linter import lint_knowledge_base  # networkx and the linter: only when asked for

    return lint_knowledge_base()


CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; .ci/run installs it


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's chromium driven by Playwright through ``executable_path`` (never a browser download)."""
    from playwright.sync_api import sync_playwright  # only the real-browser tests need it

    assert CHROMIUM.is_file(), "Debian's chromium is missing: apt-get install chromium (.ci/run does)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield b
        b.close()
