"""Docs that can't drift: the CLI reference and the rule list are generated, and must be current."""

from __future__ import annotations

import importlib.util

import pytest

from ..conftest import ROOT

_spec = importlib.util.spec_from_file_location("docs_generate", ROOT / "docs" / "generate.py")
assert _spec is not None and _spec.loader is not None
generate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generate)


@pytest.mark.parametrize("page", sorted(generate.PAGES))
def test_generated_page_is_current(page: str) -> None:
    on_disk = (ROOT / "docs" / page).read_text(encoding="utf-8")
    assert on_disk == generate.PAGES[page](), f"docs/{page} is stale: run `python docs/generate.py`"


def test_every_command_is_in_the_cli_reference() -> None:
    reference = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for path, _ in generate._commands(generate.main, ["medmassage"]):
        assert f"## `{' '.join(path)}`" in reference


def test_every_rule_is_documented(kb) -> None:
    reference = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    for rule in kb.rules:
        assert f"| `{rule.id}` | {rule.description} |" in reference
    for caveat in kb.caveats:
        assert f"`{caveat.id}`" in reference


def test_every_rule_has_a_row_in_the_evidence_table(kb) -> None:
    evidence = (ROOT / "docs" / "evidence.md").read_text(encoding="utf-8")
    for rule in kb.rules:
        assert f"| `{rule.id}` | {rule.description.replace('|', chr(92) + '|')} | {rule.grade} | {rule.citation}" \
            in evidence, rule.id
    for key, ref in kb.reference_meta.items():
        found = ref.finding or ref.note
        if found and any(r.citation == key for r in kb.rules):
            assert found.replace("|", chr(92) + "|") in evidence, key
