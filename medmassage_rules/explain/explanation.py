"""The data of an explanation: the rules as evidence, the steps and chains of inference, the
certainty arithmetic and the counterfactuals of why and why-not.

Plain frozen data; ``render/explain_text.py`` turns an :class:`Explanation` into words for a
therapist.
"""

from __future__ import annotations

from dataclasses import dataclass

GRADE_WORDS = {"H": "guideline or systematic review", "M": "randomised trials or mixed reviews",
               "L": "case series, expert opinion, textbooks, or a claim beyond what its source tested",
               "X": "contradicted by evidence"}


@dataclass(frozen=True)
class Evidence:
    """A rule as evidence: what it says, how strong, where from."""

    rule_id: str
    description: str
    grade: str
    grade_words: str
    citation: str
    reference: str
    extrapolated_from: str | None = None   # counted at L: the case lies outside the source's population
    cited_grade: str | None = None         # the grade written on the rule, when it counts at another


@dataclass(frozen=True)
class Certainty:
    """A proposal's share of certainty: the rule's own factor times the weakest premise times the
    weight of the grade its evidence counts at (clinical-v2.1 §6.4: only inside the arithmetic)."""

    factor: float            # the rule's own factor
    premise: float
    value: float
    weight: float = 1.0      # the weight of the grade it counts at (a request: 1)
    grade: str = ""          # that grade ("" for a request)


@dataclass(frozen=True)
class Step:
    """One inference: a rule, the case facts that triggered it, what it concluded."""

    rule: Evidence
    because: tuple[str, ...]
    concludes: str
    certainty: Certainty | None = None


@dataclass(frozen=True)
class Chain:
    """Case fact → mechanism(s) → benefit(s) → the item, through the rules that linked them."""

    source: str
    mechanisms: tuple[Step, ...]
    benefits: tuple[str, ...]      # in the seed's wording
    conclusion: Step
    reaches: tuple[str, ...] = ()  # the planned targets this chain brings the item to


@dataclass(frozen=True)
class Combination:
    """Several rules' certainties for one modality, combined as x + y - x*y (MYCIN)."""

    values: tuple[tuple[str, float], ...]   # (rule id, certainty) in knowledge-base order
    steps: tuple[tuple[float, float, float], ...]  # (x, y, x + y - x*y)
    result: float


@dataclass(frozen=True)
class Counterfactual:
    """A rule that would conclude the item, and what this case lacks for it."""

    rule: Evidence
    concludes: str
    missing: tuple[str, ...]        # conditions the case does not meet
    met: tuple[str, ...]            # conditions it meets already
    in_the_way: tuple[str, ...]     # facts of the case that keep the rule from firing


@dataclass(frozen=True)
class Explanation:
    question: str                   # "why" or "why_not"
    item: str                       # the id asked about
    item_kind: str                  # modality, target, area, status or minutes
    label: str                      # the item in plain words
    verdict: str                    # recommended, blocked, priced_out, dropped_for_time, ...
    summary: str
    chains: tuple[Chain, ...] = ()
    steps: tuple[Step, ...] = ()
    combination: Combination | None = None
    details: tuple[str, ...] = ()
    counterfactuals: tuple[Counterfactual, ...] = ()
    caveats: tuple[str, ...] = ()
    see_also: str | None = None     # the other question worth asking ("--why deep_tissue")

    @property
    def rule_ids(self) -> tuple[str, ...]:
        """Every rule the explanation names."""
        steps = [*self.steps, *(c.conclusion for c in self.chains),
                 *(m for c in self.chains for m in c.mechanisms)]
        ids = [s.rule.rule_id for s in steps] + [c.rule.rule_id for c in self.counterfactuals]
        if self.combination is not None:
            ids += [r for r, _ in self.combination.values]
        return tuple(dict.fromkeys(ids))
