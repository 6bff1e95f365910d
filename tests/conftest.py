"""Shared fixtures: the shipped knowledge base (loaded once) and the example cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from medmassage_rules.kb.knowledge_base import KnowledgeBase
from medmassage_rules.kb.loading import load_knowledge_base

ROOT = Path(__file__).resolve().parent.parent
FACTS = ROOT / "facts"


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_knowledge_base()


@pytest.fixture(scope="session")
def vocab(kb: KnowledgeBase):
    return kb.vocabulary
