"""Linting a knowledge base: load problems, rules that never fire, redundancy, conflicts, gaps,
and evidence grades checked against their sources."""

from .findings import LintFinding, LintReport, lint_lines
from .linter import lint_knowledge_base

__all__ = ["LintFinding", "LintReport", "lint_knowledge_base", "lint_lines"]
