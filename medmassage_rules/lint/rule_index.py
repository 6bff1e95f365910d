"""Which rules can fire whenever a given rule fires, found without comparing every pair.

Rule B fires whenever rule A does only if each of B's positive patterns is implied by one of
A's patterns of the same kind, field by field: the values A admits for a field lie among the
values B admits. So where B's fields admit exactly one value (``condition: sciatica``), every
such field-value pair must be one of A's too: B is filed under the set of those pairs, and A
looks up each subset of its own. A rule without such a field is filed under its most selective
field (the one whose condition admits the fewest values) and each value it admits, and A finds
it by looking up one value each of its own fields admits; a rule with no selective field at all
is filed under its first kind.
The lookup only narrows the candidates; the caller still checks each one exactly
(``_Linter.fires_whenever``), so what lint reports is unchanged, and the work grows with the
rules that share a field value instead of with the square of the knowledge base.

Identical rules (same patterns, gates and conclusions) are grouped first, so that 250 copies of
one rule give one finding rather than 31,000.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import combinations
from typing import Any

from ..kb.pattern_matching import Universe, condition_key
from ..kb.rule_specs import RuleSpec

__all__ = ["GeneralIndex", "identical_groups"]


class GeneralIndex:
    """Rules filed by their most selective field, to find the ones that may be more general than
    a given rule."""

    def __init__(self, universe: Universe, rules: Iterable[RuleSpec]):
        self.u = universe
        self.position: dict[int, int] = {}
        self.by_value: dict[tuple[str, str, Any], list[RuleSpec]] = {}
        self.by_kind: dict[str, list[RuleSpec]] = {}
        self.everywhere: list[RuleSpec] = []
        self.by_pairs: dict[frozenset[tuple[str, str, Any]], list[RuleSpec]] = {}
        self.most_pairs = 0
        for rule in rules:
            self.position[id(rule)] = len(self.position)
            self._file(rule)

    def _pairs(self, rule: RuleSpec) -> frozenset[tuple[str, str, Any]]:
        """The (kind, field, value) pairs a rule's patterns pin to exactly one value."""
        pairs = set()
        for kind, fields in rule.positive:
            for name, cond in (fields or {}).items():
                allowed = self.u.admitted(kind, name, cond)
                if len(allowed) == 1:
                    pairs.add((kind, name, _key(next(iter(allowed)))))
        return frozenset(pairs)

    def _file(self, rule: RuleSpec) -> None:
        pairs = self._pairs(rule)
        if pairs:
            self.by_pairs.setdefault(pairs, []).append(rule)
            self.most_pairs = max(self.most_pairs, len(pairs))
            return
        best: tuple[str, str, frozenset[Any]] | None = None
        for kind, fields in rule.positive:
            for name, cond in (fields or {}).items():
                if self.u.universal(kind, name, cond):
                    continue
                allowed = self.u.admitted(kind, name, cond)
                if best is None or len(allowed) < len(best[2]):
                    best = (kind, name, allowed)
        if best is not None:
            kind, name, allowed = best
            for value in allowed:
                self.by_value.setdefault((kind, name, _key(value)), []).append(rule)
        elif rule.positive:
            self.by_kind.setdefault(rule.positive[0][0], []).append(rule)
        else:
            self.everywhere.append(rule)

    def candidates(self, specific: RuleSpec) -> list[RuleSpec]:
        """The rules that may fire whenever ``specific`` fires, in knowledge-base order (a superset:
        each still needs the exact check)."""
        found: dict[int, RuleSpec] = {id(r): r for r in self.everywhere}
        own = sorted(self._pairs(specific), key=repr)
        for size in range(1, min(self.most_pairs, len(own)) + 1):
            for subset in combinations(own, size):
                found.update((id(r), r) for r in self.by_pairs.get(frozenset(subset), ()))
        for kind, fields in specific.positive:
            found.update((id(r), r) for r in self.by_kind.get(kind, ()))
            for name, cond in (fields or {}).items():
                allowed = self.u.admitted(kind, name, cond)
                if not allowed:
                    continue
                one = next(iter(allowed))  # a rule more general than this pattern admits every value, this one too
                found.update((id(r), r) for r in self.by_value.get((kind, name, _key(one)), ()))
        return sorted((r for r in found.values() if r is not specific), key=lambda r: self.position.get(id(r), -1))


def identical_groups(rules: Iterable[RuleSpec]) -> list[list[RuleSpec]]:
    """Rules with the same patterns, clearance gate and conclusions, in knowledge-base order;
    one group per distinct rule (most groups hold one rule)."""
    groups: dict[str, list[RuleSpec]] = {}
    for rule in rules:
        body = rule.model_dump(mode="json", include={"when", "unless_clearance", "then"})
        groups.setdefault(condition_key(body), []).append(rule)
    return list(groups.values())


def _key(value: Any) -> Any:
    """A dictionary key for a field value (every value of a field's universe is hashable)."""
    return (type(value).__name__, value)
