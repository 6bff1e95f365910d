"""Helpers shared by the command-line tests: run the CLI in-process or as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from click.testing import CliRunner, Result

from medmassage_rules.cli import main

from .conftest import ROOT

EXIT_INVALID = 2


def invoke(*args: str | Path) -> Result:
    """Run ``medmassage ARGS`` in-process; stdout and stderr are kept apart."""
    return CliRunner().invoke(main, [str(a) for a in args])


def run_checkout_cli(args: Sequence[str | Path], env: dict[str, str] | None = None,
                     timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``python cli.py ARGS`` from the checkout as a separate process."""
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *map(str, args)], cwd=ROOT,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def assert_refused(exit_code: int, stdout: str, stderr: str, source: str | Path) -> list[str]:
    """Exit code 2, nothing on stdout, every stderr line ``error: SOURCE: ...``, no traceback."""
    lines = error_lines(stderr)
    assert exit_code == EXIT_INVALID, (exit_code, stdout, stderr)
    assert stdout == ""
    assert "Traceback" not in stderr
    assert lines, "an invalid input must say what is wrong"
    prefix = f"error: {source}: "
    for line in lines:
        assert line.startswith(prefix), line
    return lines
