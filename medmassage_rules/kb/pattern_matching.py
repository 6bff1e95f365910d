"""Rule patterns outside the engine: does a case fact match, and what can a pattern match at all.

The engine compiles patterns into experta conditions; explanations and lint need to ask
the same questions without running it: which fact of a case satisfies a pattern (for a
counterfactual: which condition a case lacks), and over the finite universe of values a
field can take, which values a condition admits (for lint: a condition nothing satisfies,
a pattern that implies another). Every field test goes through
:func:`~medmassage_rules.kb.condition_operators.compile_condition`, the engine's own registry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .condition_operators import NUMERIC_OPERATORS, compile_condition
from .fact_types import BOOLEAN_FIELDS, DOMAINS, NUMERIC_FIELDS
from .vocabulary import Vocabulary

# Kinds of which a case holds exactly one fact: two patterns on them test the same fact.
SINGLE_KINDS = frozenset({"patient", "labs", "vitals"})


def field_matches(cond: Any, value: Any) -> bool:
    """A field condition as the engine reads it: an operator mapping, or a literal (equality)."""
    if isinstance(cond, dict):
        return compile_condition(cond)(value)
    return bool(value == cond)


def pattern_matches(fields: Mapping[str, Any] | None, fact: Mapping[str, Any]) -> bool:
    return all(field_matches(cond, fact.get(name)) for name, cond in (fields or {}).items())


class Universe:
    """The values each field can take, finite: vocabulary ids, true/false, and for numbers
    every constant the rules compare with and points just around them (the operators only
    compare with those constants, so these points tell every outcome apart)."""

    def __init__(self, vocab: Vocabulary, patterns: Iterable[tuple[str, Mapping[str, Any]]]):
        self.vocab = vocab
        self.constants: dict[str, set[float]] = {}
        self.literals: dict[str, set[Any]] = {}
        for _, fields in patterns:
            for name, cond in (fields or {}).items():
                ops = cond.items() if isinstance(cond, dict) else [("eq", cond)]
                for op, arg in ops:
                    if name in NUMERIC_FIELDS and (op in NUMERIC_OPERATORS or op in ("eq", "ne")) \
                            and isinstance(arg, (int, float)) and not isinstance(arg, bool):
                        self.constants.setdefault(name, set()).add(float(arg))
                    elif op in ("eq", "ne"):
                        self.literals.setdefault(name, set()).add(arg)
                    elif op in ("in", "not_in") and isinstance(arg, list):
                        self.literals.setdefault(name, set()).update(a for a in arg if _hashable(a))
        self._values: dict[tuple[str, str], list[Any]] = {}
        self._admitted: dict[tuple[str, str, str], frozenset[Any]] = {}

    def values(self, kind: str, name: str) -> list[Any]:
        key = (kind, name)
        if key not in self._values:
            self._values[key] = self._values_of(kind, name)
        return self._values[key]

    def _values_of(self, kind: str, name: str) -> list[Any]:
        if name in NUMERIC_FIELDS:
            points: set[float] = {0.0, 1e9}
            for c in self.constants.get(name, ()):
                points.update((c - 1e-6, c, c + 1e-6))
            return [None, *sorted(points)]
        if name in BOOLEAN_FIELDS:
            return [None, True, False]
        domain = DOMAINS.get(name)
        if kind == "medication" and name == "name":
            known = [*self.vocab.medications, *self.vocab.medication_classes]
        elif kind == "clearance" and name == "name":
            known = list(self.vocab.clearances)
        elif domain == "sites":
            known = [*self.vocab.targets, *self.vocab.areas]
        elif domain is not None:
            known = list(getattr(self.vocab, domain))
        else:
            known = []
        extra = [x for x in self.literals.get(name, ()) if x not in known]
        return [None, *known, *sorted(extra, key=str)]

    def admitted(self, kind: str, name: str, cond: Any) -> frozenset[Any]:
        """The values of a field that a condition accepts (remembered per condition: lint asks
        about the same few conditions for every pair of rules it compares)."""
        key = (kind, name, condition_key(cond))
        found = self._admitted.get(key)
        if found is None:
            found = self._admitted[key] = frozenset(v for v in self.values(kind, name) if field_matches(cond, v))
        return found

    def universal(self, kind: str, name: str, cond: Any) -> bool:
        """Whether a condition admits every value its field can take (it restricts nothing)."""
        return len(self.admitted(kind, name, cond)) == len(set(self.values(kind, name)))

    def empty_fields(self, kind: str, fields: Mapping[str, Any] | None) -> list[str]:
        """The fields whose condition no value satisfies (the pattern can never match)."""
        return [name for name, cond in (fields or {}).items() if not self.admitted(kind, name, cond)]

    def implies(self, kind: str, specific: Mapping[str, Any] | None, general: Mapping[str, Any] | None) -> bool:
        """Every fact matching ``specific`` also matches ``general`` (same kind)."""
        specific = specific or {}
        for name, cond in (general or {}).items():
            allowed = self.admitted(kind, name, cond)
            if name in specific:
                if not self.admitted(kind, name, specific[name]) <= allowed:
                    return False
            elif set(self.values(kind, name)) - allowed:
                return False
        return True

    def joint(self, kind: str, patterns: Iterable[Mapping[str, Any] | None]) -> dict[str, frozenset[Any]]:
        """Per field, the values that satisfy every one of several patterns on the same fact."""
        out: dict[str, frozenset[Any]] = {}
        for fields in patterns:
            for name, cond in (fields or {}).items():
                allowed = self.admitted(kind, name, cond)
                out[name] = out[name] & allowed if name in out else allowed
        return out


def condition_key(cond: Any) -> str:
    """A condition (or any rule data) as a stable text key: its type and value, mappings with sorted keys."""
    if isinstance(cond, dict):
        items = sorted(cond.items(), key=lambda kv: repr(kv[0]))
        return "{" + ",".join(f"{k!r}:{condition_key(v)}" for k, v in items) + "}"
    if isinstance(cond, (list, tuple)):
        return "[" + ",".join(condition_key(v) for v in cond) + "]"
    if isinstance(cond, int) and not isinstance(cond, bool):
        return f"int:{cond:x}"  # hexadecimal: no digit limit, unlike repr of a huge int
    return f"{type(cond).__name__}:{cond!r}"


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True
