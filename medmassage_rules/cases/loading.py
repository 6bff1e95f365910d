"""Reading cases: a parsed case validated into a :class:`Case`, a case file loaded, the cases of a file.

Every problem of an invalid case is collected into one :class:`~medmassage_rules.errors.CaseError`,
each a :class:`~medmassage_rules.errors.Problem` naming the field path (``diagnoses[0].condition``),
the offending value and a machine-readable code: pydantic's error type (``missing``,
``extra_forbidden``, ``int_parsing`` ...) or the project's own (``unknown_id``, ``icd10_invalid``,
``impossible_expectation`` ...).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import NO_VALUE, CaseError, Problem
from ..files.reading import CASE_SUFFIXES, JSONL_SUFFIXES, iter_json_lines, parse_document, read_text
from ..kb.vocabulary import Vocabulary
from .fields import UNION_TAGS
from .models import Case


@dataclass(frozen=True)
class LoadedCase:
    """A case read from a file, or the error that stopped it, with where it came from."""

    source: str
    case: Case | None
    error: CaseError | None = None


def _path_text(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _problems(exc: ValidationError, source: str,
              origin: dict[str, list[tuple[str, int]]] | None = None) -> list[Problem]:
    problems: list[Problem] = []
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
        if len(loc) > 2 and loc[0] in ("medications", "clearances") and loc[2] in UNION_TAGS:
            loc = loc[:2] + loc[3:]  # the union's tag is no part of the field path
        if origin and len(loc) > 1 and loc[0] in origin and isinstance(loc[1], int) and loc[1] < len(origin[loc[0]]):
            loc = (*origin[loc[0]][loc[1]], *loc[2:])  # the entry's place in the file (a code may have moved it)
        message = err["msg"]
        kind = err["type"]
        if kind == "extra_forbidden":
            message = "unknown field"
        elif kind == "missing":
            message = "required field is missing"
        elif message.startswith("Value error, "):
            message = message[len("Value error, "):]
        ctx = err.get("ctx") or {}
        if kind in ("too_long", "string_too_long") and isinstance(err.get("input"), str) and "max_length" in ctx:
            message = f"text longer than {ctx['max_length']} characters ({len(err['input'])})"
        if "contradictions" in ctx:  # an expect block no plan can meet: one problem per contradiction
            problems += [Problem(source, _path_text((*loc, *where)), kind, why, value)
                         for where, why, value in ctx["contradictions"]]
            continue
        value = err.get("input")
        field = ctx.get("field")
        if field is not None:  # a check across fields names the field it is about
            loc = (*loc, field)
            value = value.get(field) if isinstance(value, dict) else None
        shown = value if kind != "missing" and value is not None else NO_VALUE
        problems.append(Problem(source, _path_text(loc), kind, message, shown))
    return _without_consequences(problems)


def _without_consequences(problems: list[Problem]) -> list[Problem]:
    """Drop "condition (or item): required field is missing" where the entry's code is itself the
    problem: the code would have filled it, so the one real problem is the code."""
    coded = {p.path.rpartition(".")[0] for p in problems if p.path.endswith(".icd10")}
    return [p for p in problems if not (p.code == "missing" and p.path.rpartition(".")[2] in ("condition", "item")
                                        and p.path.rpartition(".")[0] in coded)]


def validate_case(data: Any, source: str, vocab: Vocabulary) -> Case:
    """Validate one parsed case object; every problem is reported in one CaseError."""
    if data is None:
        raise CaseError([Problem(source, "", "empty", "the file holds no case (it is empty); "
                                             "a case must be a mapping of fields")])
    if not isinstance(data, dict):
        raise CaseError([Problem(source, "", "not_a_mapping", "a case must be a mapping of fields",
                                 type(data).__name__)])
    context: dict[str, Any] = {"vocabulary": vocab}
    try:
        return Case.model_validate(data, context=context)
    except ValidationError as exc:
        raise CaseError(_problems(exc, source, context.get("origin"))) from None
    except RecursionError:
        raise CaseError([Problem(source, "", "too_deep", "case is nested too deeply")]) from None


def load_case(path: str | Path, vocab: Vocabulary) -> Case:
    """Read and validate one YAML or JSON case file."""
    path = Path(path)
    source = str(path)
    suffix = path.suffix.lower()
    if suffix not in CASE_SUFFIXES or suffix in JSONL_SUFFIXES:
        raise CaseError([Problem(source, "", "wrong_suffix", "not a single-case file: expected .yaml, .yml or .json "
                                             "(use batch for .jsonl)", suffix)])
    return validate_case(parse_document(read_text(path), source, suffix), source, vocab)


def iter_cases(path: str | Path, vocab: Vocabulary) -> Iterator[LoadedCase]:
    """The cases of one file (one, or one per line of JSON Lines), errors included."""
    path = Path(path)
    source = str(path)
    if path.suffix.lower() in JSONL_SUFFIXES:
        try:
            lines = iter_json_lines(path)
            for number, item in lines:
                where = f"{source}:{number}"
                if isinstance(item, CaseError):
                    yield LoadedCase(where, None, item)
                    continue
                try:
                    yield LoadedCase(where, validate_case(item, where, vocab))
                except CaseError as exc:
                    yield LoadedCase(where, None, exc)
        except CaseError as exc:
            yield LoadedCase(source, None, exc)
        return
    try:
        yield LoadedCase(source, load_case(path, vocab))
    except CaseError as exc:
        yield LoadedCase(source, None, exc)
