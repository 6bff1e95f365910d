"""The registry of operators a rule condition may use on a fact field.

A condition in a rule file is data, e.g. ``{platelets_k: {lt: 20}}``; it is compiled
here into a predicate through this explicit table: nothing from a file is evaluated or
looked up by name anywhere else. Every predicate is total: it returns False (or the
rule's ``if_absent`` choice) instead of raising, because an exception inside an experta
predicate leaves the Rete network half-updated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Predicate = Callable[[Any], bool]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _compare(test: Callable[[float, float], bool]) -> Callable[[Any], Predicate]:
    def factory(limit: Any) -> Predicate:
        return lambda v: _number(v) and test(v, limit)
    return factory


def _member(choices: Any) -> Predicate:
    allowed = frozenset(choices)
    return lambda v: v in allowed


def _not_member(choices: Any) -> Predicate:
    banned = frozenset(choices)
    return lambda v: v is not None and v not in banned


def _present(flag: Any) -> Predicate:
    return (lambda v: v is not None) if flag else (lambda v: v is None)


def _equal(expected: Any) -> Predicate:
    return lambda v: v == expected


def _not_equal(expected: Any) -> Predicate:
    return lambda v: v is not None and v != expected


OPERATORS: dict[str, Callable[[Any], Predicate]] = {
    "eq": _equal,
    "ne": _not_equal,
    "in": _member,
    "not_in": _not_member,
    "lt": _compare(lambda v, x: v < x),
    "le": _compare(lambda v, x: v <= x),
    "gt": _compare(lambda v, x: v > x),
    "ge": _compare(lambda v, x: v >= x),
    "present": _present,
}
NUMERIC_OPERATORS = frozenset({"lt", "le", "gt", "ge"})
LIST_OPERATORS = frozenset({"in", "not_in"})
MODIFIERS = frozenset({"if_absent"})  # what a predicate answers when the field is absent


def compile_condition(spec: dict[str, Any]) -> Predicate:
    """One predicate from an operator mapping such as ``{lt: 42, if_absent: true}``."""
    tests = [OPERATORS[name](arg) for name, arg in spec.items() if name not in MODIFIERS]
    if_absent = spec.get("if_absent")

    def predicate(value: Any) -> bool:
        if value is None and if_absent is not None:
            return bool(if_absent)
        return all(test(value) for test in tests)

    return predicate
