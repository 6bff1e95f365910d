"""docs/cli.md: every command's usage line names the command once, as a user types it."""

from __future__ import annotations

import re

from ..conftest import ROOT


def test_every_usage_line_is_the_command_as_typed() -> None:
    reference = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    sections = re.findall(r"^## `([^`]+)`\n\n```\n(.*?)\n```", reference, flags=re.M | re.S)
    assert len(sections) >= 10
    for command, body in sections:
        usage = body.splitlines()[0]
        assert usage.startswith(f"Usage: {command} ") or usage == f"Usage: {command}", (command, usage)
        assert usage.count("medmassage") == 1, usage
    assert "Usage: medmassage import fhir " in reference
