"""Checks of the intake tables for ``kb lint``: every mapped code valid, every term known,
every condition reachable from a code, every drug's ATC code well formed and classified
into known classes."""

from __future__ import annotations

from pathlib import Path

from ..files.reading import parse_yaml
from ..kb.vocabulary import Vocabulary
from . import codes, medications


def intake_problems(folder: Path, vocab: Vocabulary) -> list[tuple[str, str]]:
    """(where, what) for each problem of the tables in ``folder`` (a knowledge base's intake/)."""
    problems: list[tuple[str, str]] = []
    map_path, drugs_path = folder / codes.MAP_FILE, folder / medications.TABLE_FILE
    if map_path.is_file():
        problems += _code_map_problems(map_path, vocab)
    if drugs_path.is_file():
        try:
            data = parse_yaml(drugs_path.read_text(encoding="utf-8"))
        except Exception as exc:  # any read or parse failure of a knowledge-base file
            return [*problems, (drugs_path.name, f"cannot load: {exc}")]
        _, found = medications.parse_table(data, drugs_path.name, vocab.medication_classes)
        problems += [_split(p) for p in found]
    return problems


def _split(problem: str) -> tuple[str, str]:
    where, _, message = problem.partition(": ")
    return where, message


def _code_map_problems(path: Path, vocab: Vocabulary) -> list[tuple[str, str]]:
    name = path.name
    try:
        data = parse_yaml(path.read_text(encoding="utf-8"))
    except Exception as exc:  # any read or parse failure of a knowledge-base file
        return [(name, f"cannot load: {exc}")]
    code_map, found = codes.parse_code_map(data, name)
    problems = [_split(p) for p in found]
    index = codes.load_index()
    for section, table, known in (("conditions", code_map.conditions, vocab.conditions),
                                  ("history", code_map.history, vocab.history)):
        for key, mapped in table.items():
            where = f"{name}: {section}.{key}"
            if index.entry(key) is None:
                problems.append((where, f"{key!r} is not a valid ICD-10-CM code or block"))
            if mapped.term not in known:
                problems.append((where, f"unknown {'condition' if section == 'conditions' else 'history item'} "
                                        f"id {mapped.term!r}"))
            area = mapped.attributes.get("area")
            if area is not None and area not in vocab.areas:
                problems.append((where, f"unknown area id {area!r}"))
    reached = {m.term for m in code_map.conditions.values()}
    problems += [(name, f"condition {c} is reached by no ICD-10-CM code") for c in vocab.conditions
                 if c not in reached]
    return problems
