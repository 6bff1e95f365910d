"""The examples in docs/reasoning.md, docs/authoring-rules.md and docs/evidence.md are real output.

A ```console block starts with ``$ medmassage ...``; the rest of the block is what that
command prints. Each runs in a scratch folder holding ``facts/`` and ``rules/`` of this
checkout and ``my-rules/`` (a copy of ``rules/`` plus every ```yaml block of the doc whose
first line is ``# my-rules/<file>``), so examples of authoring and linting are real too.
A block may end with ``[exit N]`` for a command that exits N.

After a deliberate change of wording, rewrite the blocks from the current output:
``UPDATE_DOCS=1 python -m pytest tests/docs/test_doc_examples.py``.
"""

from __future__ import annotations

import io
import os
import re
import shlex
import shutil
from pathlib import Path

import pytest

from medmassage_rules.cli import run

from ..conftest import ROOT

DOCS = [ROOT / "docs" / name for name in ("reasoning.md", "authoring-rules.md", "evidence.md")]
BLOCK = re.compile(r"```(?P<lang>console|yaml)\n(?P<body>.*?)```\n", re.S)
EXIT = re.compile(r"^\[exit (\d+)\]$")


def _workspace(doc: Path, tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "facts", tmp_path / "facts")
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    shutil.copytree(ROOT / "rules", tmp_path / "my-rules")
    for match in BLOCK.finditer(doc.read_text(encoding="utf-8")):
        first, _, rest = match["body"].partition("\n")
        if match["lang"] == "yaml" and first.startswith("# my-rules/"):
            (tmp_path / first[2:].strip()).write_text(rest, encoding="utf-8")
    return tmp_path


def _run(command: str) -> tuple[str, int]:
    args = shlex.split(command)
    assert args[0] == "medmassage"
    terminal = io.StringIO()  # stdout and stderr as a terminal shows them
    code = run(args[1:], stdin=io.StringIO(""), stdout=terminal, stderr=terminal)
    text = terminal.getvalue().rstrip("\n")
    if code:
        text += f"\n[exit {code}]"
    return text, code


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_console_example_is_the_current_output(doc: Path, tmp_path: Path, monkeypatch) -> None:
    text = doc.read_text(encoding="utf-8")
    monkeypatch.chdir(_workspace(doc, tmp_path))
    examples = [m for m in BLOCK.finditer(text) if m["lang"] == "console"]
    assert examples, f"{doc.name} shows no command"
    updated, stale = text, []
    for match in examples:
        command, _, shown = match["body"].partition("\n")
        assert command.startswith("$ medmassage "), command
        actual, _ = _run(command[2:])
        if shown.rstrip("\n") != actual:
            stale.append(command)
            updated = updated.replace(match.group(0), f"```console\n{command}\n{actual}\n```\n", 1)
    if stale and os.environ.get("UPDATE_DOCS"):
        doc.write_text(updated, encoding="utf-8")
        return
    assert not stale, f"{doc.name}: output changed for {stale}; rerun with UPDATE_DOCS=1 if that is intended"


def test_the_docs_name_every_check_of_lint_and_every_grade() -> None:
    authoring = (ROOT / "docs" / "authoring-rules.md").read_text(encoding="utf-8")
    for check in ("unknown-id", "duplicate-id", "evidence", "never-fires", "redundant", "conflict", "gap",
                  "unused-term", "invalid-rule", "grade-source", "traceable", "claim-acuity"):
        assert f"`{check}`" in authoring, check
    from medmassage_rules.kb.condition_operators import MODIFIERS, OPERATORS

    for op in [*OPERATORS, *MODIFIERS]:
        assert f"`{op}`" in authoring, op
    evidence = (ROOT / "docs" / "evidence.md").read_text(encoding="utf-8")
    from medmassage_rules.kb.loading import load_knowledge_base

    for caveat in load_knowledge_base().caveats:
        assert caveat.id in evidence, caveat.id
