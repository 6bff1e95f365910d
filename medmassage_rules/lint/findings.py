"""What ``kb lint`` reports: findings (a severity and a problem, under the check that found it) and the report.

A problem the loader found belongs to the check its ``code`` names in :data:`LOAD_CHECKS`
(``invalid-rule`` when it names none); the wording of a message never decides it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import Problem

ERROR, WARNING = "error", "warning"

LOAD_CHECKS = {
    "duplicate_rule_id": "duplicate-id",
    "unknown_citation": "evidence",
    "missing_grade": "evidence",
    "invalid_grade": "evidence",
    "missing_citation": "evidence",
    "invalid_citation": "evidence",
    "unknown_id": "unknown-id",
}
OTHER_LOAD_PROBLEMS = "invalid-rule"


def check_of(code: str) -> str:
    """The lint check a loading problem belongs to, from its code."""
    return LOAD_CHECKS.get(code, OTHER_LOAD_PROBLEMS)


@dataclass(frozen=True)
class LintFinding:
    """One problem and how bad it is; ``check`` names the check that found it (by default the one
    the problem's code belongs to, :func:`check_of`)."""

    severity: str
    problem: Problem
    check: str = ""

    def __post_init__(self) -> None:
        if not self.check:
            object.__setattr__(self, "check", check_of(self.problem.code))

    @property
    def code(self) -> str:
        return self.problem.code

    @property
    def where(self) -> str:
        """The file and rule id (``conditions.yaml: rule cts-mechanisms``), or what else the problem is in."""
        return self.problem.where

    @property
    def message(self) -> str:
        return self.problem.what

    def __str__(self) -> str:
        return f"{self.severity}: {self.problem} [{self.check}]"  # a problem prints as one escaped line


@dataclass(frozen=True)
class LintReport:
    root: Path
    rules: int
    findings: tuple[LintFinding, ...]

    @property
    def errors(self) -> tuple[LintFinding, ...]:
        return tuple(f for f in self.findings if f.severity == ERROR)

    @property
    def warnings(self) -> tuple[LintFinding, ...]:
        return tuple(f for f in self.findings if f.severity == WARNING)

    @property
    def exit_code(self) -> int:
        return 1 if self.errors else 0

    def summary(self) -> str:
        return (f"{self.root}: {self.rules} rules, {len(self.errors)} error(s), "
                f"{len(self.warnings)} warning(s)")


def lint_lines(report: LintReport) -> Iterable[str]:
    """The report as lines: every finding, errors first, then the summary."""
    yield from (str(f) for f in (*report.errors, *report.warnings))
    yield report.summary()
