"""How well plans agree with the ``expect`` blocks of a batch: the per-case judgement and the scores.

Definitions (over valid cases that have an ``expect`` block; invalid cases have no plan
and count in no metric):

- **status agreement**: of the cases whose ``expect`` gives a ``status``, the fraction whose
  plan status is that status (or one of the listed statuses).
- **per-modality precision and recall**: each modality named in ``expect.modalities.include``
  is an expected *positive*, each one in ``expect.modalities.exclude`` an expected *negative*;
  a modality the plan recommends is a *predicted positive*. So an included modality that is
  recommended is a true positive (else a false negative), and an excluded modality that is
  recommended is a false positive (else a true negative). Precision = TP / (TP + FP), recall =
  TP / (TP + FN); a ratio with nothing to count is None. ``include_any`` groups say "one of
  these", not which one, so they do not count here (they still pass or fail the case).
- **minutes within range**: of the cases whose ``expect`` gives ``minutes``, the fraction whose
  plan's total minutes lie in the inclusive range.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..cases.models import Expectation
from ..planning.plan import Plan


@dataclass(frozen=True)
class Judgement:
    """What one case contributes to the metrics (None: the case states no such expectation)."""

    status_agrees: bool | None = None
    minutes_within: bool | None = None
    modalities: tuple[tuple[str, bool, bool], ...] = ()  # (modality, expected positive, recommended)


def judge(expect: Expectation, plan: Plan) -> Judgement:
    """The metric contributions of one plan checked against its case's expectations."""
    recommended = {m.id for m in plan.modalities}
    calls: list[tuple[str, bool, bool]] = []
    if expect.modalities is not None:
        calls += [(m, True, m in recommended) for m in dict.fromkeys(expect.modalities.include)]
        calls += [(m, False, m in recommended) for m in dict.fromkeys(expect.modalities.exclude)]
    minutes = None
    if expect.minutes is not None:
        lo, hi = expect.minutes.min, expect.minutes.max
        minutes = (lo is None or plan.total_minutes >= lo) and (hi is None or plan.total_minutes <= hi)
    return Judgement(status_agrees=None if expect.status is None else plan.status in expect.status,
                     minutes_within=minutes, modalities=tuple(calls))


@dataclass(frozen=True)
class Ratio:
    """``hits`` out of ``total``; ``value`` is None when there is nothing to count."""

    hits: int = 0
    total: int = 0

    @property
    def value(self) -> float | None:
        return self.hits / self.total if self.total else None

    def add(self, hit: bool) -> Ratio:
        return Ratio(self.hits + hit, self.total + 1)

    def to_dict(self) -> dict[str, object]:
        return {"hits": self.hits, "total": self.total, "value": self.value}


@dataclass(frozen=True)
class ModalityScore:
    """The confusion counts of one modality over a batch."""

    modality: str
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @property
    def precision(self) -> float | None:
        return Ratio(self.tp, self.tp + self.fp).value

    @property
    def recall(self) -> float | None:
        return Ratio(self.tp, self.tp + self.fn).value

    def add(self, expected: bool, recommended: bool) -> ModalityScore:
        return ModalityScore(self.modality,
                             self.tp + (expected and recommended), self.fp + (not expected and recommended),
                             self.fn + (expected and not recommended), self.tn + (not expected and not recommended))

    def to_dict(self) -> dict[str, object]:
        return {"modality": self.modality, "tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn,
                "precision": self.precision, "recall": self.recall}
