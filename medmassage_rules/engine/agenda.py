"""The agenda and its strategy: every firing traced, ties broken the same way whatever the hash seed."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from experta import Fact
from experta.abstract import Strategy
from experta.agenda import Agenda


@dataclass
class Firing:
    """One rule firing: the rule, the facts that activated it, the facts it declared."""

    rule_id: str
    inputs: tuple[Any, ...]
    outputs: list[Any] = field(default_factory=list)


def rule_id(rule: Any) -> str:
    """A compiled rule's id; a hand-written experta rule's function name."""
    return str(getattr(rule, "rule_id", None) or getattr(rule._wrapped, "__name__", ""))


def rule_order(rule: Any) -> int:
    """A compiled rule's place in its knowledge base; 0 for a hand-written experta rule."""
    return getattr(rule, "order", 0)


class TracingAgenda(Agenda):
    """An agenda that records every activation it hands to the engine."""

    def __init__(self) -> None:
        super().__init__()
        self.trace: list[Firing] = []

    def get_next(self):  # type: ignore[no-untyped-def]
        activation = super().get_next()
        if activation is not None:
            inputs = tuple(sorted(activation.facts, key=lambda f: f["__factid__"]))
            self.trace.append(Firing(rule_id(activation.rule), inputs))
        return activation


class DeterministicStrategy(Strategy):
    """Salience, then recency of the activating facts, then the rule's place in the base.

    Unlike experta's DepthStrategy the key never depends on hashing, and an activation
    the matcher withdraws is removed by identity, so nothing fires on a retracted fact.
    Two activations of one rule on the same facts bound the other way round (f0=A, f1=B and
    f0=B, f1=A) differ in their bindings: the bindings break their tie (else their order
    would follow set iteration) and are part of the identity (else withdrawing one would
    drop its still-valid twin).
    """

    @staticmethod
    def _bindings(activation: Any) -> tuple[tuple[str, int], ...]:
        """The facts bound to the rule's names, as (name, fact id), in name order."""
        return tuple(sorted((str(name), value["__factid__"]) for name, value in activation.context.items()
                            if isinstance(value, Fact)))

    @classmethod
    def _identity(cls, activation: Any) -> tuple[Any, frozenset[int], tuple[tuple[str, int], ...]]:
        rule = activation.rule
        return (getattr(rule, "rule_id", None) or rule, frozenset(f["__factid__"] for f in activation.facts),
                cls._bindings(activation))

    def _update_agenda(self, agenda: Agenda, added: Iterable[Any], removed: Iterable[Any]) -> None:
        removed = list(removed)
        if removed:
            gone = {self._identity(a) for a in removed}
            agenda.activations = [a for a in agenda.activations if self._identity(a) not in gone]
        for activation in added:
            ids = tuple(sorted((f["__factid__"] for f in activation.facts), reverse=True))
            rule = activation.rule
            activation.key = (rule.salience, ids, -rule_order(rule), rule_id(rule), self._bindings(activation))
            bisect.insort(agenda.activations, activation)
