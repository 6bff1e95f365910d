"""What a run of the engine and the resolution leave: conclusions by kind, the planner's notes, the result."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..cases.models import Case
from ..engine.agenda import Firing
from ..kb import fact_types as F
from .certainty import ModalityCertainty
from .plan import Plan


@dataclass
class Conclusions:
    """The derived facts of one run, by kind."""

    by_kind: dict[str, list[Any]]

    @classmethod
    def collect(cls, facts: Iterable[Any]) -> Conclusions:
        by_kind: dict[str, list[Any]] = defaultdict(list)
        for fact in facts:
            kind = F.KIND_OF.get(type(fact))
            if kind is not None:
                by_kind[kind].append(fact)
        return cls(by_kind)

    def __getitem__(self, kind: str) -> list[Any]:
        return self.by_kind.get(kind, [])


@dataclass(frozen=True)
class Outcome:
    """Why each modality and target ended where it did: the planner's own notes, for explanations."""

    priced_out: dict[str, tuple[str, ...]]            # modality -> cap rules
    dropped_for_time: dict[str, tuple[str, ...]]      # group -> targets
    undeliverable: dict[str, str]                     # target -> why no modality reached it
    blocked_targets: dict[str, tuple[str, ...]]       # target -> blocking rules
    not_delivered: tuple[str, ...]                    # available modalities with no scheduled target
    certainty: dict[str, ModalityCertainty] = field(default_factory=dict)  # delivered modality -> its one certainty


@dataclass(frozen=True)
class PlanResult:
    """A plan together with the reasoning that produced it."""

    case: Case
    plan: Plan
    trace: tuple[Firing, ...]
    facts: tuple[Any, ...]
    outcome: Outcome
