"""The one error hierarchy of the package.

Two families are kept apart: a bad knowledge base (:class:`RuleDefinitionError`, found
when the rules are loaded) and a bad case (:class:`CaseError`, one problem in one case
file, with the field path and offending value). Validation collects every problem and
raises them together so a user sees all of them at once.
"""

from __future__ import annotations

from dataclasses import dataclass


class MedMassageError(Exception):
    """Base class of every error this package raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem found in an input: where it is, what is wrong, and the value."""

    source: str
    path: str
    message: str
    value: object = None
    has_value: bool = False

    def __str__(self) -> str:
        where = f"{self.source}: {self.path}" if self.path else self.source
        if self.has_value:
            return f"{where}: {self.message} (got {_show(self.value)})"
        return f"{where}: {self.message}"


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class CaseError(MedMassageError):
    """A case file (or one case of a JSON Lines file) is invalid; holds every problem."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]):
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class RuleDefinitionError(MedMassageError):
    """The knowledge base is invalid; holds every problem (file, rule id, what is wrong)."""

    def __init__(self, problems: list[str] | tuple[str, ...]):
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


class UnknownIdError(MedMassageError):
    """An id given on the command line is not in the vocabulary."""

    def __init__(self, value: str, kind: str, suggestions: list[str]):
        self.value = value
        self.kind = kind
        self.suggestions = suggestions
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"unknown {kind} id {value!r}{hint}")
