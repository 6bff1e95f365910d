"""Any output encoding works: what the terminal cannot show is escaped, never a crash."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ..conftest import FACTS, ROOT

P05 = FACTS / "p05-fibromyalgia-warfarin.yaml"


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252"])  # (click itself writes UTF-8 where it finds ASCII)
@pytest.mark.parametrize("args", [["recommend", P05, "--format", "markdown"], ["recommend", P05, "--explain"],
                                  ["explain", P05, "--why", "swedish"]])
def test_a_terminal_that_cannot_show_an_arrow_gets_its_escape(args: list, encoding: str) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "cli.py"), *map(str, args)], cwd=ROOT, capture_output=True,
                          env={**os.environ, "PYTHONIOENCODING": encoding}, timeout=60)
    assert done.returncode == 0, done.stderr
    assert b"Traceback" not in done.stderr
    assert done.stdout.decode(encoding).strip()  # and nothing the terminal's encoding cannot read
