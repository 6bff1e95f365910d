"""Checks of the intake tables for ``kb lint``: every mapped code valid, every term and
medication class known, every condition reachable from a code, every drug's ATC code well formed
and classified into known classes."""

from __future__ import annotations

from pathlib import Path

from ..errors import Problem, RuleDefinitionError, shown
from ..kb.vocabulary import Vocabulary
from . import codes, medications, read_table


def intake_problems(folder: Path, vocab: Vocabulary) -> list[Problem]:
    """Every problem of the tables in ``folder`` (a knowledge base's intake/)."""
    problems: list[Problem] = []
    map_path, drugs_path = folder / codes.MAP_FILE, folder / medications.TABLE_FILE
    if map_path.is_file():
        problems += _code_map_problems(map_path, vocab)
    if drugs_path.is_file():
        try:
            data = read_table(drugs_path, drugs_path.name)
        except RuleDefinitionError as exc:
            return [*problems, *exc.problems]
        _, found = medications.parse_table(data, drugs_path.name, vocab.medication_classes)
        problems += found
    return problems


def _code_map_problems(path: Path, vocab: Vocabulary) -> list[Problem]:
    name = path.name
    try:
        data = read_table(path, name)
    except RuleDefinitionError as exc:
        return list(exc.problems)
    code_map, problems = codes.parse_code_map(data, name)
    index = codes.load_index()
    for section, table, known in (("conditions", code_map.conditions, vocab.conditions),
                                  ("history", code_map.history, vocab.history)):
        for key, mapped in table.items():
            where = f"{section}.{key}"
            if index.entry(key) is None:
                problems.append(Problem(name, where, "not_an_icd10_code",
                                        f"{shown(key)} is not a valid ICD-10-CM code or block"))
            if mapped.term not in known:
                kind = "condition" if section == "conditions" else "history item"
                problems.append(Problem(name, where, "unknown_id", f"unknown {kind} id {shown(mapped.term)}"))
            area = mapped.attributes.get("area")
            if area is not None and area not in vocab.areas:
                problems.append(Problem(name, where, "unknown_id", f"unknown area id {shown(area)}"))
    for key, classes in code_map.medications.items():
        where = f"medications.{key}"
        if index.entry(key) is None:
            problems.append(Problem(name, where, "not_an_icd10_code", f"{shown(key)} is not a valid ICD-10-CM code"))
        problems += [Problem(name, where, "unknown_id", f"unknown medication class id {shown(c)}")
                     for c in classes if c not in vocab.medication_classes]
    reached = {m.term for m in code_map.conditions.values()}
    problems += [Problem(name, "", "unreached_condition", f"condition {c} is reached by no ICD-10-CM code")
                 for c in vocab.conditions if c not in reached]
    return problems
