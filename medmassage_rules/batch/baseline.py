"""Comparing a batch with an earlier report: what a knowledge-base edit did to every case.

A case is matched by its ``case_id``. It has *changed* when its status, the set of its
recommended modality ids, the set of its target ids or its total minutes differ (a case
that became invalid, or valid again, changes its status to or from None). Order within the
modality and target lists is not compared: a certainty shift that only reorders them is not
a change of what the plan does. Cases only in the new batch are *added*, cases only in the
baseline *removed*. A duplicate id's row is not compared (the batch refuses it), and an invalid
case only counts as changed when the baseline has it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import CaseError, Problem
from ..files.reading import iter_raw_lines, parse_json_line

FIELDS = ("status", "modalities", "targets", "minutes")


@dataclass(frozen=True, slots=True)
class Signature:
    """What a baseline comparison looks at in one plan (status None: the case was invalid)."""

    status: str | None
    modalities: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    minutes: int | None = None

    @classmethod
    def of(cls, status: str | None, modalities: Any, targets: Any, minutes: int | None) -> Signature:
        def ids(items: Any) -> tuple[str, ...]:
            return tuple(sorted({sys.intern(i) for i in items}))
        return cls(None if status is None else sys.intern(status), ids(modalities), ids(targets), minutes)

    @classmethod
    def of_row(cls, row: dict[str, Any]) -> Signature:
        """The signature of a report row (contract §4); raises ValueError on a malformed row."""
        plan = row.get("plan")
        if plan is None:
            return cls(None)
        if not isinstance(plan, dict):
            raise ValueError("plan is neither an object nor null")
        try:
            return cls.of(plan["status"], (m["id"] for m in plan["modalities"]),
                          (t["id"] for t in plan["targets"]), plan["session"]["total_minutes"])
        except (KeyError, TypeError) as exc:
            raise ValueError(f"plan lacks {exc}") from None


@dataclass(frozen=True)
class Change:
    """One case whose plan differs from the baseline: (field, before, after) for each difference."""

    case_id: str
    source: str
    differences: tuple[tuple[str, Any, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "source": self.source,
                "changes": {name: {"before": _shown(old), "after": _shown(new)}
                            for name, old, new in self.differences}}

    def __str__(self) -> str:
        parts = [f"{name} {_text(old)} -> {_text(new)}" for name, old, new in self.differences]
        return f"{self.case_id}: {'; '.join(parts)}"


def _shown(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _text(value: Any) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(value) + "]"
    return "invalid" if value is None else str(value)


@dataclass(frozen=True)
class BaselineDiff:
    """The outcome of a comparison with a baseline report."""

    baseline: str
    compared: int
    changed: tuple[Change, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"baseline": self.baseline, "compared": self.compared,
                "changed": [c.to_dict() for c in self.changed],
                "added": list(self.added), "removed": list(self.removed)}


def _rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """The rows of a baseline report; every problem names the file as the baseline, not as a case."""
    source = str(path)

    def refused(where: str, why: str) -> CaseError:
        return CaseError([Problem(where, "", "bad_baseline",
                              f"--baseline is not a batch report (a --report file): {why}")])

    if not path.is_file():
        raise refused(source, "no such file")
    try:
        for number, raw in iter_raw_lines(path):
            where = f"{source}:{number}"
            try:
                row = parse_json_line(raw, number, where)
            except CaseError as exc:
                raise refused(where, "; ".join(p.message for p in exc.problems)) from None
            if not isinstance(row, dict) or "case_id" not in row or "plan" not in row:
                raise refused(where, "the row has no case_id or plan")
            yield where, row
    except CaseError as exc:
        if all("--baseline" in p.message for p in exc.problems):
            raise
        raise refused(source, "; ".join(p.message for p in exc.problems)) from None


def load_baseline(path: str | Path) -> dict[str, Signature]:
    """The signature of every case of an earlier report (JSON Lines rows of contract §4).

    Only the small signatures are kept, not the plans. A row without a case id cannot be
    matched and is skipped; when an id repeats, its first row counts (as in the batch).
    """
    signatures: dict[str, Signature] = {}
    for where, row in _rows(Path(path)):
        case_id = row["case_id"]
        if not isinstance(case_id, str) or case_id in signatures:
            continue
        try:
            signatures[sys.intern(case_id)] = Signature.of_row(row)
        except ValueError as exc:
            raise CaseError([Problem(where, "plan", "bad_baseline",
                                     f"--baseline row is not a plan of contract §2: {exc}")]) from None
    return signatures


class Comparison:
    """Compares the cases of a batch, as they finish, with a loaded baseline."""

    def __init__(self, baseline: str, signatures: dict[str, Signature]):
        self.baseline = baseline
        self.pending = dict(signatures)  # what has not been seen yet: the removed cases at the end
        self.compared = 0
        self.changed: list[Change] = []
        self.added: list[str] = []

    def observe(self, case_id: str, source: str, now: Signature) -> None:
        """Compare one case of the batch. An invalid case (``now.status`` None) the baseline
        does not know is not *added*: there is no plan to add."""
        before = self.pending.pop(case_id, None)
        if before is None:
            if now.status is not None:
                self.added.append(case_id)
            return
        self.compared += 1
        differences = tuple((name, getattr(before, name), getattr(now, name))
                            for name in FIELDS if getattr(before, name) != getattr(now, name))
        if differences:
            self.changed.append(Change(case_id, source, differences))

    def result(self) -> BaselineDiff:
        return BaselineDiff(self.baseline, self.compared, tuple(self.changed), tuple(self.added),
                            tuple(self.pending))
