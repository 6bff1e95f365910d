"""The one error hierarchy of the package.

Two families are kept apart: a bad knowledge base (:class:`RuleDefinitionError`, found
when the rules are loaded) and a bad case (:class:`CaseError`, one problem in one case
file, with the field path and offending value). Validation collects every problem and
raises them together so a user sees all of them at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, TypeGuard


class MedMassageError(Exception):
    """Base class of every error this package raises on purpose."""


class _NoValue:
    """The value of a problem about something absent (a missing field, an empty file)."""

    def __repr__(self) -> str:
        return "NO_VALUE"

    def __reduce__(self) -> str:
        return "NO_VALUE"  # unpickled as this module's own NO_VALUE (a problem crossing to a worker process)


NO_VALUE: Any = _NoValue()


@dataclass(frozen=True)
class Problem:
    """One problem found in an input - a case, a knowledge base, a report - and where it is.

    ``code`` is machine-readable and stable (``unknown_id``, ``too_large``, ``invalid_yaml`` ...):
    a program, a test or ``kb lint`` tells problems apart by it, never by the wording of
    ``message``. ``rule`` names the rule a knowledge-base problem is about; ``path`` is then
    the place inside that rule.
    """

    source: str
    path: str
    code: str
    message: str
    value: object = NO_VALUE
    rule: str | None = None

    @property
    def has_value(self) -> bool:
        return self.value is not NO_VALUE

    @property
    def where(self) -> str:
        """The input, and the rule when the problem is about one: ``conditions.yaml: rule cts-mechanisms``."""
        return self.source if self.rule is None else f"{self.source}: rule {self.rule}"

    @property
    def what(self) -> str:
        """The place inside ``where`` and what is wrong there, with the value when there is one."""
        text = f"{self.path}: {self.message}" if self.path else self.message
        return f"{text} (got {shown(self.value)})" if self.has_value else text

    def __str__(self) -> str:
        return printable(f"{self.where}: {self.what}", one_line=True)


def key_text(value: object) -> str:
    """A key or id as part of a path: text as it is, anything else (a number, a list) as :func:`shown` gives it."""
    return value if isinstance(value, str) else shown(value)


NUMBER_BITS = 64  # a number in a data file is at most this wide


def _too_wide(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > NUMBER_BITS


def shown(value: object) -> str:
    """repr() of a value for a message: at most 80 characters; a huge integer described, not printed.

    Formatting an integer of more than 4,300 digits raises ValueError; a YAML hex literal
    can hold one.
    """
    if _too_wide(value):
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    try:
        text = repr(value)
    except ValueError:  # a list or mapping holding such an integer
        return f"a {type(value).__name__} holding an integer too long to print"
    return text if len(text) <= 80 else text[:77] + "..."



def huge_numbers(data: Any, path: str = "") -> list[tuple[str, int]]:
    """(path, number) of every integer wider than NUMBER_BITS in parsed data, keys included.

    A data file (a knowledge base, an intake table) holds no such number on purpose; one would
    stop every message that formats it.
    """
    found: list[tuple[str, int]] = []
    stack: list[tuple[str, Any]] = [(path, data)]
    while stack:
        where, value = stack.pop()
        if _too_wide(value):
            found.append((where, value))
        elif isinstance(value, dict):
            for key, item in value.items():
                inner = f"{where}.{key_text(key)}" if where else key_text(key)
                if _too_wide(key):
                    found.append((where, key))
                stack.append((inner, item))
        elif isinstance(value, list):
            stack += [(f"{where}[{i}]", item) for i, item in enumerate(value)]
    return sorted(found, key=lambda pair: pair[0])


_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_BREAKS = re.compile("[\t\n\r]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, one_line: bool = False) -> str:
    """``text`` safe to print: control characters (a terminal's escape sequences), lone surrogates
    (a file name that is not UTF-8) and bidirectional overrides shown as escapes.

    ``one_line`` also escapes tabs and line breaks, so that a value cannot start a line of its own.
    """
    text = _UNPRINTABLE.sub(_escape, text)
    return _BREAKS.sub(_escape, text) if one_line else text


class CaseError(MedMassageError):
    """A case file (or one case of a JSON Lines file) is invalid; holds every problem."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]):
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class RuleDefinitionError(MedMassageError):
    """The knowledge base is invalid; holds every problem (file, rule id, path, what is wrong)."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]):
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class UnknownIdError(MedMassageError):
    """An id given on the command line is not in the vocabulary."""

    def __init__(self, value: str, kind: str, suggestions: list[str]):
        self.value = value
        self.kind = kind
        self.suggestions = suggestions
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"unknown {kind} id {value!r}{hint}")
