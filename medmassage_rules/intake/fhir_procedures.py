"""Recent operations from a record's Procedure resources (docs/ehr.md, beyond case-format §5).

A recent operation is recorded as a Procedure, not a Condition. A Procedure of status
``completed`` or ``in-progress``, performed (``performedDateTime``, else ``performedPeriod.end``
once over by the as-of date, else its start) on or before the as-of date and fewer than
:data:`RECENT_DAYS` days before it, becomes a history item when its SNOMED CT code is in
rules/intake/surgical-procedures.yaml: that row's item and area, its ``days_since``, and the
side its bodySite (else its text) gives. A Procedure whose code is not listed but whose category
is SNOMED CT 387713003 (surgical procedure) is ``recent_surgery`` without an area (the
planner's "site not given" row then covers every area). Any other Procedure - most are
screenings, assessments or reconciliations - is left out without a word.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import Problem, shown
from . import intake_dir, load_table
from .fhir_projection import SNOMED, Projected
from .fhir_values import label, side_of

TABLE_FILE = "surgical-procedures.yaml"
SURGICAL_CATEGORY = "387713003"  # SNOMED CT: surgical procedure
COUNTED = frozenset({"completed", "in-progress"})  # preparation, not-done, entered-in-error ...: left out
RECENT_DAYS = 42  # the rules' window for recent_surgery and recent_abdominal_surgery (days_since < 42)
_FIELDS = frozenset({"item", "area"})

Row = tuple[dict[str, str], ...]


def parse_procedures(data: Any, source: str) -> tuple[dict[str, Row], list[Problem]]:
    """The table (SNOMED CT code -> its history entries) and the problems of its shape."""
    rows = data.get("procedures") if isinstance(data, dict) else None
    if not isinstance(rows, dict):
        return {}, [Problem(source, "procedures", "invalid", "expected a mapping of SNOMED CT codes to history items")]
    table: dict[str, Row] = {}
    problems: list[Problem] = []
    for key, value in rows.items():
        where = f"procedures.{key}"
        if not str(key).isdigit():
            problems.append(Problem(source, where, "invalid", f"{shown(key)} is not a SNOMED CT code"))
        entries = value if isinstance(value, list) else [value]
        parsed = []
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("item"), str) or set(entry) - _FIELDS or \
                    not isinstance(entry.get("area", ""), str):
                problems.append(Problem(source, where, "invalid", "expected {item: HISTORY ITEM, area: AREA}", entry))
                continue
            parsed.append({k: str(v) for k, v in entry.items()})
        table[str(key)] = tuple(parsed)
    return table, problems


@lru_cache(maxsize=2)
def load_procedures(path: Path | None = None) -> dict[str, Row]:
    """SNOMED CT surgical procedure -> the history entries (item, area) a recent one gives."""
    return load_table(path or intake_dir() / TABLE_FILE, parse_procedures)


def _performed(procedure: Projected, as_of: date) -> date | None:
    """The day it was performed: the end of its period once over by the as-of date, else its start."""
    if procedure.end is not None and procedure.end <= as_of:
        return procedure.end
    return procedure.start


def recent_operations(procedures: Iterable[Projected], as_of: date) -> tuple[list[dict[str, Any]], list[str]]:
    """The history entries the record's recent operations give (the latest of each), and notes for the case file."""
    table = load_procedures()
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    notes: list[str] = []
    for procedure in procedures:
        day = _performed(procedure, as_of)
        if procedure.status not in COUNTED or day is None or not 0 <= (as_of - day).days < RECENT_DAYS:
            continue
        days = (as_of - day).days
        codes = procedure.code.codes(SNOMED) if procedure.code is not None else ()
        code = next((c for c in codes if c in table), None)
        if code is not None:
            rows = table[code]
        elif procedure.category is not None and SURGICAL_CATEGORY in procedure.category.codes(SNOMED):
            code, rows = (codes[0] if codes else "no code"), ({"item": "recent_surgery"},)
        else:
            continue
        side = side_of(procedure.body_sites) or side_of([procedure.code])
        for row in rows:
            entry: dict[str, Any] = dict(row)
            if side is not None and "area" in row:
                entry["side"] = side
            entry["days_since"] = days
            key = (row["item"], row.get("area", ""), entry.get("side", ""))
            if key not in found or found[key]["days_since"] > days:
                found[key] = entry
        name = label(procedure.code.label) if procedure.code is not None else ""
        items = ", ".join(r["item"] + (f" ({r['area']})" if "area" in r else " (no area)") for r in rows)
        notes.append(f"{procedure.where or 'Procedure'} {name or '(no text)'} ({code}): performed {day.isoformat()} - "
                     f"history {items}, {days} days")
    return list(found.values()), notes
