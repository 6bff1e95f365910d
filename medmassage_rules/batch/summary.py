"""The summary of a batch: counts, failing expectations by kind, metrics, baseline changes.

A :class:`Tally` is fed each case's outcome as the batch goes and keeps only counters (and
the first few failing cases to show), so it stays small however many cases run;
:meth:`Tally.summary` freezes it into a :class:`Summary`. The metrics are defined in
:mod:`medmassage_rules.batch.metrics`.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import Problem
from .baseline import BaselineDiff
from .metrics import ModalityScore, Ratio

if TYPE_CHECKING:
    from .outcomes import CaseOutcome

SHOWN_PROBLEMS = 20  # failing or invalid cases listed in the summary (all are in the report)


@dataclass(frozen=True)
class CaseProblem:
    """A failing or invalid case, as the summary lists it: the failing expectations, or the
    report row's error text (``problems`` holds the invalid case's problems themselves)."""

    case_id: str | None
    source: str
    messages: tuple[str, ...]
    invalid: bool
    problems: tuple[Problem, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "source": self.source, "invalid": self.invalid,
                "messages": list(self.messages)}


@dataclass(frozen=True)
class Summary:
    cases: int
    passed: int
    failed: int
    errors: int
    without_expectations: int
    failure_kinds: tuple[tuple[str, int], ...]   # expectation key -> failures, most frequent first
    status_agreement: Ratio
    minutes_within_range: Ratio
    modalities: tuple[ModalityScore, ...]          # by modality id
    problems: tuple[CaseProblem, ...]              # the first SHOWN_PROBLEMS failing or invalid cases
    problems_not_shown: int
    baseline: BaselineDiff | None
    jobs: int
    seconds: float

    @property
    def ok(self) -> bool:
        """No expectation failed and no case was invalid (exit code 0)."""
        return self.failed == 0 and self.errors == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "cases": self.cases, "passed": self.passed, "failed": self.failed, "errors": self.errors,
            "without_expectations": self.without_expectations,
            "failures_by_kind": dict(self.failure_kinds),
            "metrics": {"status_agreement": self.status_agreement.to_dict(),
                        "minutes_within_range": self.minutes_within_range.to_dict(),
                        "modalities": [m.to_dict() for m in self.modalities]},
            "problems": [p.to_dict() for p in self.problems], "problems_not_shown": self.problems_not_shown,
            "baseline": None if self.baseline is None else self.baseline.to_dict(),
            "jobs": self.jobs, "seconds": round(self.seconds, 3),
        }


class Tally:
    """Running counts of a batch, fed one outcome at a time."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.kinds: Counter[str] = Counter()
        self.status = Ratio()
        self.minutes = Ratio()
        self.scores: dict[str, ModalityScore] = {}
        self.problems: list[CaseProblem] = []
        self.problems_not_shown = 0

    def add(self, outcome: CaseOutcome) -> None:
        if outcome.error is not None:
            self.counts["errors"] += 1
            self._problem(CaseProblem(outcome.case_id, outcome.source, (outcome.error,), True, outcome.problems))
            return
        self.counts[{True: "passed", False: "failed", None: "without_expectations"}[outcome.passed]] += 1
        if outcome.failures:
            self.kinds.update(f.split(":", 1)[0] for f in outcome.failures)
            self._problem(CaseProblem(outcome.case_id, outcome.source, outcome.failures, False))
        j = outcome.judgement
        if j is None:
            return
        if j.status_agrees is not None:
            self.status = self.status.add(j.status_agrees)
        if j.minutes_within is not None:
            self.minutes = self.minutes.add(j.minutes_within)
        for modality, expected, recommended in j.modalities:
            score = self.scores.get(modality) or ModalityScore(modality)
            self.scores[modality] = score.add(expected, recommended)

    def _problem(self, problem: CaseProblem) -> None:
        if len(self.problems) < SHOWN_PROBLEMS:
            self.problems.append(problem)
        else:
            self.problems_not_shown += 1

    def summary(self, *, baseline: BaselineDiff | None, jobs: int, seconds: float) -> Summary:
        c = self.counts
        return Summary(
            cases=sum(c.values()), passed=c["passed"], failed=c["failed"], errors=c["errors"],
            without_expectations=c["without_expectations"],
            failure_kinds=tuple(sorted(self.kinds.items(), key=lambda kv: (-kv[1], kv[0]))),
            status_agreement=self.status, minutes_within_range=self.minutes,
            modalities=tuple(self.scores[m] for m in sorted(self.scores)),
            problems=tuple(self.problems), problems_not_shown=self.problems_not_shown,
            baseline=baseline, jobs=jobs, seconds=seconds)


def _ratio(r: Ratio) -> str:
    return "n/a (no case states it)" if r.value is None else f"{r.value:6.1%}  ({r.hits}/{r.total})"


def _num(value: float | None) -> str:
    return "   n/a" if value is None else f"{value:6.3f}"


def format_summary(s: Summary) -> str:
    """The summary as a plain-text table for a terminal."""
    rate = f", {s.cases / s.seconds:,.0f} cases/s" if s.seconds > 0 and s.cases else ""
    lines = [f"{s.cases} cases in {s.seconds:.2f} s with {s.jobs} job{'s' if s.jobs != 1 else ''}{rate}",
             f"  passed                {s.passed:>8}",
             f"  failed                {s.failed:>8}",
             f"  errors (invalid)      {s.errors:>8}",
             f"  without expectations  {s.without_expectations:>8}"]
    if s.failure_kinds:
        lines += ["", "failing expectations by kind"]
        lines += [f"  {kind:<22}{n:>8}" for kind, n in s.failure_kinds]
    lines += ["", "metrics over the cases with expectations",
              f"  status agreement      {_ratio(s.status_agreement)}",
              f"  minutes within range  {_ratio(s.minutes_within_range)}"]
    if s.modalities:
        width = max(len(m.modality) for m in s.modalities) + 2
        lines.append(f"  {'modality':<{width}}precision  recall   tp   fp   fn   tn")
        lines += [f"  {m.modality:<{width}}{_num(m.precision)}     {_num(m.recall)} {m.tp:>4} {m.fp:>4} "
                  f"{m.fn:>4} {m.tn:>4}" for m in s.modalities]
    if s.problems:
        lines += ["", "failing and invalid cases"]
        for p in s.problems:
            label = p.case_id if p.case_id is not None else "(no id)"
            lines.append(f"  {label} ({p.source})" + ("  INVALID" if p.invalid else ""))
            lines += [f"    {m}" for m in p.messages]
        if s.problems_not_shown:
            lines.append(f"  ... and {s.problems_not_shown} more (every row is in the --report file)")
    if s.baseline is not None:
        lines += ["", *s.baseline.lines()]
    return "\n".join(lines)


def summary_json(s: Summary) -> str:
    return json.dumps(s.to_dict(), indent=2, ensure_ascii=False)
